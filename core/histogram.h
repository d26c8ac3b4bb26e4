// Histogram: an HDR-style log-linear histogram of unsigned 64-bit values (latencies in ns).
//
// Values below 2^(kSubBucketBits+1) = 256 are counted exactly; above that, every power-of-two
// range [2^k, 2^(k+1)) is split into 2^kSubBucketBits = 128 equal buckets, so a reported value
// is never below the true one and at most 1/128 (0.79%) above it (kMaxRelativeError). The whole
// 64-bit range fits in kBucketCount fixed buckets (58 KiB), so Record() never allocates and two
// histograms merge by adding counts. Exact min and max are kept besides the buckets.
// Not thread-safe: one owner thread; merge copies from other threads after handing them over.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace ringcast::core {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 128
  static constexpr uint64_t kLinearLimit = kSubBuckets * 2;               // exact below this
  static constexpr size_t kBucketCount = (64 - kSubBucketBits - 1) * kSubBuckets + kLinearLimit;
  static constexpr double kMaxRelativeError = 1.0 / kSubBuckets;

  static constexpr size_t BucketIndex(uint64_t value) {
    if (value < kLinearLimit) return static_cast<size_t>(value);
    const int shift = (63 - std::countl_zero(value)) - kSubBucketBits;  // >= 1
    return static_cast<size_t>(shift) * kSubBuckets + (value >> shift);
  }
  // Smallest and largest value counted in bucket `index`.
  static constexpr uint64_t BucketLow(size_t index) {
    if (index < kLinearLimit) return index;
    const uint64_t shift = index / kSubBuckets - 1;
    return (index - shift * kSubBuckets) << shift;
  }
  static constexpr uint64_t BucketHigh(size_t index) {
    if (index < kLinearLimit) return index;
    const uint64_t shift = index / kSubBuckets - 1;
    return BucketLow(index) + ((uint64_t{1} << shift) - 1);
  }

  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t n) {
    if (n == 0) return;
    counts_[BucketIndex(value)] += n;
    count_ += n;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  // Adds `n` to a bucket by index (deserialization); min/max widen to the bucket's bounds.
  void AddToBucket(size_t index, uint64_t n) {
    if (index >= kBucketCount || n == 0) return;
    counts_[index] += n;
    count_ += n;
    min_ = std::min(min_, BucketLow(index));
    max_ = std::max(max_, BucketHigh(index));
  }

  void Merge(const Histogram& other) {
    if (other.count_ == 0) return;
    for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  void Reset() {
    counts_.fill(0);
    count_ = 0;
    min_ = std::numeric_limits<uint64_t>::max();
    max_ = 0;
  }

  // The value at percentile p (0..100): the highest value of the bucket holding the
  // ceil(p% * count)-th smallest sample, clamped to [min, max]. 0 when empty.
  uint64_t Percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBucketCount; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(BucketHigh(i), min_, max_);
    }
    return max_;
  }

  // Calls f(index, count) for every non-empty bucket, in value order.
  template <class F>
  void ForEachBucket(F&& f) const {
    for (size_t i = 0; i < kBucketCount; ++i) {
      if (counts_[i] != 0) f(i, counts_[i]);
    }
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }

 private:
  std::array<uint64_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace ringcast::core
