#include "core/spsc_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace ringcast::core {
namespace {

TEST(SpscRingTest, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(2).capacity(), 2u);
  EXPECT_EQ(SpscRing<int>(3).capacity(), 4u);
  EXPECT_EQ(SpscRing<int>(1000).capacity(), 1024u);
  EXPECT_EQ(SpscRing<int>(1024).capacity(), 1024u);
  EXPECT_EQ(SpscRing<int>(1025).capacity(), 2048u);
}

TEST(SpscRingTest, EmptyRingPopsNothing) {
  SpscRing<int> ring(4);
  int out = -1;
  EXPECT_FALSE(ring.TryPop(&out));
  EXPECT_EQ(out, -1);
  EXPECT_TRUE(ring.IsEmptyApprox());
  EXPECT_EQ(ring.SizeApprox(), 0u);
}

TEST(SpscRingTest, FullRingRefusesPushUntilPopped) {
  SpscRing<int> ring(3);  // Rounds up to 4, and all 4 are usable.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.TryPush(i));
  EXPECT_FALSE(ring.TryPush(99));
  EXPECT_EQ(ring.SizeApprox(), 4u);
  int out = -1;
  ASSERT_TRUE(ring.TryPop(&out));
  EXPECT_EQ(out, 0);
  EXPECT_TRUE(ring.TryPush(4));
  EXPECT_FALSE(ring.TryPush(100));
  for (int expected = 1; expected <= 4; ++expected) {
    ASSERT_TRUE(ring.TryPop(&out));
    EXPECT_EQ(out, expected);  // The refused 99 and 100 never appear.
  }
  EXPECT_FALSE(ring.TryPop(&out));
}

TEST(SpscRingTest, WrapsAroundManyTimes) {
  SpscRing<uint64_t> ring(8);
  uint64_t next_push = 0;
  uint64_t next_pop = 0;
  // Batches of varying size move the indices across the end of the array at every offset.
  for (int round = 0; round < 5000; ++round) {
    const int batch = 1 + round % 8;
    for (int i = 0; i < batch; ++i) ASSERT_TRUE(ring.TryPush(next_push++));
    ASSERT_EQ(ring.SizeApprox(), static_cast<size_t>(batch));
    uint64_t out = 0;
    for (int i = 0; i < batch; ++i) {
      ASSERT_TRUE(ring.TryPop(&out));
      ASSERT_EQ(out, next_pop++);
    }
    ASSERT_TRUE(ring.IsEmptyApprox());
  }
  EXPECT_GT(next_pop, 100 * ring.capacity());
}

struct Message {
  uint64_t room;
  const void* frame;
  uint32_t kind;
};

TEST(SpscRingTest, CarriesSmallStructs) {
  SpscRing<Message> ring(2);
  int frame = 0;
  ASSERT_TRUE(ring.TryPush(Message{42, &frame, 3}));
  Message out{};
  ASSERT_TRUE(ring.TryPop(&out));
  EXPECT_EQ(out.room, 42u);
  EXPECT_EQ(out.frame, &frame);
  EXPECT_EQ(out.kind, 3u);
}

// One producer thread pushes a sequence; the consumer must see every value once, in order.
// Both sides give up at a deadline so a bug shows as a failure, not a hung test.
TEST(SpscRingTest, CrossThreadPreservesOrderAndCount) {
  constexpr uint64_t kItems = 5'000'000;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  SpscRing<uint64_t> ring(1024);
  std::atomic<bool> give_up{false};

  std::thread producer([&] {
    uint32_t spins = 0;
    for (uint64_t i = 0; i < kItems;) {
      if (ring.TryPush(i)) {
        ++i;
        continue;
      }
      if (++spins % 64 == 0) {
        if (give_up.load(std::memory_order_relaxed)) return;
        std::this_thread::yield();
      }
    }
  });

  uint64_t received = 0;
  uint64_t out_of_order = 0;
  uint32_t spins = 0;
  while (received < kItems) {
    uint64_t value;
    if (ring.TryPop(&value)) {
      if (value != received) ++out_of_order;
      ++received;
      continue;
    }
    if (++spins % 64 == 0) {
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::yield();
    }
  }
  give_up.store(true, std::memory_order_relaxed);
  producer.join();

  EXPECT_EQ(received, kItems);
  EXPECT_EQ(out_of_order, 0u);
  uint64_t extra;
  EXPECT_FALSE(ring.TryPop(&extra));
}

}  // namespace
}  // namespace ringcast::core
