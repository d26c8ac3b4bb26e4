// Results: what a generator process measured (ProcResult), how it crosses the pipe from a child
// to the parent (one text line of key=value pairs, histogram as sparse buckets), and how the
// merged result is shown: the live line each second, the final table, and --json.
// Pure functions over plain data; any thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "core/histogram.h"
#include "tools/load/counters.h"
#include "tools/load/options.h"
#include "tools/load/plan.h"

namespace ringcast::load {

struct ProcResult {
  Counters counters;
  core::Histogram latency;  // measured deliveries (churn: cycle time), ns
  double cpu_s = 0;         // generator CPU during the window, all processes
  double busiest_thread_pct = 0;
  uint32_t threads = 0;
  std::string fatal;  // the first fatal error of a worker, if any

  void Merge(const ProcResult& other);
};

// "<tag> k=v ... hist=i:c,i:c" and back. Decode returns false on a malformed line.
std::string EncodeResultLine(char tag, const ProcResult& r);
[[nodiscard]] bool DecodeResultLine(std::string_view line, char* tag, ProcResult* out);

struct ServerWindow {
  double cpu_s = 0;               // server utime+stime during the window
  uint64_t rss_before_bytes = 0;  // before the generator connected
  uint64_t rss_end_bytes = 0;     // at the end of the window
};

struct Report {
  const LoadOptions* options = nullptr;
  const Plan* plan = nullptr;
  ProcResult result;
  double window_s = 0;  // measured window as run
  uint32_t procs = 1;
  std::optional<ServerWindow> server;
};

// "[  3s] publish conns 1001/1001 deliv/s 1000000 p50 40us p99 120us errors 0"
std::string LiveLine(double elapsed_s, std::string_view phase, const Counters& c,
                     double deliveries_per_s, const core::Histogram& interval);
void PrintTable(std::FILE* out, const Report& r);
std::string ReportJson(const Report& r);
// Warning lines (generator-bound, errors, shortfall); empty when there is nothing to say.
std::string ReportWarnings(const Report& r);

}  // namespace ringcast::load
