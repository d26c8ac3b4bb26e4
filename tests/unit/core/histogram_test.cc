#include "core/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace ringcast::core {
namespace {

// The reported value is never below the true one and at most kMaxRelativeError above it.
void ExpectWithinError(uint64_t reported, uint64_t truth) {
  EXPECT_GE(reported, truth);
  EXPECT_LE(static_cast<double>(reported),
            static_cast<double>(truth) * (1 + Histogram::kMaxRelativeError) + 1)
      << "truth " << truth;
}

TEST(HistogramTest, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 256; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 127u);
  EXPECT_EQ(h.Percentile(100), 255u);
  EXPECT_EQ(h.Percentile(0), 0u);
}

TEST(HistogramTest, BucketsCoverEveryValueContiguously) {
  for (size_t i = 1; i < Histogram::kBucketCount; ++i) {
    ASSERT_EQ(Histogram::BucketLow(i), Histogram::BucketHigh(i - 1) + 1) << i;
  }
  EXPECT_EQ(Histogram::BucketIndex(UINT64_MAX), Histogram::kBucketCount - 1);
  EXPECT_EQ(Histogram::BucketHigh(Histogram::kBucketCount - 1), UINT64_MAX);
  for (uint64_t v : {256ull, 257ull, 1000ull, 123456789ull, 1ull << 40}) {
    size_t i = Histogram::BucketIndex(v);
    EXPECT_LE(Histogram::BucketLow(i), v);
    EXPECT_GE(Histogram::BucketHigh(i), v);
  }
}

TEST(HistogramTest, PercentilesWithinStatedRelativeError) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median in ns, long tail
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    uint64_t v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100 * values.size()));
    ExpectWithinError(h.Percentile(p), values[rank - 1]);
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.Percentile(100), values.back());
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  Histogram a, b, all;
  for (uint64_t v = 1; v <= 10000; ++v) {
    (v % 3 == 0 ? a : b).Record(v * 1000);
    all.Record(v * 1000);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), 10000u * 1000);
  for (double p : {1.0, 50.0, 99.0, 99.9}) EXPECT_EQ(a.Percentile(p), all.Percentile(p));
  ExpectWithinError(a.Percentile(50), 5000 * 1000);
}

TEST(HistogramTest, MaxIsExactAndResetEmpties) {
  Histogram h;
  h.Record(1'000'001);
  h.Record(3);
  EXPECT_EQ(h.max(), 1'000'001u);
  EXPECT_EQ(h.Percentile(100), 1'000'001u);  // clamped to the true max, not the bucket top
  h.Reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(99), 0u);
}

TEST(HistogramTest, BucketRoundTripKeepsPercentiles) {
  Histogram h, copy;
  for (uint64_t v = 100; v < 100000; v += 7) h.Record(v);
  h.ForEachBucket([&](size_t i, uint64_t n) { copy.AddToBucket(i, n); });
  EXPECT_EQ(copy.count(), h.count());
  for (double p : {50.0, 99.0}) EXPECT_EQ(copy.Percentile(p), h.Percentile(p));
}

}  // namespace
}  // namespace ringcast::core
