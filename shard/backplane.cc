#include "shard/backplane.h"

#include <algorithm>
#include <map>

#include "core/check.h"
#include "shard/shard_parts.h"

namespace ringcast::shard {

namespace {

constexpr uint64_t kProbeEveryMs = 1000;
// Channels per SUBSCRIBE/UNSUBSCRIBE command: a round's batch is split so
// that one command stays small.
constexpr size_t kChannelsPerCommand = 1024;

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
      uring_(ring),
      seed_(core::HashBytes(options.node_id) ^ (uint64_t{shard_id} << 32)),
      parts_(parts),
      port_(port),
      stats_(stats),
      presence_ttl_ms_(options.redis_presence_ttl_ms) {
  RC_CHECK(!addresses.empty() && addresses.size() == options.redis.size());
  limits_.max_pending = options.redis_max_pending;
  limits_.probe_interval_ms = options.redis_probe_interval_ms;
  limits_.reply_timeout_ms = options.redis_reply_timeout_ms;
  limits_.connect_timeout_ms = options.redis_reply_timeout_ms;
  if (options.redis_cluster) router_.emplace(addresses);
  for (const net::RedisAddress& address : addresses) AddInstance(address);
}

void Backplane::AddInstance(const net::RedisAddress& address) {
  auto index = static_cast<uint32_t>(2 * instances_.size());
  Instance inst;
  inst.commands = std::make_unique<net::RedisConn>(
      uring_, index, address, net::RedisRole::kCommands, limits_, this, seed_ + index);
  inst.subscriber = std::make_unique<net::RedisConn>(
      uring_, index + 1, address, net::RedisRole::kSubscriber, limits_, this, seed_ + index + 1);
  if (started_) {
    inst.commands->Start(now_ms_);
    inst.subscriber->Start(now_ms_);
  }
  instances_.push_back(std::move(inst));
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
  started_ = true;
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
  if (router_) TickCluster(now_ms);
  if (shard_id_ == 0 && now_ms >= next_probe_ms_) {
    next_probe_ms_ = now_ms + kProbeEveryMs;
    ProbeLag(now_ms);
  }
}

void Backplane::Flush() {
  SubscribeNodeChannel();
  FlushSubscriptions();
  FlushPresence();
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
    if (router_) it->second.slot = core::HashSlot(it->second.channel);
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
  if (Send(instance, argv_, tag)) return true;
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
  // Per instance and slot (a sharded subscribe names channels of one slot;
  // without a Redis Cluster every room's slot is 0): channels to subscribe
  // and to unsubscribe.
  struct Batch {
    std::vector<std::string> sub;
    std::vector<std::string> unsub;
  };
  std::map<std::pair<size_t, int>, Batch> batches;
  for (const std::string& room : dirty_) {
    auto it = subs_.find(room);
    if (it == subs_.end()) continue;
    RoomSub& sub = it->second;
    sub.dirty = false;
    if (sub.wanted && !sub.sent) {
      size_t inst = InstanceOf(room);
      if (instances_[inst].subscriber->IsUp()) {
        batches[{inst, sub.slot}].sub.push_back(sub.channel);
        sub.instance = inst;
        sub.sent = true;
        ++sub.in_flight;
      }  // else OnRedisUp (or a new slot map) subscribes every wanted room
    } else if (!sub.wanted && sub.sent) {
      sub.sent = false;
      sub.confirmed = false;
      if (instances_[sub.instance].subscriber->IsUp()) {
        batches[{sub.instance, sub.slot}].unsub.push_back(sub.channel);
        ++sub.in_flight;
      }
    }
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
  for (auto& [where, batch] : batches) {
    send(where.first, Verb("SUBSCRIBE", "SSUBSCRIBE"), batch.sub);
    send(where.first, Verb("UNSUBSCRIBE", "SUNSUBSCRIBE"), batch.unsub);
  }
}

void Backplane::SubscribeNodeChannel() {
  if (shard_id_ != 0 || node_channel_sent_) return;
  size_t inst = ChannelInstance(node_channel_);
  if (!instances_[inst].subscriber->IsUp()) return;
  if (!instances_[inst].subscriber->Command({Verb("SUBSCRIBE", "SSUBSCRIBE"), node_channel_}, 0)) {
    Bump(stats_->redis_errors);
    return;
  }
  node_channel_sent_ = true;
  node_instance_ = inst;
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
    p.argv = history_.Publish(
        keys_.Room(req->room), *history, ClusterHistory::NewEpoch(random_.Next64()), now_ms_,
        router_.has_value(), SplitMsgAtSeq(req->room, req->from, req->data), parts);
    if (!SendScript(inst, p.argv, tag)) return PublishResult::kUnavailable;
    Bump(stats_->redis_publishes);
    p.req = std::move(req);
    publishing_.emplace(tag, std::move(p));
    return PublishResult::kSent;
  }
  e.data = std::move(req->data);
  e.Encode(&scratch_);
  if (!Send(inst, {Verb("PUBLISH", "SPUBLISH"), channel, scratch_}, tag)) {
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
  if (!Send(instance, {Verb("PUBLISH", "SPUBLISH"), channel, payload}, tag)) {
    Bump(stats_->redis_errors);
    return false;
  }
  return true;
}

bool Backplane::Announce(std::string_view room, std::string_view frames) {
  size_t inst = InstanceOf(room);
  if (!instances_[inst].Up()) return false;
  auto it = subs_.find(room);
  if (it != subs_.end() && it->second.wanted && !it->second.confirmed) {
    it->second.announces.emplace_back(frames);  // after the subscription, or we miss it
    return true;
  }
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kAnnounce;
  e.node = node_id_;
  e.shard = shard_id_;
  e.room = room;
  e.data = frames;
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
  std::string channel = keys_.NodeChannel(node);
  return PublishRaw(ChannelInstance(channel), channel, scratch_);
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
  std::string channel = keys_.NodeChannel(node);
  if (!PublishRaw(ChannelInstance(channel), channel, scratch_)) Bump(stats_->redis_errors);
}

void Backplane::ProbeLag(uint64_t now_ms) {
  ClusterEnvelope e;
  e.kind = ClusterEnvelope::Kind::kProbe;
  e.node = node_id_;
  e.seq = now_ms;
  e.Encode(&scratch_);
  (void)PublishRaw(ChannelInstance(node_channel_), node_channel_, scratch_);
}

}  // namespace ringcast::shard
