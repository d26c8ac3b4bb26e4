// Sessions: one shard's connections, from accept to free (docs/design.md,
// Connections). sessions.cc has accept, input, output and replies;
// sessions_close.cc has closing, ending a socket, freeing its slot and the drain.
//
// A connection reads HTTP heads until one upgrades (then it is a WebSocket
// session) or serves HTTP API requests, keep-alive and pipelined (HttpFront).
// WebSocket input goes through the pooled frame reader; text messages go up
// to SessionEvents (SessionSink). Output: every frame is queued on the connection's
// OutQueue, and once per round each connection with queued frames and no
// send in flight sends them all in one sendmsg (corking). Replies keep
// command order through ReplyTickets.
//
// Bounds: a connection whose queued bytes pass limits.max_queued_bytes while
// its last send is stuck is closed with 4000 (slow consumer). While more
// than max(128 MiB, 4 x max_queued_bytes) wait in the queues of any shard, or
// more than a bus ring's worth of messages (32768 to 131072, by the number of
// shards) on the bus toward any shard, connections that
// publish stop being read until that falls back, so an overload waits in
// publishers' sockets, not in our memory (Backpressure).
// Keepalive pings silent connections and closes ones silent past the idle
// timeout; handshakes and closes have deadlines. The slab holds
// max_connections_per_shard WebSocket sessions plus http_reserve_per_shard
// more sockets, so a shard full of sessions still answers HTTP (/healthz,
// the API) and refuses further upgrades with 503 + Retry-After; only when
// the reserve is full too is a socket refused without a slot. Drain sends `bye` + 1001
// spread over three quarters of drain_ms (DrainSchedule).
//
// Everything the ring does for it goes through SessionIo, and everything it
// reports goes to SessionEvents, so it is tested without a ring or sockets.
// Shard thread only.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/slab.h"
#include "core/timer_wheel.h"
#include "net/frame_reader.h"
#include "net/frame_writer.h"
#include "net/http_head.h"
#include "shard/access.h"
#include "shard/backpressure.h"
#include "shard/connection.h"
#include "shard/drain_schedule.h"
#include "shard/fd_budget.h"
#include "shard/http_front.h"
#include "shard/keepalive.h"
#include "shard/out_queue.h"
#include "shard/server.h"
#include "shard/shard_stats.h"

