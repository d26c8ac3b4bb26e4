#include "shard/room_owner.h"

#include <algorithm>
#include <bit>
#include <cstdio>

#include "proto/envelope.h"
#include "proto/json_writer.h"

namespace ringcast::shard {

namespace {
constexpr uint64_t kSweepEveryMs = 1000;
}  // namespace

RoomOwner::RoomOwner(BusPort* port, const Namespaces& namespaces, uint32_t leave_delay_ms,
                     net::FrameWriter* writer, const core::Clock* clock, ShardStats* stats,
                     HistoryLimits limits, PresenceLimits presence)
    : port_(port),
      namespaces_(namespaces),
      leave_delay_ms_(leave_delay_ms),
      writer_(writer),
      clock_(clock),
      stats_(stats),
      limits_(limits),
      presence_(presence) {
  RC_CHECK(presence.listed_users > 0);
}

// idle_ holds views of rooms_'s keys: empty it before the map goes.
namespace {

// A user's personal room ("@user"): a mailbox, not counted among the rooms.
bool IsPersonal(std::string_view room) { return !room.empty() && room.front() == '@'; }

}  // namespace

RoomOwner::~RoomOwner() { idle_.clear(); }

void RoomOwner::SetCluster(ClusterPort* cluster) {
  cluster_ = cluster;
  sync_ = cluster == nullptr ? nullptr : std::make_unique<PresenceSync>(presence_.cluster_ttl_ms);
}

const OwnedRoom* RoomOwner::Find(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

OwnedRoom& RoomOwner::Ensure(std::string_view room) {
  auto it = rooms_.find(room);
  const bool inserted = it == rooms_.end();
  if (inserted) it = rooms_.try_emplace(core::BoxedString(room)).first;
  OwnedRoom& o = it->second;
  if (inserted && !IsPersonal(room)) Bump(stats_->rooms);
  const NamespaceOptions& ns = namespaces_.Of(room);
  if (inserted && ns.history_size > 0) {
    // Unique across restarts (wall clock) and rooms (counter): a client never
    // mistakes a new run of seqs for the one it remembers.
    char epoch[64];
    std::snprintf(epoch, sizeof(epoch), "%llx-%u-%llx",
                  static_cast<unsigned long long>(clock_->UnixMs()), port_->shard_id(),
                  static_cast<unsigned long long>(++epochs_));
    o.history = std::make_unique<RoomHistory>(ns.history_size, ns.history_ttl_s, epoch);
    Bump(stats_->history_rooms);
    UpdateIdle(it);
  }
  return o;
}

void RoomOwner::MaybeForget(RoomMap::iterator it) {
  const OwnedRoom& o = it->second;
  if (o.shard_mask != 0 || (o.history && !o.history->empty())) return;
  // Cluster mode: members whose leave is pending stay until it is sent to
  // Redis (the user may be back on another node meanwhile: no leave then).
  if (sync_ && o.presence && !o.presence->members.empty()) return;
  Forget(it);
}

void RoomOwner::Forget(RoomMap::iterator it) {
  OwnedRoom& o = it->second;
  if (o.history) {
    Drop(stats_->history_rooms);
    history_bytes_ -= o.history->bytes();
    if (o.history->idle) idle_.erase(o.history->idle_pos);
  }
  if (o.presence) {  // their queued leaves name them: those go first
    for (auto& [user, m] : o.presence->members) {
      if (m.leave == nullptr) continue;
      CancelLeave(m);
      // Cluster mode: gone from this node now rather than never.
      if (sync_) sync_->Removed(it->first, user);
    }
    if (sync_) sync_->Untrack(it->first);
  }
  if (!IsPersonal(it->first)) Drop(stats_->rooms);
  DropClusterSeq(it->first);
  rooms_.erase(it);  // its presence members go with it
}

void RoomOwner::UpdateIdle(RoomMap::iterator it) {
  RoomHistory* h = it->second.history.get();
  if (h == nullptr) return;
  if (h->idle) idle_.erase(h->idle_pos);
  h->idle = it->second.shard_mask == 0;
  if (h->idle) h->idle_pos = idle_.insert(idle_.end(), std::string_view(it->first));
}

void RoomOwner::Enforce(OwnedRoom* keep) {
  while (!idle_.empty() && (idle_.size() > limits_.idle_rooms || history_bytes_ > limits_.bytes)) {
    auto it = rooms_.find(idle_.front());
    RC_CHECK(it != rooms_.end());
    if (&it->second == keep) break;  // the room being published to is the oldest left
    Bump(stats_->history_rooms_evicted);
    Forget(it);
  }
  if (keep == nullptr || !keep->history) return;
  while (history_bytes_ > limits_.bytes && keep->history->size() > 1) {
    Edit(*keep->history, [](RoomHistory& h) { h.DropOldest(); });
  }
}

template <class F>
void RoomOwner::Edit(RoomHistory& h, F&& f) {
  uint64_t before = h.bytes();
  f(h);
  history_bytes_ = history_bytes_ - before + h.bytes();
}

void RoomOwner::OnJoin(bus::Join msg, unsigned from, uint64_t now_ms) {
  JoinRequest* req = msg.req.get();
  OwnedRoom& o = Ensure(req->room);
  bool was_idle = o.shard_mask == 0;
  o.shard_mask |= uint64_t{1} << from;
  if (was_idle && o.history) UpdateIdle(rooms_.find(req->room));
  if (req->counts_conn) ++o.user_conns;
  if (req->has_conn && req->presence) {
    // A history subscriber's `ok` and presence delta leave together with
    // this answer: it listens from here, so nothing in between is missed.
    if (!o.presence) o.presence = std::make_unique<RoomPresence>();
    o.presence->listening |= uint64_t{1} << from;
  }
  const bool cluster_history = cluster_ != nullptr && req->has_conn && o.history;
  if (req->has_conn && o.history && !cluster_history) FillJoin(req, o, now_ms);
  bus::JoinAck ack{std::move(msg.req), msg.join_epoch};
  if (cluster_ != nullptr) {
    if (was_idle) cluster_->SetInterest(ack.req->room, true);
    // `ok` once Redis has the node's subscription: nothing later is missed.
    // A history room's seq, epoch and replay come from Redis after that.
    HistorySettings settings;
    if (cluster_history) settings = ClusterHistoryOf(ack.req->room);
    if (cluster_->HoldJoinAck(ack.req->room, from, ack, cluster_history ? &settings : nullptr)) {
      return;
    }
    if (cluster_history) {
      OnHistoryRead(from, std::move(ack), nullptr);  // Redis is down
      return;
    }
  }
  // The same request goes back answered, ahead of any later delivery.
  port_->Post(from, std::move(ack));
}

void RoomOwner::FillJoin(JoinRequest* req, OwnedRoom& o, uint64_t now_ms) {
  Edit(*o.history, [&](RoomHistory& h) { h.Expire(now_ms); });
  req->seq = o.seq;
  req->epoch = o.history->epoch();
  if (!req->since_seq || req->since_epoch != o.history->epoch()) return;  // nothing to replay
  req->recovered = o.history->ReachesBack(*req->since_seq, o.seq);
  o.history->ForEachAfter(*req->since_seq, [&](core::SharedFrame* f) {
    f->Ref();
    req->replay.emplace_back(f);
  });
}

void RoomOwner::OnLeave(std::string_view room, unsigned from, LeaveScope scope) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  OwnedRoom& o = it->second;
  if (Has(scope, LeaveScope::kOneConnection) && o.user_conns > 0) --o.user_conns;
  if (!Has(scope, LeaveScope::kLastSubscriber)) return;
  o.shard_mask &= ~(uint64_t{1} << from);
  if (o.presence) o.presence->listening &= ~(uint64_t{1} << from);
  if (o.shard_mask != 0) return;
  if (cluster_ != nullptr) cluster_->SetInterest(room, false);
  // The room may stay (presence leaves pending) but what it knew of the
  // channel's seqs goes with the subscription: a later join starts afresh.
  DropClusterSeq(room);
  UpdateIdle(it);
  MaybeForget(it);
  Enforce(nullptr);
}

void RoomOwner::OnPublish(std::unique_ptr<PubRequest> req, bool refuse, uint64_t now_ms) {
  if (refuse) {
    Answer(*req, Outcome::kRefused, std::nullopt, 0);
    return;
  }
  if (cluster_ != nullptr) {
    // Through Redis: every interested node, this one included, delivers it
    // from its subscription, in the channel's one order.
    HistorySettings settings;
    const bool history = !req->direct && req->rid.empty() && namespaces_.KeepsHistory(req->room);
    if (history) settings = ClusterHistoryOf(req->room);
    switch (cluster_->Publish(req, history ? &settings : nullptr)) {
      case PublishResult::kSent:
        return;  // answered by AnswerCluster
      case PublishResult::kUnavailable:
        Answer(*req, Outcome::kUnavailable, std::nullopt, 0);
        return;
      case PublishResult::kLocal:
        Bump(stats_->redis_local_only);
        break;  // degraded: this node's subscribers at least
    }
  }
  uint64_t reached = 0;
  std::optional<uint64_t> seq = Deliver(req->room, req->from, req->data, req->rid, req->direct,
                                        req->echo ? Echo::kYes : Echo::kSkipPublisher, req->origin,
                                        req->conn, now_ms, &reached);
  Answer(*req, Outcome::kAccepted, seq, reached);
}

std::optional<uint64_t> RoomOwner::Deliver(std::string_view room, std::string_view from,
                                           std::string_view data, std::string_view rid, bool direct,
                                           Echo echo, uint8_t origin, core::SlabHandle publisher,
                                           uint64_t now_ms, uint64_t* reached) {
  auto it = rooms_.find(room);
  // History outlives subscribers: a publication creates its history room.
  if (it == rooms_.end() && namespaces_.KeepsHistory(room)) {
    Ensure(room);
    it = rooms_.find(room);
  }
  OwnedRoom* o = it == rooms_.end() ? nullptr : &it->second;
  uint64_t mask = o == nullptr ? 0 : o->shard_mask;
  std::optional<uint64_t> seq;
  if (o != nullptr && o->history) seq = ++o->seq;
  if (o != nullptr) *reached = o->user_conns;
  if (mask == 0 && !seq) return seq;
  core::SharedFrame* frame = Frame(room, from, data, rid, direct, seq);
  Bump(stats_->publications);
  if (seq) {
    Edit(*o->history, [&](RoomHistory& h) { h.Append(*seq, now_ms, frame); });
    if (o->history->idle) UpdateIdle(it);  // most recently used now
    Enforce(o);
  }
  FanOut(frame, mask, Audience::kEveryone, echo, origin, publisher);
  return seq;
}

core::SharedFrame* RoomOwner::Frame(std::string_view room, std::string_view from,
                                    std::string_view data, std::string_view rid, bool direct,
                                    std::optional<uint64_t> seq) {
  scratch_.clear();
  if (!rid.empty()) {
    proto::JsonWriter w(&scratch_);
    w.BeginObject();
    w.Field("op", "req");
    w.Field("from", from);
    w.Field("rid", rid);
    w.RawField("data", data);
    w.EndObject();
    w.Flush();
  } else if (direct) {
    proto::WriteDirectMsg(&scratch_, from, data);
  } else {
    proto::WriteMsg(&scratch_, room, seq, from, data);
  }
  return writer_->Build(wire::Opcode::kText, scratch_, room);
}

// Hands one frame (its creator's reference) to every shard in mask: one
// atomic reference per shard.
void RoomOwner::FanOut(core::SharedFrame* frame, uint64_t mask, Audience audience, Echo echo,
                       uint8_t origin, core::SlabHandle publisher) {
  if (mask == 0) {
    frame->Unref();
    return;
  }
  frame->Ref(static_cast<uint32_t>(std::popcount(mask)) - 1);
  for (uint64_t m = mask; m != 0; m &= m - 1) {
    auto to = static_cast<unsigned>(std::countr_zero(m));
    port_->Post(to, bus::Deliver{core::FrameRef(frame), audience, echo, origin, publisher});
  }
}

void RoomOwner::Answer(const PubRequest& req, Outcome outcome, std::optional<uint64_t> seq,
                       uint64_t reached) {
  bool accepted = outcome == Outcome::kAccepted;
  if (req.direct) {  // a send's answer: how many of the user's connections it reached
    port_->Post(req.origin, bus::SendAck{req.send_id, outcome, accepted ? reached : 0});
    return;
  }
  if (req.ticket == 0 && accepted) return;
  port_->Post(req.origin, bus::PubAck{req.conn, req.ticket, outcome, seq});
}

void RoomOwner::OnPresence(const PresenceDelta& d, unsigned from, uint64_t now_ms) {
  auto it = rooms_.find(d.room);
  if (it == rooms_.end()) return;  // the room's join travels ahead of its deltas
  if (!it->second.presence) it->second.presence = std::make_unique<RoomPresence>();
  RoomPresence& presence = *it->second.presence;
  const uint64_t bit = uint64_t{1} << from;
  presence.listening = d.listening ? presence.listening | bit : presence.listening & ~bit;
  MemberMap& members = presence.members;
  if (d.delta > 0) {
    Member& m = members[d.user];
    m.info_json = d.info_json;
    if (sync_) sync_->Changed(d.room, d.user, now_ms);  // its count on this node
    if (++m.conns > 1) return;
    if (m.leave) {
      CancelLeave(m);  // back within the delay: no leave, no join
      return;
    }
    // Cluster mode: Redis says whether the user is new cluster-wide.
    if (!sync_) Announce(it, "join", d.user, m.info_json);
    return;
  }
  auto m = members.find(d.user);
  if (m == members.end() || m->second.conns == 0) return;
  if (--m->second.conns > 0) {
    if (sync_) sync_->Changed(d.room, d.user, now_ms);
    return;
  }
  // Cluster mode: the entry in Redis stays while the leave is pending, so a
  // user back on any node within the delay makes no noise.
  QueueLeave(it->first, m->first, m->second, now_ms);
}

void RoomOwner::QueueLeave(std::string_view room, std::string_view user, Member& m,
                           uint64_t now_ms) {
  RC_DCHECK(m.conns == 0 && m.leave == nullptr);
  RC_DCHECK(leaves_.empty() || leaves_.back().left_at_ms <= now_ms);
  m.leave = &leaves_.emplace_back(PendingLeave{room, user, &m, now_ms});
  ++live_leaves_;
  stats_->presence_leaves_pending.store(live_leaves_, std::memory_order_relaxed);
}

void RoomOwner::CancelLeave(Member& m) {
  m.leave->member = nullptr;
  m.leave = nullptr;
  // Taken back entries wait for the front unless nothing live follows them.
  while (!leaves_.empty() && leaves_.back().member == nullptr) leaves_.pop_back();
  --live_leaves_;
  stats_->presence_leaves_pending.store(live_leaves_, std::memory_order_relaxed);
}

void RoomOwner::WritePresence(std::string* out, std::string_view op, std::string_view room,
                              std::string_view user, std::string_view info_json) {
  out->clear();
  proto::JsonWriter w(out);
  w.BeginObject();
  w.Field("op", op);
  w.Field("room", room);
  w.Field("user", user);
  w.RawField("info", info_json.empty() ? std::string_view("null") : info_json);
  w.EndObject();
  w.Flush();
}

uint64_t RoomOwner::AnnounceMask(const OwnedRoom& o) {
  return o.presence ? o.shard_mask & o.presence->listening : 0;
}

void RoomOwner::Announce(RoomMap::const_iterator it, std::string_view op, std::string_view user,
                         std::string_view info_json) {
  const uint64_t mask = AnnounceMask(it->second);
  if (mask == 0) return;  // nobody asked for join/leave events
  WritePresence(&scratch_, op, it->first, user, info_json);
  FanOut(writer_->Build(wire::Opcode::kText, scratch_, it->first), mask, Audience::kPresenceOnly,
         Echo::kYes, 0, {});
}

void RoomOwner::Tick(uint64_t now_ms) {
  SweepLeaves(now_ms);
  if (sync_) FlushPresence(now_ms);
  if (now_ms < next_sweep_ms_) return;
  next_sweep_ms_ = now_ms + kSweepEveryMs;
  SweepHistory(now_ms);
}

void RoomOwner::SweepLeaves(uint64_t now_ms) {
  while (!leaves_.empty()) {
    const PendingLeave& l = leaves_.front();
    if (l.member == nullptr) {  // taken back: its views may name keys gone
      leaves_.pop_front();
      continue;
    }
    if (now_ms - l.left_at_ms < leave_delay_ms_) break;
    auto it = rooms_.find(l.room);
    RC_CHECK(it != rooms_.end() && it->second.presence);
    MemberMap& members = it->second.presence->members;
    auto m = members.find(l.user);
    RC_CHECK(m != members.end() && &m->second == l.member && m->second.conns == 0 &&
             m->second.leave == &l);
    CancelLeave(m->second);
    if (!sync_) {
      // Nobody listening: nothing to frame, so nothing to keep past the erase.
      if (AnnounceMask(it->second) == 0) {
        members.erase(m);
        continue;
      }
      std::string user = m->first;
      std::string info = std::move(m->second.info_json);
      members.erase(m);
      Announce(it, "leave", user, info);
      continue;
    }
    // Cluster mode: gone from this node; Redis says whether from the room.
    std::string user = m->first;
    members.erase(m);
    sync_->Removed(it->first, user);
    if (!members.empty()) continue;
    sync_->Untrack(it->first);
    MaybeForget(it);
  }
}

void RoomOwner::SweepHistory(uint64_t now_ms) {
  uint64_t messages = 0, bytes = 0;
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    auto next = std::next(it);
    if (it->second.history) {
      Edit(*it->second.history, [&](RoomHistory& h) { h.Expire(now_ms); });
      messages += it->second.history->size();
      bytes += it->second.history->bytes();
      MaybeForget(it);
    }
    it = next;
  }
  RC_DCHECK(bytes == history_bytes_);
  stats_->history_messages.store(messages, std::memory_order_relaxed);
  stats_->history_bytes.store(bytes, std::memory_order_relaxed);
}

void RoomOwner::OnPresenceAsk(std::unique_ptr<PresenceQuery> q, unsigned from) {
  if (cluster_ != nullptr) {  // members of every node: Redis's
    cluster_->ListPresence(std::move(q), from, presence_.listed_users, clock_->UnixMs());
    return;
  }
  q->users_json.clear();
  proto::JsonWriter w(&q->users_json);
  w.BeginArray();
  auto it = rooms_.find(q->room);
  if (it != rooms_.end() && it->second.presence) {
    for (const auto& [user, m] : it->second.presence->members) {
      if (m.conns == 0) continue;  // gone, its leave still pending
      if (q->count == presence_.listed_users) q->truncated = true;
      if (q->truncated) {  // counted, not listed: the answer stays bounded
        ++q->count;
        continue;
      }
      w.BeginObject();
      w.Field("user", user);
      w.RawField("info", m.info_json.empty() ? std::string_view("null") : m.info_json);
      w.Field("conns", uint64_t{m.conns});
      w.EndObject();
      ++q->count;
    }
  }
  w.EndArray();
  w.Flush();
  port_->Post(from, bus::PresenceAnswer{std::move(q)});
}

}  // namespace ringcast::shard
