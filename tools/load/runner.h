// Runner: one generator process's share of a scenario. It starts the worker threads, waits
// until every connection is ready, then drives the phases by the clock (publish from a start
// time, warmup, measured window, drain, stop) and measures its own CPU over the window.
// What differs between a lone process and a child of --procs (who decides the start time,
// where progress goes, when draining ends, who samples the server) comes in through RunHooks.
// Also LivePrinter, which turns progress samples into one stderr line per second.
// Runs on the process's main thread; workers are touched only through Control and TakeShared.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/histogram.h"
#include "tools/load/counters.h"
#include "tools/load/options.h"
#include "tools/load/report.h"
#include "tools/load/worker.h"

namespace ringcast::load {

struct RunHooks {
  // Every connection is ready (or setup timed out): returns the publish start, CLOCK_MONOTONIC ns.
  std::function<uint64_t()> on_ready;
  // About every 100 ms: totals so far and the latency of deliveries since the previous call.
  std::function<void(const Counters&, const core::Histogram& interval, Phase)> on_progress;
  // At the start (true) and end (false) of the measured window.
  std::function<void(bool start)> on_window_edge;
  // While draining, after each progress call: true ends the run.
  std::function<bool(const Counters&, uint64_t drain_started_ns)> drain_done;
};

class Runner {
 public:
  Runner(const LoadOptions& options, uint32_t proc_index, uint32_t proc_count);

  // Runs the whole scenario; fills *out (this process's share) and *window_s.
  void Run(const RunHooks& hooks, ProcResult* out, double* window_s);

 private:
  LoadOptions options_;
  uint32_t proc_index_;
  uint32_t proc_count_;
};

// Whether a lone process may stop draining: every worker stopped publishing and every expected
// delivery arrived, or the drain time is up (idle and churn need no drain beyond a moment).
bool DrainComplete(const LoadOptions& o, const Counters& c, uint64_t workers,
                   uint64_t drain_started_ns, uint64_t now_ns);

class LivePrinter {
 public:
  explicit LivePrinter(bool enabled) : enabled_(enabled) {}
  void Add(const Counters& c, const core::Histogram& interval, Phase phase);

 private:
  bool enabled_;
  uint64_t start_ns_ = 0;
  uint64_t last_ns_ = 0;
  uint64_t last_deliveries_ = 0;
  core::Histogram interval_;
};

std::string_view PhaseName(Phase p);

}  // namespace ringcast::load
