// SecureRandom: unpredictable 64-bit values straight from the kernel's CSPRNG
// (getrandom(2), Linux 3.17), for values an attacker must not guess, such as
// the tag of a request id (shard/requests.h). Not for simulations: tests and
// load use seeded generators they can reproduce.
//
// getrandom is a system call, so values are drawn kBatch at a time into a
// small buffer; a request of at most 256 bytes never returns short and is
// never interrupted by a signal once the kernel's pool is initialized (it
// blocks only before that, early in boot), so a failure is a broken kernel
// and crashes loudly. One instance per thread (a shard owns its own).
#pragma once

#include <sys/random.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/check.h"

namespace ringcast::core {

class SecureRandom {
 public:
  static constexpr size_t kBatch = 32;  // 256 bytes: getrandom's no-short-read size

  SecureRandom() = default;
  SecureRandom(const SecureRandom&) = delete;
  SecureRandom& operator=(const SecureRandom&) = delete;

  uint64_t Next64() {
    if (next_ == kBatch) Refill();
    return values_[next_++];
  }

 private:
  void Refill() {
    ssize_t got = getrandom(values_.data(), sizeof(values_), 0);
    RC_CHECK(got == static_cast<ssize_t>(sizeof(values_)));
    next_ = 0;
  }

  std::array<uint64_t, kBatch> values_{};
  size_t next_ = kBatch;  // empty: the first Next64 fills it
};

}  // namespace ringcast::core
