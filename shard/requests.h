// Requests: what a shard waits for on behalf of its connections' `send` and
// `req` commands (and POST /api/send).
//
// A send goes to each target user's personal room owner; its entry counts
// the owners still to answer and the connections reached so far, and is
// answered once all have answered. A `req` is a send plus a pending request
// that waits for the first `res` (whoever answers first wins; later answers
// find no entry and are dropped) or for its timeout. Both tables are bounded
// (limits): past them Start* refuse and the caller answers an error. Shard
// thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "core/slab.h"

namespace ringcast::shard {

struct RequestLimits {
  size_t pending_sends = size_t{1} << 16;
  size_t pending_requests = size_t{1} << 16;
};

class Requests {
 public:
  struct Send {
    core::SlabHandle conn;
    uint32_t ticket = 0;   // the sender's reply ticket (0 = errors only)
    uint32_t waiting = 0;  // owners still to answer
    uint64_t reached = 0;  // connections reached so far
    uint32_t request = 0;  // a `req`'s number, 0 for `send`
  };
  struct Request {
    core::SlabHandle conn;
    uint32_t ticket = 0;
  };

  explicit Requests(RequestLimits limits = {}) : limits_(limits) {}

  // A send to `targets` users; nullopt when the table is full.
  [[nodiscard]] std::optional<uint32_t> StartSend(core::SlabHandle conn, uint32_t ticket,
                                                  uint32_t targets, uint32_t request = 0) {
    if (sends_.size() >= limits_.pending_sends || targets == 0) return std::nullopt;
    uint32_t id = Next(&next_send_);
    sends_[id] = Send{conn, ticket, targets, 0, request};
    return id;
  }
  // One owner's answer; the finished send once every owner has answered.
  std::optional<Send> OnSendAnswer(uint32_t send_id, uint64_t reached) {
    auto it = sends_.find(send_id);
    if (it == sends_.end()) return std::nullopt;
    it->second.reached += reached;
    if (--it->second.waiting > 0) return std::nullopt;
    Send done = it->second;
    sends_.erase(it);
    return done;
  }

  // A pending `req`; nullopt when the table is full.
  [[nodiscard]] std::optional<uint32_t> StartRequest(core::SlabHandle conn, uint32_t ticket) {
    if (requests_.size() >= limits_.pending_requests) return std::nullopt;
    uint32_t number = Next(&next_request_);
    requests_[number] = Request{conn, ticket};
    return number;
  }
  // The request, removed: on its first answer, its timeout, or no one to ask.
  std::optional<Request> TakeRequest(uint32_t number) {
    auto it = requests_.find(number);
    if (it == requests_.end()) return std::nullopt;
    Request r = it->second;
    requests_.erase(it);
    return r;
  }

  size_t pending_sends() const { return sends_.size(); }
  size_t pending_requests() const { return requests_.size(); }

 private:
  static uint32_t Next(uint32_t* counter) {
    uint32_t n = ++*counter;
    if (n == 0) n = ++*counter;  // 0 means "none"
    return n;
  }

  const RequestLimits limits_;
  std::unordered_map<uint32_t, Send> sends_;
  std::unordered_map<uint32_t, Request> requests_;
  uint32_t next_send_ = 0;
  uint32_t next_request_ = 0;
};

}  // namespace ringcast::shard
