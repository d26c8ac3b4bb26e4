// RedisRing: spreads rooms over several independent Redis instances
// (`cluster.redis` with more than one URL) by consistent hashing, so every
// node sends a room's publications, history and presence to the same
// instance, and adding or removing an instance moves only the rooms that
// must move (about 1/N of them when the N-th is added), instead of nearly all
// of them as `hash % N` would.
//
// A ring of virtual nodes: each instance, named by the string the operator
// configured (its URL), owns kVirtualNodes points on a 64-bit circle, and a
// room belongs to the first point at or after its own hash. Points depend on
// the name only, not on the order of the list, so nodes whose configs list
// the same instances in another order still agree. With 160 points each,
// three instances get within about 10% of a third. Immutable after
// construction: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::shard {

class RedisRing {
 public:
  static constexpr int kVirtualNodes = 160;

  // At least one instance, no duplicates (checked).
  explicit RedisRing(std::vector<std::string> instances, int virtual_nodes = kVirtualNodes);

  // The index (into the constructor's list) of the instance that holds `room`.
  size_t Of(std::string_view room) const;
  const std::string& instance(size_t i) const { return instances_[i]; }
  size_t size() const { return instances_.size(); }

 private:
  struct Point {
    uint64_t hash;
    uint32_t instance;
  };
  std::vector<std::string> instances_;
  std::vector<Point> points_;  // sorted by hash
};

}  // namespace ringcast::shard
