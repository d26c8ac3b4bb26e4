// RoomOwner: what the owner shard of a room (hash(room) % N) keeps and does.
//
// Per owned room: the mask of shards with subscribers, the seq counter and,
// when the room's namespace keeps history, the history ring with its epoch;
// for personal rooms ("@user") the user's connection count; for rooms with
// presence the members with their leave debounce. It frames each
// publication once and hands the same bytes to every subscribing shard (one
// atomic reference per shard, none per connection), answers joins (with
// seq, epoch and replay for rooms with history) and presence queries. A
// room is forgotten once no shard subscribes and its history is empty.
//
// History is bounded per owner shard (HistoryLimits): rooms kept only for
// their history (no subscribers: "idle") are at most idle_rooms, the least
// recently published forgotten first; all history together holds at most
// `bytes`, idle rooms forgotten first, then the publishing room's oldest
// entries dropped. A forgotten room starts a new epoch when it comes back,
// so a client asking to recover across the loss is told recovered:false.
// Presence is bounded too: a member has at most one pending leave (a queue
// entry while its connections are 0, removed when it comes back or its room
// is forgotten), so the queue never holds more than the members; and a
// presence answer lists at most PresenceLimits::listed_users users, with
// the count of all of them.
// Cluster mode, rooms with history: seq and epoch are Redis's
// (ClusterHistory), so the local ring stays empty. Per such room with local
// subscribers the owner keeps the cluster epoch and the last seq it
// delivered (ClusterSeqState): a live publication at or below it is dropped
// (the node delivered it already, or a new subscriber's replay holds it), a
// jump past it or a new epoch sends {"op":"gap"}; a new subscriber's ack
// (with its replay read from Redis up to seq S) waits until the live stream
// has delivered S, so every later publication reaches it live, once.
// Cluster mode, presence: the owner keeps its node's members and their
// leave debounce as on one node, and PresenceSync sends them to Redis
// (batched per room per round, refreshed within the TTL); Redis's scripts
// say who joined or left cluster-wide (OnPresenceChange), and only that is
// announced, once, by the node whose call saw it. A room keeps its members
// with pending leaves until those are sent, subscribers or not. Queries are
// answered from Redis (OnPresenceList).
// Owner shard thread only; talks to other shards only through its BusPort.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/boxed_string.h"
#include "core/clock.h"
#include "core/hash.h"
#include "net/frame_writer.h"
#include "shard/bus_message.h"
#include "shard/bus_port.h"
#include "shard/cluster_envelope.h"
#include "shard/cluster_port.h"
#include "shard/namespaces.h"
#include "shard/presence_sync.h"
#include "shard/room_history.h"
#include "shard/shard_stats.h"

namespace ringcast::shard {

struct Member;

// A member whose last connection left, waiting out the leave delay. `room`
// and `user` are views of the map keys of its room (RoomOwner's rooms) and
// of the member (MemberMap), and `member` points at the member: both maps
// are node-based, so all three stay put. A member back within the delay, or
// a room forgotten, takes its leave back by clearing `member` (the entry goes
// at once when it is the last one, else when it reaches the front), and that
// happens before either key goes.
struct PendingLeave {
  std::string_view room;
  std::string_view user;
  Member* member;  // nullptr: taken back
  uint64_t left_at_ms;
};
// In time order: every leave waits the same delay, and a new one is due last.
// A deque, written at the back and swept from the front: no allocation per
// leave, and the entries stay put (Member::leave points at one). It holds at
// most the leaves queued within one delay.
using PendingLeaves = std::deque<PendingLeave>;

// Hashes like StringHash but may throw, which makes libstdc++ keep each
// node's hash beside it: a lookup in a large map then compares hashes before
// it reads a key kept on the heap (a cache miss per node in the bucket).
struct CachedStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return core::HashBytes(s); }
};

// Presence of one room at its owner: users with at least one subscribed
// connection, and those whose last one left less than leave_delay_ms ago.
// Invariant: conns == 0 exactly when `leave` points at the member's one live
// entry in the owner's queue.
struct Member {
  uint32_t conns = 0;
  PendingLeave* leave = nullptr;
  std::string info_json;  // "" = null
};
using MemberMap = std::unordered_map<std::string, Member, CachedStringHash, std::equal_to<>>;

// A room's presence at its owner: its members, and the shards where a
// subscriber asked for join/leave events. On one node, announcements go to
// those shards alone and are not even framed while there are none (cluster
// mode delivers what Redis announces to every subscribing shard).
struct RoomPresence {
  MemberMap members;
  uint64_t listening = 0;  // shard bits, from the latest PresenceDelta of each
};

