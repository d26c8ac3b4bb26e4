#include "core/clock.h"

#include <gtest/gtest.h>

namespace ringcast::core {
namespace {

TEST(ManualClockTest, StandsStillUntilAdvanced) {
  ManualClock clock(500, 1'700'000'000'000);
  const Clock& c = clock;
  EXPECT_EQ(c.MonotonicMs(), 500u);
  EXPECT_EQ(c.UnixMs(), 1'700'000'000'000);
  EXPECT_EQ(c.MonotonicMs(), 500u);  // reading does not move it
  clock.Advance(1500);
  EXPECT_EQ(c.MonotonicMs(), 2000u);
  EXPECT_EQ(c.UnixMs(), 1'700'000'001'500);  // both clocks move together
  clock.Advance(0);
  EXPECT_EQ(c.MonotonicMs(), 2000u);
}

TEST(ManualClockTest, DefaultStartIsNonZeroOnBothClocks) {
  // Code uses 0 as "never" for monotonic stamps; a test clock starting there
  // would hide bugs.
  ManualClock clock;
  EXPECT_GT(clock.MonotonicMs(), 0u);
  EXPECT_GT(clock.UnixMs(), 0);
}

}  // namespace
}  // namespace ringcast::core
