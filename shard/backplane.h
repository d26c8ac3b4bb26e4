// Backplane: cluster mode, one per shard (docs/design.md, Cluster mode).
// Several ringcast nodes act as one broker through Redis pub/sub.
//
// Each shard keeps, per Redis instance, a command connection and a
// subscriber connection on its own io_uring (net::RedisConn). Rooms are
// spread over the instances by consistent hashing (RedisRing; InstanceOf is
// the one place that decides which Redis serves room R), and named in Redis
// by ClusterKeys (the room's partition hash tag, escaped name), so every node
// agrees on both.
//
// Interest routing: the owner shard of room R on each node subscribes the
// node to R's channel while the node has local subscribers (SetInterest,
// from RoomOwner when its shard mask goes 0 <-> non-zero). SUBSCRIBE and
// UNSUBSCRIBE are batched: one command each per instance per round (Flush).
// A subscriber's `ok` waits until Redis confirmed the subscription
// (HoldJoinAck), so no publication after `ok` can miss it.
//
// Per-room order: the owner publishes every publication to R's channel and
// delivers nothing itself; every interested node, the publishing one
// included, delivers what its subscription receives, so all nodes see the
// one order Redis gives the channel and nobody delivers twice. The envelope
// (ClusterEnvelope) carries the origin node, shard and connection (echo
// exclusion), the publisher's user, and a request's rid.
//
// Users: `send` and `req` go to the personal room "@U" like any room; a
// disconnect is a kDisconnect on "@U"'s channel; a `res` for another node's
// request goes to that node's channel (ClusterKeys::NodeChannel), which shard 0 of
// every node subscribes to and which also carries the pub/sub lag probe
// (shard 0 publishes its clock to its own channel once a second).
//
// Faults: while a room's instance is down (either connection), publications
// are delivered locally at once (degraded), acks are not held, and commands
// that need Redis (a `res` to another node) answer `unavailable`; so does a
// publication when the command queue is full. When the subscriber
// connection is back, every room is subscribed again and, once confirmed,
// its local subscribers get {"op":"gap","room":R}: they may have missed
// publications of other nodes.
//
// Redis Cluster (`--redis-cluster`): the addresses are seeds. ClusterRouter
// holds the slot map (CLUSTER SLOTS, asked on a command connection at start,
// after a MOVED, and every second while a master is unreachable) and the
// instances: a command + subscriber connection pair per master. A room's
// commands go to the master of its partition's slot (InstanceOf):
// SPUBLISH, the history and presence scripts (every key under the
// partition's tag), and SSUBSCRIBE/SUNSUBSCRIBE, batched per slot since a
// sharded subscribe names channels of one slot. Node channels are sharded
// channels on the master of their own tag's slot. A MOVED moves the slot in
// the map and resends the command there; an ASK resends it once after
// ASKING; TRYAGAIN resends it next round; at most
// ClusterRouter::kMaxRedirects times, then it fails (`unavailable`). When a
// slot moves away, Redis drops its sharded subscriptions (a `sunsubscribe`
// push): the room is subscribed again on the new master and, as after a
// reconnect, its subscribers get `gap` once that is confirmed.
//
// Rooms with history (ClusterHistory): a publication is one EVALSHA of the
// publish script (EVAL on NOSCRIPT; both scripts are loaded whenever the
// command connection comes up, so pipelined calls do not reorder on a
// NOSCRIPT), which assigns the seq, keeps the stream and PUBLISHes the
// envelope with seq and epoch filled in; the publisher's `ok` carries the
// seq. With Redis down such a publication is refused (`unavailable`): no
// seq can be assigned cluster-wide. A join with a connection waits for the
// subscription's confirmation, then the read script gives its seq, epoch and
// replay (RoomOwner::OnHistoryRead).
//
// Presence (ClusterPresence, backplane_presence.cc): the round's batches of
// the owner's rooms become refresh script calls, one per Redis instance and
// partition (at most kPresencePerCall users each: many small rooms cost one
// call), whose joined/left answers go back to the owner to announce; a
// query is one list script call. Shard thread only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/crc16.h"
#include "core/hash.h"
#include "core/secure_random.h"
#include "net/redis_address.h"
#include "net/redis_conn.h"
#include "net/uring.h"
#include "shard/bus_port.h"
#include "shard/cluster_envelope.h"
#include "shard/cluster_history.h"
#include "shard/cluster_keys.h"
#include "shard/cluster_partitions.h"
#include "shard/cluster_port.h"
#include "shard/cluster_presence.h"
#include "shard/cluster_ring.h"
#include "shard/cluster_router.h"
#include "shard/server.h"
#include "shard/shard_stats.h"

