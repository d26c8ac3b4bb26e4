// Requests: what a shard waits for on behalf of its connections' `send` and
// `req` commands (and POST /api/send).
//
// A send goes to each target user's personal room owner; its entry counts
// the owners still to answer and the connections reached so far, and is
// answered once all have answered. A `req` is a send plus a pending request
// that remembers the user it was sent to and a random tag (Rid), and waits
// for the first `res` from that user naming that tag, or for its timeout. A
// `res` from anyone else, or with another tag, is refused and changes
// nothing; later answers find no entry and are dropped.
//
// Every table is bounded so that nobody can starve others of it: pending
// sends and requests per connection, pending requests per requesting user
// (connections of the server, with the API key, are not counted as one
// user), and both tables per shard as the backstop. Past a bound Start*
// refuse, saying which bound, and the caller answers an error. A freed
// connection's requests go with it (nobody is left to answer into), so the
// per-connection bound cannot be dodged by reconnecting. Shard thread only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/check.h"
#include "core/hash.h"
#include "core/slab.h"

namespace ringcast::shard {

struct RequestLimits {
  size_t pending_sends = size_t{1} << 20;     // per shard: the backstop
  size_t pending_requests = size_t{1} << 20;  // per shard: the backstop
  uint32_t sends_per_connection = 256;
  uint32_t requests_per_connection = 256;
  uint32_t requests_per_user = 1024;  // pending on this shard, over all of a user's connections
};

// Which bound refused a new entry.
enum class PendingBound : uint8_t { kNone, kShard, kConnection, kUser };

// How a `res` was taken.
enum class Verdict : uint8_t {
  kTaken,       // the first answer: it completes the request
  kNotPending,  // no such request (answered already, timed out, or never made): dropped
  kNotYours,    // the request is pending but was not sent to this user, or the tag is wrong
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
    uint64_t tag = 0;       // the rid's random part
    std::string target;     // the only user whose `res` is taken
    std::string requester;  // counted against requests_per_user; empty = not counted
  };
  // A new entry's number, or the bound that refused it.
  struct Started {
    uint32_t id = 0;  // 0 when refused
    PendingBound refusal = PendingBound::kNone;
    explicit operator bool() const { return id != 0; }
  };

  explicit Requests(RequestLimits limits = {}) : limits_(limits) {}

  // A send to `targets` users.
  [[nodiscard]] Started StartSend(core::SlabHandle conn, uint32_t ticket, uint32_t targets,
                                  uint32_t request = 0) {
    RC_CHECK(targets > 0);
    if (sends_.size() >= limits_.pending_sends) return {0, PendingBound::kShard};
    PerConnection& pc = per_conn_[Key(conn)];
    if (pc.sends >= limits_.sends_per_connection) {
      ForgetIfIdle(Key(conn));
      return {0, PendingBound::kConnection};
    }
    ++pc.sends;
    uint32_t id = Next(&next_send_, sends_);
    sends_[id] = Send{conn, ticket, targets, 0, request};
    return {id, PendingBound::kNone};
  }
  // One owner's answer; the finished send once every owner has answered.
  std::optional<Send> OnSendAnswer(uint32_t send_id, uint64_t reached) {
    auto it = sends_.find(send_id);
    if (it == sends_.end()) return std::nullopt;
    it->second.reached += reached;
    if (--it->second.waiting > 0) return std::nullopt;
    Send done = it->second;
    sends_.erase(it);
    auto pc = per_conn_.find(Key(done.conn));
    RC_CHECK(pc != per_conn_.end() && pc->second.sends > 0);
    --pc->second.sends;
    ForgetIfIdle(pc->first);
    return done;
  }

