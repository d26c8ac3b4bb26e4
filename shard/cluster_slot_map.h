// SlotMap: which master of a Redis Cluster serves each of the 16384 slots, as
// read from CLUSTER SLOTS and corrected by MOVED redirections (Redirect). The
// backplane sends a room's commands to the master of its partition's slot
// (ClusterPartitions::slot) and reloads the whole map when a MOVED says it is
// stale. A slot no master serves (a cluster being set up, a failed master
// without a replica) has no node: commands for it fail as `unavailable`
// rather than guessing.
//
// Nodes are net::RedisAddress endpoints, as CLUSTER SLOTS names them (an
// empty host: the host the reply came from; the caller fills it in).
// Plain values: owned by one shard, copied freely.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crc16.h"
#include "net/redis_address.h"

namespace ringcast::shard {

using net::RedisAddress;

class SlotMap {
 public:
  SlotMap();

  // From a CLUSTER SLOTS reply: [[start, end, [host, port, id, …], replicas…], …].
  // Nullopt on any malformed part (a range outside 0..16383 included).
  [[nodiscard]] static std::optional<SlotMap> FromClusterSlots(const redisReply* reply);

  // The index (into nodes()) of the master serving slot, or -1.
  int NodeOf(int slot) const { return owner_[static_cast<size_t>(slot)]; }
  // Its address, or null.
  const RedisAddress* AddressOf(int slot) const;
  const std::vector<RedisAddress>& nodes() const { return nodes_; }
  // True when every slot has a master.
  bool complete() const;
  // What a MOVED says: `slot` is now served by `to` (a node new to the map is added).
  void Move(int slot, const RedisAddress& to);

 private:
  int IndexOf(const RedisAddress& address);

  std::vector<RedisAddress> nodes_;
  std::vector<int16_t> owner_;  // kRedisSlots entries, -1 = no master
};

}  // namespace ringcast::shard
