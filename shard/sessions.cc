#include "shard/sessions.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "core/wire.h"
#include "net/uring.h"
#include "proto/envelope.h"
#include "shard/session_sink.h"

namespace ringcast::shard {

namespace {

constexpr uint64_t kBurstFactor = 16;  // queued past this x the limit: slow, whatever

// Server::Start puts the effective limit in the options; 0 is only seen by
// Sessions built without a Server (unit tests), and means the default cap.
uint32_t MaxWebSockets(const ServerOptions& options) {
  return options.max_connections_per_shard != 0 ? options.max_connections_per_shard
                                                : kDefaultConnectionsPerShard;
}

}  // namespace

Sessions::Sessions(unsigned shard_id, const ServerOptions& options, std::string node_id,
                   Access* access, net::FrameWriter* writer, core::TimerWheel* timers,
                   ShardStats* stats, SessionIo* io, SessionEvents* events)
    : shard_id_(shard_id),
      options_(options),
      node_id_(std::move(node_id)),
      access_(access),
      writer_(writer),
      timers_(timers),
      stats_(stats),
      io_(io),
      events_(events),
      max_websockets_(MaxWebSockets(options)),
      conns_(max_websockets_ + options.http_reserve_per_shard),
      front_(this, events, access, options, stats),
      backpressure_(this, io, options.max_queued_bytes),
      reader_(options.max_message_bytes),
      keepalive_(options.ping_interval_ms, options.idle_timeout_ms),
      handshake_timer_checks_keepalive_(keepalive_.NextCheck(0) &&
                                        options.handshake_timeout_ms <= *keepalive_.NextCheck(0)) {
  // Slots, HTTP reserve included, fit a timer key.
  RC_CHECK(uint64_t{max_websockets_} + options.http_reserve_per_shard < kMaxTimerSlots);
}

Sessions::~Sessions() {
  conns_.ForEach([&](uint32_t, Connection& c) {
    c.out.Clear(&pools_);
    reader_.Release(&c.ws);
  });
  if (drain_bye_ != nullptr) pools_.Unref(drain_bye_);
}

void Sessions::CloseAll() {
  conns_.ForEach([&](uint32_t, Connection& c) {
    if (c.fd >= 0) io_->Close(c.fd);
    c.fd = -1;
  });
}

void Sessions::BeginRound(uint64_t now_ms, int64_t now_unix_s) {
  ++round_;
  bus_held_ = false;
  now_ms_ = now_ms;
  now_unix_s_ = now_unix_s;
}

void Sessions::EndRound() {
  if (draining_) DrainStep();
  backpressure_.EndRound();  // resumed publishers are re-armed below
  if (!rearm_.empty()) {
    std::vector<uint32_t> slots;
    slots.swap(rearm_);
    for (uint32_t slot : slots) {
      if (!conns_.IsLive(slot)) continue;
      Connection& c = conns_.At(slot);
      if (!c.recv_armed && !c.paused && c.state != ConnState::kDead) {
        io_->ArmRecv(c.fd, conns_.HandleOf(slot));
        c.recv_armed = true;
      }
    }
  }
  size_t keep = 0;
  for (uint32_t slot : reap_) {
    Connection& c = conns_.At(slot);
    if (c.recv_armed || c.send_in_flight) {
      reap_[keep++] = slot;  // wait for the kernel to give the operations back
    } else {
      FreeConnection(slot);
    }
  }
  reap_.resize(keep);
  for (size_t i = 0; i < flush_list_.size(); ++i) {
    uint32_t slot = flush_list_[i];
    if (!conns_.IsLive(slot)) continue;
    Connection& c = conns_.At(slot);
    c.in_flush_list = false;
    if (c.state == ConnState::kDead || c.send_in_flight || c.out.empty()) continue;
    Flush(c, slot);
  }
  flush_list_.clear();
  stats_->queued_bytes.store(queued_total_, std::memory_order_relaxed);
}

std::optional<core::SlabHandle> Sessions::Accept(int fd) {
  std::optional<core::SlabHandle> h = conns_.Alloc();
  if (!h) {
    Bump(stats_->connections_rejected);
    return std::nullopt;
  }
  Connection& c = conns_.At(h->slot);
  c.fd = fd;
  c.last_rx_ms = now_ms_;
  c.http_start_ms = now_ms_;
  Bump(stats_->connections_accepted);
  Bump(stats_->connections_open);
  io_->ArmRecv(fd, *h);
  c.recv_armed = true;
  timers_->Add(now_ms_, options_.handshake_timeout_ms, TimerKey(TimerKind::kHandshake, *h));
  return h;
}

void Sessions::OnReceived(uint32_t slot, int res, bool more, std::string_view bytes) {
  RC_CHECK(conns_.IsLive(slot));
  Connection& c = conns_.At(slot);
  if (!more) c.recv_armed = false;
  if (res > 0) {
    c.last_rx_ms = now_ms_;
    if (c.paused && c.state == ConnState::kOpen) {
      if (!c.deferred) c.deferred = std::make_unique<DeferredInput>();
      c.deferred->Append(bytes);  // bounded by the buffer ring: the receive is cancelled
    } else if (c.state == ConnState::kOpen) {
      FeedWebSocket(c, slot, bytes);  // a publisher may pause part-way
    } else if (c.state == ConnState::kHandshake) {
      front_.OnBytes(c, slot, bytes, now_unix_s_);
    }
    if (c.published) backpressure_.AfterPublish(c, slot);
    Rearm(c, slot);
  } else if (res == -ENOBUFS) {
    // The buffer ring ran dry: an ordinary, counted event. Buffers come back
    // as the round consumes them; the receive is re-armed at its end.
    Bump(stats_->recv_enobufs);
    Rearm(c, slot);
  } else if (res == -ECANCELED && c.state != ConnState::kDead) {
    rearm_.push_back(slot);  // cancelled to pause it; re-armed once resumed
  } else {
    Terminate(c, slot);  // EOF (also the normal end of a close) or a reset
  }
}

void Sessions::OnSent(uint32_t slot, int res) {
  RC_CHECK(conns_.IsLive(slot));
  Connection& c = conns_.At(slot);
  RC_CHECK(c.send_in_flight);
  c.send_in_flight = false;
  uint32_t expected = c.in_flight_bytes;
  c.in_flight_bytes = 0;
  c.in_flight_nodes = 0;
  if (res < 0) {
    Terminate(c, slot);
    return;
  }
  Bump(stats_->bytes_out, static_cast<uint64_t>(res));
  if (static_cast<uint32_t>(res) < expected) Bump(stats_->short_sends);
  c.out.Consume(&pools_, static_cast<uint64_t>(res));  // a short send resumes mid-frame
  queued_total_ -= static_cast<uint64_t>(res);
  if (c.state == ConnState::kDead) return;
  if (!c.out.empty()) {
    MarkDirty(c, slot);
    return;
  }
  // A connection with nothing left to send while a publisher is held (not
  // that publisher's own answers): reading resumed too late, the queues ran
  // dry before the resume point. It resumes them now (Backpressure).
  if (backpressure_.paused() != 0 && c.state == ConnState::kOpen && !c.paused) {
    Bump(stats_->drained_while_paused);
    backpressure_.OnQueueDrained();
  }
  if (c.state == ConnState::kClosing && c.end_after_flush) {
    EndAfterEcho(c, slot);
  } else if (c.state == ConnState::kClosing && c.close_after_flush && !c.shut_write) {
    // Everything, the close frame last, is out: half-close and let the peer
    // finish; its EOF (or the close deadline) ends the connection.
    io_->Shutdown(c.fd, SHUT_WR);
    c.shut_write = true;
  }
}

void Sessions::FeedWebSocket(Connection& c, uint32_t slot, std::string_view bytes) {
  backpressure_.Feed(c, slot, bytes);
}

void Sessions::OnWebSocketBytes(Connection& c, uint32_t slot, std::string_view bytes) {
  SessionSink sink(this, events_, &c, slot, writer_);
  uint16_t code = 0;
  if (reader_.Feed(&c.ws, bytes, &sink, &code) == net::FeedResult::kError) {
    Bump(stats_->protocol_closes);
    CloseWith(c, slot, code, wire::CloseReason(code));
  }
}

void Sessions::Open(Connection& c, uint32_t slot, Identity identity) {
  RC_CHECK(!AtSessionLimit());  // HttpFront refuses the upgrade first
  c.state = ConnState::kOpen;
  c.websocket = true;
  ++websockets_;
  c.user = core::BoxedString(identity.user);
  c.is_server = identity.is_server;
  c.grants = std::move(identity.grants);
  c.tokens_milli = uint64_t{options_.command_burst} * 1000;
  c.refill_ms = now_ms_;
  core::SlabHandle h = conns_.HandleOf(slot);
  if (identity.expires_unix_s) {
    // A connection does not outlive its token: close 1008 when it expires.
    // Unix seconds fit 32 bits until 2106; a later exp means "not in this
    // connection's lifetime" and is kept as the largest value.
    c.token_exp_s = static_cast<uint32_t>(
        std::clamp<int64_t>(*identity.expires_unix_s, 1, std::numeric_limits<uint32_t>::max()));
    ArmTokenTimer(c, h);
  }
  if (!handshake_timer_checks_keepalive_) ArmKeepalive(slot, keepalive_.NextCheck(0));
  scratch_.clear();
  proto::WriteWelcome(&scratch_, SidOf(slot), c.user, node_id_);
  Enqueue(c, slot, BuildText(scratch_));
  events_->OnOpen(c, slot);
}

// NODE-SHARD-SLOT-GEN, without snprintf (once per connection).
std::string Sessions::SidOf(uint32_t slot) const {
  core::SlabHandle h = conns_.HandleOf(slot);
  std::string sid = node_id_;
  for (uint32_t n : {uint32_t{shard_id_}, h.slot, h.gen}) sid.append("-").append(std::to_string(n));
  return sid;
}

core::SharedFrame* Sessions::BuildText(std::string_view json, std::string_view tag) {
  return writer_->Build(wire::Opcode::kText, json, tag);
}

void Sessions::Enqueue(Connection& c, uint32_t slot, core::SharedFrame* frame) {
  LocalFrame* local = pools_.Wrap(frame);
  EnqueueLocal(c, slot, local);
  pools_.Unref(local);
}

void Sessions::EnqueueLocal(Connection& c, uint32_t slot, LocalFrame* local) {
  // Nothing follows a close frame (RFC 6455 5.5.1), even when a fan-out or a
  // replay made this connection a slow consumer in the middle of its loop.
  if (c.state == ConnState::kClosing || c.state == ConnState::kDead) return;
  Push(c, slot, local);
}

void Sessions::EnqueueLast(Connection& c, uint32_t slot, core::SharedFrame* frame) {
  LocalFrame* local = pools_.Wrap(frame);
  Push(c, slot, local);
  pools_.Unref(local);
}

void Sessions::Push(Connection& c, uint32_t slot, LocalFrame* local) {
  queued_total_ += local->frame->size();
  Bump(stats_->messages_out);
  c.out.Push(&pools_, local);
  MarkDirty(c, slot);
  if (c.out.queued_bytes() > options_.max_queued_bytes && c.state == ConnState::kOpen) {
    OverLimit(c, slot);
  }
}

void Sessions::Reply(Connection& c, uint32_t slot, core::SharedFrame* frame) {
  if (c.state == ConnState::kClosing || c.state == ConnState::kDead) {
    frame->Unref();  // nothing follows a close frame, parked or not
    return;
  }
  if (c.tickets && c.tickets->ParkBehind(frame)) {
    CheckHeld(c, slot);
    return;
  }
  Enqueue(c, slot, frame);
}

// Replies parked behind an unanswered one are output the connection holds:
// together with its queue they may not pass limits.max_queued_bytes.
void Sessions::CheckHeld(Connection& c, uint32_t slot) {
  if (c.state != ConnState::kOpen || OutputHeld(c) <= options_.max_queued_bytes) return;
  CloseSlowConsumer(c, slot, "too many replies waiting");
}

uint32_t Sessions::ReserveTicket(Connection& c, std::optional<uint64_t> id, bool http,
                                 bool keep_alive) {
  if (!c.tickets) c.tickets = std::make_unique<ReplyTickets>();
  return c.tickets->Reserve(id, http, keep_alive);
}

const ReplyTickets::Ticket* Sessions::FindTicket(const Connection& c, uint32_t ticket) const {
  return c.tickets ? c.tickets->Find(ticket) : nullptr;
}

void Sessions::CompleteTicket(Connection& c, uint32_t slot, uint32_t ticket,
                              core::SharedFrame* frame) {
  RC_CHECK(c.tickets);
  c.tickets->Complete(ticket, frame, [&](core::SharedFrame* ready) {
    // kHandshake: an HTTP API connection between requests (keep-alive).
    if (c.state == ConnState::kOpen || c.state == ConnState::kHandshake) {
      Enqueue(c, slot, ready);
    } else {
      ready->Unref();
    }
  });
  if (c.tickets->empty()) {
    c.tickets.reset();
    if (c.state == ConnState::kHandshake) StartHttpRequest(c);  // answered: the next may begin
    if (c.http_close && c.state == ConnState::kHandshake) CloseHttp(c, slot);
    return;
  }
  CheckHeld(c, slot);
}

// One sendmsg over everything queued (up to the vector's room): the corking
// that lets a subscriber take a burst of publications in one syscall.
void Sessions::Flush(Connection& c, uint32_t slot) {
  size_t max_iov = 0;
  iovec* iov = io_->SendVector(&max_iov);
  uint64_t bytes = 0;
  size_t n = c.out.Gather(iov, max_iov, &bytes);
  // A closing connection's queue ends with its close frame (or an HTTP
  // error): once all of it is out, OnSent shuts the socket down (or, after
  // the echo of the peer's close, closes it) at once.
  bool fin_follows = c.state == ConnState::kClosing &&
                     (c.end_after_flush || (c.close_after_flush && !c.shut_write)) &&
                     bytes == c.out.queued_bytes();
  io_->SendMsg(c.fd, conns_.HandleOf(slot), n, fin_follows);
  c.send_in_flight = true;
  c.send_round = round_;
  c.send_started_ms = now_ms_;
  c.in_flight_nodes = static_cast<uint16_t>(n);
  c.in_flight_bytes = static_cast<uint32_t>(bytes);
  Bump(stats_->sends);
  Bump(stats_->send_frames, n);
}

// Past the limit, a connection is slow when the kernel has not taken its last
// send since an earlier round (the peer is not reading). A burst that arrived
// within this round is not the reader's fault: it goes out at the end of the
// round. kBurstFactor bounds even that.
bool Sessions::IsSlowConsumer(const Connection& c) const {
  if (c.out.queued_bytes() > kBurstFactor * options_.max_queued_bytes) return true;
  // A send completes at the earliest in the next round, and that round may
  // queue more before it reaps the completion: stuck means two rounds.
  return c.send_in_flight && round_ - c.send_round > 1;
}

// A connection past the limit that is not slow has its sends completing (a
// send stuck since an earlier round is slow; MSG_WAITALL leaves no reader
// that takes only part of each send): what it holds beyond the send in
// flight arrived since that send, within a round or two. A shard may drain a
// whole bus ring in one round (up to 131072 deliveries), which alone could
// take such a reader past kBurstFactor and cut it; so past half of that the
// shard drains no more of the bus this round (Shard::DrainInbound), and the
// rest comes after the round's sends. It depends on how much is published to
// the connection, not on how fast it reads, so a reader cannot use it to
// stall the shard.
void Sessions::OverLimit(Connection& c, uint32_t slot) {
  if (IsSlowConsumer(c)) {
    CloseSlowConsumer(c, slot);
    return;
  }
  if (c.out.queued_bytes() - c.in_flight_bytes > kBurstFactor / 2 * options_.max_queued_bytes) {
    bus_held_ = true;
  }
}

void Sessions::Rearm(Connection& c, uint32_t slot) {
  if (!c.recv_armed && c.state != ConnState::kDead) rearm_.push_back(slot);
}

void Sessions::CountPause() { Bump(stats_->publishers_paused); }

void Sessions::CountPausedMs(uint64_t ms) { Bump(stats_->paused_ms, ms); }

}  // namespace ringcast::shard