  // A pending `req` to `target` by `requester` (empty: not counted per user).
  [[nodiscard]] Started StartRequest(core::SlabHandle conn, uint32_t ticket,
                                     std::string_view requester, std::string_view target,
                                     uint64_t tag) {
    if (requests_.size() >= limits_.pending_requests) return {0, PendingBound::kShard};
    PerConnection& pc = per_conn_[Key(conn)];
    if (pc.requests.size() >= limits_.requests_per_connection) {
      ForgetIfIdle(Key(conn));
      return {0, PendingBound::kConnection};
    }
    if (!requester.empty()) {
      auto pu = per_user_.find(requester);
      if (pu != per_user_.end() && pu->second >= limits_.requests_per_user) {
        ForgetIfIdle(Key(conn));
        return {0, PendingBound::kUser};
      }
      if (pu == per_user_.end()) pu = per_user_.emplace(std::string(requester), 0).first;
      ++pu->second;
    }
    uint32_t number = Next(&next_request_, requests_);
    pc.requests.push_back(number);
    requests_[number] = Request{conn, ticket, tag, std::string(target), std::string(requester)};
    return {number, PendingBound::kNone};
  }
  // The request, removed: on its timeout, or when no one can answer it.
  std::optional<Request> TakeRequest(uint32_t number) {
    auto it = requests_.find(number);
    if (it == requests_.end()) return std::nullopt;
    Request r = std::move(it->second);
    requests_.erase(it);
    Uncount(number, r);
    return r;
  }
  // A `res` from `user` naming `number` and `tag`: the request, removed,
  // when it is the first answer from the user it was sent to.
  std::optional<Request> TakeAnswer(uint32_t number, uint64_t tag, std::string_view user,
                                    Verdict* verdict) {
    auto it = requests_.find(number);
    if (it == requests_.end()) {
      *verdict = Verdict::kNotPending;
      return std::nullopt;
    }
    if (it->second.tag != tag || it->second.target != user) {
      *verdict = Verdict::kNotYours;
      return std::nullopt;
    }
    *verdict = Verdict::kTaken;
    return TakeRequest(number);
  }
  // Drops the requests of a connection being freed (its sends drain as
  // their owners answer). Their timers find nothing later.
  void DropConnection(core::SlabHandle conn) {
    auto pc = per_conn_.find(Key(conn));
    if (pc == per_conn_.end()) return;
    std::vector<uint32_t> numbers = pc->second.requests;  // TakeRequest edits the original
    for (uint32_t number : numbers) (void)TakeRequest(number);
  }

  bool HasRequest(uint32_t number) const { return requests_.contains(number); }
  const RequestLimits& limits() const { return limits_; }
  size_t pending_sends() const { return sends_.size(); }
  size_t pending_requests() const { return requests_.size(); }
  // Connections and users with something pending (what the counters cost).
  size_t tracked_connections() const { return per_conn_.size(); }
  size_t tracked_users() const { return per_user_.size(); }

 private:
  struct PerConnection {
    uint32_t sends = 0;
    std::vector<uint32_t> requests;  // numbers, at most requests_per_connection
  };

  static uint64_t Key(core::SlabHandle h) { return (uint64_t{h.gen} << 32) | h.slot; }

  // The next number not in `table` (after a wrap, a long-lived entry may still hold one).
  template <class Table>
  static uint32_t Next(uint32_t* counter, const Table& table) {
    uint32_t n;
    do {
      n = ++*counter;
    } while (n == 0 || table.contains(n));  // 0 means "none"
    return n;
  }

  void Uncount(uint32_t number, const Request& r) {
    auto pc = per_conn_.find(Key(r.conn));
    RC_CHECK(pc != per_conn_.end());
    std::vector<uint32_t>& numbers = pc->second.requests;
    auto at = std::find(numbers.begin(), numbers.end(), number);
    RC_CHECK(at != numbers.end());
    *at = numbers.back();
    numbers.pop_back();
    ForgetIfIdle(pc->first);
    if (r.requester.empty()) return;
    auto pu = per_user_.find(r.requester);
    RC_CHECK(pu != per_user_.end() && pu->second > 0);
    if (--pu->second == 0) per_user_.erase(pu);
  }

  void ForgetIfIdle(uint64_t key) {
    auto pc = per_conn_.find(key);
    if (pc != per_conn_.end() && pc->second.sends == 0 && pc->second.requests.empty()) {
      per_conn_.erase(pc);
    }
  }

  const RequestLimits limits_;
  std::unordered_map<uint32_t, Send> sends_;
  std::unordered_map<uint32_t, Request> requests_;
  std::unordered_map<uint64_t, PerConnection> per_conn_;
  std::unordered_map<std::string, uint32_t, core::StringHash, std::equal_to<>> per_user_;
  uint32_t next_send_ = 0;
  uint32_t next_request_ = 0;
};

}  // namespace ringcast::shard
