// Sessions, the closing half: close frames and their echo, HTTP refusals and
// ends, the slow-consumer cut, ending a socket (Terminate, EndAfterEcho) and
// freeing its slot, and the drain on shutdown. The rest is in sessions.cc.
#include <sys/socket.h>

#include <utility>
#include <vector>

#include "core/wire.h"
#include "net/handshake.h"
#include "proto/envelope.h"
#include "shard/sessions.h"

namespace ringcast::shard {

namespace {

constexpr uint32_t kCloseDeadlineMs = 2000;  // for the peer to finish a close

}  // namespace

// Frees everything not already handed to the kernel, then closes with 4000.
// Never touches subscriptions: this may run inside a room's fan-out loop.
void Sessions::CloseSlowConsumer(Connection& c, uint32_t slot, std::string_view reason) {
  Bump(stats_->slow_consumer_closes);
  DropUnsent(c);
  CloseWith(c, slot, wire::CloseValue(wire::CloseCode::kSlowConsumer), reason);
}

void Sessions::DropUnsent(Connection& c) {
  uint64_t before = c.out.queued_bytes();
  c.out.DropAfter(&pools_, c.send_in_flight ? c.in_flight_nodes : 0);
  queued_total_ -= before - c.out.queued_bytes();
}

void Sessions::CloseWith(Connection& c, uint32_t slot, uint16_t code, std::string_view reason) {
  if (c.state == ConnState::kHandshake) {
    Terminate(c, slot);
    return;
  }
  if (c.state != ConnState::kOpen) return;
  c.state = ConnState::kClosing;
  c.close_after_flush = true;
  reader_.Release(&c.ws);
  EnqueueLast(c, slot, writer_->BuildClose(code, reason));
  timers_->Add(now_ms_, kCloseDeadlineMs,
               TimerKey(TimerKind::kCloseDeadline, conns_.HandleOf(slot)));
}

void Sessions::EchoClose(Connection& c, uint32_t slot, uint16_t code) {
  bool was_open = c.state == ConnState::kOpen;  // else a close of ours is already under way
  CloseWith(c, slot, code, "");
  if (was_open && c.state == ConnState::kClosing) c.end_after_flush = true;
}

void Sessions::RejectHttp(Connection& c, uint32_t slot, int status, std::string_view reason,
                          uint32_t retry_after_s) {
  RC_CHECK(c.state == ConnState::kHandshake);
  c.state = ConnState::kClosing;
  c.close_after_flush = true;
  c.head.reset();
  EnqueueLast(c, slot,
              core::SharedFrame::CreateRaw(net::BuildHttpError(status, reason, retry_after_s)));
  timers_->Add(now_ms_, kCloseDeadlineMs,
               TimerKey(TimerKind::kCloseDeadline, conns_.HandleOf(slot)));
}

void Sessions::EndHttp(Connection& c, uint32_t slot) {
  c.http_close = true;
  if (!c.tickets || c.tickets->empty()) CloseHttp(c, slot);
}

// HTTP API: no more requests on this connection; close once it is flushed.
void Sessions::CloseHttp(Connection& c, uint32_t slot) {
  c.state = ConnState::kClosing;
  c.close_after_flush = true;
  c.head.reset();
  if (c.out.empty() && !c.send_in_flight) {
    io_->Shutdown(c.fd, SHUT_WR);
    c.shut_write = true;
  }
  timers_->Add(now_ms_, kCloseDeadlineMs,
               TimerKey(TimerKind::kCloseDeadline, conns_.HandleOf(slot)));
}

// Shuts the socket so in-flight operations complete; the slot is freed at the
// end of a round once the kernel has returned them. Safe inside fan-out loops.
void Sessions::Terminate(Connection& c, uint32_t slot) {
  if (c.state == ConnState::kDead) return;
  io_->Shutdown(c.fd, SHUT_RDWR);
  DropUnsent(c);
  MarkDead(c, slot);
}

// The echo of the peer's close is out, the handshake complete and nothing
// left to send or read (the peer sends nothing after its close frame). No
// shutdown: the receive is cancelled, and closing the fd once it is back
// sends our FIN together with the echo the kernel held for it (MSG_MORE).
// The peer's FIN then finds an orphaned socket and never wakes this shard.
void Sessions::EndAfterEcho(Connection& c, uint32_t slot) {
  RC_CHECK(c.out.empty() && !c.send_in_flight);
  if (c.recv_armed) io_->CancelRecv(conns_.HandleOf(slot));
  MarkDead(c, slot);
}

// Either way of ending: the slot waits in reap_ for the kernel's operations.
void Sessions::MarkDead(Connection& c, uint32_t slot) {
  c.state = ConnState::kDead;
  reader_.Release(&c.ws);
  c.head.reset();
  reap_.push_back(slot);
}

void Sessions::TerminateAll() {
  conns_.ForEach([&](uint32_t slot, Connection& c) { Terminate(c, slot); });
}

void Sessions::FreeConnection(uint32_t slot) {
  Connection& c = conns_.At(slot);
  RC_CHECK(c.state == ConnState::kDead && !c.recv_armed && !c.send_in_flight);
  events_->OnFree(c, slot);
  queued_total_ -= c.out.queued_bytes();
  c.out.Clear(&pools_);
  io_->Close(c.fd);
  Drop(stats_->connections_open);
  if (c.websocket) --websockets_;
  conns_.Free(conns_.HandleOf(slot));
}

void Sessions::BeginDrain() {
  draining_ = true;
  std::vector<core::SlabHandle> open;
  conns_.ForEach([&](uint32_t slot, Connection& c) {
    if (c.state == ConnState::kOpen) open.push_back(conns_.HandleOf(slot));
  });
  drain_.emplace(std::move(open), now_ms_, uint64_t{options_.drain_timeout_ms} * 3 / 4);
  scratch_.clear();
  proto::WriteBye(&scratch_, wire::CloseCode::kGoingAway, "server shutting down", true);
  drain_bye_ = pools_.Wrap(BuildText(scratch_));
  DrainStep();
}

// `bye` + close 1001, after what each connection has queued.
void Sessions::DrainStep() {
  if (drain_bye_ == nullptr) return;
  drain_->Step(now_ms_, [&](core::SlabHandle h) {
    Connection* c = conns_.Get(h);
    if (c == nullptr || c->state != ConnState::kOpen) return;
    EnqueueLocal(*c, h.slot, drain_bye_);
    CloseWith(*c, h.slot, wire::CloseValue(wire::CloseCode::kGoingAway), "server shutting down");
  });
  if (!drain_->done()) return;
  pools_.Unref(drain_bye_);
  drain_bye_ = nullptr;
}

}  // namespace ringcast::shard