namespace ringcast::shard {

class ShardParts;

class Backplane final : public ClusterPort, public net::RedisEvents {
 public:
  // `addresses`: one per Redis instance, resolved at start-up.
  Backplane(unsigned shard_id, const ServerOptions& options,
            const std::vector<net::RedisAddress>& addresses, net::Uring* ring, ShardParts* parts,
            BusPort* port, ShardStats* stats);
  ~Backplane() override;

  void Start(uint64_t now_ms);
  void OnCompletion(const io_uring_cqe& cqe, uint64_t now_ms);
  // Timeouts, reconnects, the lag probe; then the round's batched
  // SUBSCRIBE/UNSUBSCRIBE and one send per connection.
  void Tick(uint64_t now_ms);
  void Flush();
  void Stop();

  // ClusterPort.
  const std::string& node_id() const override { return node_id_; }
  void SetInterest(std::string_view room, bool interested) override;
  bool HoldJoinAck(std::string_view room, unsigned to, bus::JoinAck& ack,
                   const HistorySettings* history) override;
  PublishResult Publish(std::unique_ptr<PubRequest>& req, const HistorySettings* history) override;
  bool Announce(std::string_view room, std::string_view frames) override;
  bool SendRes(std::string_view node, const ResAnswer& answer) override;
  void SendResAck(std::string_view node, unsigned shard, const bus::ResAck& ack) override;
  bool Disconnect(std::string_view user) override;
  bool SyncPresence(std::string_view room, std::span<const PresenceMember> members,
                    std::span<const std::string> removed, uint64_t unix_ms) override;
  void ListPresence(std::unique_ptr<PresenceQuery> query, unsigned to, uint32_t limit,
                    uint64_t unix_ms) override;

  // Users per presence refresh or remove call: a large room's batch is split.
  static constexpr size_t kPresencePerCall = 1000;

  // net::RedisEvents.
  void OnRedisReply(uint32_t conn, uint64_t tag, const redisReply* reply) override;
  void OnRedisPush(uint32_t conn, const redisReply& push) override;
  void OnRedisUp(uint32_t conn) override;
  void OnRedisDown(uint32_t conn) override;

  // The Redis instance that serves `room`, as every node computes it (in a
  // Redis Cluster: the master of the room's partition slot, as this shard's
  // map says; a stale map is corrected by MOVED).
  size_t InstanceOf(std::string_view room) const {
    return router_ ? router_->InstanceOfSlot(partitions_.slot(partitions_.Of(room)))
                   : ring_.Of(room);
  }

 private:
  // A join acknowledgement waiting for the subscription's confirmation.
  struct HeldAck {
    unsigned to = 0;
    bus::JoinAck ack;
    std::optional<HistorySettings> history;  // read the room's stream first
  };
  // A command whose reply answers someone, with its argv for the EVAL retry.
  struct Publishing {
    std::unique_ptr<PubRequest> req;
    std::vector<std::string> argv;  // a history publication's EVALSHA, else empty
  };
  struct Reading {
    unsigned to = 0;
    bus::JoinAck ack;
    std::vector<std::string> argv;
  };
  // A presence script call: a refresh of one or more rooms, or a query (list).
  struct PresenceCall {
    std::vector<std::string> rooms;  // in the call's order
    const RedisScript* script = nullptr;
    std::vector<std::string> argv;
    std::unique_ptr<PresenceQuery> query;  // list only
    unsigned to = 0;                       // list only: the asking shard
  };
  // One room's presence work of the round, sent by FlushPresence.
  struct PresenceOut {
    std::string room;
    std::vector<PresenceMember> members;  // users gone first (count 0), then the others
  };

