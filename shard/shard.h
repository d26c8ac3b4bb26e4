// Shard: one thread, one io_uring, shared-nothing (docs/design.md, Shard).
//
// A shard owns its listener (SO_REUSEPORT, multishot accept), a provided
// buffer ring feeding multishot receives, its sessions, the rooms it owns
// (hash(room) % N), its side of every room it has subscribers in, a timer
// wheel and its ends of the SPSC mesh. The Shard itself keeps only the ring,
// the loop, its Outbox and dispatch; each concept is a class of its own,
// wired together in ShardParts:
//
//   Sessions     connections: handshake, WebSocket input, out-queues, closes,
//                keepalive, backpressure, drain
//   Commands     the native protocol's commands on an open session
//   HttpApi      the HTTP API's route table
//   LocalRooms   this shard's side of rooms: subscribe, deliver, answers
//   RoomOwner    the owner's side: seq, history, subscriber shards, presence
//   Users        send, req/res, disconnect
//
// Each round of Run(), in the order of the design's loop: reap every ready
// completion and handle it (accept, receive, send, tick); drain the inbound
// rings; fire due timers; flush every connection with queued frames and no
// send in flight (one corked sendmsg each); move bus overflow onto rings and
// ring the doorbells of shards that got work and may sleep; then one
// submit-and-wait. Only the mesh rings, the sleeping flags and SharedFrame
// refcounts are touched by other threads. Needs kernel 6.1+ (DEFER_TASKRUN,
// MSG_RING, provided buffer rings).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "net/buffer_ring.h"
#include "net/redis_address.h"
#include "net/uring.h"
#include "shard/backplane.h"
#include "shard/bus_port.h"
#include "shard/mesh.h"
#include "shard/metrics.h"
#include "shard/outbox.h"
#include "shard/server.h"
#include "shard/sessions.h"
#include "shard/shard_parts.h"
#include "shard/shard_stats.h"

namespace ringcast::shard {

class Shard final : public BusPort, public SessionIo {
 public:
  // `redis`: cluster mode's Redis instances (shard/backplane.h); empty = a single node.
  Shard(unsigned id, const ServerOptions& options, Mesh* mesh, int listen_fd,
        const std::atomic<bool>* stop, const Metrics* metrics, const core::Clock* clock,
        const std::vector<net::RedisAddress>& redis = {});
  ~Shard() override;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Thread body: sets up the ring (reporting success or a one-line error
  // through `ready`), then runs until stopped and drained.
  void Run(std::promise<std::optional<std::string>> ready);
  // After every shard thread has exited: frees messages still in the rings.
  void ReleaseInbound();
  const ShardStats& stats() const { return stats_; }

  // BusPort.
  unsigned shard_id() const override { return id_; }
  unsigned shard_count() const override { return mesh_->shards(); }
  bool Admits(unsigned to) const override { return outbox_.Admits(to); }
  void Post(unsigned to, BusMessage msg) override;

  // SessionIo.
  void ArmRecv(int fd, core::SlabHandle h) override;
  void CancelRecv(core::SlabHandle h) override;
  iovec* SendVector(size_t* max_iov) override;
  void SendMsg(int fd, core::SlabHandle h, size_t iov_count, bool fin_follows) override;
  void Shutdown(int fd, int how) override;
  void Close(int fd) override;
  uint64_t PeerPressure() const override { return mesh_->MaxPressureOfOthers(id_); }
  uint64_t BusBacklog() const override {
    return std::max<uint64_t>(outbox_.Backlog(), mesh_->MaxBusBacklogOfOthers(id_));
  }
  size_t BusRingCapacity() const override { return mesh_->ring_capacity(); }

 private:
  struct SendBlock;

  std::optional<std::string> Setup();
  void Loop();
  bool Round();
  void OnCompletion(const io_uring_cqe& cqe);
  void ArmAccept();
  void ArmTick();
  void OnAccept(const io_uring_cqe& cqe);
  void OnRecv(const io_uring_cqe& cqe);
  void OnTick();
  void DrainInbound();
  void Dispatch(unsigned from, BusMessage msg);
  void RingDoorbells(uint64_t due);
  void StopAccepting();
  bool SleepAllowed();
  size_t InboundDepth() const;

  const unsigned id_;
  const ServerOptions options_;
  Mesh* const mesh_;  // before parts_: Sessions asks BusRingCapacity() while built
  int listen_fd_;
  const std::atomic<bool>* const stop_;
  const core::Clock* const clock_;

  net::Uring ring_;
  net::BufferRing buffers_;
  ShardStats stats_;
  Outbox outbox_;
  ShardParts parts_;
  Sessions& sessions_;                    // parts_.sessions(), used on every completion
  std::unique_ptr<Backplane> backplane_;  // cluster mode only

  uint64_t now_ms_ = 0;
  bool accept_armed_ = false;
  bool accept_retry_ = false;
  bool accept_stopped_ = false;
  uint64_t drain_deadline_ms_ = 0;
  __kernel_timespec tick_ts_{};
  std::unique_ptr<SendBlock[]> send_blocks_;  // msghdr + iovec, valid until submitted
  uint64_t room_doorbells_ = 0;  // producers that waited for room in a ring this round drained
  size_t send_blocks_used_ = 0;
};

}  // namespace ringcast::shard
