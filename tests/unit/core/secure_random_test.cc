#include "core/secure_random.h"

#include <gtest/gtest.h>

#include <set>

namespace ringcast::core {
namespace {

// Across several refills: no repeats, and every bit seen both set and clear
// (a buffer handed out unfilled, or refilled with the same bytes, fails).
TEST(SecureRandomTest, ValuesDoNotRepeatAcrossRefillsAndUseEveryBit) {
  SecureRandom random;
  std::set<uint64_t> seen;
  uint64_t any_set = 0;
  uint64_t any_clear = 0;
  for (size_t i = 0; i < 10 * SecureRandom::kBatch + 3; ++i) {
    uint64_t v = random.Next64();
    EXPECT_TRUE(seen.insert(v).second) << "repeated after " << i << " values";
    any_set |= v;
    any_clear |= ~v;
  }
  EXPECT_EQ(any_set, ~uint64_t{0});
  EXPECT_EQ(any_clear, ~uint64_t{0});
}

// Two generators (two shards) do not hand out the same sequence.
TEST(SecureRandomTest, TwoInstancesDiffer) {
  SecureRandom a, b;
  EXPECT_NE(a.Next64(), b.Next64());
}

}  // namespace
}  // namespace ringcast::core
