#include "shard/shard_parts.h"

#include <algorithm>
#include <variant>

namespace ringcast::shard {

namespace {
constexpr uint32_t kTickMs = 20;  // the shard loop's tick
constexpr uint32_t kTimerSlots = 1024;
}  // namespace

ShardParts::ShardParts(unsigned id, const ServerOptions& options, BusPort* port, SessionIo* io,
                       ShardStats* stats, const Metrics* metrics, const core::Clock* clock)
    : timers_(kTickMs, kTimerSlots),
      namespaces_(options.namespaces),
      access_(options, namespaces_, options.node_id, id),
      sessions_(id, options, options.node_id, &access_, &writer_, &timers_, stats, io, this),
      owner_(port, namespaces_, options.presence_leave_delay_ms, &writer_, clock, stats,
             HistoryLimits{options.max_idle_history_rooms, options.max_history_bytes},
             PresenceLimits{options.max_presence_users, options.redis_presence_ttl_ms}),
      rooms_(port, &sessions_, access_, namespaces_, options, stats),
      users_(port, &sessions_, &rooms_, &timers_, RequestLimitsOf(options)),
      commands_(options, &sessions_, access_, &rooms_, &users_, stats, id),
      http_(options, &sessions_, access_, &rooms_, &users_, *metrics, id) {}

void ShardParts::Dispatch(unsigned from, BusMessage msg, bool owner_refuses, uint64_t now_ms) {
  struct Visitor {
    ShardParts* p;
    unsigned from;
    bool refuse;
    uint64_t now_ms;
    void operator()(bus::Publish& m) { p->owner_.OnPublish(std::move(m.req), refuse, now_ms); }
    void operator()(bus::Deliver& m) { p->rooms_.OnDeliver(std::move(m)); }
    void operator()(bus::Join& m) { p->owner_.OnJoin(std::move(m), from, now_ms); }
    void operator()(bus::JoinAck& m) { p->rooms_.OnJoinAck(std::move(m)); }
    void operator()(bus::Leave& m) { p->owner_.OnLeave(*m.room, from, m.scope); }
    void operator()(bus::PubAck& m) { p->rooms_.OnPubAck(m); }
    void operator()(bus::SendAck& m) { p->users_.OnSendAck(m); }
    void operator()(bus::Disconnect& m) { p->users_.OnDisconnect(*m.user); }
    void operator()(bus::Res& m) { p->users_.OnRes(std::move(m.answer)); }
    void operator()(bus::ResAck& m) { p->users_.OnResAck(m); }
    void operator()(bus::Presence& m) { p->owner_.OnPresence(*m.delta, from, now_ms); }
    void operator()(bus::PresenceAsk& m) { p->owner_.OnPresenceAsk(std::move(m.query), from); }
    void operator()(bus::PresenceAnswer& m) { p->rooms_.OnPresenceAnswer(std::move(m.query)); }
  };
  std::visit(Visitor{this, from, owner_refuses, now_ms}, msg);
}

void ShardParts::AdvanceTimers(uint64_t now_ms) {
  timers_.Advance(now_ms, [this](uint64_t key) { OnTimer(key); });
  if (timers_.size() < timer_sweep_mark_) return;
  timers_.RemoveIf([this](uint64_t key) {
    if (TimerKindOf(key) == TimerKind::kRequestTimeout) {
      return !users_.RequestPending(static_cast<uint32_t>(TimerRequestOf(key)));
    }
    return !sessions_.TimerLive(key);
  });
  timer_sweep_mark_ = std::max(kTimerSweepFloor, 2 * timers_.size());
}

void ShardParts::OnTimer(uint64_t key) {
  if (TimerKindOf(key) == TimerKind::kRequestTimeout) {
    users_.OnRequestTimeout(static_cast<uint32_t>(TimerRequestOf(key)));
  } else {
    sessions_.OnTimer(key);
  }
}

bool ShardParts::OnText(Connection& c, uint32_t slot, std::string_view message) {
  return commands_.OnText(c, slot, message);
}

size_t ShardParts::OnHttpRequest(Connection& c, uint32_t slot, const net::HttpRequest& req,
                                 std::string_view input) {
  return http_.Serve(c, slot, req, input);
}

void ShardParts::OnOpen(Connection& c, uint32_t slot) { commands_.OnOpen(c, slot); }

void ShardParts::OnFree(Connection& c, uint32_t slot) { commands_.OnFree(c, slot); }

}  // namespace ringcast::shard