// Kept small (40 bytes): every user's personal room is one of these, so the
// rarer parts (history, presence members) hang off pointers.
struct OwnedRoom {
  uint64_t shard_mask = 0;
  uint64_t seq = 0;
  uint32_t user_conns = 0;                 // personal rooms: the user's connections
  std::unique_ptr<RoomHistory> history;    // when the room's namespace keeps history
  std::unique_ptr<RoomPresence> presence;  // from the first member on
};

struct PresenceLimits {
  uint32_t listed_users = 1000;     // limits.max_presence_users: users in one presence answer
  uint32_t cluster_ttl_ms = 15000;  // cluster.presence_ttl_ms: a node's entries in Redis
};

// Cluster mode: what the owner knows of a history room's cluster-wide seqs.
struct ClusterSeqState {
  std::string epoch;       // "" until the first read or publication
  uint64_t delivered = 0;  // the last seq delivered to this node's subscribers
  // Joins answered (replay up to their seq) waiting for `delivered` to reach it.
  std::vector<std::pair<unsigned, bus::JoinAck>> waiting;
};

struct HistoryLimits {
  uint32_t idle_rooms = 65536;           // limits.max_idle_history_rooms
  uint64_t bytes = uint64_t{128} << 20;  // limits.max_history_bytes
};

class RoomOwner {
 public:
  RoomOwner(BusPort* port, const Namespaces& namespaces, uint32_t leave_delay_ms,
            net::FrameWriter* writer, const core::Clock* clock, ShardStats* stats,
            HistoryLimits limits = {}, PresenceLimits presence = {});
  ~RoomOwner();

  // Cluster mode (shard/backplane.h): set once, before the first message.
  void SetCluster(ClusterPort* cluster);
  // A publication, direct message, presence announcement or disconnect that
  // came back from the room's Redis channel: delivered like a local one.
  void OnCluster(const ClusterEnvelope& e);
  // The answer to a publication Redis took (or failed to): `reached` is the
  // nodes it reached (PUBLISH's count), what a `send` reports.
  // `seq`: the cluster-wide seq Redis assigned (rooms with history).
  void AnswerCluster(const PubRequest& req, Outcome outcome, uint64_t reached,
                     std::optional<uint64_t> seq = std::nullopt);
  // A join to a history room answered from Redis (`read`), or with Redis
  // gone (nullptr: what this node knows, recovered:false), for shard `to`.
  void OnHistoryRead(unsigned to, bus::JoinAck ack, const HistoryRead* read);
  // Redis is gone for `room`: joins waiting for the live stream go now (the
  // gap follows when it is back).
  void OnClusterLost(std::string_view room);
  // The node's subscription to `room` is confirmed again after it was lost
  // (reconnect, or a Redis Cluster slot handed over): what was published in
  // between never came live, so the seq this node delivered last is no
  // longer where the stream stands. Forgets it (a join waiting for the live
  // stream to pass it would wait for seqs that never come; the next read or
  // publication sets it again) and tells the subscribers `gap`.
  void OnClusterResumed(std::string_view room);
  // Tells the room's local subscribers they may have missed publications.
  void SendGap(std::string_view room);
  // Who joined or left `room` cluster-wide, as a presence script of this
  // node saw it: announced to every node's presence subscribers.
  void OnPresenceChange(std::string_view room, const PresenceChange& change);
  // A presence query answered from Redis for shard `to` (nullptr: Redis is
  // unreachable or failed it: `unavailable`).
  void OnPresenceList(std::unique_ptr<PresenceQuery> query, unsigned to, const PresenceList* list);

  // Frames, records and fans out a publication, then answers its origin.
  // `refuse`: the bus is backlogged; the publication is refused instead.
  void OnPublish(std::unique_ptr<PubRequest> req, bool refuse, uint64_t now_ms);
  // Records shard `from` as subscribing and answers it (JoinAck).
  void OnJoin(bus::Join msg, unsigned from, uint64_t now_ms);
  void OnLeave(std::string_view room, unsigned from, LeaveScope scope);
  // One connection of a user entered or left a room on shard `from`.
  void OnPresence(const PresenceDelta& delta, unsigned from, uint64_t now_ms);
  // Fills in the room's members, at most PresenceLimits::listed_users of
  // them (`truncated` when there are more), and answers shard `from`.
  void OnPresenceAsk(std::unique_ptr<PresenceQuery> query, unsigned from);
  // Sends the leaves whose delay has passed; once a second, drops history
  // past its TTL and forgets rooms left with nothing.
  void Tick(uint64_t now_ms);

  const OwnedRoom* Find(std::string_view room) const;
  size_t rooms() const { return rooms_.size(); }
  size_t idle_history_rooms() const { return idle_.size(); }
  uint64_t history_bytes() const { return history_bytes_; }
  size_t pending_leaves() const { return live_leaves_; }