  // The node's subscription to one room's channel.
  struct RoomSub {
    std::string channel;     // ClusterKeys::RoomChannel
    int slot = 0;            // its hash slot (Redis Cluster; 0 otherwise)
    size_t instance = 0;     // where the last SUBSCRIBE/UNSUBSCRIBE went
    bool wanted = false;     // the node has local subscribers
    bool sent = false;       // SUBSCRIBE sent on the current connection (and no UNSUBSCRIBE since)
    bool confirmed = false;  // Redis confirmed it and nothing is in flight
    bool lost = false;       // publications may have been missed: gap once confirmed
    bool dirty = false;      // in dirty_
    uint32_t in_flight = 0;  // SUBSCRIBE/UNSUBSCRIBE sent, not yet confirmed
    std::vector<HeldAck> held;  // acks waiting for the confirmation
    // Presence frame batches waiting for the confirmation: published before
    // it, this node would not hear them itself. At most one per presence
    // script answer of the room in that window.
    std::vector<std::string> announces;
  };
  struct Instance {
    std::unique_ptr<net::RedisConn> commands;
    std::unique_ptr<net::RedisConn> subscriber;
    bool Up() const { return commands->IsUp() && subscriber->IsUp(); }
  };
  using SubMap = std::unordered_map<std::string, RoomSub, core::StringHash, std::equal_to<>>;
  using NameMap = std::unordered_map<std::string, std::string, core::StringHash, std::equal_to<>>;

  // What a command's reply tag names: kind in the top byte.
  enum class TagKind : uint8_t {
    kPublish = 1,
    kFireAndForget = 2,
    kRead = 3,
    kSlots = 4,
    kPresence = 5
  };
  static uint64_t MakeTag(uint8_t kind, uint64_t n) {
    return (uint64_t{kind} << 56) | (n & ((uint64_t{1} << 56) - 1));
  }
  static uint8_t TagKindOf(uint64_t tag) { return static_cast<uint8_t>(tag >> 56); }
  // A string or status reply's text; empty for anything else.
  static std::string_view Str(const redisReply* r) {
    if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
    return std::string_view(r->str, r->len);
  }

  net::RedisConn& Conn(uint32_t index);
  void AddInstance(const net::RedisAddress& address);
  // Every command on a command connection goes here: in a Redis Cluster it
  // is remembered until its reply, so a redirect can resend it.
  bool Send(size_t instance, std::span<const std::string_view> argv, uint64_t tag);
  bool Send(size_t instance, std::initializer_list<std::string_view> argv, uint64_t tag) {
    return Send(instance, std::span<const std::string_view>(argv.begin(), argv.size()), tag);
  }
  // A command's reply, redirects already followed.
  void Dispatch(size_t instance, uint64_t tag, const redisReply* reply);
  // The instance a non-room channel (a node channel) lives on.
  size_t ChannelInstance(std::string_view channel) const {
    return router_ ? router_->InstanceOfSlot(core::HashSlot(channel)) : 0;
  }
  const char* Verb(const char* plain, const char* sharded) const {
    return router_ ? sharded : plain;
  }
  void SubscribeNodeChannel();

