#include "shard/mesh.h"

#include <algorithm>
#include <bit>

namespace ringcast::shard {

size_t Mesh::RingCapacityFor(unsigned shards) {
  constexpr size_t kInboundSlots = size_t{1} << 17;
  constexpr size_t kMin = size_t{1} << 14;
  if (shards <= 1) return kInboundSlots;  // no rings: the marks alone
  return std::clamp(std::bit_floor(kInboundSlots / (shards - 1)), kMin, kInboundSlots);
}

Mesh::Mesh(unsigned shards, size_t ring_capacity)
    : shards_(shards),
      ring_capacity_(std::bit_ceil(std::max<size_t>(ring_capacity, 2))),  // as SpscRing
      sleeping_(std::make_unique<Flag[]>(shards)),
      waiting_room_(std::make_unique<Flag[]>(size_t{shards} * shards)),
      ring_fds_(std::make_unique<Fd[]>(shards)),
      pressure_(std::make_unique<Counter[]>(shards)),
      bus_backlog_(std::make_unique<Counter[]>(shards)) {
  RC_CHECK(shards >= 1 && shards <= kMaxShards);
  rings_.reserve(size_t{shards} * shards);
  for (unsigned i = 0; i < shards * shards; ++i) {
    // The diagonal is never used: a shard calls itself directly.
    rings_.push_back(
        std::make_unique<core::SpscRing<BusSlot>>(i / shards == i % shards ? 2 : ring_capacity));
  }
}

}  // namespace ringcast::shard
