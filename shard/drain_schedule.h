// DrainSchedule: when each open connection is told to leave during a drain.
// The connections open when the drain began are told in order, spread evenly
// over spread_ms (three quarters of shutdown.drain_ms), so clients do not all
// reconnect to other nodes at the same moment; with spread_ms 0 all at once.
// Pure bookkeeping: the caller sends `bye` and closes. Shard thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/slab.h"

namespace ringcast::shard {

class DrainSchedule {
 public:
  DrainSchedule(std::vector<core::SlabHandle> conns, uint64_t started_ms, uint64_t spread_ms)
      : conns_(std::move(conns)), started_ms_(started_ms), spread_ms_(spread_ms) {}

  // Calls tell(handle) for every connection due by now_ms, each once.
  template <class F>
  void Step(uint64_t now_ms, F&& tell) {
    size_t total = conns_.size();
    uint64_t elapsed = now_ms - started_ms_;
    size_t due =
        spread_ms_ == 0 || elapsed >= spread_ms_ ? total : total * elapsed / spread_ms_ + 1;
    while (next_ < std::min(due, total)) tell(conns_[next_++]);
  }
  bool done() const { return next_ == conns_.size(); }

 private:
  std::vector<core::SlabHandle> conns_;
  uint64_t started_ms_;
  uint64_t spread_ms_;
  size_t next_ = 0;
};

}  // namespace ringcast::shard
