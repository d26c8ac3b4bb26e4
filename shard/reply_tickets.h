// ReplyTickets: one connection's replies kept in command order while some are
// answered later, by another shard or by an owner's answer.
//
// A command whose reply comes later reserves a ticket; a reply that is ready
// at once goes straight out unless tickets wait, in which case it parks
// behind them. Answering a ticket releases every reply at the front that is
// ready, in order. Tickets are numbered from 1 (0 means "no reply wanted").
// HTTP API requests reserve tickets too, marked http, so keep-alive answers
// keep request order. Exists only while a reply waits (an idle connection
// holds none). Owns the frames of answered tickets, and counts what it holds
// (held_bytes: those frames plus kTicketBytes per ticket) so that replies
// waiting behind an unanswered one count toward the connection's
// limits.max_queued_bytes like queued output. Shard thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "core/check.h"
#include "core/shared_frame.h"

namespace ringcast::shard {

class ReplyTickets {
 public:
  struct Ticket {
    uint32_t number = 0;
    std::optional<uint64_t> id;          // the command's id, for a reply built later
    core::SharedFrame* frame = nullptr;  // null until answered
    bool http = false;                   // answered as an HTTP response
    bool keep_alive = true;              // http: the response's Connection header
  };

  // `first`: the first ticket's number (tests start near the wrap).
  explicit ReplyTickets(uint32_t first = 1) : next_(first == 0 ? 1 : first) {}
  ReplyTickets(const ReplyTickets&) = delete;
  ReplyTickets& operator=(const ReplyTickets&) = delete;
  ~ReplyTickets() {
    for (const Ticket& t : waiting_) {
      if (t.frame != nullptr) t.frame->Unref();
    }
  }

  // What one waiting ticket costs, frame aside (its deque entry and more).
  static constexpr uint64_t kTicketBytes = 64;

  uint32_t Reserve(std::optional<uint64_t> id, bool http = false, bool keep_alive = true) {
    uint32_t number = next_++;
    if (next_ == 0) next_ = 1;
    waiting_.push_back(Ticket{number, id, nullptr, http, keep_alive});
    held_bytes_ += kTicketBytes;
    return number;
  }

  // Parks a reply that is ready now behind the tickets still waiting; false
  // (and the frame untouched) when none wait: then it goes out at once.
  [[nodiscard]] bool ParkBehind(core::SharedFrame* frame) {
    if (waiting_.empty()) return false;
    Reserve(std::nullopt);
    waiting_.back().frame = frame;
    held_bytes_ += frame->size();
    return true;
  }

  const Ticket* Find(uint32_t number) const {
    size_t i = IndexOf(number);
    return i < waiting_.size() ? &waiting_[i] : nullptr;
  }

  // Takes `frame` as the answer to ticket `number`, then calls emit(frame)
  // for each answered reply at the front, in ticket order, handing it over.
  template <class Emit>
  void Complete(uint32_t number, core::SharedFrame* frame, Emit&& emit) {
    Ticket* t = FindMutable(number);
    RC_CHECK(t != nullptr && t->frame == nullptr);
    t->frame = frame;
    held_bytes_ += frame->size();
    while (!waiting_.empty() && waiting_.front().frame != nullptr) {
      core::SharedFrame* ready = waiting_.front().frame;
      waiting_.pop_front();
      held_bytes_ -= kTicketBytes + ready->size();
      emit(ready);
    }
  }

  bool empty() const { return waiting_.empty(); }
  size_t size() const { return waiting_.size(); }
  // Frames held and tickets waiting, in bytes (see kTicketBytes).
  uint64_t held_bytes() const { return held_bytes_; }

 private:
  Ticket* FindMutable(uint32_t number) {
    size_t i = IndexOf(number);
    return i < waiting_.size() ? &waiting_[i] : nullptr;
  }
  // Tickets are numbered consecutively in queue order (0 skipped when the
  // count wraps), so a ticket is found by its distance from the front: O(1),
  // however many replies are parked. waiting_.size() when it is not there.
  size_t IndexOf(uint32_t number) const {
    if (waiting_.empty() || number == 0) return waiting_.size();
    uint32_t first = waiting_.front().number;
    size_t off = number - first;
    if (number < first) --off;  // the numbers wrapped past 0, which no ticket has
    if (off >= waiting_.size() || waiting_[off].number != number) return waiting_.size();
    return off;
  }

  uint32_t next_ = 1;
  uint64_t held_bytes_ = 0;
  std::deque<Ticket> waiting_;  // in ticket order
};

}  // namespace ringcast::shard
