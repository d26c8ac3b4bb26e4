// A simulated cluster of shards without GoogleTest: the real ShardParts of N
// shards (Sessions, HttpFront, Commands, LocalRooms, RoomOwner, Users,
// HttpApi), wired together the way shard/shard.cc wires them, with the
// io_uring parts replaced by a fake kernel and the SPSC mesh by per-pair FIFO
// queues, all in one thread and driven one loop round at a time. The unit
// tests' harness (tests/unit/shard/shard_harness.h) adds a gtest client on
// top; the session fuzzer (tests/fuzz/session_fuzz.cc) drives it directly.
//
//   SimShard  one shard: BusPort + SessionIo, like Shard. Round() is
//             Shard::Round without the ring: completions, inbound bus
//             messages, timers, the owner's tick, drain, flush.
//   Cluster   the shards, one ManualClock, one Metrics, the bus queues and
//             the fake sockets. Settle() runs rounds until nothing is left.
//
// The fake kernel: a connection is "accepted" by a completion handled in the
// next round (as a multishot accept's CQE would be); bytes a client writes
// wait in its socket until a receive is armed and arrive in the next round;
// every SendMsg copies the gathered bytes into the socket and completes
// (fully) in the next round, unless the socket is stalled (a peer that does
// not read): then its send completes only in a round after it is unstalled.
// CancelRecv and shutdown(SHUT_RD/RDWR) end an armed receive in the next
// round (-ECANCELED / EOF). File descriptors are numbers that are not open in
// this process (getpeername fails: the HTTP API sees a non-loopback peer),
// unless a test adopts a real socket.
//
// Bus: Post(to, msg) to the shard itself runs in place (as Shard::Post);
// otherwise the message waits in the (from, to) queue, FIFO like the SPSC
// ring, until shard `to` drains it in its next round.
//
// The fake kernel checks the server's side of its contract (no second receive
// armed, no send on or close of a closed fd, completions only for live slots,
// the cluster settles). A broken check goes to `failure_handler`: the unit
// tests make it a test failure; when none is set it prints and aborts (the
// fuzzer). Test thread only.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/hash.h"
#include "core/timer_wheel.h"
#include "shard/bus_port.h"
#include "shard/mesh.h"
#include "shard/metrics.h"
#include "shard/sessions.h"
#include "shard/shard_parts.h"
#include "shard/shard_stats.h"

namespace ringcast::shard::sim {

// Where a failed check of the fake kernel goes; nullptr = print and abort.
using FailureHandler = void (*)(const char* file, int line, const std::string& message);
inline FailureHandler failure_handler = nullptr;

inline void Fail(const char* file, int line, const std::string& message) {
  if (failure_handler != nullptr) {
    failure_handler(file, line, message);
    return;
  }
  std::fprintf(stderr, "%s:%d: simulated kernel: %s\n", file, line, message.c_str());
  std::abort();
}

// `message` is only built when the check fails.
#define RC_SIM_EXPECT(cond, message)                                                           \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      ::ringcast::shard::sim::Fail(__FILE__, __LINE__, std::string(#cond) + ": " + (message)); \
    }                                                                                          \
  } while (0)

// The fake kernel's view of one socket.
struct FakeSocket {
  int fd = -1;
  unsigned shard = 0;
  core::SlabHandle handle{};
  bool accepted = false;      // the accept completion was handled
  bool recv_armed = false;    // a multishot receive is armed
  bool eof = false;           // the peer closed, or the server shut the read side
  bool shut_wr = false;       // the server shut its write side
  bool closed = false;        // the server closed the fd
  bool stalled = false;       // the peer does not read: sends do not complete
  std::string input;          // written by the client, not yet received
  std::string output;         // everything the server sent
  std::vector<size_t> sends;  // bytes of each sendmsg
};

class Cluster;

class SimShard final : public BusPort, public SessionIo {
 public:
  // As Shard (shard/shard.h): the real ShardParts over a simulated ring and bus.
  SimShard(Cluster* cluster, unsigned id, unsigned count, const ServerOptions& options,
           const Metrics* metrics, const core::Clock* clock)
      : cluster_(cluster),
        id_(id),
        count_(count),
        options_(options),
        clock_(clock),
        parts_(id, options_, this, this, &stats_, metrics, clock),
        sessions_(parts_.sessions()) {}
  ~SimShard() override { sessions_.CloseAll(); }
  SimShard(const SimShard&) = delete;
  SimShard& operator=(const SimShard&) = delete;

