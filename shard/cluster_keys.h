// ClusterKeys: the names of everything cluster mode keeps in Redis, in one
// place so that every node (and every operator reading `redis-cli --scan`)
// agrees on them. Layout, with P the prefix ("rc" by default) and T the hash
// tag of the room's partition (ClusterPartitions):
//
//   P:{T}:c:ROOM   room channel (PUBLISH/SUBSCRIBE, or SPUBLISH/SSUBSCRIBE in
//                  a Redis Cluster); a user's personal room "@USER" is a room
//   P:{T}:m:ROOM   history meta hash {epoch, seq}
//   P:{T}:h:ROOM   history stream, entry id "<seq>-0"
//   P:{T}:pi:ROOM  presence: user -> info JSON
//   P:{T}:pu:ROOM  presence: user -> connections over all nodes
//   P:{T}:pc:ROOM  presence: "USER\nNODE" -> that node's connections
//   P:{T}:pe:ROOM  presence: sorted set of "USER\nNODE" by expiry time (ms)
//   P:{ctl}:control        control channel every node listens to
//   P:{n.NODE}:node        one node's own channel (replies addressed to it)
//
// Every key of a room shares the partition's tag, so the history and presence
// scripts touch one slot and may SPUBLISH to the room's channel from inside
// the script. ROOM is the room name with '%', '{', '}', space and control
// bytes percent-encoded (Escape): a name can then neither open or close a
// hash tag nor smuggle a separator, and since every room key ends in its
// name after a fixed-shape head, two different rooms or kinds never share a
// key. Partition tags ("rc…", ClusterPartitions) never equal "ctl" or start
// with "n.", so control and node channels collide with no room. Immutable
// after construction: any thread.
#pragma once

#include <string>
#include <string_view>

#include "shard/cluster_partitions.h"

namespace ringcast::shard {

struct RoomKeys {
  std::string channel;
  std::string meta;
  std::string stream;
  std::string presence_info;
  std::string presence_users;
  std::string presence_conns;
  std::string presence_expiry;
};

class ClusterKeys {
 public:
  static constexpr std::string_view kDefaultPrefix = "rc";

  // `partitions` must outlive this object. The prefix must be non-empty and
  // contain none of the bytes Escape changes (checked).
  explicit ClusterKeys(const ClusterPartitions* partitions,
                       std::string_view prefix = kDefaultPrefix);

  // The room's partition (ClusterPartitions::Of), for callers that batch by it.
  uint32_t PartitionOf(std::string_view room) const { return partitions_->Of(room); }
  RoomKeys Room(std::string_view room) const;
  std::string RoomChannel(std::string_view room) const;
  std::string ControlChannel() const;
  std::string NodeChannel(std::string_view node_id) const;

  // "@user": the personal room that carries `send` and `req` to a user.
  static std::string PersonalRoom(std::string_view user);
  // Percent-encodes '%', '{', '}', space, bytes below 0x20 and 0x7f; every
  // other byte (UTF-8 included) stays as it is. Injective.
  static std::string Escape(std::string_view name);
  static void AppendEscaped(std::string* out, std::string_view name);

 private:
  std::string Key(std::string_view room, std::string_view kind) const;

  const ClusterPartitions* partitions_;
  std::string prefix_;
};

}  // namespace ringcast::shard
