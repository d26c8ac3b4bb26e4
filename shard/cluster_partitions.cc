#include "shard/cluster_partitions.h"

#include "core/check.h"
#include "core/crc16.h"

namespace ringcast::shard {

namespace {

// "rc" followed by n in base 36: short, printable, free of '{' and '}'.
std::string Candidate(uint64_t n) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  char digits[16];
  int len = 0;
  do {
    digits[len++] = kDigits[n % 36];
    n /= 36;
  } while (n != 0);
  std::string tag = "rc";
  while (len > 0) tag.push_back(digits[--len]);
  return tag;
}

}  // namespace

int ClusterPartitions::TargetSlot(uint32_t p, uint32_t count) {
  return static_cast<int>((2 * uint64_t{p} + 1) * core::kRedisSlots / (2 * uint64_t{count}));
}

ClusterPartitions::ClusterPartitions(uint32_t count) {
  RC_CHECK(count >= 1 && count <= kMaxPartitions);
  // The first candidate for every slot; stop once every target slot has one.
  std::vector<std::string> first(core::kRedisSlots);
  std::vector<bool> wanted(core::kRedisSlots, false);
  for (uint32_t p = 0; p < count; ++p) wanted[TargetSlot(p, count)] = true;
  uint32_t missing = count;
  // CRC16 reaches every slot long before this bound (81 428 tries for all).
  constexpr uint64_t kMaxTries = 1u << 24;
  for (uint64_t n = 0; missing > 0 && n < kMaxTries; ++n) {
    std::string tag = Candidate(n);
    const int slot = core::HashSlot(tag);
    if (!first[slot].empty()) continue;
    if (wanted[slot]) --missing;
    first[slot] = std::move(tag);
  }
  RC_CHECK(missing == 0);
  tags_.reserve(count);
  slots_.reserve(count);
  for (uint32_t p = 0; p < count; ++p) {
    const int slot = TargetSlot(p, count);
    tags_.push_back(first[slot]);
    slots_.push_back(slot);
  }
}

}  // namespace ringcast::shard