  // One round of Shard::Round (defined after Cluster).
  void Round();
  // Whether a round would find something to do (completions, input, bus);
  // sends held by stalled sockets do not count.
  bool HasWork() const;
  // Shard::Round's reaction to the stop flag, at the next round.
  void RequestStop() { stop_ = true; }

  // BusPort.
  unsigned shard_id() const override { return id_; }
  unsigned shard_count() const override { return count_; }
  bool Admits(unsigned /*to*/) const override { return admits_; }
  void Post(unsigned to, BusMessage msg) override;

  // SessionIo.
  void ArmRecv(int fd, core::SlabHandle h) override;
  void CancelRecv(core::SlabHandle h) override;
  iovec* SendVector(size_t* max_iov) override {
    *max_iov = kMaxIov;
    return iov_;
  }
  void SendMsg(int fd, core::SlabHandle h, size_t iov_count, bool fin_follows) override;
  void Shutdown(int fd, int how) override;
  void Close(int fd) override;
  uint64_t PeerPressure() const override { return 0; }
  // The longest bus queue between two shards (defined after Cluster): as
  // Shard's, whose own figure is current and the others' a round old, but
  // here every queue is seen as it is.
  uint64_t BusBacklog() const override;
  // As Shard's: the ring a real mesh of this many shards has (the simulated
  // queues themselves are unbounded).
  size_t BusRingCapacity() const override { return Mesh::RingCapacityFor(count_); }

  // For tests.
  Sessions& sessions() { return sessions_; }
  RoomOwner& owner() { return parts_.owner(); }
  LocalRooms& rooms() { return parts_.rooms(); }
  Users& users() { return parts_.users(); }
  ShardStats& stats() { return stats_; }
  core::TimerWheel& timers() { return parts_.timers(); }
  // Admits(): false makes new work toward any shard be refused.
  void set_admits(bool admits) { admits_ = admits; }

 private:
  friend class Cluster;
  static constexpr size_t kMaxIov = 256;  // as Shard

  struct Completion {
    enum Kind : uint8_t { kAccept, kRecv, kSent } kind;
    int fd;
    core::SlabHandle handle;
    int res;
    bool more;
    std::string bytes;
  };

  void Dispatch(unsigned from, BusMessage msg);
  void Handle(const Completion& done);
  bool IsHeld(const Completion& c) const;

  Cluster* const cluster_;
  const unsigned id_;
  const unsigned count_;
  const ServerOptions options_;
  const core::Clock* const clock_;

  ShardStats stats_;
  ShardParts parts_;
  Sessions& sessions_;

  uint64_t now_ms_ = 0;
  bool admits_ = true;
  bool stop_ = false;
  iovec iov_[kMaxIov];
  std::deque<Completion> completions_;  // for the next round, in order
};

