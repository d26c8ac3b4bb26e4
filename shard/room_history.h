// RoomHistory: the last publications of one room, kept by the room's owner
// shard for recovery (`sub` with `since`).
//
// Entries are the very frames that went to subscribers (they carry their
// seq), each held by one extra reference, so a replay costs no copy. Bounded
// by the namespace's history_size and, when set, history_ttl_s; seqs in the
// ring are consecutive. Owner shard thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <string_view>
#include <utility>

#include "core/shared_frame.h"

namespace ringcast::shard {

class RoomHistory {
 public:
  RoomHistory(uint32_t max_messages, uint32_t ttl_s, std::string epoch)
      : max_(max_messages), ttl_ms_(ttl_s * 1000ull), epoch_(std::move(epoch)) {}
  // Names this unbroken run of seqs (docs/protocol.md, History and recovery).
  const std::string& epoch() const { return epoch_; }
  ~RoomHistory() {
    for (const Entry& e : entries_) e.frame->Unref();
  }
  RoomHistory(const RoomHistory&) = delete;
  RoomHistory& operator=(const RoomHistory&) = delete;

  // Takes one reference on frame.
  void Append(uint64_t seq, uint64_t now_ms, core::SharedFrame* frame) {
    frame->Ref();
    entries_.push_back(Entry{seq, now_ms, frame});
    bytes_ += frame->size();
    while (entries_.size() > max_) PopFront();
  }
  // Drops the oldest entry (the owner keeps its shard within its history bytes).
  void DropOldest() {
    if (!entries_.empty()) PopFront();
  }
  // Drops entries older than the TTL.
  void Expire(uint64_t now_ms) {
    while (ttl_ms_ > 0 && !entries_.empty() && now_ms - entries_.front().at_ms >= ttl_ms_) {
      PopFront();
    }
  }
  // True when every message after since_seq up to last_seq is still here.
  bool ReachesBack(uint64_t since_seq, uint64_t last_seq) const {
    if (since_seq >= last_seq) return since_seq == last_seq;
    return !entries_.empty() && entries_.front().seq <= since_seq + 1;
  }
  template <class F>
  void ForEachAfter(uint64_t since_seq, F&& f) const {
    for (const Entry& e : entries_) {
      if (e.seq > since_seq) f(e.frame);
    }
  }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  uint64_t bytes() const { return bytes_; }

  // The owner's place for this room in its list of idle history rooms (no
  // subscribers; kept only for their history), valid while `idle` is true.
  bool idle = false;
  std::list<std::string_view>::iterator idle_pos;

 private:
  struct Entry {
    uint64_t seq;
    uint64_t at_ms;
    core::SharedFrame* frame;
  };
  void PopFront() {
    bytes_ -= entries_.front().frame->size();
    entries_.front().frame->Unref();
    entries_.pop_front();
  }

  uint32_t max_;
  uint64_t ttl_ms_;
  std::string epoch_;
  std::deque<Entry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace ringcast::shard
