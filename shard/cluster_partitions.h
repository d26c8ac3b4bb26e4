// ClusterPartitions: the fixed set of partitions that cluster mode spreads
// rooms over, each with a Redis Cluster hash tag chosen to land on its own
// slot. A room belongs to partition HashBytes(room) % count (the same on every
// node), and every key and channel of the room carries that partition's tag,
// so one script reaches all of them and a sharded pub/sub subscriber
// connection serves whole partitions.
//
// Why search for tags: CRC16 does not spread short strings evenly over the
// 16384 slots. Numeric tags collide: "0".."16383" reach only 9934 distinct
// slots, "0".."4095" 3962. Fewer of them leave uneven gaps: "0".."127" have a
// gap of 550 slots where an even spread has 128, and "p0".."p127" split
// 51/37/40 over three masters, so one master carries 40% of the rooms (the
// hash-slot skew known from other brokers). Instead, partition p gets the
// first tag "rc<n>" (n in base 36) whose slot is exactly
// (2p + 1) * 16384 / (2 * count): the centres of `count` equal slices of the
// slot space. Trying n = 0, 1, 2… fills a table of the first tag per slot;
// all 16384 slots are reached after 81 428 tries (a millisecond or two at
// start-up), and every node computes the same table.
// Immutable after construction: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash.h"

namespace ringcast::shard {

class ClusterPartitions {
 public:
  static constexpr uint32_t kMaxPartitions = 16384;  // one slot each at most
  static constexpr uint32_t kDefaultPartitions = 128;

  // 1 <= count <= kMaxPartitions (checked).
  explicit ClusterPartitions(uint32_t count = kDefaultPartitions);

  uint32_t count() const { return static_cast<uint32_t>(tags_.size()); }
  // The partition of a room (or of any name routed like one).
  uint32_t Of(std::string_view room) const {
    return static_cast<uint32_t>(core::HashBytes(room) % tags_.size());
  }
  // The hash tag of partition p, without braces.
  const std::string& tag(uint32_t p) const { return tags_[p]; }
  // The slot that partition p's keys and channels hash to.
  int slot(uint32_t p) const { return slots_[p]; }
  // The slot the search aims partition p at; equal to slot(p).
  static int TargetSlot(uint32_t p, uint32_t count);

 private:
  std::vector<std::string> tags_;
  std::vector<int> slots_;
};

}  // namespace ringcast::shard