class Cluster {
 public:
  explicit Cluster(ServerOptions options, unsigned shards = 2)
      : options_(WithNodeId(std::move(options))),
        metrics_(options_.node_id),
        queues_(shards * shards) {
    std::vector<const ShardStats*> stats;
    for (unsigned i = 0; i < shards; ++i) {
      shards_.push_back(std::make_unique<SimShard>(this, i, shards, options_, &metrics_, &clock_));
      stats.push_back(&shards_.back()->stats());
    }
    metrics_.SetShards(std::move(stats));
  }
  ~Cluster() {
    // Bus messages own their payloads: free them before the shards go.
    for (auto& q : queues_) q.clear();
    shards_.clear();
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  SimShard& shard(unsigned i) { return *shards_.at(i); }
  core::ManualClock& clock() { return clock_; }
  const Metrics& metrics() const { return metrics_; }
  const ServerOptions& options() const { return options_; }

  // The bus: messages from `from` waiting for `to`.
  std::deque<BusMessage>& Queue(unsigned from, unsigned to) {
    return queues_.at(from * size() + to);
  }
  size_t QueuedFor(unsigned to) {
    size_t n = 0;
    for (unsigned from = 0; from < size(); ++from) n += Queue(from, to).size();
    return n;
  }
  template <class T>
  size_t CountQueued(unsigned from, unsigned to) {
    size_t n = 0;
    for (const BusMessage& m : Queue(from, to)) n += std::holds_alternative<T>(m) ? 1 : 0;
    return n;
  }

  // One round of every shard, in shard order.
  void RoundAll() {
    for (auto& s : shards_) s->Round();
  }
  // Rounds of every shard until none has anything left to do (at least one).
  void Settle(int max_rounds = 200) {
    for (int i = 0; i < max_rounds; ++i) {
      RoundAll();
      bool busy = false;
      for (auto& s : shards_) busy = busy || s->HasWork();
      if (!busy) return;
    }
    Fail(__FILE__, __LINE__,
         "the cluster did not settle within " + std::to_string(max_rounds) + " rounds");
  }
  // Moves time on, then settles (timers due by then fire).
  void Advance(uint64_t ms) {
    clock_.Advance(ms);
    Settle();
  }

  // A room name starting with `prefix` that shard `owner` owns.
  std::string RoomOwnedBy(unsigned owner, std::string_view prefix = "room") const {
    for (int i = 0;; ++i) {
      std::string name = std::string(prefix) + std::to_string(i);
      if (core::HashBytes(name) % shards_.size() == owner) return name;
    }
  }
  unsigned OwnerOf(std::string_view room) const {
    return static_cast<unsigned>(core::HashBytes(room) % shards_.size());
  }

  // A new socket, accepted by `shard` in its next round; its fd. `fd` < 0
  // makes up a number that is not open in this process; a real socket's fd
  // can be adopted instead (for getpeername).
  int OpenSocket(unsigned shard, int fd = -1) {
    if (fd < 0) fd = next_fd_++;
    RC_SIM_EXPECT(sockets_.count(fd) == 0, "fd " + std::to_string(fd) + " opened twice");
    FakeSocket& s = sockets_[fd];
    s.fd = fd;
    s.shard = shard;
    shards_.at(shard)->completions_.push_back(
        SimShard::Completion{SimShard::Completion::kAccept, fd, {}, fd, true, {}});
    return fd;
  }

  FakeSocket& Socket(int fd) { return sockets_.at(fd); }
  bool HasSocket(int fd) const { return sockets_.count(fd) != 0; }

 private:
  friend class SimShard;
  static ServerOptions WithNodeId(ServerOptions o) {
    if (o.node_id.empty()) o.node_id = "n1";
    return o;
  }

  const ServerOptions options_;
  core::ManualClock clock_;
  Metrics metrics_;
  std::vector<std::deque<BusMessage>> queues_;
  std::vector<std::unique_ptr<SimShard>> shards_;
  std::map<int, FakeSocket> sockets_;
  int next_fd_ = 40000;  // far above anything this process has open
};

// ---------------------------------------------------------------------------
// SimShard, after Cluster.

inline void SimShard::Post(unsigned to, BusMessage msg) {
  RC_SIM_EXPECT(to < count_, "post to shard " + std::to_string(to));
  if (to == id_) {
    Dispatch(id_, std::move(msg));  // as Shard::Post: in place
  } else {
    cluster_->Queue(id_, to).push_back(std::move(msg));
  }
}

inline uint64_t SimShard::BusBacklog() const {
  size_t max = 0;
  for (unsigned from = 0; from < count_; ++from) {
    for (unsigned to = 0; to < count_; ++to) max = std::max(max, cluster_->Queue(from, to).size());
  }
  return max;
}

// Shard::Dispatch, with the owner's own backlog check replaced by Admits().
inline void SimShard::Dispatch(unsigned from, BusMessage msg) {
  parts_.Dispatch(from, std::move(msg), !admits_, now_ms_);
}

inline void SimShard::ArmRecv(int fd, core::SlabHandle h) {
  FakeSocket& s = cluster_->Socket(fd);
  RC_SIM_EXPECT(!s.recv_armed, "fd " + std::to_string(fd) + ": a second receive armed");
  s.handle = h;
  s.recv_armed = true;
}

inline void SimShard::CancelRecv(core::SlabHandle h) {
  for (auto& [fd, s] : cluster_->sockets_) {
    if (s.shard == id_ && s.handle == h && s.recv_armed && !s.closed) {
      s.recv_armed = false;
      completions_.push_back(Completion{Completion::kRecv, fd, h, -ECANCELED, false, {}});
    }
  }
}

inline void SimShard::SendMsg(int fd, core::SlabHandle h, size_t iov_count, bool /*fin_follows*/) {
  RC_SIM_EXPECT(iov_count <= kMaxIov, std::to_string(iov_count) + " iovecs");
  FakeSocket& s = cluster_->Socket(fd);
  RC_SIM_EXPECT(!s.closed, "send on closed fd " + std::to_string(fd));
  size_t total = 0;
  for (size_t i = 0; i < iov_count; ++i) {
    s.output.append(static_cast<const char*>(iov_[i].iov_base), iov_[i].iov_len);
    total += iov_[i].iov_len;
  }
  s.sends.push_back(total);
  completions_.push_back(Completion{Completion::kSent, fd, h, static_cast<int>(total), false, {}});
}

inline void SimShard::Shutdown(int fd, int how) {
  FakeSocket& s = cluster_->Socket(fd);
  if (how == SHUT_WR || how == SHUT_RDWR) s.shut_wr = true;
  if (how == SHUT_RD || how == SHUT_RDWR) s.eof = true;  // an armed receive ends with 0
}

inline void SimShard::Close(int fd) {
  FakeSocket& s = cluster_->Socket(fd);
  RC_SIM_EXPECT(!s.closed, "fd " + std::to_string(fd) + " closed twice");
  s.closed = true;
}

inline bool SimShard::IsHeld(const Completion& c) const {
  return c.kind == Completion::kSent && cluster_->Socket(c.fd).stalled;
}

inline bool SimShard::HasWork() const {
  for (const Completion& c : completions_) {
    if (!IsHeld(c)) return true;
  }
  for (const auto& [fd, s] : cluster_->sockets_) {
    if (s.shard == id_ && s.recv_armed && !s.closed && (!s.input.empty() || s.eof)) return true;
  }
  for (unsigned from = 0; from < count_; ++from) {
    if (!cluster_->Queue(from, id_).empty()) return true;
  }
  return false;
}

inline void SimShard::Handle(const Completion& done) {
  switch (done.kind) {
    case Completion::kAccept: {
      FakeSocket& s = cluster_->Socket(done.fd);
      std::optional<core::SlabHandle> h = sessions_.Accept(done.fd);
      RC_SIM_EXPECT(h.has_value(), "shard full");
      s.accepted = true;
      if (h) s.handle = *h;
      return;
    }
    case Completion::kRecv:
      RC_SIM_EXPECT(sessions_.IsLive(done.handle.slot), "receive for a free slot");
      RC_SIM_EXPECT(sessions_.HandleOf(done.handle.slot).gen == done.handle.gen,
                    "receive for a reused slot");
      sessions_.OnReceived(done.handle.slot, done.res, done.more, done.bytes);
      return;
    case Completion::kSent:
      RC_SIM_EXPECT(sessions_.IsLive(done.handle.slot), "send completion for a free slot");
      RC_SIM_EXPECT(sessions_.HandleOf(done.handle.slot).gen == done.handle.gen,
                    "send completion for a reused slot");
      sessions_.OnSent(done.handle.slot, done.res);
      return;
  }
}

// Shard::Round, without the ring: completions (the previous round's sends,
// cancels and accepts, then receives of what clients wrote), the inbound bus
// in sender order, timers, the owner's tick, the drain, the round's output.
inline void SimShard::Round() {
  now_ms_ = clock_->MonotonicMs();
  sessions_.BeginRound(now_ms_, clock_->UnixMs() / 1000);
  std::deque<Completion> ready;
  ready.swap(completions_);
  for (auto it = ready.begin(); it != ready.end();) {
    if (IsHeld(*it)) {  // a stalled peer: the send stays in flight
      completions_.push_back(std::move(*it));
      it = ready.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [fd, s] : cluster_->sockets_) {
    if (s.shard != id_ || !s.recv_armed || s.closed) continue;
    if (!s.input.empty()) {
      ready.push_back(Completion{Completion::kRecv, fd, s.handle, static_cast<int>(s.input.size()),
                                 true, std::move(s.input)});
      s.input.clear();
    } else if (s.eof) {
      s.recv_armed = false;  // EOF ends the multishot receive
      ready.push_back(Completion{Completion::kRecv, fd, s.handle, 0, false, {}});
    }
  }
  for (const Completion& done : ready) Handle(done);
  for (unsigned from = 0; from < count_; ++from) {
    if (from == id_) continue;
    std::deque<BusMessage>& q = cluster_->Queue(from, id_);
    while (!q.empty() && !sessions_.bus_held()) {  // as Shard::DrainInbound
      BusMessage msg = std::move(q.front());
      q.pop_front();
      Dispatch(from, std::move(msg));
    }
  }
  parts_.AdvanceTimers(now_ms_);
  parts_.owner().Tick(now_ms_);
  if (!sessions_.draining() && stop_) sessions_.BeginDrain();
  sessions_.EndRound();
}

}  // namespace ringcast::shard::sim
