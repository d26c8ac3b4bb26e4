// ClusterPort: what a shard's parts ask of cluster mode (the Backplane,
// shard/backplane.h), so RoomOwner, LocalRooms and Users run unchanged, and
// are unit-tested, without it: a null ClusterPort is a single node.
//
// The owner shard of a room on each node tells it when the node gains or
// loses local subscribers (SetInterest), holds a new subscriber's join
// acknowledgement until Redis has confirmed the node's subscription
// (HoldJoinAck), and hands every publication to Redis (Publish); what comes
// back from the room's channel, the one order every node sees, is handed to
// the owner as a ClusterEnvelope and delivered like a local publication.
// False from Publish means Redis is unreachable: the owner delivers locally
// at once (degraded). Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "shard/bus_message.h"
#include "shard/cluster_history.h"
#include "shard/cluster_presence.h"

namespace ringcast::shard {

// What became of a publication handed to cluster mode.
enum class PublishResult : uint8_t {
  kSent,         // on its way through Redis; its origin is answered when Redis has it
  kLocal,        // Redis is unreachable: deliver it on this node only (degraded)
  kUnavailable,  // Redis is reachable but its queue is full: refuse (`unavailable`)
};

class ClusterPort {
 public:
  virtual ~ClusterPort() = default;
  virtual const std::string& node_id() const = 0;
  // Owner shard: the node has local subscribers of `room` (true) or none left.
  virtual void SetInterest(std::string_view room, bool interested) = 0;
  // Owner shard: keeps `ack` (for shard `to`) until the node's subscription
  // to `room` is confirmed, and returns true; false (ack untouched) when it
  // may go now (confirmed, or Redis is down: degraded, no wait).
  // `history` (a room with history): once confirmed, the room's stream is
  // read (seq, epoch, replay) and the ack goes back through
  // RoomOwner::OnHistoryRead instead; false only when Redis is down.
  virtual bool HoldJoinAck(std::string_view room, unsigned to, bus::JoinAck& ack,
                           const HistorySettings* history) = 0;
  // Owner shard: sends a publication (or direct message, or request) through
  // Redis and answers its origin once Redis has taken it (kSent: `req` is
  // taken). Otherwise `req` is untouched. `history` (a room with history):
  // Redis assigns the seq (ClusterHistory's publish script), so with Redis
  // down the answer is kUnavailable, never kLocal.
  [[nodiscard]] virtual PublishResult Publish(std::unique_ptr<PubRequest>& req,
                                              const HistorySettings* history) = 0;
  // Owner shard: presence join/leave frames ("<length>:<json>" back to
  // back), for every node's subscribers (this one's included, from the
  // channel). False when Redis is unreachable: the caller delivers them
  // locally.
  [[nodiscard]] virtual bool Announce(std::string_view room, std::string_view frames) = 0;
  // Owner shard: this node's members of `room` to Redis (ClusterPresence's
  // refresh: counts, info, expiry ttl after `unix_ms`) and the users gone
  // from it on this node (remove: first). Who joined or left cluster-wide
  // comes back through RoomOwner::OnPresenceChange. False when Redis cannot
  // take the calls (nothing was sent).
  [[nodiscard]] virtual bool SyncPresence(std::string_view room,
                                          std::span<const PresenceMember> members,
                                          std::span<const std::string> removed,
                                          uint64_t unix_ms) = 0;
  // Owner shard: answers `query` (for shard `to`) from Redis's list script,
  // at most `limit` users, through RoomOwner::OnPresenceList (nullptr:
  // Redis is unreachable or failed it).
  virtual void ListPresence(std::unique_ptr<PresenceQuery> query, unsigned to, uint32_t limit,
                            uint64_t unix_ms) = 0;
  // Any shard: a `res` for a request made on node `node`. False when Redis
  // is unreachable (the responder gets `unavailable`).
  [[nodiscard]] virtual bool SendRes(std::string_view node, const ResAnswer& answer) = 0;
  // Any shard: the requester's verdict on a `res` from node `node`.
  virtual void SendResAck(std::string_view node, unsigned shard, const bus::ResAck& ack) = 0;
  // Any shard: closes the user's connections on every node. False when Redis
  // is unreachable (then only this node's are closed).
  [[nodiscard]] virtual bool Disconnect(std::string_view user) = 0;
};

}  // namespace ringcast::shard
