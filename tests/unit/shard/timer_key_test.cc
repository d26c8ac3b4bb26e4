// Timer keys (shard/sessions.h): a connection's timer names its slot and the
// slot's whole generation, so a timer left from an earlier tenant of the
// slot never matches a later one, however often the slot was reused.
#include <gtest/gtest.h>

#include <cstdint>

#include "shard/sessions.h"

namespace ringcast::shard {
namespace {

TEST(TimerKeyTest, KeepsKindSlotAndTheWholeGeneration) {
  for (TimerKind kind : {TimerKind::kHandshake, TimerKind::kCloseDeadline, TimerKind::kKeepalive,
                         TimerKind::kTokenExpiry}) {
    for (uint32_t gen : {0u, 1u, 0xffffffu, 0x1000000u, 0x1000001u, 0xffffffffu}) {
      for (uint32_t slot : {0u, 1u, 12345u, kMaxTimerSlots - 1}) {
        uint64_t key = TimerKey(kind, core::SlabHandle{slot, gen});
        EXPECT_EQ(TimerKindOf(key), kind);
        EXPECT_EQ(TimerSlotOf(key), slot);
        EXPECT_EQ(TimerGenOf(key), gen);
      }
    }
  }
}

// Before: 24 bits of generation; the slot's 2^24-th next tenant matched.
TEST(TimerKeyTest, GenerationsTwoToTheTwentyFourApartDiffer) {
  uint64_t old_tenant = TimerKey(TimerKind::kKeepalive, core::SlabHandle{7, 5});
  uint64_t new_tenant = TimerKey(TimerKind::kKeepalive, core::SlabHandle{7, 5 + (1u << 24)});
  EXPECT_NE(old_tenant, new_tenant);
  EXPECT_NE(TimerGenOf(old_tenant), TimerGenOf(new_tenant));
}

TEST(TimerKeyTest, RequestTimersKeepTheirNumber) {
  for (uint64_t request : {uint64_t{1}, uint64_t{0xffffffff}, (uint64_t{1} << 60) - 1}) {
    uint64_t key = RequestTimerKey(request);
    EXPECT_EQ(TimerKindOf(key), TimerKind::kRequestTimeout);
    EXPECT_EQ(TimerRequestOf(key), request);
  }
}

}  // namespace
}  // namespace ringcast::shard
