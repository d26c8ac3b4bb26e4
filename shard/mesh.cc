#include "shard/mesh.h"

namespace ringcast::shard {

Mesh::Mesh(unsigned shards, size_t ring_capacity)
    : shards_(shards),
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
