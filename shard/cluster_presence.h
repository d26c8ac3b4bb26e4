// ClusterPresence: who is in a room across all nodes, kept in Redis so that
// any node can answer `presence` and so that a crashed node's users age out.
//
// Per room, four keys of the room's slot (ClusterKeys):
//   pc  hash  "USER\nNODE" -> connections of USER on NODE in the room
//   pe  zset  "USER\nNODE" by expiry time (ms): each node refreshes its own
//             entries well within the TTL; an entry past its expiry belongs
//             to a node that stopped refreshing (crashed, cut off)
//   pu  hash  USER -> connections over all nodes (> 0 while present)
//   pi  hash  USER -> info JSON (from the token; "" when none)
// NODE is ClusterKeys::Escape(node id), so the last '\n' of an entry splits
// it even when a user id holds newlines.
//
// Three scripts, each taking "now" from the caller (tests control time; node
// clocks are assumed roughly in step, NTP-close, against TTLs of seconds):
//   Refresh  one node's members of one or more rooms (of one slot in a
//            Redis Cluster: one partition): sets their connection counts
//            and expiry; a count of 0 removes. Returns per room the users that joined
//            (had no entry on any node) and those that left.
//   Remove   one node's users leaving; returns the users that left the room.
//            (The backplane removes through Refresh with a count of 0, in
//            the same call as the round's other changes.)
//   List     the members, at most `limit` users, with the total count and
//            `truncated`, like the single-node answer.
// Each first purges up to kPurgeBudget expired entries (bounded work per
// call) and reports users left by that too (with the info they had), so the caller can send `leave`
// for a crashed node's users. Redis deletes a hash or sorted set that
// becomes empty, and Refresh sets the keys' own TTL to twice the entry TTL,
// so a room whose nodes all vanished leaves nothing behind even if no one
// lists it again. Debouncing join/leave
// (presence.leave_delay_ms) stays with the caller.
//
// Builds argv vectors and parses replies; the backplane sends them.
// Immutable after construction: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shard/cluster_keys.h"
#include "shard/cluster_script.h"

namespace ringcast::shard {

struct PresenceMember {
  std::string user;
  uint64_t conns = 0;     // on this node (Refresh) or over all nodes (List)
  std::string info_json;  // "" when the user has no info
};

// Users who joined or left the room cluster-wide, with their info JSON
// ("" when none) at the same index.
struct PresenceChange {
  std::vector<std::string> joined;
  std::vector<std::string> left;
  std::vector<std::string> joined_info;
  std::vector<std::string> left_info;
};

// One room's part of a refresh: its keys and this node's members (a count
// of 0 removes the user), both owned by the caller.
struct PresenceRoomUpdate {
  const RoomKeys* keys = nullptr;
  std::span<const PresenceMember> members;
};

struct PresenceList {
  uint64_t count = 0;  // users present, listed or not
  bool truncated = false;
  std::vector<PresenceMember> users;
  std::vector<std::string> left;  // aged out by this call's purge
  std::vector<std::string> left_info;
};

class ClusterPresence {
 public:
  static constexpr uint32_t kPurgeBudget = 1000;

  ClusterPresence();

  const RedisScript& refresh_script() const { return refresh_; }
  const RedisScript& remove_script() const { return remove_; }
  const RedisScript& list_script() const { return list_; }

  // Members of `node` in the room: entries expire at now_ms + ttl_ms.
  std::vector<std::string> Refresh(const RoomKeys& keys, std::string_view node, uint64_t now_ms,
                                   uint64_t ttl_ms, std::span<const PresenceMember> members) const;
  // Several rooms in one call (their keys must share a slot in a Redis
  // Cluster); answered by one change per room, in order (ParseChanges).
  std::vector<std::string> RefreshRooms(std::span<const PresenceRoomUpdate> rooms,
                                        std::string_view node, uint64_t now_ms,
                                        uint64_t ttl_ms) const;
  [[nodiscard]] static std::optional<std::vector<PresenceChange>> ParseChanges(
      const redisReply* reply, size_t rooms);
  std::vector<std::string> Remove(const RoomKeys& keys, std::string_view node, uint64_t now_ms,
                                  std::span<const std::string> users) const;
  // Remove answers this (and Refresh, per room).
  [[nodiscard]] static std::optional<PresenceChange> ParseChange(const redisReply* reply);

  // limit >= 1 (limits.max_presence_users).
  std::vector<std::string> List(const RoomKeys& keys, uint64_t now_ms, uint32_t limit) const;
  [[nodiscard]] static std::optional<PresenceList> ParseList(const redisReply* reply);

 private:
  RedisScript refresh_;
  RedisScript remove_;
  RedisScript list_;
};

}  // namespace ringcast::shard
