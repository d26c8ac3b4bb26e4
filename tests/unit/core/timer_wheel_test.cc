#include "core/timer_wheel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

namespace ringcast::core {
namespace {

// Advances one millisecond at a time over (from, to] and records when each key fired.
std::map<uint64_t, std::vector<uint64_t>> StepThrough(TimerWheel& wheel, uint64_t from,
                                                      uint64_t to) {
  std::map<uint64_t, std::vector<uint64_t>> fired_at;
  for (uint64_t now = from + 1; now <= to; ++now) {
    wheel.Advance(now, [&](uint64_t key) { fired_at[key].push_back(now); });
  }
  return fired_at;
}

TEST(TimerWheelTest, FiresAtDeadlineNeverBefore) {
  TimerWheel wheel(10, 16);
  wheel.Add(1000, 30, 1);  // Already on a tick boundary: due at 1030.
  wheel.Add(1000, 35, 2);  // Rounds up to the next tick: due at 1040.
  EXPECT_EQ(wheel.size(), 2u);
  const auto fired_at = StepThrough(wheel, 1000, 1100);
  EXPECT_EQ(fired_at.at(1), std::vector<uint64_t>{1030});
  EXPECT_EQ(fired_at.at(2), std::vector<uint64_t>{1040});
  EXPECT_EQ(wheel.size(), 0u);
}

// RemoveIf drops the entries it is told are stale, wherever they wait (in a
// bucket, beyond a revolution, or overdue), and the others still fire on time.
TEST(TimerWheelTest, RemoveIfDropsStaleEntriesAndKeepsTheRestOnTime) {
  TimerWheel wheel(10, 16);
  for (uint64_t key = 1; key <= 100; ++key) wheel.Add(1000, key * 7, key);  // up to 4 revolutions
  wheel.Advance(1000, [](uint64_t) { FAIL() << "nothing is due yet"; });
  wheel.Add(1000, 0, 1000);  // overdue: fires at the next Advance
  wheel.Add(1000, 0, 1001);
  EXPECT_EQ(wheel.size(), 102u);
  EXPECT_EQ(wheel.RemoveIf([](uint64_t key) { return key % 2 == 0; }), 51u);
  EXPECT_EQ(wheel.size(), 51u);
  const auto fired_at = StepThrough(wheel, 1000, 2000);
  EXPECT_EQ(fired_at.size(), 51u);
  for (const auto& [key, times] : fired_at) {
    EXPECT_EQ(key % 2, 1u) << key;
    ASSERT_EQ(times.size(), 1u) << key;
    if (key <= 100) {
      EXPECT_EQ(times[0], 1000 + (key * 7 + 9) / 10 * 10) << key;
    }
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CoarseAdvanceFiresOnceWhenDue) {
  TimerWheel wheel(10, 16);
  wheel.Add(0, 25, 7);
  int fired = 0;
  wheel.Advance(29, [&](uint64_t) { ++fired; });
  EXPECT_EQ(fired, 0);
  wheel.Advance(47, [&](uint64_t key) {
    EXPECT_EQ(key, 7u);
    ++fired;
  });
  EXPECT_EQ(fired, 1);
  wheel.Advance(500, [&](uint64_t) { ++fired; });
  EXPECT_EQ(fired, 1);
}

TEST(TimerWheelTest, DelaysBeyondOneRevolutionFireOnTime) {
  TimerWheel wheel(10, 8);  // One revolution is 80 ms.
  wheel.Add(0, 1000, 1);
  wheel.Add(0, 80, 2);  // Exactly one revolution: same bucket as "now".
  wheel.Add(0, 85, 3);
  wheel.Add(5, 10'000, 4);
  const auto fired_at = StepThrough(wheel, 5, 20'000);
  EXPECT_EQ(fired_at.at(1), std::vector<uint64_t>{1000});
  EXPECT_EQ(fired_at.at(2), std::vector<uint64_t>{80});
  EXPECT_EQ(fired_at.at(3), std::vector<uint64_t>{90});
  EXPECT_EQ(fired_at.at(4), std::vector<uint64_t>{10'010});
}

TEST(TimerWheelTest, LongGapBetweenAdvancesFiresEverythingDueOnce) {
  TimerWheel wheel(10, 8);
  for (uint64_t key = 0; key < 100; ++key) wheel.Add(100, key * 37, key);
  std::map<uint64_t, int> fired;
  wheel.Advance(100 + 2000, [&](uint64_t key) { ++fired[key]; });  // 25 revolutions later.
  for (uint64_t key = 0; key < 100; ++key) {
    if (key * 37 <= 2000) {
      EXPECT_EQ(fired[key], 1) << key;
    } else {
      EXPECT_EQ(fired.count(key), 0u) << key;
    }
  }
  const auto later = StepThrough(wheel, 2100, 100 + 99 * 37 + 10);
  for (uint64_t key = 0; key < 100; ++key) {
    if (key * 37 <= 2000) continue;
    const uint64_t due = 100 + key * 37;
    ASSERT_EQ(later.at(key).size(), 1u) << key;
    EXPECT_EQ(later.at(key)[0], (due + 9) / 10 * 10) << key;
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, ManyRandomTimersEachFireOnceAtRoundedDeadline) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  TimerWheel wheel(4, 64);  // 256 ms per revolution.
  constexpr uint64_t kTimers = 20'000;
  // A timer fires at the first Advance at or after its rounded deadline; one due by the time
  // it is added (zero delay on a tick already scanned) fires at the next Advance.
  std::vector<uint64_t> expected_at(kTimers);
  std::vector<std::vector<uint64_t>> fired_at(kTimers);
  uint64_t now = 1'000'000;
  auto advance_to = [&](uint64_t target) {
    for (; now < target; ++now) {
      wheel.Advance(now + 1, [&](uint64_t key) { fired_at[key].push_back(now + 1); });
    }
  };
  advance_to(now + 1);
  for (uint64_t key = 0; key < kTimers; ++key) {
    if (key % 100 == 0) advance_to(now + rng() % 7);  // Keep adding while the wheel turns.
    const uint64_t delay = rng() % 3000;
    const uint64_t rounded_ms = (now + delay + 3) / 4 * 4;
    expected_at[key] = rounded_ms > now ? rounded_ms : now + 1;
    wheel.Add(now, delay, key);
  }
  advance_to(now + 3100);
  for (uint64_t key = 0; key < kTimers; ++key) {
    ASSERT_EQ(fired_at[key], std::vector<uint64_t>{expected_at[key]}) << "key " << key;
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CallbackMayAddLaterTimers) {
  TimerWheel wheel(10, 8);
  wheel.Add(0, 50, 1);
  std::vector<uint64_t> fire_times;
  for (uint64_t now = 1; now <= 1000; ++now) {
    wheel.Advance(now, [&](uint64_t key) {
      fire_times.push_back(now);
      // Re-arm four times: 50 ms, then exactly one revolution (the bucket being scanned).
      if (fire_times.size() < 5) wheel.Add(now, fire_times.size() % 2 == 0 ? 50 : 80, key);
    });
  }
  EXPECT_EQ(fire_times, (std::vector<uint64_t>{50, 130, 180, 260, 310}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, ZeroDelayAddedDuringCallbackFiresAtNextAdvance) {
  TimerWheel wheel(10, 8);
  wheel.Add(0, 10, 1);
  int fired = 0;
  auto on_expire = [&](uint64_t key) {
    ++fired;
    if (key == 1) wheel.Add(10, 0, 2);  // Due already; must not loop inside this Advance.
  };
  wheel.Advance(10, on_expire);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Advance(10, on_expire);
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, AddForTickAlreadyScannedFiresAtNextAdvance) {
  TimerWheel wheel(10, 8);
  wheel.Advance(105, [](uint64_t) {});
  wheel.Add(100, 0, 1);  // A caller's slightly stale "now": due 100, tick 10 already scanned.
  wheel.Add(105, 0, 2);  // Rounds up to 110.
  std::vector<uint64_t> fired;
  wheel.Advance(105, [&](uint64_t key) { fired.push_back(key); });
  EXPECT_EQ(fired, std::vector<uint64_t>{1});
  wheel.Advance(110, [&](uint64_t key) { fired.push_back(key); });
  EXPECT_EQ(fired, (std::vector<uint64_t>{1, 2}));
}

TEST(TimerWheelTest, HugeDelayNeverFires) {
  TimerWheel wheel(10, 8);
  wheel.Add(1000, std::numeric_limits<uint64_t>::max(), 1);
  int fired = 0;
  wheel.Advance(1'000'000'000, [&](uint64_t) { ++fired; });
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(wheel.size(), 1u);
}

}  // namespace
}  // namespace ringcast::core
