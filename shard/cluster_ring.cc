#include "shard/cluster_ring.h"

#include <algorithm>

#include "core/check.h"
#include "core/hash.h"

namespace ringcast::shard {

namespace {

// Room names are hashed with HashBytes elsewhere too (shard and partition
// ownership take it modulo a count); remixing keeps the ring's ranges
// independent of those low bits.
uint64_t RingHash(std::string_view name) {
  return core::hash_internal::Mix(core::HashBytes(name), 0x9e3779b97f4a7c15ull);
}

}  // namespace

RedisRing::RedisRing(std::vector<std::string> instances, int virtual_nodes)
    : instances_(std::move(instances)) {
  RC_CHECK(!instances_.empty() && virtual_nodes > 0);
  points_.reserve(instances_.size() * static_cast<size_t>(virtual_nodes));
  for (size_t i = 0; i < instances_.size(); ++i) {
    for (size_t j = 0; j < i; ++j) RC_CHECK(instances_[i] != instances_[j]);
    for (int v = 0; v < virtual_nodes; ++v) {
      const std::string point = instances_[i] + "#" + std::to_string(v);
      points_.push_back(Point{RingHash(point), static_cast<uint32_t>(i)});
    }
  }
  // Ties (astronomically rare) are broken by name, so every node sorts alike.
  std::sort(points_.begin(), points_.end(), [this](const Point& a, const Point& b) {
    if (a.hash != b.hash) return a.hash < b.hash;
    return instances_[a.instance] < instances_[b.instance];
  });
}

size_t RedisRing::Of(std::string_view room) const {
  const uint64_t h = RingHash(room);
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const Point& p, uint64_t value) { return p.hash < value; });
  if (it == points_.end()) it = points_.begin();
  return it->instance;
}

}  // namespace ringcast::shard
