// What reaches a Backplane from Redis: command replies (publish scripts,
// stream reads), subscriber pushes (subscribe confirmations, messages on room,
// user and node channels) and connections going up or down. The outbound
// half (interest, subscriptions, publishing) is in backplane.cc.
#include <algorithm>

#include "core/check.h"
#include "shard/backplane.h"
#include "shard/shard_parts.h"

namespace ringcast::shard {

// Redis events.

void Backplane::OnRedisReply(uint32_t conn, uint64_t tag, const redisReply* reply) {
  const size_t inst = InstanceOfConn(conn);
  if (router_) {
    ClusterRouter::Sent sent = router_->Pop(inst);
    RC_CHECK(sent.tag == tag);
    if (sent.internal || FollowRedirect(inst, sent, reply)) return;  // ASKING's OK; or resent
  }
  Dispatch(inst, tag, reply);
}

void Backplane::Dispatch(size_t inst, uint64_t tag, const redisReply* reply) {
  if (TagKindOf(tag) == static_cast<uint8_t>(TagKind::kSlots)) {
    OnClusterSlots(inst, reply);
    return;
  }
  bool failed = reply == nullptr || reply->type == REDIS_REPLY_ERROR;
  if (failed && !RedisScript::IsNoScript(reply)) Bump(stats_->redis_errors);
  if (TagKindOf(tag) == static_cast<uint8_t>(TagKind::kPublish)) OnPublishReply(tag, reply, failed);
  if (TagKindOf(tag) == static_cast<uint8_t>(TagKind::kRead)) OnReadReply(tag, reply, failed);
  if (TagKindOf(tag) == static_cast<uint8_t>(TagKind::kPresence)) {
    OnPresenceReply(tag, reply, failed);
  }
}

void Backplane::OnPublishReply(uint64_t tag, const redisReply* reply, bool failed) {
  auto it = publishing_.find(tag);
  RC_CHECK(it != publishing_.end());
  Publishing& p = it->second;
  if (!p.argv.empty() && RedisScript::IsNoScript(reply)) {
    // Redis forgot the script: the same call as EVAL, same tag.
    history_.publish_script().ToEval(&p.argv);
    if (SendScript(InstanceOf(p.req->room), p.argv, tag)) return;
  }
  std::unique_ptr<PubRequest> req = std::move(p.req);
  const bool history = !p.argv.empty();
  publishing_.erase(it);
  if (history) {
    std::optional<PublishedSeq> r = failed ? std::nullopt : ClusterHistory::ParsePublish(reply);
    if (!failed && !r) Bump(stats_->redis_errors);
    parts_->owner().AnswerCluster(*req, r ? Outcome::kAccepted : Outcome::kUnavailable, 0,
                                  r ? std::optional<uint64_t>(r->seq) : std::nullopt);
    return;
  }
  uint64_t reached = !failed && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0
                         ? static_cast<uint64_t>(reply->integer)
                         : 0;
  parts_->owner().AnswerCluster(*req, failed ? Outcome::kUnavailable : Outcome::kAccepted, reached);
}

void Backplane::OnReadReply(uint64_t tag, const redisReply* reply, bool failed) {
  auto it = reading_.find(tag);
  RC_CHECK(it != reading_.end());
  Reading& r = it->second;
  if (RedisScript::IsNoScript(reply)) {
    history_.read_script().ToEval(&r.argv);
    if (SendScript(InstanceOf(r.ack.req->room), r.argv, tag)) return;
  }
  Reading done = std::move(r);
  reading_.erase(it);
  std::optional<HistoryRead> read = failed ? std::nullopt : ClusterHistory::ParseRead(reply);
  if (!failed && !read) Bump(stats_->redis_errors);
  parts_->owner().OnHistoryRead(done.to, std::move(done.ack), read ? &*read : nullptr);
}

void Backplane::OnRedisPush(uint32_t conn, const redisReply& push) {
  if (push.type == REDIS_REPLY_ERROR) {
    OnSubscribeError(InstanceOfConn(conn), push);
    return;
  }
  if (push.type != REDIS_REPLY_ARRAY || push.elements < 3) {
    Bump(stats_->redis_errors);  // an error reply to SUBSCRIBE, or something we never asked
    return;
  }
  std::string_view kind = Str(push.element[0]);
  std::string_view channel = Str(push.element[1]);
  if (kind == "message" || kind == "smessage") {
    OnMessage(channel, Str(push.element[2]));
  } else if (kind == "subscribe" || kind == "ssubscribe") {
    OnSubscribed(channel);
  } else if (kind == "unsubscribe" || kind == "sunsubscribe") {
    OnUnsubscribed(channel, InstanceOfConn(conn));
  }
}

Backplane::SubMap::iterator Backplane::FindByChannel(std::string_view channel) {
  auto name = room_of_channel_.find(channel);
  return name == room_of_channel_.end() ? subs_.end() : subs_.find(name->second);
}

void Backplane::OnSubscribed(std::string_view channel) {
  auto it = FindByChannel(channel);
  if (it == subs_.end()) return;  // the node channel
  RoomSub& sub = it->second;
  if (sub.in_flight > 0) --sub.in_flight;
  if (sub.in_flight > 0 || !sub.wanted || !sub.sent) return;
  sub.confirmed = true;
  ReleaseHeld(sub, true);
  ReleaseAnnounces(it->first, sub, true);
  if (sub.lost) {
    sub.lost = false;
    parts_->owner().OnClusterResumed(it->first);
  }
}

void Backplane::OnUnsubscribed(std::string_view channel, size_t instance) {
  if (channel == node_channel_) {
    // Never unsubscribed by us: Redis Cluster moved its slot away.
    if (node_instance_ == instance) node_channel_sent_ = false;
    RequestSlots();
    return;
  }
  auto it = FindByChannel(channel);
  if (it == subs_.end()) return;
  RoomSub& sub = it->second;
  if (sub.in_flight > 0) {
    --sub.in_flight;
  } else if (sub.sent && sub.instance == instance) {
    // Not asked for: Redis Cluster moved the slot to another master and
    // dropped its sharded subscriptions. Subscribe there; what was published
    // in between is missed, so subscribers get `gap` once it is confirmed.
    Bump(stats_->redis_redirects);
    sub.sent = false;
    sub.confirmed = false;
    if (sub.wanted) {
      sub.lost = true;
      MarkDirty(it->first, sub);
    }
    RequestSlots();
  }
  MaybeErase(it);
}

void Backplane::OnMessage(std::string_view channel, std::string_view payload) {
  std::optional<ClusterEnvelope> e = ClusterEnvelope::Decode(payload);
  if (!e) {
    Bump(stats_->redis_bad_messages);  // a foreign publisher on our channel
    return;
  }
  Bump(stats_->redis_messages_in);
  if (channel == node_channel_) {
    OnNodeMessage(*e);
    return;
  }
  auto it = FindByChannel(channel);
  if (it == subs_.end() || it->first != e->room) {
    // Late (unsubscribed meanwhile) or not the channel's room: not ours to deliver.
    if (it != subs_.end()) Bump(stats_->redis_bad_messages);
    return;
  }
  parts_->owner().OnCluster(*e);
}

void Backplane::OnNodeMessage(const ClusterEnvelope& e) {
  switch (e.kind) {
    case ClusterEnvelope::Kind::kProbe:
      if (e.node == node_id_ && now_ms_ >= e.seq) {
        stats_->redis_pubsub_lag_ms.store(now_ms_ - e.seq, std::memory_order_relaxed);
      }
      return;
    case ClusterEnvelope::Kind::kRes: {
      if (e.to_shard >= port_->shard_count()) break;
      auto answer = std::make_unique<ResAnswer>();
      answer->request = e.number;
      answer->request_shard = e.to_shard;
      answer->tag = e.tag;
      answer->from = e.from;
      answer->data = e.data;
      answer->responder = e.conn;
      answer->ticket = e.ticket;
      answer->origin = static_cast<uint8_t>(e.shard);
      answer->origin_node = e.node;
      port_->Post(e.to_shard, bus::Res{std::move(answer)});
      return;
    }
    case ClusterEnvelope::Kind::kResAck:
      if (e.to_shard >= port_->shard_count()) break;
      port_->Post(e.to_shard, bus::ResAck{e.conn, e.ticket,
                                          e.refused ? Outcome::kRefused : Outcome::kAccepted});
      return;
    default:
      break;
  }
  Bump(stats_->redis_bad_messages);
}

void Backplane::OnRedisUp(uint32_t index) {
  UpdateGauges();
  if (!IsSubscriber(index)) {
    // Ahead of any EVALSHA on this connection: none of them meets NOSCRIPT
    // and comes back out of order.
    for (const RedisScript* script : {&history_.publish_script(), &history_.read_script(),
                                      &presence_.refresh_script(), &presence_.list_script()}) {
      std::vector<std::string> load = script->Load();
      (void)SendScript(InstanceOfConn(index), load,
                       MakeTag(static_cast<uint8_t>(TagKind::kFireAndForget), 0));
    }
    return;
  }
  size_t inst = InstanceOfConn(index);
  // A new connection starts with no subscription: every wanted room served
  // here again (OnRedisDown cleared `sent` of those subscribed on it). The
  // node channel follows in Flush.
  for (auto& [room, sub] : subs_) {
    if (!sub.wanted || sub.sent || InstanceOf(room) != inst) continue;
    if (sub.instance == inst) sub.in_flight = 0;
    MarkDirty(room, sub);
  }
}

void Backplane::OnRedisDown(uint32_t index) {
  UpdateGauges();
  if (!IsSubscriber(index)) return;
  size_t inst = InstanceOfConn(index);
  if (node_instance_ == inst) node_channel_sent_ = false;
  if (router_) RequestSlots();  // a failover may have moved its slots
  for (auto it = subs_.begin(); it != subs_.end();) {
    auto next = std::next(it);
    RoomSub& sub = it->second;
    const bool here =
        sub.sent || sub.in_flight > 0 ? sub.instance == inst : InstanceOf(it->first) == inst;
    if (here) {
      sub.sent = false;
      sub.in_flight = 0;
      sub.confirmed = false;
      if (sub.wanted) sub.lost = true;
      ReleaseHeld(sub, false);  // degraded: nobody waits for Redis
      parts_->owner().OnClusterLost(it->first);
      ReleaseAnnounces(it->first, sub, false);
      if (!sub.dirty) MaybeErase(it);
    }
    it = next;
  }
}

}  // namespace ringcast::shard
