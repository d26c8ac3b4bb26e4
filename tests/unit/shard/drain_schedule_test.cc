#include "shard/drain_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace ringcast::shard {
namespace {

std::vector<core::SlabHandle> Handles(uint32_t n) {
  std::vector<core::SlabHandle> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back({i, 100 + i});
  return out;
}

// Steps to now_ms and returns the slots told in that step.
std::vector<uint32_t> StepAt(DrainSchedule& s, uint64_t now_ms) {
  std::vector<uint32_t> told;
  s.Step(now_ms, [&](core::SlabHandle h) { told.push_back(h.slot); });
  return told;
}

TEST(DrainScheduleTest, SpreadsEvenlyOverTheSpread) {
  DrainSchedule s(Handles(4), 1000, 300);  // one every 75 ms, the first at once
  EXPECT_EQ(StepAt(s, 1000), std::vector<uint32_t>{0});
  EXPECT_EQ(StepAt(s, 1074), std::vector<uint32_t>{});
  EXPECT_EQ(StepAt(s, 1075), std::vector<uint32_t>{1});
  EXPECT_EQ(StepAt(s, 1149), std::vector<uint32_t>{});
  EXPECT_EQ(StepAt(s, 1150), std::vector<uint32_t>{2});
  EXPECT_FALSE(s.done());
  EXPECT_EQ(StepAt(s, 1225), std::vector<uint32_t>{3});
  EXPECT_TRUE(s.done());
  EXPECT_EQ(StepAt(s, 1300), std::vector<uint32_t>{});
  EXPECT_EQ(StepAt(s, 99999), std::vector<uint32_t>{});
}

TEST(DrainScheduleTest, ALateStepTellsEveryoneDueAtOnceInOrder) {
  DrainSchedule s(Handles(10), 0, 1000);
  EXPECT_EQ(StepAt(s, 0), std::vector<uint32_t>{0});
  EXPECT_EQ(StepAt(s, 450), (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(StepAt(s, 5000), (std::vector<uint32_t>{5, 6, 7, 8, 9}));
  EXPECT_TRUE(s.done());
}

TEST(DrainScheduleTest, ZeroSpreadTellsEveryoneAtOnce) {
  DrainSchedule s(Handles(5), 1000, 0);
  EXPECT_EQ(StepAt(s, 1000), (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(s.done());
  EXPECT_EQ(StepAt(s, 1000), std::vector<uint32_t>{});
}

TEST(DrainScheduleTest, NoConnectionsIsDoneAtOnce) {
  DrainSchedule s({}, 1000, 300);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(StepAt(s, 1000), std::vector<uint32_t>{});
  EXPECT_TRUE(s.done());
}

TEST(DrainScheduleTest, FewerConnectionsThanMillisecondsAndMoreThanMilliseconds) {
  {
    DrainSchedule s(Handles(3), 0, 3000);  // one a second
    EXPECT_EQ(StepAt(s, 999).size(), 1u);
    EXPECT_EQ(StepAt(s, 1000).size(), 1u);
    EXPECT_EQ(StepAt(s, 2000).size(), 1u);
    EXPECT_TRUE(s.done());
  }
  {
    DrainSchedule s(Handles(1000), 0, 10);  // a hundred a millisecond
    EXPECT_EQ(StepAt(s, 0).size(), 1u);
    EXPECT_EQ(StepAt(s, 1).size(), 100u);
    EXPECT_EQ(StepAt(s, 9).size(), 800u);
    EXPECT_EQ(StepAt(s, 10).size(), 99u);
    EXPECT_TRUE(s.done());
  }
}

// Random schedules stepped at random non-decreasing times: every handle is
// told exactly once, in order; never more than the even share is told by a
// time, never fewer than it minus one round's worth; everyone by the spread.
TEST(DrainScheduleTest, ModelCheck) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    uint32_t n = static_cast<uint32_t>(rng() % 50);
    uint64_t start = rng() % 100000;
    uint64_t spread = rng() % 4 == 0 ? 0 : 1 + rng() % 5000;
    DrainSchedule s(Handles(n), start, spread);
    std::vector<uint32_t> told;
    uint64_t now = start;
    for (;;) {
      uint64_t at = std::min(now, start + spread);
      std::vector<uint32_t> step = StepAt(s, at);
      told.insert(told.end(), step.begin(), step.end());
      uint64_t elapsed = at - start;
      if (spread > 0 && elapsed < spread) {
        // The even share, n x elapsed / spread: at least its floor, at most one more.
        double share =
            static_cast<double>(n) * static_cast<double>(elapsed) / static_cast<double>(spread);
        ASSERT_GE(static_cast<double>(told.size()), std::floor(share))
            << "at +" << elapsed << " of " << spread;
        ASSERT_LE(static_cast<double>(told.size()), std::floor(share) + 1)
            << "at +" << elapsed << " of " << spread;
      }
      if (at == start + spread) break;
      now += 1 + rng() % 200;
    }
    ASSERT_TRUE(s.done());
    ASSERT_EQ(told.size(), n);
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(told[i], i);
  }
}

}  // namespace
}  // namespace ringcast::shard
