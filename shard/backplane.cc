#include "shard/backplane.h"

#include <algorithm>

#include "core/check.h"
#include "shard/shard_parts.h"

namespace ringcast::shard {

namespace {

constexpr uint64_t kProbeEveryMs = 1000;
// Channels per SUBSCRIBE/UNSUBSCRIBE command: a round's batch is split so
// that one command stays small.
constexpr size_t kChannelsPerCommand = 1024;

uint64_t MakeTag(uint8_t kind, uint64_t n) {
  return (uint64_t{kind} << 56) | (n & ((uint64_t{1} << 56) - 1));
}
uint8_t TagKindOf(uint64_t tag) { return static_cast<uint8_t>(tag >> 56); }

std::string_view Str(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return std::string_view(r->str, r->len);
}

// The parts of e's encoding (its seq and epoch left empty) with the seq and
// the length-prefixed epoch as slots the publish script fills in.
std::vector<MessagePart> EnvelopeParts(const ClusterEnvelope& e) {
  std::string encoded;
  e.Encode(&encoded);
  // The header line ends "<seq> <flags>\n" with seq "0" and one flag digit.
  size_t nl = encoded.find('\n');
  RC_CHECK(nl != std::string::npos && nl >= 4 && encoded.compare(nl - 4, 3, " 0 ") == 0);
  auto prefixed = [](const std::string& s) {
    return std::to_string(s.size()).size() + 1 + s.size();
  };
  size_t epoch_at = nl + 1 + prefixed(e.room) + prefixed(e.from) + prefixed(e.rid);
  RC_CHECK(encoded.compare(epoch_at, 2, "0:") == 0);
  using K = MessagePart::Kind;
  return {{K::kText, encoded.substr(0, nl - 3)},
          {K::kSeq, ""},
          {K::kText, encoded.substr(nl - 2, epoch_at - (nl - 2))},
          {K::kEpochPrefixed, ""},
          {K::kText, encoded.substr(epoch_at + 2)}};
}

}  // namespace

Backplane::Backplane(unsigned shard_id, const ServerOptions& options,
                     const std::vector<net::RedisAddress>& addresses, net::Uring* ring,
                     ShardParts* parts, BusPort* port, ShardStats* stats)
    : shard_id_(shard_id),
      node_id_(options.node_id),
      keys_(&partitions_),
      ring_(options.redis),
      node_channel_(keys_.NodeChannel(options.node_id)),
      parts_(parts),
      port_(port),
      stats_(stats) {
  RC_CHECK(!addresses.empty() && addresses.size() == options.redis.size());
  net::RedisConnLimits limits;
  limits.max_pending = options.redis_max_pending;
  limits.probe_interval_ms = options.redis_probe_interval_ms;
  limits.reply_timeout_ms = options.redis_reply_timeout_ms;
  limits.connect_timeout_ms = options.redis_reply_timeout_ms;
  uint64_t seed = core::HashBytes(node_id_) ^ (uint64_t{shard_id} << 32);
  for (size_t i = 0; i < addresses.size(); ++i) {
    auto index = static_cast<uint32_t>(2 * i);
    Instance inst;
    inst.commands = std::make_unique<net::RedisConn>(
        ring, index, addresses[i], net::RedisRole::kCommands, limits, this, seed + index);
    inst.subscriber = std::make_unique<net::RedisConn>(
        ring, index + 1, addresses[i], net::RedisRole::kSubscriber, limits, this, seed + index + 1);
    instances_.push_back(std::move(inst));
  }
  stats_->redis_connections.store(2 * instances_.size(), std::memory_order_relaxed);
}

Backplane::~Backplane() = default;

net::RedisConn& Backplane::Conn(uint32_t index) {
  Instance& inst = instances_[index / 2];
  return IsSubscriber(index) ? *inst.subscriber : *inst.commands;
}

void Backplane::Start(uint64_t now_ms) {
  now_ms_ = now_ms;
  next_probe_ms_ = now_ms + kProbeEveryMs;
  for (Instance& inst : instances_) {
    inst.commands->Start(now_ms);
    inst.subscriber->Start(now_ms);
  }
}

void Backplane::Stop() {
  for (Instance& inst : instances_) {
    inst.commands->Stop();
    inst.subscriber->Stop();
  }
}

void Backplane::OnCompletion(const io_uring_cqe& cqe, uint64_t now_ms) {
  now_ms_ = now_ms;
  uint32_t index = net::RedisConn::IndexOfSlot(net::UserDataSlot(cqe.user_data));
  RC_CHECK(index < 2 * instances_.size());
  Conn(index).OnCompletion(cqe, now_ms);
}

void Backplane::Tick(uint64_t now_ms) {
  now_ms_ = now_ms;
  for (Instance& inst : instances_) {
    inst.commands->Tick(now_ms);
    inst.subscriber->Tick(now_ms);
  }
  if (shard_id_ == 0 && now_ms >= next_probe_ms_) {
    next_probe_ms_ = now_ms + kProbeEveryMs;
    ProbeLag(now_ms);
  }
}

void Backplane::Flush() {
  FlushSubscriptions();
  for (Instance& inst : instances_) {
    inst.commands->Flush();
    inst.subscriber->Flush();
  }
  UpdateGauges();
}

void Backplane::UpdateGauges() {
  uint64_t up = 0;
  uint64_t reconnects = 0;
  for (const Instance& inst : instances_) {
    up += (inst.commands->IsUp() ? 1 : 0) + (inst.subscriber->IsUp() ? 1 : 0);
    reconnects += inst.commands->reconnects() + inst.subscriber->reconnects();
  }
  stats_->redis_connections_up.store(up, std::memory_order_relaxed);
  stats_->redis_reconnects.store(reconnects, std::memory_order_relaxed);
}

// Interest.

void Backplane::SetInterest(std::string_view room, bool interested) {
  auto it = subs_.find(room);
  if (it == subs_.end()) {
    if (!interested) return;
    it = subs_.try_emplace(std::string(room)).first;
    it->second.channel = keys_.RoomChannel(room);
    room_of_channel_.emplace(it->second.channel, it->first);
  }
  RoomSub& sub = it->second;
  sub.wanted = interested;
  if (!interested) {
    // Still subscribed until the round's UNSUBSCRIBE goes out (FlushSubscriptions);
    // interest back within the round keeps the subscription as it is.
    sub.lost = false;
    ReleaseHeld(sub, false);  // their rooms are gone again; the local side sorts it out
    ReleaseAnnounces(it->first, sub, true);
  } else if (!instances_[InstanceOf(room)].subscriber->IsUp()) {
    sub.lost = true;  // subscribed while down: gap once Redis has it
  }
  MarkDirty(it->first, sub);
}

void Backplane::MarkDirty(const std::string& room, RoomSub& sub) {
  if (sub.dirty) return;
  sub.dirty = true;
  dirty_.push_back(room);
}

bool Backplane::HoldJoinAck(std::string_view room, unsigned to, bus::JoinAck& ack,
                            const HistorySettings* history) {
  auto it = subs_.find(room);
  if (history != nullptr && !instances_[InstanceOf(room)].Up()) return false;
  if (it == subs_.end() || !it->second.wanted || it->second.confirmed) {
    return history != nullptr && StartRead(room, to, ack, *history);
  }
  if (!instances_[InstanceOf(room)].subscriber->IsUp()) return false;  // degraded: no wait
  HeldAck held{to, std::move(ack), std::nullopt};
  if (history != nullptr) held.history = *history;
  it->second.held.push_back(std::move(held));
  return true;
}

bool Backplane::StartRead(std::string_view room, unsigned to, bus::JoinAck& ack,
                          const HistorySettings& history) {
  size_t inst = InstanceOf(room);
  if (!instances_[inst].Up()) return false;
  const JoinRequest& req = *ack.req;
  std::optional<Since> since;
  if (req.since_seq) since = Since{*req.since_seq, req.since_epoch};
  Reading r{to,
            {},
            history_.Read(keys_.Room(room), history, ClusterHistory::NewEpoch(random_.Next64()),
                          now_ms_, since)};
  uint64_t tag = MakeTag(static_cast<uint8_t>(TagKind::kRead), ++next_tag_);
  if (!SendScript(inst, r.argv, tag)) return false;
  r.ack = std::move(ack);
  reading_.emplace(tag, std::move(r));
  return true;
}

bool Backplane::SendScript(size_t instance, const std::vector<std::string>& argv, uint64_t tag) {
  argv_.assign(argv.begin(), argv.end());
  if (instances_[instance].commands->Command(argv_, tag)) return true;
  Bump(stats_->redis_errors);
  return false;
}

void Backplane::ReleaseAnnounces(std::string_view room, RoomSub& sub, bool up) {
  std::vector<std::string> announces;
  announces.swap(sub.announces);
  std::string name(room);  // a local delivery may change subs_
  for (const std::string& json : announces) {
    if (up && Announce(name, json)) continue;
    ClusterEnvelope e;
    e.kind = ClusterEnvelope::Kind::kAnnounce;
    e.node = node_id_;
    e.room = name;
    e.data = json;
    parts_->owner().OnCluster(e);
  }
}

void Backplane::ReleaseHeld(RoomSub& sub, bool confirmed) {
  std::vector<HeldAck> held;
  held.swap(sub.held);
  for (HeldAck& h : held) {
    if (!h.history) {
      port_->Post(h.to, std::move(h.ack));
      continue;
    }
    std::string room = h.ack.req->room;
    if (confirmed && StartRead(room, h.to, h.ack, *h.history)) continue;
    parts_->owner().OnHistoryRead(h.to, std::move(h.ack), nullptr);
  }
}

void Backplane::FlushSubscriptions() {
  if (dirty_.empty()) return;
  std::vector<std::vector<std::string>> sub_batches(instances_.size());
  std::vector<std::vector<std::string>> unsub_batches(instances_.size());
  for (const std::string& room : dirty_) {
    auto it = subs_.find(room);
    if (it == subs_.end()) continue;
    RoomSub& sub = it->second;
    size_t inst = InstanceOf(room);
    if (!instances_[inst].subscriber->IsUp()) {
      sub.dirty = false;  // OnRedisUp subscribes every wanted room
      MaybeErase(it);
      continue;
    }
    if (sub.wanted && !sub.sent) {
      sub_batches[inst].push_back(sub.channel);
      sub.sent = true;
      ++sub.in_flight;
    } else if (!sub.wanted && sub.sent) {
      unsub_batches[inst].push_back(sub.channel);
      sub.sent = false;
      sub.confirmed = false;
      ++sub.in_flight;
    }
    sub.dirty = false;
    MaybeErase(it);
  }
  dirty_.clear();
  auto send = [&](size_t inst, std::string_view verb, std::vector<std::string>& channels) {
    for (size_t i = 0; i < channels.size(); i += kChannelsPerCommand) {
      argv_.clear();
      argv_.push_back(verb);
      size_t end = std::min(channels.size(), i + kChannelsPerCommand);
      for (size_t j = i; j < end; ++j) argv_.push_back(channels[j]);
      // A refusal (queue full) fails the connection's bounds only when it is
      // far behind; the reply timeout then restarts it and everything is
      // subscribed again.
      if (!instances_[inst].subscriber->Command(argv_, 0)) Bump(stats_->redis_errors);
    }
  };
  for (size_t inst = 0; inst < instances_.size(); ++inst) {
    send(inst, "SUBSCRIBE", sub_batches[inst]);
    send(inst, "UNSUBSCRIBE", unsub_batches[inst]);
  }
}

void Backplane::MaybeErase(SubMap::iterator it) {
  const RoomSub& sub = it->second;
  if (!sub.wanted && !sub.sent && sub.in_flight == 0 && !sub.dirty && sub.held.empty() &&
      sub.announces.empty()) {
    room_of_channel_.erase(sub.channel);
    subs_.erase(it);
  }
}

// Publishing.

PublishResult Backplane::Publish(std::unique_ptr<PubRequest>& req, const HistorySettings* history) {
  size_t inst = InstanceOf(req->room);
  if (!instances_[inst].Up()) {
    // A seq is Redis's to assign: without it, no publication to a history room.
    return history != nullptr ? PublishResult::kUnavailable : PublishResult::kLocal;
  }
  ClusterEnvelope e;
  e.kind = !req->rid.empty() ? ClusterEnvelope::Kind::kReq
           : req->direct     ? ClusterEnvelope::Kind::kDirect
                             : ClusterEnvelope::Kind::kPub;
  e.node = node_id_;
  e.shard = req->origin;
  e.conn = req->conn;
  e.echo = req->echo;
  e.room = req->room;
  e.from = req->from;
  e.rid = req->rid;
  uint64_t tag = MakeTag(static_cast<uint8_t>(TagKind::kPublish), ++next_tag_);
  std::string channel = keys_.RoomChannel(req->room);
  if (history != nullptr) {
    Publishing p;
    e.data = req->data;  // the stream keeps its own copy, in the `msg` envelope
    std::vector<MessagePart> parts = EnvelopeParts(e);  // seq and epoch: the script's
    p.argv = history_.Publish(keys_.Room(req->room), *history,
                              ClusterHistory::NewEpoch(random_.Next64()), now_ms_, false,
                              SplitMsgAtSeq(req->room, req->from, req->data), parts);
    if (!SendScript(inst, p.argv, tag)) return PublishResult::kUnavailable;
    Bump(stats_->redis_publishes);
    p.req = std::move(req);
    publishing_.emplace(tag, std::move(p));
    return PublishResult::kSent;
  }
  e.data = std::move(req->data);
  e.Encode(&scratch_);
  if (!instances_[inst].commands->Command({"PUBLISH", channel, scratch_}, tag)) {
    req->data = std::move(e.data);
    Bump(stats_->redis_errors);
    return PublishResult::kUnavailable;
  }
  Bump(stats_->redis_publishes);
  publishing_.emplace(tag, Publishing{std::move(req), {}});
  return PublishResult::kSent;
}

bool Backplane::PublishRaw(size_t instance, const std::string& channel,
                           const std::string& payload) {
  if (!instances_[instance].commands->IsUp()) return false;
  uint64_t tag = MakeTag(static_cast<uint8_t>(TagKind::kFireAndForget), 0);
  if (!instances_[instance].commands->Command({"PUBLISH", channel, payload}, tag)) {
    Bump(stats_->redis_errors);
    return false;
  }
  return true;
}

bool Backplane::Announce(std::string_view room, std::string_view json) {
  size_t inst = InstanceOf(room);
  if (!instances_[inst].Up()) return false;
  auto it = subs_.find(room);
  if (it != subs_.end() && it->second.wanted && !it->second.confirmed) {
    it->second.announces.emplace_back(json);  // after the subscription, or we miss it
    return true;
  }
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kAnnounce;
  e.node = node_id_;
  e.shard = shard_id_;
  e.room = room;
  e.data = json;
  e.Encode(&scratch_);
  return PublishRaw(inst, keys_.RoomChannel(room), scratch_);
}

bool Backplane::Disconnect(std::string_view user) {
  std::string room = ClusterKeys::PersonalRoom(user);
  size_t inst = InstanceOf(room);
  if (!instances_[inst].Up()) return false;
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kDisconnect;
  e.node = node_id_;
  e.shard = shard_id_;
  e.room = room;
  e.Encode(&scratch_);
  return PublishRaw(inst, keys_.RoomChannel(room), scratch_);
}

bool Backplane::SendRes(std::string_view node, const ResAnswer& answer) {
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kRes;
  e.node = node_id_;
  e.shard = answer.origin;
  e.to_shard = answer.request_shard;
  e.conn = answer.responder;
  e.ticket = answer.ticket;
  e.number = answer.request;
  e.tag = answer.tag;
  e.from = answer.from;
  e.data = answer.data;
  e.Encode(&scratch_);
  return PublishRaw(0, keys_.NodeChannel(node), scratch_);
}

void Backplane::SendResAck(std::string_view node, unsigned shard, const bus::ResAck& ack) {
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kResAck;
  e.node = node_id_;
  e.shard = shard_id_;
  e.to_shard = shard;
  e.conn = ack.conn;
  e.ticket = ack.ticket;
  e.refused = ack.outcome == Outcome::kRefused;
  e.Encode(&scratch_);
  // Lost only with Redis: the responder's `ok` then never comes, as with any
  // reply from a node that went away.
  if (!PublishRaw(0, keys_.NodeChannel(node), scratch_)) Bump(stats_->redis_errors);
}

void Backplane::ProbeLag(uint64_t now_ms) {
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kProbe;
  e.node = node_id_;
  e.seq = now_ms;
  e.Encode(&scratch_);
  (void)PublishRaw(0, node_channel_, scratch_);
}

// Redis events.

void Backplane::OnRedisReply(uint32_t, uint64_t tag, const redisReply* reply) {
  bool failed = reply == nullptr || reply->type == REDIS_REPLY_ERROR;
  if (failed && !RedisScript::IsNoScript(reply)) Bump(stats_->redis_errors);
  if (TagKindOf(tag) == static_cast<uint8_t>(TagKind::kPublish)) OnPublishReply(tag, reply, failed);
  if (TagKindOf(tag) == static_cast<uint8_t>(TagKind::kRead)) OnReadReply(tag, reply, failed);
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

void Backplane::OnRedisPush(uint32_t, const redisReply& push) {
  if (push.type != REDIS_REPLY_ARRAY || push.elements < 3) {
    Bump(stats_->redis_errors);  // an error reply to SUBSCRIBE, or something we never asked
    return;
  }
  std::string_view kind = Str(push.element[0]);
  std::string_view channel = Str(push.element[1]);
  if (kind == "message") {
    OnMessage(channel, Str(push.element[2]));
  } else if (kind == "subscribe") {
    OnSubscribed(channel);
  } else if (kind == "unsubscribe") {
    OnUnsubscribed(channel);
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
    parts_->owner().SendGap(it->first);
  }
}

void Backplane::OnUnsubscribed(std::string_view channel) {
  auto it = FindByChannel(channel);
  if (it == subs_.end()) return;
  if (it->second.in_flight > 0) --it->second.in_flight;
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
    for (const RedisScript* script : {&history_.publish_script(), &history_.read_script()}) {
      std::vector<std::string> load = script->Load();
      (void)SendScript(InstanceOfConn(index), load,
                       MakeTag(static_cast<uint8_t>(TagKind::kFireAndForget), 0));
    }
    return;
  }
  size_t inst = InstanceOfConn(index);
  // A new connection starts with no subscription: every wanted room again.
  for (auto& [room, sub] : subs_) {
    if (InstanceOf(room) != inst || !sub.wanted) continue;
    sub.sent = false;
    sub.in_flight = 0;
    MarkDirty(room, sub);
  }
  if (shard_id_ == 0 && inst == 0) {
    if (!instances_[0].subscriber->Command({"SUBSCRIBE", node_channel_}, 0)) {
      Bump(stats_->redis_errors);
    }
  }
}

void Backplane::OnRedisDown(uint32_t index) {
  UpdateGauges();
  if (!IsSubscriber(index)) return;
  size_t inst = InstanceOfConn(index);
  for (auto it = subs_.begin(); it != subs_.end();) {
    auto next = std::next(it);
    RoomSub& sub = it->second;
    if (InstanceOf(it->first) == inst) {
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
