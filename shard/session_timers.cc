// Sessions' timers (shard/sessions.h, TimerKind): the deadline of each HTTP
// request (the handshake's included), keepalive pings and the idle close, and
// token expiry; a close's deadline is armed beside the closes in sessions.cc
// and handled here. Shard thread only.
#include <algorithm>

#include "shard/sessions.h"

namespace ringcast::shard {

void Sessions::OnTimer(uint64_t key) {
  uint32_t slot = TimerSlotOf(key);
  if (!TimerLive(key)) return;  // the connection this timer was for is gone
  Connection& c = conns_.At(slot);
  switch (TimerKindOf(key)) {
    case TimerKind::kHandshake:
      if (c.state == ConnState::kHandshake) {
        OnHandshakeTimer(c, slot);
      } else if (c.state == ConnState::kOpen && handshake_timer_checks_keepalive_) {
        // Opened since: this timer stands for the first keepalive check,
        // which re-arms as kKeepalive.
        OnKeepalive(c, slot);
      }
      return;
    case TimerKind::kCloseDeadline:
      if (c.state != ConnState::kOpen) Terminate(c, slot);
      return;
    case TimerKind::kKeepalive:
      if (c.state == ConnState::kOpen) OnKeepalive(c, slot);
      return;
    case TimerKind::kTokenExpiry:
      if (c.state == ConnState::kOpen) OnTokenTimer(c, slot);
      return;
    case TimerKind::kRequestTimeout:
      return;  // not a connection's
  }
}

// The token timer never waits longer than kTokenRecheckMs: a far-off exp is
// reached by re-arming, so a closed connection's entry leaves the wheel
// within that time instead of staying until its token would have expired.
void Sessions::ArmTokenTimer(const Connection& c, core::SlabHandle h) {
  int64_t left_s = std::max<int64_t>(int64_t{c.token_exp_s} - now_unix_s_, 0);
  uint64_t delay_ms = std::min<uint64_t>(static_cast<uint64_t>(left_s) * 1000, kTokenRecheckMs);
  timers_->Add(now_ms_, delay_ms, TimerKey(TimerKind::kTokenExpiry, h));
}

void Sessions::OnTokenTimer(Connection& c, uint32_t slot) {
  if (now_unix_s_ < int64_t{c.token_exp_s}) return ArmTokenTimer(c, conns_.HandleOf(slot));
  CloseWith(c, slot, wire::CloseValue(wire::CloseCode::kPolicy), "token expired");
}

// Every HTTP request, the first (usually the upgrade) and each one after it
// on a keep-alive connection, must be complete within handshake_timeout_ms
// of when it could begin: the accept, or the end of the previous request
// (of its answer, when that waited for another shard). That one deadline
// bounds a head or body sent a byte at a time as well as an idle keep-alive
// connection. While an answer is pending the client waits for us, not we
// for it.
void Sessions::OnHandshakeTimer(Connection& c, uint32_t slot) {
  const uint64_t limit = options_.handshake_timeout_ms;
  const uint64_t elapsed = now_ms_ - c.http_start_ms;
  const bool answer_pending = c.tickets && !c.tickets->empty();
  if (answer_pending || elapsed < limit) {
    timers_->Add(now_ms_, answer_pending ? limit : limit - elapsed,
                 TimerKey(TimerKind::kHandshake, conns_.HandleOf(slot)));
    return;
  }
  if (!c.http_served) {
    Bump(stats_->handshakes_failed);
    RejectHttp(c, slot, 408, "handshake not completed in time");
  } else {
    RejectHttp(c, slot, 408,
               c.head ? "request not completed in time" : "keep-alive connection idle too long");
  }
}

void Sessions::StartHttpRequest(Connection& c) { c.http_start_ms = now_ms_; }

void Sessions::OnKeepalive(Connection& c, uint32_t slot) {
  // A paused publisher's silence is ours: we stopped reading it.
  KeepaliveStep step = keepalive_.Check(c.paused ? 0 : now_ms_ - c.last_rx_ms);
  if (step.close) {
    Bump(stats_->idle_closes);
    CloseWith(c, slot, wire::CloseValue(wire::CloseCode::kNormal), "idle timeout");
    return;
  }
  if (step.ping) Enqueue(c, slot, writer_->Build(wire::Opcode::kPing, {}));
  ArmKeepalive(slot, step.next_check_ms);
}

void Sessions::ArmKeepalive(uint32_t slot, std::optional<uint64_t> delay_ms) {
  if (!delay_ms) return;
  timers_->Add(now_ms_, *delay_ms, TimerKey(TimerKind::kKeepalive, conns_.HandleOf(slot)));
}

}  // namespace ringcast::shard
