// TimerWheel: a hashed timing wheel for one shard's timers (idle pings, idle and handshake
// timeouts, reconnect backoff). Time is cut into ticks of tick_ms; an entry due at tick t sits
// in bucket t % slots, and each bucket is scanned once per tick, so Add is O(1) and Advance
// costs the ticks elapsed (at most one revolution) plus the entries in the scanned buckets.
// Each entry keeps its absolute deadline, so a delay longer than one revolution simply stays in
// its bucket until a scan finds it due. Deadlines round up to a tick: an entry never fires
// before now_ms + delay_ms, and fires at the first Advance whose now_ms reaches the rounded
// deadline. There is no Cancel: the caller puts a key (a slab handle, say) in the entry and the
// callback checks whether it still means anything, which is cheaper than finding the entry.
// Invariant: every pending entry either sits in bucket deadline_tick % slots with
// deadline_tick > scanned_tick_, or is in overdue_ (its tick was already scanned when it was
// added) and fires at the next Advance. So an entry added from a callback with no delay fires
// at the next Advance, not in the same one: a callback re-arming itself cannot livelock.
// One shard's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/check.h"

namespace ringcast::core {

class TimerWheel {
 public:
  TimerWheel(uint32_t tick_ms, uint32_t slots);

  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Schedules key to expire at now_ms + delay_ms, rounded up to a tick boundary.
  void Add(uint64_t now_ms, uint64_t delay_ms, uint64_t key);

  // Calls on_expire(key) for every entry whose deadline is <= now_ms, in no particular order.
  // on_expire may call Add (but not Advance). now_ms should not go backwards; if it does, no
  // entry fires early.
  template <class F>
  void Advance(uint64_t now_ms, F on_expire);

  // Removes every pending entry for which stale(key) is true, so keys the owner no
  // longer cares about (there is no Cancel) do not pile up: O(entries). Not from a callback.
  template <class F>
  size_t RemoveIf(F stale);

  // Pending entries, including ones whose key the owner no longer cares about.
  size_t size() const { return size_; }

  uint32_t tick_ms() const { return tick_ms_; }
  uint32_t slots() const { return static_cast<uint32_t>(buckets_.size()); }

 private:
  struct Entry {
    uint64_t deadline_ms;  // Rounded up to a tick boundary.
    uint64_t key;
  };
  static_assert(sizeof(Entry) == 16);

  // Fires every entry of bucket whose deadline is <= now_ms. Entries are removed (swap with the
  // last) before their callback runs, so callbacks may Add to this very bucket.
  template <class F>
  void ScanBucket(size_t bucket, uint64_t now_ms, F& on_expire);

  template <class F>
  void FireOverdue(uint64_t now_ms, F& on_expire);

  uint32_t tick_ms_;
  uint64_t scanned_tick_ = 0;  // Every bucket scan for ticks <= this has run.
  size_t size_ = 0;
  bool advancing_ = false;
  std::vector<std::vector<Entry>> buckets_;
  std::vector<Entry> overdue_;
  std::vector<Entry> overdue_scratch_;  // Keeps overdue_'s capacity across Advance calls.
};

template <class F>
void TimerWheel::Advance(uint64_t now_ms, F on_expire) {
  RC_CHECK(!advancing_);
  advancing_ = true;
  if (!overdue_.empty()) FireOverdue(now_ms, on_expire);
  const uint64_t now_tick = now_ms / tick_ms_;
  if (now_tick > scanned_tick_) {
    // After a gap longer than a revolution, the last `slots` ticks cover every bucket once.
    const uint64_t slots = buckets_.size();
    const uint64_t first_tick =
        now_tick - scanned_tick_ > slots ? now_tick - slots + 1 : scanned_tick_ + 1;
    for (uint64_t tick = first_tick; tick <= now_tick; ++tick) {
      // Advanced before the scan: a callback adding an entry due at or before this tick must
      // put it in overdue_, since this tick's bucket is being (or has been) scanned.
      scanned_tick_ = tick;
      ScanBucket(tick % slots, now_ms, on_expire);
    }
  }
  advancing_ = false;
}

template <class F>
size_t TimerWheel::RemoveIf(F stale) {
  RC_CHECK(!advancing_);
  size_t removed = 0;
  auto sweep = [&](std::vector<Entry>& entries) {
    size_t kept = 0;
    for (const Entry& e : entries) {
      if (stale(e.key)) {
        ++removed;
      } else {
        entries[kept++] = e;
      }
    }
    entries.resize(kept);
  };
  for (std::vector<Entry>& bucket : buckets_) sweep(bucket);
  sweep(overdue_);
  size_ -= removed;
  return removed;
}

template <class F>
void TimerWheel::ScanBucket(size_t bucket, uint64_t now_ms, F& on_expire) {
  size_t i = 0;
  // Re-indexes buckets_ every time: a callback's Add may reallocate this vector.
  while (i < buckets_[bucket].size()) {
    std::vector<Entry>& entries = buckets_[bucket];
    if (entries[i].deadline_ms > now_ms) {
      ++i;
      continue;
    }
    const uint64_t key = entries[i].key;
    entries[i] = entries.back();
    entries.pop_back();
    --size_;
    on_expire(key);
  }
}

template <class F>
void TimerWheel::FireOverdue(uint64_t now_ms, F& on_expire) {
  // Callbacks append to a fresh overdue_, which waits for the next Advance.
  overdue_scratch_.swap(overdue_);
  for (const Entry& entry : overdue_scratch_) {
    if (entry.deadline_ms > now_ms) {
      overdue_.push_back(entry);  // Only if now_ms went backwards.
      continue;
    }
    --size_;
    on_expire(entry.key);
  }
  overdue_scratch_.clear();
}

}  // namespace ringcast::core
