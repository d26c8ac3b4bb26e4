#include "core/timer_wheel.h"

#include <limits>

namespace ringcast::core {

TimerWheel::TimerWheel(uint32_t tick_ms, uint32_t slots) : tick_ms_(tick_ms), buckets_(slots) {
  RC_CHECK(tick_ms > 0);
  RC_CHECK(slots > 0);
}

void TimerWheel::Add(uint64_t now_ms, uint64_t delay_ms, uint64_t key) {
  constexpr uint64_t kMaxMs = std::numeric_limits<uint64_t>::max();
  // A huge delay (a caller's "never") saturates instead of wrapping into the past.
  const uint64_t due_ms = delay_ms > kMaxMs - now_ms ? kMaxMs : now_ms + delay_ms;
  const uint64_t deadline_tick = due_ms / tick_ms_ + (due_ms % tick_ms_ != 0 ? 1 : 0);
  const uint64_t deadline_ms =
      deadline_tick > kMaxMs / tick_ms_ ? kMaxMs : deadline_tick * tick_ms_;
  const Entry entry{deadline_ms, key};
  if (deadline_tick <= scanned_tick_) {
    overdue_.push_back(entry);
  } else {
    buckets_[deadline_tick % buckets_.size()].push_back(entry);
  }
  ++size_;
}

}  // namespace ringcast::core
