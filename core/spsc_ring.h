// SpscRing: a bounded, lock-free ring carrying trivially-copyable T from exactly one producer
// thread to exactly one consumer thread (one ring per ordered pair of shards on the bus).
// Only the producer may call TryPush and only the consumer may call TryPop; SizeApprox and
// IsEmptyApprox may be called from any thread and are stale by the time they return.
// Capacity is rounded up to a power of two and all of it is usable. A full ring makes TryPush
// return false: that is backpressure for the caller to handle, never a silent drop.
// Indices are free-running 64-bit counters (they never wrap in practice); the slot is
// index & mask. The producer's index and the consumer's index live on separate cache lines,
// and each side keeps a private copy of the other side's index, re-reading the shared one only
// when its copy says full (producer) or empty (consumer). So in steady state each operation
// touches only its own line and the slot (as in Rigtorp's SPSCQueue and Seastar's smp queues).
// Ordering: a slot is written before the release store of write_index_ and read after the
// acquire load of it; the consumer's release of read_index_ hands the slot back likewise.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "core/check.h"

namespace ringcast::core {

template <class T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing carries trivially-copyable T only");

 public:
  static constexpr size_t kCacheLineBytes = 64;

  explicit SpscRing(size_t capacity) : mask_(RoundedCapacity(capacity) - 1) {
    slots_ = static_cast<T*>(
        ::operator new (sizeof(T) * (mask_ + 1), std::align_val_t{kSlotsAlignment}));
  }

  ~SpscRing() { ::operator delete (slots_, std::align_val_t{kSlotsAlignment}); }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer thread only. False when the ring is full; v is then not enqueued.
  [[nodiscard]] bool TryPush(const T& v) {
    const size_t write = write_index_.load(std::memory_order_relaxed);
    if (write - cached_read_index_ > mask_) {
      cached_read_index_ = read_index_.load(std::memory_order_acquire);
      if (write - cached_read_index_ > mask_) return false;
    }
    ::new (static_cast<void*>(&slots_[write & mask_])) T(v);
    write_index_.store(write + 1, std::memory_order_release);
    return true;
  }

  // Consumer thread only. False when the ring is empty; *out is then untouched.
  [[nodiscard]] bool TryPop(T* out) {
    const size_t read = read_index_.load(std::memory_order_relaxed);
    if (read == cached_write_index_) {
      cached_write_index_ = write_index_.load(std::memory_order_acquire);
      if (read == cached_write_index_) return false;
    }
    *out = *std::launder(&slots_[read & mask_]);
    read_index_.store(read + 1, std::memory_order_release);
    return true;
  }

  // Any thread. Reading the consumer's index first keeps the difference non-negative, since
  // write_index_ never falls behind read_index_ and both only grow.
  size_t SizeApprox() const {
    const size_t read = read_index_.load(std::memory_order_acquire);
    const size_t write = write_index_.load(std::memory_order_acquire);
    const size_t size = write - read;
    return size > capacity() ? capacity() : size;
  }

  bool IsEmptyApprox() const { return SizeApprox() == 0; }

  size_t capacity() const { return mask_ + 1; }

 private:
  static constexpr size_t kSlotsAlignment = alignof(T) > kCacheLineBytes ? alignof(T)
                                                                         : kCacheLineBytes;

  static size_t RoundedCapacity(size_t capacity) {
    RC_CHECK(capacity >= 2);
    RC_CHECK(capacity <= (size_t{1} << 40));
    return std::bit_ceil(capacity);
  }

  // Read-only after construction; on its own line so index writes never invalidate it.
  alignas(kCacheLineBytes) const size_t mask_;
  T* slots_;

  // Consumer's line: its index and its copy of the producer's.
  alignas(kCacheLineBytes) std::atomic<size_t> read_index_{0};
  size_t cached_write_index_ = 0;

  // Producer's line: its index and its copy of the consumer's.
  alignas(kCacheLineBytes) std::atomic<size_t> write_index_{0};
  size_t cached_read_index_ = 0;
  // No tail padding needed: alignas rounds sizeof up to a whole line, so whatever is allocated
  // after the ring starts on a fresh line.
};

}  // namespace ringcast::core
