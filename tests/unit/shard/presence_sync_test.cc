#include "shard/presence_sync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast::shard {
namespace {

constexpr uint64_t kTtlMs = 3000;  // whole refresh every 1000 ms
using Names = std::vector<std::string>;

TEST(PresenceSyncTest, ARoundsChangesToARoomAreOneBatch) {
  PresenceSync sync(kTtlMs);
  for (int i = 0; i < 1000; ++i) sync.Changed("lobby", "u" + std::to_string(i % 500), 0);
  sync.Removed("lobby", "gone");
  sync.Removed("lobby", "gone");
  sync.Changed("other", "x", 0);
  std::vector<PresenceSync::Batch> batches = sync.Take(0);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].room, "lobby");
  EXPECT_FALSE(batches[0].whole);
  EXPECT_EQ(batches[0].changed.size(), 500u) << "each user once";
  EXPECT_EQ(batches[0].removed, (Names{"gone"}));
  EXPECT_EQ(batches[1].room, "other");
  EXPECT_TRUE(sync.Take(0).empty()) << "nothing new, nothing due";
  EXPECT_EQ(sync.tracked(), 2u);
}

TEST(PresenceSyncTest, ChangesTricklingInWaitForTheNextBatch) {
  PresenceSync sync(kTtlMs);
  sync.Changed("lobby", "a", 100);
  ASSERT_EQ(sync.Take(100).size(), 1u);
  // One join per round after that, in this room or another: held until
  // kBatchMs after the last batch, then all go together.
  uint64_t now = 101;
  for (; now < 100 + PresenceSync::kBatchMs; ++now) {
    sync.Changed(now % 2 == 0 ? "lobby" : "other", "u" + std::to_string(now), now);
    ASSERT_TRUE(sync.Take(now).empty()) << now;
  }
  std::vector<PresenceSync::Batch> batches = sync.Take(now);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].changed.size() + batches[1].changed.size(), PresenceSync::kBatchMs - 1);
}

TEST(PresenceSyncTest, TrackedRoomsAreRefreshedWholeEveryThirdOfTheTtl) {
  PresenceSync sync(kTtlMs);
  EXPECT_EQ(sync.refresh_every_ms(), 1000u);
  sync.Changed("a", "u", 0);
  sync.Changed("b", "u", 500);
  ASSERT_EQ(sync.Take(500).size(), 2u);
  EXPECT_TRUE(sync.Take(999).empty());
  std::vector<PresenceSync::Batch> due = sync.Take(1000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].room, "a");
  EXPECT_TRUE(due[0].whole);
  // A late round refreshes each due room once, in due order (b at 1500, a
  // at 2000), and both are due again 1000 ms after it.
  due = sync.Take(2600);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].room, "b");
  EXPECT_EQ(due[1].room, "a");
  EXPECT_TRUE(sync.Take(3599).empty());
  EXPECT_EQ(sync.Take(3600).size(), 2u);
}

TEST(PresenceSyncTest, AnUntrackedRoomIsNoLongerRefreshedButItsRemovesGo) {
  PresenceSync sync(kTtlMs);
  sync.Changed("a", "u", 0);
  (void)sync.Take(0);
  sync.Removed("a", "u");
  sync.Untrack("a");
  std::vector<PresenceSync::Batch> batches = sync.Take(PresenceSync::kBatchMs);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].removed, (Names{"u"}));
  EXPECT_EQ(sync.tracked(), 0u);
  EXPECT_TRUE(sync.Take(5000).empty());
  // Back: tracked again, on a schedule of its own.
  sync.Changed("a", "v", 6000);
  EXPECT_EQ(sync.Take(6000).size(), 1u);
  EXPECT_EQ(sync.Take(7000).size(), 1u);
}

TEST(PresenceSyncTest, ARetryComesSoonerAndReplacesTheRegularRefresh) {
  PresenceSync sync(30000);  // every 10 s
  sync.Changed("a", "u", 0);
  (void)sync.Take(0);
  sync.Retry("a", 100);
  EXPECT_TRUE(sync.Take(100 + PresenceSync::kRetryMs - 1).empty());
  std::vector<PresenceSync::Batch> batches = sync.Take(100 + PresenceSync::kRetryMs);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_TRUE(batches[0].whole);
  // The old entry (due at 10000) no longer counts: the next is 10 s after the retry.
  EXPECT_TRUE(sync.Take(10000).empty());
  EXPECT_EQ(sync.Take(100 + PresenceSync::kRetryMs + 10000).size(), 1u);
}

TEST(PresenceSyncTest, WholeRefreshesOfRoomsThatCameTogetherAreSpreadOut) {
  PresenceSync sync(kTtlMs);
  const size_t rooms = 3 * PresenceSync::kRoomsPerTake;
  for (size_t i = 0; i < rooms; ++i) sync.Changed("r" + std::to_string(i), "u", 0);
  EXPECT_EQ(sync.Take(0).size(), rooms) << "changes are never held back";
  // All due at 1000: refreshed at most at twice the steady rate (768 rooms
  // per 1000 ms), in every round a share, all within half a period.
  const double per_round = 2.0 * rooms / 1000 * PresenceSync::kBatchMs;
  size_t refreshed = 0;
  uint64_t now = 1000;
  for (; refreshed < rooms; now += PresenceSync::kBatchMs) {
    ASSERT_LE(now, 1000 + 1000 / 2 + PresenceSync::kCreditMs) << refreshed << " refreshed";
    size_t n = sync.Take(now).size();
    ASSERT_LE(n, per_round + 2.0 * rooms / 1000 * PresenceSync::kCreditMs) << now;
    refreshed += n;
  }
  EXPECT_EQ(refreshed, rooms);
  EXPECT_TRUE(sync.Take(now).empty());
}

}  // namespace
}  // namespace ringcast::shard