 private:
  // BoxedString keys: every user's personal room is an entry here.
  using RoomMap =
      std::unordered_map<core::BoxedString, OwnedRoom, core::StringHash, std::equal_to<>>;

  OwnedRoom& Ensure(std::string_view room);
  void MaybeForget(RoomMap::iterator it);
  void Forget(RoomMap::iterator it);
  // Lists a room with history as idle (most recently used) or not, after its
  // shard mask or its history changed.
  void UpdateIdle(RoomMap::iterator it);
  // Forgets idle rooms past the limits; then trims `keep`'s oldest entries
  // while history is over its bytes.
  void Enforce(OwnedRoom* keep);
  // Runs f(history) and keeps history_bytes_ in step with what it changed.
  template <class F>
  void Edit(RoomHistory& h, F&& f);
  void FillJoin(JoinRequest* req, OwnedRoom& room, uint64_t now_ms);
  HistorySettings ClusterHistoryOf(std::string_view room) const;
  // A live publication with a cluster seq: dedupe, gap, fan-out, waiting joins.
  void DeliverClusterSeq(const ClusterEnvelope& e);
  // Forgets the room's ClusterSeqState (its local subscribers are gone),
  // posting the joins that waited on it.
  void DropClusterSeq(std::string_view room);
  // Posts the waiting joins whose seq is below `limit`.
  void ReleaseWaiting(ClusterSeqState& c, uint64_t limit);
  core::SharedFrame* Frame(std::string_view room, std::string_view from, std::string_view data,
                           std::string_view rid, bool direct, std::optional<uint64_t> seq);
  // The local path of a publication: seq, history, fan-out to the shard mask.
  std::optional<uint64_t> Deliver(std::string_view room, std::string_view from,
                                  std::string_view data, std::string_view rid, bool direct,
                                  Echo echo, uint8_t origin, core::SlabHandle publisher,
                                  uint64_t now_ms, uint64_t* reached);
  void FanOut(core::SharedFrame* frame, uint64_t mask, Audience audience, Echo echo, uint8_t origin,
              core::SlabHandle publisher);
  void Answer(const PubRequest& req, Outcome outcome, std::optional<uint64_t> seq,
              uint64_t reached);
  // {"op":op,"room":room,"user":user,"info":info} into *out.
  static void WritePresence(std::string* out, std::string_view op, std::string_view room,
                            std::string_view user, std::string_view info_json);
  // One node: the shards a join or leave of the room goes to (subscribing
  // and listening), 0 while nobody asked for them.
  static uint64_t AnnounceMask(const OwnedRoom& o);
  // One node: a join or leave to the room's presence subscribers.
  void Announce(RoomMap::const_iterator it, std::string_view op, std::string_view user,
                std::string_view info_json);
  // Cluster mode: presence frames ("<length>:<json>" back to back) to every
  // node's presence subscribers in one PUBLISH, or to this node's if Redis
  // is down; DeliverAnnounces fans such a batch out on this node.
  void AnnounceCluster(std::string_view room, const std::string& batch);
  void DeliverAnnounces(std::string_view room, std::string_view batch);
  void SweepLeaves(uint64_t now_ms);
  // Cluster mode: the round's presence batches to Redis.
  void FlushPresence(uint64_t now_ms);
  void SweepHistory(uint64_t now_ms);
  // Queues m's leave (its last connection left) or takes it back (it
  // returned, or its room is forgotten); keeps the gauge in step.
  void QueueLeave(std::string_view room, std::string_view user, Member& m, uint64_t now_ms);
  void CancelLeave(Member& m);

  BusPort* const port_;
  ClusterPort* cluster_ = nullptr;
  std::unique_ptr<PresenceSync> sync_;  // cluster mode
  const Namespaces& namespaces_;
  const uint32_t leave_delay_ms_;
  net::FrameWriter* const writer_;
  const core::Clock* const clock_;
  ShardStats* const stats_;
  const HistoryLimits limits_;
  const PresenceLimits presence_;
  RoomMap rooms_;
  std::list<std::string_view> idle_;  // idle history rooms' names (map keys), oldest use first
  uint64_t history_bytes_ = 0;
  std::unordered_map<std::string, ClusterSeqState, core::StringHash, std::equal_to<>> cluster_seqs_;
  PendingLeaves leaves_;  // at most one live entry per member
  size_t live_leaves_ = 0;
  uint64_t epochs_ = 0;
  uint64_t next_sweep_ms_ = 0;
  std::string scratch_;
};

}  // namespace ringcast::shard