  // Redis Cluster (backplane_cluster.cc).
  // True when `reply` was a redirect (or TRYAGAIN) and `sent` went on.
  bool FollowRedirect(size_t from, ClusterRouter::Sent& sent, const redisReply* reply);
  bool Resend(size_t instance, ClusterRouter::Sent& sent);
  void OnClusterSlots(size_t instance, const redisReply* reply);
  void RequestSlots() { slots_wanted_ = true; }
  // The round's cluster chores: TRYAGAIN resends, the slot map's reload.
  void TickCluster(uint64_t now_ms);
  // An error push on a subscriber connection: a MOVED for a sharded subscribe.
  void OnSubscribeError(size_t instance, const redisReply& push);
  // Instances for endpoints the router learned, connections started.
  void AddInstances();
  void UpdateClusterGauges();
  bool IsSubscriber(uint32_t index) const { return index % 2 == 1; }
  size_t InstanceOfConn(uint32_t index) const { return index / 2; }
  void MarkDirty(const std::string& room, RoomSub& sub);
  void FlushSubscriptions();
  // The entry of the room on `channel`, or end().
  SubMap::iterator FindByChannel(std::string_view channel);
  void OnSubscribed(std::string_view channel);
  void OnUnsubscribed(std::string_view channel, size_t instance);
  void OnMessage(std::string_view channel, std::string_view payload);
  void OnNodeMessage(const ClusterEnvelope& e);
  // Sends the held acks on: history ones to a read once `confirmed`, or to
  // the owner's degraded answer when Redis is down.
  void ReleaseHeld(RoomSub& sub, bool confirmed);
  // Reads `room`'s history for a join; false when it cannot be queued.
  bool StartRead(std::string_view room, unsigned to, bus::JoinAck& ack,
                 const HistorySettings& history);
  // Queues argv (EVALSHA built by ClusterHistory) on the instance's command
  // connection under `tag`.
  bool SendScript(size_t instance, const std::vector<std::string>& argv, uint64_t tag);
  void OnPublishReply(uint64_t tag, const redisReply* reply, bool failed);
  void OnReadReply(uint64_t tag, const redisReply* reply, bool failed);
  // The round's presence work: one refresh call per instance and partition
  // (rooms of a partition share a slot), at most kPresencePerCall users each.
  void FlushPresence();
  // Sends a presence call; false (call untouched) when it cannot be queued.
  bool SendPresence(size_t instance, PresenceCall& call);
  void OnPresenceReply(uint64_t tag, const redisReply* reply, bool failed);
  // Publishes the announces held for the confirmation (`up`), or delivers
  // them on this node only (Redis went down).
  void ReleaseAnnounces(std::string_view room, RoomSub& sub, bool up);
  void MaybeErase(SubMap::iterator it);
  // PUBLISH on the instance's command connection; a reply only counted.
  bool PublishRaw(size_t instance, const std::string& channel, const std::string& payload);
  void ProbeLag(uint64_t now_ms);
  void UpdateGauges();

  const unsigned shard_id_;
  const std::string node_id_;
  const ClusterPartitions partitions_;
  const ClusterKeys keys_;
  const RedisRing ring_;
  const std::string node_channel_;
  net::Uring* const uring_;
  net::RedisConnLimits limits_;
  const uint64_t seed_;
  std::optional<ClusterRouter> router_;  // Redis Cluster only
  ShardParts* const parts_;
  BusPort* const port_;
  ShardStats* const stats_;
  std::vector<Instance> instances_;
  SubMap subs_;
  NameMap room_of_channel_;  // the channels of subs_'s rooms
  std::vector<std::string> dirty_;
  std::unordered_map<uint64_t, Publishing> publishing_;
  std::unordered_map<uint64_t, Reading> reading_;
  const ClusterHistory history_;
  const ClusterPresence presence_;
  const uint64_t presence_ttl_ms_;
  std::unordered_map<uint64_t, PresenceCall> presence_calls_;
  // Per (instance, partition on a Redis Cluster, else 0).
  std::map<std::pair<size_t, uint32_t>, std::vector<PresenceOut>> presence_out_;
  uint64_t presence_unix_ms_ = 0;  // "now" of the round's presence work
  core::SecureRandom random_;
  uint64_t next_tag_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t next_probe_ms_ = 0;
  bool node_channel_sent_ = false;  // (S)SUBSCRIBE sent (shard 0), on node_instance_
  size_t node_instance_ = 0;
  bool started_ = false;
  // Redis Cluster: the slot map's reload, and commands to resend next round (TRYAGAIN).
  bool slots_wanted_ = true;
  bool slots_in_flight_ = false;
  uint64_t next_slots_ms_ = 0;
  uint64_t next_slots_check_ms_ = 0;
  std::vector<std::pair<size_t, ClusterRouter::Sent>> retry_;
  std::string scratch_;
  std::vector<std::string_view> argv_;
};

}  // namespace ringcast::shard