namespace ringcast::shard {

// Timers keyed by connection: {kind: 4 bits, slot generation: all 32 bits,
// slot: 28 bits}. The whole generation, so a timer outliving its connection
// cannot reach the slot's next tenant until the slot is reused 2^32 times.
// A request timeout keeps the request's number in the low 60 bits instead.
enum class TimerKind : uint8_t {
  kHandshake = 1,
  kCloseDeadline = 2,
  kKeepalive = 3,
  kTokenExpiry = 4,
  kRequestTimeout = 5,  // the low 60 bits hold a request number, not a connection
};
constexpr int kTimerSlotBits = 28;
constexpr uint32_t kMaxTimerSlots = uint32_t{1} << kTimerSlotBits;  // slab capacity bound
constexpr uint64_t kTimerPayloadMask = (uint64_t{1} << 60) - 1;
constexpr uint64_t TimerKey(TimerKind kind, core::SlabHandle h) {
  return (uint64_t{static_cast<uint8_t>(kind)} << 60) | (uint64_t{h.gen} << kTimerSlotBits) |
         (h.slot & (kMaxTimerSlots - 1));
}
constexpr uint64_t RequestTimerKey(uint64_t request) {
  return (uint64_t{static_cast<uint8_t>(TimerKind::kRequestTimeout)} << 60) |
         (request & kTimerPayloadMask);
}
constexpr TimerKind TimerKindOf(uint64_t key) { return static_cast<TimerKind>(key >> 60); }
constexpr uint32_t TimerSlotOf(uint64_t key) {
  return static_cast<uint32_t>(key & (kMaxTimerSlots - 1));
}
constexpr uint32_t TimerGenOf(uint64_t key) {
  return static_cast<uint32_t>(key >> kTimerSlotBits);  // the kind bits fall off
}
constexpr uint64_t TimerRequestOf(uint64_t key) { return key & kTimerPayloadMask; }

// What a session asks of the shard's ring.
class SessionIo {
 public:
  virtual ~SessionIo() = default;
  virtual void ArmRecv(int fd, core::SlabHandle h) = 0;
  virtual void CancelRecv(core::SlabHandle h) = 0;
  // Room for the next send's iovecs, valid until SendMsg.
  virtual iovec* SendVector(size_t* max_iov) = 0;
  // fin_follows: these are the connection's last bytes and a shutdown or a
  // close follows as soon as the send completes, so the kernel may hold them
  // (MSG_MORE) and send them with the FIN in one segment.
  virtual void SendMsg(int fd, core::SlabHandle h, size_t iov_count, bool fin_follows) = 0;
  virtual void Shutdown(int fd, int how) = 0;
  virtual void Close(int fd) = 0;
  // Queued bytes of the busiest other shard, as of its last round.
  virtual uint64_t PeerPressure() const = 0;
  // Messages waiting on the bus toward one shard: the most backlogged of
  // this shard's targets (now) and of every other shard's (as of its last
  // round). Backpressure holds publishers on it.
  virtual uint64_t BusBacklog() const = 0;
  // Slots in each bus ring (Mesh::RingCapacityFor): Backpressure's bus marks.
  // Read once, while Sessions is built, which may be inside the constructor
  // of the object implementing this: answer from members set before it.
  virtual size_t BusRingCapacity() const = 0;
};

// What a session reports up to the protocol layer.
class SessionEvents {
 public:
  virtual ~SessionEvents() = default;
  // A WebSocket text message; returns false once the connection is closing.
  virtual bool OnText(Connection& c, uint32_t slot, std::string_view message) = 0;
  // An HTTP request that does not upgrade; returns the bytes it took (head
  // and body), or 0 while its body is still arriving.
  virtual size_t OnHttpRequest(Connection& c, uint32_t slot, const net::HttpRequest& req,
                               std::string_view input) = 0;
  // The session is open and welcomed.
  virtual void OnOpen(Connection& c, uint32_t slot) = 0;
  // The connection is about to be freed (its subscriptions are still there).
  virtual void OnFree(Connection& c, uint32_t slot) = 0;
};

class Sessions {
 public:
  // The longest a token-expiry timer waits before it looks again.
  static constexpr uint64_t kTokenRecheckMs = 60000;

  Sessions(unsigned shard_id, const ServerOptions& options, std::string node_id, Access* access,
           net::FrameWriter* writer, core::TimerWheel* timers, ShardStats* stats, SessionIo* io,
           SessionEvents* events);
  ~Sessions();
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // Each round starts here with the clock read once.
  void BeginRound(uint64_t now_ms, int64_t now_unix_s);
  // Re-arms receives, frees finished connections, flushes, resumes
  // publishers: the round's output.
  void EndRound();

  // A new socket: its slot, or nullopt when the shard is full, HTTP reserve
  // included (the socket is then answered 503 and closed).
  std::optional<core::SlabHandle> Accept(int fd);
  // max_connections_per_shard WebSocket sessions hold slots: upgrades get 503.
  bool AtSessionLimit() const { return websockets_ >= max_websockets_; }
  // A receive completion: res > 0 with the bytes, or -errno / 0 (EOF).
  void OnReceived(uint32_t slot, int res, bool more, std::string_view bytes);
  // A send completion: the bytes the kernel took, or -errno.
  void OnSent(uint32_t slot, int res);
  void OnTimer(uint64_t key);

