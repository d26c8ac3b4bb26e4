// ClusterRouter: which Redis connection pair (a Backplane "instance") serves
// each hash slot of a Redis Cluster (`--redis-cluster`), and the commands in
// flight on each instance so that a MOVED or ASK answer can be followed.
//
// Instances are endpoints: the seeds first (from `--redis`, in order), then
// every master the cluster names that is not a seed, up to kMaxInstances
// (a bound on connections per shard; a master past it serves no slot here,
// so its rooms are `unavailable`). The slot map is a SlotMap read from
// CLUSTER SLOTS (Apply) and corrected by MOVED (Moved, SlotMap::Move); a slot
// with no known master routes to instance 0, a seed, which answers MOVED.
// Endpoints named by the cluster are resolved numerically only: a shard
// never waits for DNS (Redis Cluster names nodes by IP unless told otherwise).
//
// Redirects: Redis answers each connection's commands in order, so per
// instance a FIFO of the commands sent (their argv kept for a resend) lines
// up with the replies; the backplane pops one per reply and resends a
// redirected one elsewhere, at most kMaxRedirects times (then the caller
// answers `unavailable`). Bounded: a command is in a FIFO only while the
// connection holds it (RedisConn's own max_pending bound), and a failed
// connection answers every one at once. Shard thread only.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/redis_address.h"
#include "shard/cluster_redirect.h"
#include "shard/cluster_slot_map.h"

namespace ringcast::shard {

class ClusterRouter {
 public:
  static constexpr size_t kMaxInstances = 128;
  static constexpr uint8_t kMaxRedirects = 5;

  // A command sent on an instance's command connection, waiting for its reply.
  struct Sent {
    uint64_t tag = 0;
    std::vector<std::string> argv;
    uint8_t redirects = 0;  // times it has been sent elsewhere already
    bool asking = false;    // sent after ASKING (an ASK's target)
    bool internal = false;  // ASKING itself: its reply is nobody's
  };

  // `seeds`: resolved, at least one (checked).
  explicit ClusterRouter(std::vector<net::RedisAddress> seeds);

  // Every endpoint known, by instance index; grows, never shrinks.
  const std::vector<net::RedisAddress>& addresses() const { return addresses_; }
  // The instance serving `slot` now; 0 when the map has no master for it.
  size_t InstanceOfSlot(int slot) const;
  bool HasMap() const { return has_map_; }

  // A CLUSTER SLOTS reply asked of instance `from` replaces the map. False
  // (map unchanged) when it is malformed.
  [[nodiscard]] bool Apply(const redisReply* reply, size_t from);
  // A MOVED from instance `from`: the slot is now served by r.to. Its
  // instance, or nullopt when that endpoint cannot be used.
  std::optional<size_t> Moved(const Redirect& r, size_t from);
  // The instance of an endpoint named by instance `from` (a new one is added).
  std::optional<size_t> InstanceOf(const net::RedisAddress& address, size_t from);

  // Masters serving at least one slot, and slots with a usable master.
  size_t masters() const { return masters_; }
  size_t slots_covered() const { return slots_covered_; }
  // Whether instance i serves any slot (a master, not an idle seed).
  bool ServesSlots(size_t instance) const { return instance < serves_.size() && serves_[instance]; }

  // The FIFO of instance i's commands in flight.
  void Record(size_t instance, Sent sent);
  Sent Pop(size_t instance);

 private:
  // Maps the map's new nodes to instances, then Recount.
  void RebuildInstances(size_t from);
  // masters_, slots_covered_ and serves_ from the map: once per change, not per call.
  void Recount();

  std::vector<net::RedisAddress> addresses_;
  std::vector<std::deque<Sent>> sent_;  // per instance
  SlotMap map_;
  bool has_map_ = false;
  std::vector<int> instance_of_node_;  // map_.nodes() index -> instance, -1 = unusable
  std::vector<bool> serves_;           // per instance: serves a slot
  size_t masters_ = 0;
  size_t slots_covered_ = 0;
};

}  // namespace ringcast::shard
