// The Redis Cluster half of a Backplane (`--redis-cluster`, shard/backplane.h):
// following MOVED, ASK and TRYAGAIN, keeping the slot map (ClusterRouter)
// fresh, and connecting to masters the map names. Without a Redis Cluster
// none of this runs (router_ is empty).
#include "core/check.h"
#include "shard/backplane.h"
#include "shard/shard_parts.h"

namespace ringcast::shard {

namespace {

// Least time between two CLUSTER SLOTS: a burst of MOVED reloads the map once.
constexpr uint64_t kSlotsMinGapMs = 100;
// How often to reload while the map has no master for some slot, or a master
// serving slots is unreachable (a failover promotes a replica elsewhere).
constexpr uint64_t kSlotsCheckEveryMs = 1000;

}  // namespace

bool Backplane::Send(size_t instance, std::span<const std::string_view> argv, uint64_t tag) {
  if (!instances_[instance].commands->Command(argv, tag)) return false;
  if (router_) {
    ClusterRouter::Sent sent;
    sent.tag = tag;
    sent.argv.assign(argv.begin(), argv.end());
    router_->Record(instance, std::move(sent));
  }
  return true;
}

bool Backplane::Resend(size_t instance, ClusterRouter::Sent& sent) {
  net::RedisConn& conn = *instances_[instance].commands;
  if (sent.asking) {
    const uint64_t tag = MakeTag(static_cast<uint8_t>(TagKind::kFireAndForget), 0);
    if (!conn.Command({"ASKING"}, tag)) return false;
    ClusterRouter::Sent asking;
    asking.tag = tag;
    asking.internal = true;
    router_->Record(instance, std::move(asking));
  }
  argv_.assign(sent.argv.begin(), sent.argv.end());
  if (!conn.Command(argv_, sent.tag)) return false;
  router_->Record(instance, std::move(sent));
  return true;
}

bool Backplane::FollowRedirect(size_t from, ClusterRouter::Sent& sent, const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return false;
  if (sent.redirects >= ClusterRouter::kMaxRedirects) return false;  // the error goes on
  const std::string_view error(reply->str, reply->len);
  if (error.starts_with("TRYAGAIN")) {
    // A multi-key command met a slot half migrated: the same place, next round.
    Bump(stats_->redis_redirects);
    ++sent.redirects;
    retry_.emplace_back(from, std::move(sent));
    return true;
  }
  std::optional<Redirect> redirect = Redirect::Parse(error);
  if (!redirect) return false;
  Bump(stats_->redis_redirects);
  std::optional<size_t> to;
  if (redirect->kind == Redirect::Kind::kMoved) {
    to = router_->Moved(*redirect, from);
    RequestSlots();  // a MOVED rarely comes alone: read the whole map (rate-limited)
    UpdateClusterGauges();
  } else {
    to = router_->InstanceOf(redirect->to, from);
  }
  AddInstances();
  if (!to) return false;
  ++sent.redirects;
  sent.asking = redirect->kind == Redirect::Kind::kAsk;
  return Resend(*to, sent);
}

void Backplane::OnClusterSlots(size_t instance, const redisReply* reply) {
  slots_in_flight_ = false;
  if (reply == nullptr || !router_->Apply(reply, instance)) {
    if (reply != nullptr) Bump(stats_->redis_errors);
    RequestSlots();
    return;
  }
  AddInstances();
  UpdateClusterGauges();
  // Rooms not subscribed anywhere (their master was down or unknown) go to
  // the map's master now.
  for (auto& [room, sub] : subs_) {
    if (sub.wanted && !sub.sent) MarkDirty(room, sub);
  }
}

void Backplane::TickCluster(uint64_t now_ms) {
  std::vector<std::pair<size_t, ClusterRouter::Sent>> retry;
  retry.swap(retry_);
  for (auto& [instance, sent] : retry) {
    if (!Resend(instance, sent)) Dispatch(instance, sent.tag, nullptr);
  }
  if (now_ms >= next_slots_check_ms_) {
    next_slots_check_ms_ = now_ms + kSlotsCheckEveryMs;
    bool stale = router_->slots_covered() < static_cast<size_t>(core::kRedisSlots);
    for (size_t i = 0; i < instances_.size() && !stale; ++i) {
      stale = router_->ServesSlots(i) && !instances_[i].Up();
    }
    if (stale) RequestSlots();
  }
  if (!slots_wanted_ || slots_in_flight_ || now_ms < next_slots_ms_) return;
  // Ask a master that is up (a seed when none is known yet).
  size_t ask = instances_.size();
  for (size_t i = 0; i < instances_.size(); ++i) {
    if (!instances_[i].commands->IsUp()) continue;
    if (ask == instances_.size() || router_->ServesSlots(i)) ask = i;
    if (router_->ServesSlots(i)) break;
  }
  if (ask == instances_.size()) return;
  if (!Send(ask, {"CLUSTER", "SLOTS"}, MakeTag(static_cast<uint8_t>(TagKind::kSlots), 0))) return;
  slots_wanted_ = false;
  slots_in_flight_ = true;
  next_slots_ms_ = now_ms + kSlotsMinGapMs;
}

void Backplane::OnSubscribeError(size_t instance, const redisReply& push) {
  Bump(stats_->redis_errors);
  std::optional<Redirect> redirect = router_ ? Redirect::FromReply(&push) : std::nullopt;
  if (!redirect) return;  // an error we never asked for: counted
  // A sharded subscribe sent to a master that no longer serves the slot:
  // every channel of that command is of the slot. Subscribe them again
  // where the corrected map says.
  Bump(stats_->redis_redirects);
  if (redirect->kind == Redirect::Kind::kMoved) (void)router_->Moved(*redirect, instance);
  AddInstances();
  UpdateClusterGauges();
  RequestSlots();
  if (node_channel_sent_ && node_instance_ == instance &&
      core::HashSlot(node_channel_) == redirect->slot) {
    node_channel_sent_ = false;
  }
  for (auto& [room, sub] : subs_) {
    if (sub.slot != redirect->slot || sub.instance != instance || sub.in_flight == 0) continue;
    sub.in_flight = 0;
    if (sub.sent && !sub.confirmed) sub.sent = false;
    MarkDirty(room, sub);
  }
}

void Backplane::AddInstances() {
  while (instances_.size() < router_->addresses().size()) {
    AddInstance(router_->addresses()[instances_.size()]);
  }
}

void Backplane::UpdateClusterGauges() {
  stats_->redis_cluster_masters.store(router_->masters(), std::memory_order_relaxed);
  stats_->redis_cluster_slots.store(router_->slots_covered(), std::memory_order_relaxed);
}

}  // namespace ringcast::shard
