// Shard: one thread, one io_uring, shared-nothing (DESIGN.md, Shape).
//
// A shard owns its listener (SO_REUSEPORT, multishot accept), a provided
// buffer ring feeding multishot receives, the connection slab, the local
// subscription index, the rooms it owns (hash(room) % N), a timer wheel and
// its ends of the SPSC mesh. Each round of Run(): reap every completion and
// handle it; drain the inbound rings; flush every connection with queued
// frames and no send in flight (one corked sendmsg each); ring the doorbells
// of shards that got work and may sleep; then one submit-and-wait. Only the
// mesh rings, the sleeping flags and SharedFrame refcounts are touched by
// other threads. Needs kernel 6.1+ (DEFER_TASKRUN, MSG_RING, buffer rings).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/slab.h"
#include "core/timer_wheel.h"
#include "net/buffer_ring.h"
#include "net/frame_reader.h"
#include "net/frame_writer.h"
#include "net/http_head.h"
#include "net/uring.h"
#include "proto/command.h"
#include "shard/bus.h"
#include "shard/connection.h"
#include "shard/out_queue.h"
#include "shard/server.h"
#include "shard/shard_stats.h"
#include "shard/subscription_index.h"

namespace ringcast::shard {

enum class TimerKind : uint8_t {
  kHandshake = 1,
  kCloseDeadline = 2,
  kKeepalive = 3,
  kTokenExpiry = 4,
  kRequestTimeout = 5,  // the slot field holds the request number, not a connection
};

// Timer keys name a connection by {slot, 24 bits of generation}.
inline uint64_t TimerKey(TimerKind kind, core::SlabHandle h) {
  return (uint64_t{static_cast<uint8_t>(kind)} << 56) | (uint64_t{h.gen & 0xffffffu} << 32) |
         h.slot;
}

class Shard {
 public:
  Shard(unsigned id, const ServerOptions& options, Mesh* mesh, int listen_fd,
        const std::atomic<bool>* stop, std::string node_id);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Thread body: sets up the ring (reporting success or a one-line error
  // through `ready`), then runs until stopped and drained.
  void Run(std::promise<std::optional<std::string>> ready);
  // After every shard thread has exited: frees messages still in the rings.
  void ReleaseInbound();

  unsigned id() const { return id_; }
  const ShardStats& stats() const { return stats_; }

 private:
  friend class SessionSink;

  // shard_loop.cc: setup, the loop, completions.
  std::optional<std::string> Setup();
  void Loop();
  void OnCompletion(const io_uring_cqe& cqe);
  void ArmAccept();
  void ArmRecv(Connection& c, uint32_t slot);
  void ArmTick();
  void OnAccept(const io_uring_cqe& cqe);
  void OnRecv(const io_uring_cqe& cqe);
  void OnSend(const io_uring_cqe& cqe);
  void OnTimer(uint64_t key);
  void OnKeepalive(Connection& c, uint32_t slot);
  void ArmKeepalive(uint32_t slot, uint64_t silent_ms);
  void FlushAll();
  void Flush(Connection& c, uint32_t slot);
  void MarkDirty(Connection& c, uint32_t slot);
  void MaybePause(Connection& c, uint32_t slot);
  void MaybeResume();
  void CutStalledConsumers();
  bool ResumeDeferred(Connection& c, uint32_t slot);
  uint64_t Pressure() const;
  void BeginDrain();
  void DrainStep();
  void Reap();
  bool SleepAllowed();
  size_t InboundDepth();

  // shard_conn.cc: connection lifecycle and WebSocket session.
  void OnBytes(Connection& c, uint32_t slot, std::string_view bytes);
  void OnHandshakeBytes(Connection& c, uint32_t slot, std::string_view bytes);
  void Upgrade(Connection& c, uint32_t slot, const net::HttpRequest& req, std::string_view view);

  // shard_http.cc: the HTTP API on the same port.
  size_t ServeHttp(Connection& c, uint32_t slot, const net::HttpRequest& req,
                   std::string_view view);
  void RouteHttp(Connection& c, uint32_t slot, const net::HttpRequest& req,
                 std::string_view body, bool keep_alive);
  bool ApiAllowed(const Connection& c, const net::HttpRequest& req, int* status) const;
  void EndHttp(Connection& c, uint32_t slot);
  void HttpReply(Connection& c, uint32_t slot, int status, std::string_view content_type,
                 std::string_view body, bool keep_alive);
  void HttpError(Connection& c, uint32_t slot, int status, std::string_view code,
                 std::string_view reason, bool keep_alive);
  uint32_t ReserveHttpTicket(Connection& c, bool keep_alive);
  // The parked reply for `ticket` if it is an HTTP one.
  const ParkedReply* HttpTicket(const Connection& c, uint32_t ticket) const;
  std::string StatsJson() const;
  std::string MetricsText() const;

 public:
  // Every shard's counters, for /metrics and /api/stats (set before Run).
  void SetPeers(std::vector<const ShardStats*> peers) { peers_ = std::move(peers); }

 private:
  void Enqueue(Connection& c, uint32_t slot, core::SharedFrame* frame);
  void EnqueueLocal(Connection& c, uint32_t slot, LocalFrame* local);
  void SendJson(Connection& c, uint32_t slot, const std::string& json);
  void CloseWith(Connection& c, uint32_t slot, uint16_t code, std::string_view reason);
  void RejectHttp(Connection& c, uint32_t slot, int status, std::string_view reason);
  void CloseHttp(Connection& c, uint32_t slot);  // after the last response
  void Terminate(Connection& c, uint32_t slot);
  void FreeConnection(uint32_t slot);
  void CloseSlowConsumer(Connection& c, uint32_t slot);
  bool IsSlowConsumer(const Connection& c) const;

  // shard_auth.cc: identity at the handshake and what it allows.
  int Authenticate(const net::HttpRequest& req, Connection& c, uint32_t slot, std::string* reason);
  bool OriginAllowed(const net::HttpRequest& req) const;
  bool HasApiKey(const net::HttpRequest& req) const;
  bool IsServerRoom(std::string_view room) const;
  bool MaySubscribe(const Connection& c, std::string_view room) const;
  bool MayPublish(const Connection& c, std::string_view room) const;

  // shard_commands.cc: the native protocol.
  bool OnText(Connection& c, uint32_t slot, std::string_view message);
  void Execute(Connection& c, uint32_t slot, const proto::Command& cmd);
  bool TakeCommandToken(Connection& c);
  void RefuseCommand(Connection& c, uint32_t slot, std::string_view line);
  void DoSub(Connection& c, uint32_t slot, const proto::Command& cmd);
  void DoUnsub(Connection& c, uint32_t slot, const proto::Command& cmd);
  void DoPub(Connection& c, uint32_t slot, const proto::Command& cmd);
  void PublishAsServer(std::string_view room, std::string data_json);
  void AnnounceStatus(Connection& c, uint32_t slot, bool open);
  void ReplyOk(Connection& c, uint32_t slot, std::optional<uint64_t> id);
  void ReplyError(Connection& c, uint32_t slot, std::optional<uint64_t> id, wire::ErrorCode code,
                  std::string_view reason);
  void Reply(Connection& c, uint32_t slot, core::SharedFrame* frame);
  // A reply that another shard will answer: a ticket keeps its place in order.
  uint32_t ReserveTicket(Connection& c, std::optional<uint64_t> id);
  void CompleteOk(Connection& c, uint32_t slot, uint32_t ticket);
  void CompleteError(Connection& c, uint32_t slot, uint32_t ticket, wire::ErrorCode code,
                     std::string_view reason);
  std::optional<uint64_t> TicketId(const Connection& c, uint32_t ticket) const;
  void CompleteTicket(Connection& c, uint32_t slot, uint32_t ticket, core::SharedFrame* frame);
  core::SharedFrame* BuildText(const std::string& json, std::string_view tag = {});
  std::string SidOf(uint32_t slot) const;

  // shard_bus.cc: ownership and cross-shard traffic.
  unsigned OwnerOf(std::string_view room) const;
  const NamespaceOptions& NamespaceOf(std::string_view room) const;
  // shard_owner.cc: what a room's owner does.
  OwnedRoom& EnsureOwned(std::string_view room);
  void MaybeForget(std::unordered_map<std::string, OwnedRoom, core::StringHash,
                                      std::equal_to<>>::iterator it);
  void OwnerJoin(JoinRequest* req, unsigned shard);
  void SendJoin(std::unique_ptr<JoinRequest> req, uint32_t join_epoch);
  void FinishJoin(std::unique_ptr<JoinRequest> req, uint32_t join_epoch);
  void SweepHistory();
  void FanOut(core::SharedFrame* frame, uint64_t mask, uint8_t flags, uint8_t origin,
              core::SlabHandle conn);
  void Send(unsigned to, const BusMessage& msg);
  void DrainInbound();
  void FlushOverflow();
  void RingDoorbells();
  void OnBus(const BusMessage& msg);
  void HandlePublish(std::unique_ptr<PubRequest> req);
  void RoutePublish(std::unique_ptr<PubRequest> req);
  void DeliverLocal(core::SharedFrame* frame, bool skip, uint8_t origin, core::SlabHandle conn,
                    bool presence_only = false);
  void HandleJoin(const BusMessage& msg);
  void HandleLeave(const BusMessage& msg);
  void HandleJoinAck(const BusMessage& msg);
  void HandlePubAck(const BusMessage& msg);
  void LeaveRoom(LocalRoom* room, bool one_conn, bool last);
  void OwnerLeave(std::string_view room, unsigned shard, bool one_conn, bool last);

  // shard_users.cc: personal rooms, `send`, disconnecting a user.
  void JoinPersonalRoom(Connection& c, uint32_t slot);
  void DoSend(Connection& c, uint32_t slot, const proto::Command& cmd);
  // Sends data to each user's connections; answers through `ticket` when
  // every owner has answered. Returns false when the bus is backlogged.
  bool StartSend(Connection& c, uint32_t slot, const std::vector<std::string_view>& to,
                 std::string_view data, uint32_t ticket, uint32_t request = 0);
  void OnSendAck(const BusMessage& msg);
  void DisconnectUser(std::string_view user);
  void HandleDisconnect(const BusMessage& msg);
  // req/res: the requester's shard keeps each pending request until its first
  // answer, no_such_user or its timeout.
  void DoReq(Connection& c, uint32_t slot, const proto::Command& cmd);
  void DoRes(Connection& c, uint32_t slot, const proto::Command& cmd);
  void HandleRes(std::unique_ptr<ResAnswer> answer);
  void OnRequestTimeout(uint32_t request);

  // shard_presence.cc: who is in a room (owner side), join/leave events with
  // a debounce, and the presence command / GET /api/presence.
  bool TracksPresence(std::string_view room) const;
  void SendPresenceDelta(const Connection& c, std::string_view room, int delta);
  void OwnerPresence(const PresenceDelta& d);
  void AnnouncePresence(std::string_view room, std::string_view op, std::string_view user,
                        std::string_view info_json);
  void SweepPresence();
  void DoPresence(Connection& c, uint32_t slot, const proto::Command& cmd);
  void AskPresence(Connection& c, uint32_t slot, std::string_view room, uint32_t ticket);
  void AnswerPresence(PresenceQuery* q);
  void FinishPresence(std::unique_ptr<PresenceQuery> q);
  void Unsubscribe(Connection& c, uint32_t slot, uint32_t sub_index);
  size_t OverflowTotal() const;

  const unsigned id_;
  const ServerOptions options_;
  Mesh* const mesh_;
  int listen_fd_;
  const std::atomic<bool>* const stop_;
  const std::string node_id_;

  net::Uring ring_;
  net::BufferRing buffers_;
  net::FrameReader reader_;
  net::FrameWriter writer_;
  proto::CommandParser parser_;
  proto::Command command_;  // reused: Parse resets it, its vectors keep their memory
  core::Slab<Connection> conns_;
  const uint64_t pressure_high_;  // shard-wide queued bytes that pause publishers
  uint64_t queued_total_ = 0;     // bytes queued to this shard's connections
  std::vector<uint32_t> paused_;
  core::TimerWheel timers_;
  FramePools pools_;
  SubscriptionIndex index_;
  ShardStats stats_;

  std::vector<std::deque<BusMessage>> overflow_;  // per target, when its ring is full
  uint64_t doorbells_due_ = 0;                     // bit per target shard
  std::vector<uint32_t> flush_list_;               // connections with frames to send
  uint32_t join_epoch_ = 0;
  uint64_t room_epochs_ = 0;
  struct PendingSend {
    core::SlabHandle conn;
    uint32_t ticket;    // the sender's reply ticket (0 = none wanted but errors)
    uint32_t waiting;   // owners still to answer
    uint64_t reached;   // connections reached so far
    uint32_t request;   // a `req`'s number, 0 for `send`
  };
  struct PendingRequest {
    core::SlabHandle conn;
    uint32_t ticket;
  };
  std::unordered_map<uint32_t, PendingRequest> requests_;
  struct PendingLeave {
    std::string room;
    std::string user;
    uint64_t left_at_ms;
  };
  std::deque<PendingLeave> leaves_;  // in time order: the delay is the same for all
  uint32_t next_request_ = 0;
  std::unordered_map<uint32_t, PendingSend> sends_;
  uint32_t next_send_id_ = 0;
  uint64_t next_sweep_ms_ = 0;
  uint64_t next_stall_sweep_ms_ = 0;
  std::vector<uint32_t> reap_;                     // terminated, to free when idle
  std::vector<uint32_t> rearm_;                    // receives to re-arm (ENOBUFS)
  bool accept_armed_ = false;
  bool accept_retry_ = false;
  bool draining_ = false;
  uint64_t drain_deadline_ms_ = 0;
  uint64_t drain_started_ms_ = 0;
  std::vector<core::SlabHandle> drain_list_;  // open connections when the drain began
  size_t drain_next_ = 0;
  LocalFrame* drain_bye_ = nullptr;  // the shared `bye`, until everyone has it
  uint64_t now_ms_ = 0;
  uint32_t round_ = 0;  // loop rounds, for telling a stuck send from a fresh one
  uint64_t anon_counter_ = 0;
  __kernel_timespec tick_ts_{};
  std::vector<const ShardStats*> peers_;
  std::string scratch_;
  struct SendBlock;
  std::unique_ptr<SendBlock[]> send_blocks_;  // msghdr + iovec, valid until submitted
  size_t send_blocks_used_ = 0;
};

}  // namespace ringcast::shard