  // Output. Enqueue takes the frame's reference; EnqueueLocal adds one.
  // Frames for a connection that is closing are dropped.
  void Enqueue(Connection& c, uint32_t slot, core::SharedFrame* frame);
  void EnqueueLocal(Connection& c, uint32_t slot, LocalFrame* local);
  // The fan-out's hot path (LocalRooms::OnDeliver), inline: EnqueueLocal to a
  // connection the caller saw open, without counting it; the caller adds its
  // deliveries to messages_out once per fan-out (CountQueued). Per frame this
  // is a queue push and two flag tests, no call.
  void PushDelivery(Connection& c, uint32_t slot, LocalFrame* local) {
    RC_DCHECK(c.state == ConnState::kOpen);
    queued_total_ += local->frame->size();
    c.out.Push(&pools_, local);
    MarkDirty(c, slot);
    if (c.out.queued_bytes() > options_.max_queued_bytes) OverLimit(c, slot);
  }
  // Whether a connection that keeps up has taken more than half the burst
  // bound since its last send this round (OverLimit): the shard drains no
  // more of the bus until the next round, after this one's sends.
  bool bus_held() const { return bus_held_; }
  void CountQueued(uint64_t frames) { Bump(stats_->messages_out, frames); }
  // A reply in command order (behind any reply still waiting).
  void Reply(Connection& c, uint32_t slot, core::SharedFrame* frame);
  uint32_t ReserveTicket(Connection& c, std::optional<uint64_t> id, bool http = false,
                         bool keep_alive = true);
  void CompleteTicket(Connection& c, uint32_t slot, uint32_t ticket, core::SharedFrame* frame);
  const ReplyTickets::Ticket* FindTicket(const Connection& c, uint32_t ticket) const;
  core::SharedFrame* BuildText(std::string_view json, std::string_view tag = {});

  // Closing. CloseWith sends a close frame (WebSocket) or ends the socket;
  // the write side is shut once it is out and the peer's close and EOF end
  // the connection.
  void CloseWith(Connection& c, uint32_t slot, uint16_t code, std::string_view reason);
  // The peer's close frame: echo it with `code`. Once the echo is out the
  // close handshake is complete and the server ends the socket first (RFC
  // 6455, 7.1.1), without a half-close or a wait for the peer's FIN.
  void EchoClose(Connection& c, uint32_t slot, uint16_t code);
  // HTTP: no further requests; close once every answer is out.
  void EndHttp(Connection& c, uint32_t slot);
  // retry_after_s > 0 adds a Retry-After header.
  void RejectHttp(Connection& c, uint32_t slot, int status, std::string_view reason,
                  uint32_t retry_after_s = 0);
  void Terminate(Connection& c, uint32_t slot);
  // HTTP: no more requests are read; closes once it is flushed.
  void CloseHttp(Connection& c, uint32_t slot);

  // From HttpFront: a request was taken whole; the next one's time starts
  // (keepalive.handshake_timeout_ms bounds each request, see OnHandshakeTimer).
  void StartHttpRequest(Connection& c);
  // From HttpFront: the handshake succeeded (the 101 is queued).
  void Open(Connection& c, uint32_t slot, Identity identity);
  // Input of an open session, in slices, pausing a publisher part-way if the
  // queues fill (Backpressure::Feed).
  void FeedWebSocket(Connection& c, uint32_t slot, std::string_view bytes);
  // The bytes of one slice (from Backpressure::Feed).
  void OnWebSocketBytes(Connection& c, uint32_t slot, std::string_view bytes);
  // For Backpressure.
  void CloseSlowConsumer(Connection& c, uint32_t slot, std::string_view reason = "slow consumer");
  void Rearm(Connection& c, uint32_t slot);  // at the end of the round, if it needs it
  void CountPause();
  // Publishers not being read (Backpressure), and whether they would be
  // read again at the end of a round now.
  size_t paused_publishers() const { return backpressure_.paused(); }
  bool PublishersMayResume() const { return backpressure_.MayResume(); }
  uint64_t bus_resume_mark() const { return backpressure_.bus_resume_mark(); }
  void CountPausedMs(uint64_t ms);
  template <class F>
  void ForEach(F&& f) {
    conns_.ForEach(f);
  }

  // Lame-duck mode: `bye` + 1001 to every open connection, spread out.
  void BeginDrain();
  bool draining() const { return draining_; }
  // Every open connection has been told.
  bool DrainTold() const { return draining_ && drain_bye_ == nullptr; }
  void TerminateAll();
  // Closes every socket still open (the shard is being destroyed).
  void CloseAll();

