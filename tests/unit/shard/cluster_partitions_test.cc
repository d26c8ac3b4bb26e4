#include "shard/cluster_partitions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/crc16.h"

namespace ringcast::shard {
namespace {

// The largest distance between consecutive slots, wrapping around.
int MaxGap(std::vector<int> slots) {
  std::sort(slots.begin(), slots.end());
  int gap = slots.front() + core::kRedisSlots - slots.back();
  for (size_t i = 1; i < slots.size(); ++i) gap = std::max(gap, slots[i] - slots[i - 1]);
  return gap;
}

TEST(ClusterPartitionsTest, EveryPartitionOnADistinctEvenlySpreadSlot) {
  for (uint32_t count : {1u, 3u, 64u, 128u, 1000u, 16384u}) {
    ClusterPartitions parts(count);
    ASSERT_EQ(parts.count(), count);
    std::set<int> distinct;
    std::vector<int> slots;
    for (uint32_t p = 0; p < count; ++p) {
      const std::string& tag = parts.tag(p);
      EXPECT_EQ(tag.find_first_of("{}"), std::string::npos);
      EXPECT_EQ(core::HashSlot(tag), parts.slot(p));
      EXPECT_EQ(core::HashSlot("x{" + tag + "}y"), parts.slot(p));
      distinct.insert(parts.slot(p));
      slots.push_back(parts.slot(p));
    }
    EXPECT_EQ(distinct.size(), count);
    // Even slices: consecutive slots at most one slice (rounded up) apart.
    EXPECT_LE(MaxGap(slots), static_cast<int>((core::kRedisSlots + count - 1) / count) + 1)
        << count;
  }
}

TEST(ClusterPartitionsTest, ThreeMastersGetAThirdEach) {
  ClusterPartitions parts(128);
  int owned[3] = {0, 0, 0};
  // Slots split as RedisCluster and redis-cli split them: 0-5460, 5461-10922, 10923-16383.
  for (uint32_t p = 0; p < parts.count(); ++p) {
    const int slot = parts.slot(p);
    ++owned[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2];
  }
  for (int n : owned) {
    EXPECT_GE(n, 42);
    EXPECT_LE(n, 43);
  }
}

TEST(ClusterPartitionsTest, ShortNumericTagsCollideOrBunch) {
  // Why the tags are searched: plain numbers as tags share slots...
  std::set<int> distinct;
  for (int i = 0; i < 4096; ++i) distinct.insert(core::HashSlot(std::to_string(i)));
  EXPECT_LT(distinct.size(), 4000u);
  // ...and few of them leave gaps far wider than an even spread (128 for 128).
  std::vector<int> slots;
  for (int i = 0; i < 128; ++i) slots.push_back(core::HashSlot(std::to_string(i)));
  EXPECT_GT(MaxGap(slots), 4 * 128);
  ClusterPartitions parts(128);
  std::vector<int> searched;
  for (uint32_t p = 0; p < 128; ++p) searched.push_back(parts.slot(p));
  EXPECT_LE(MaxGap(searched), 129);
}

TEST(ClusterPartitionsTest, RoomsSpreadOverPartitionsTheSameEverywhere) {
  ClusterPartitions a(64);
  ClusterPartitions b(64);
  std::vector<int> per(64, 0);
  for (int i = 0; i < 64'000; ++i) {
    const std::string room = "room:" + std::to_string(i);
    ASSERT_EQ(a.Of(room), b.Of(room));
    ++per[a.Of(room)];
  }
  // 1000 expected per partition; hashing keeps each within 20%.
  for (int n : per) {
    EXPECT_GT(n, 800);
    EXPECT_LT(n, 1200);
  }
  EXPECT_EQ(a.tag(5), b.tag(5));
}

}  // namespace
}  // namespace ringcast::shard