  Connection* Get(core::SlabHandle h) { return conns_.Get(h); }
  Connection& At(uint32_t slot) { return conns_.At(slot); }
  bool IsLive(uint32_t slot) const { return conns_.IsLive(slot); }
  // Whether a connection timer's key still names a live connection.
  // Output the connection holds: its queue plus the replies parked behind an
  // unanswered one; limits.max_queued_bytes bounds it.
  uint64_t OutputHeld(const Connection& c) const {
    return c.out.queued_bytes() + (c.tickets ? c.tickets->held_bytes() : 0);
  }
  bool TimerLive(uint64_t key) const {
    uint32_t slot = TimerSlotOf(key);
    return conns_.IsLive(slot) && conns_.HandleOf(slot).gen == TimerGenOf(key);
  }
  core::SlabHandle HandleOf(uint32_t slot) const { return conns_.HandleOf(slot); }
  std::string SidOf(uint32_t slot) const;
  size_t size() const { return conns_.size(); }
  uint64_t queued_total() const { return queued_total_; }
  FramePools& pools() { return pools_; }
  uint64_t now_ms() const { return now_ms_; }

 private:
  void OnHandshakeTimer(Connection& c, uint32_t slot);
  void ArmTokenTimer(const Connection& c, core::SlabHandle h);
  void CheckHeld(Connection& c, uint32_t slot);
  void OnTokenTimer(Connection& c, uint32_t slot);
  void OnKeepalive(Connection& c, uint32_t slot);
  void ArmKeepalive(uint32_t slot, std::optional<uint64_t> delay_ms);
  // The last frame a closing connection sends (its close frame or HTTP error).
  void EnqueueLast(Connection& c, uint32_t slot, core::SharedFrame* frame);
  void Push(Connection& c, uint32_t slot, LocalFrame* local);
  void MarkDirty(Connection& c, uint32_t slot) {
    if (c.in_flush_list || c.send_in_flight) return;
    c.in_flush_list = true;
    flush_list_.push_back(slot);
  }
  void Flush(Connection& c, uint32_t slot);
  bool IsSlowConsumer(const Connection& c) const;
  // Past max_queued_bytes: closes a slow consumer, or holds the bus.
  void OverLimit(Connection& c, uint32_t slot);
  void DropUnsent(Connection& c);
  void EndAfterEcho(Connection& c, uint32_t slot);
  void MarkDead(Connection& c, uint32_t slot);
  void FreeConnection(uint32_t slot);
  void DrainStep();

  const unsigned shard_id_;
  const ServerOptions& options_;
  const std::string node_id_;
  Access* const access_;
  net::FrameWriter* const writer_;
  core::TimerWheel* const timers_;
  ShardStats* const stats_;
  SessionIo* const io_;
  SessionEvents* const events_;

  const uint32_t max_websockets_;  // limits.max_connections_per_shard
  uint32_t websockets_ = 0;        // upgraded connections not yet freed
  core::Slab<Connection> conns_;
  HttpFront front_;
  Backpressure backpressure_;
  net::FrameReader reader_;
  const Keepalive keepalive_;
  // The handshake timer every connection has pending when it opens is due
  // no later than its first keepalive check would be (handshake_timeout_ms
  // <= that check's delay; the timer's deadline is at most
  // handshake_timeout_ms after the open): that timer then runs the first
  // check instead of a second wheel entry, one 16-byte entry less per idle
  // connection (docs/design.md, Memory per idle connection).
  const bool handshake_timer_checks_keepalive_;
  FramePools pools_;
  uint64_t queued_total_ = 0;         // bytes queued to this shard's connections
  std::vector<uint32_t> flush_list_;  // connections with frames to send
  std::vector<uint32_t> reap_;        // terminated, to free when the kernel is done
  std::vector<uint32_t> rearm_;       // receives to re-arm
  uint64_t now_ms_ = 0;
  int64_t now_unix_s_ = 0;
  uint32_t round_ = 0;  // loop rounds, for telling a stuck send from a fresh one
  bool bus_held_ = false;
  std::string scratch_;

  bool draining_ = false;
  std::optional<DrainSchedule> drain_;
  LocalFrame* drain_bye_ = nullptr;  // the shared `bye`, until everyone has it
};

}  // namespace ringcast::shard
