// Several generator processes for one scenario (--procs), because one process may hold only
// about 20000 files. The parent forks the children before any thread exists; each child runs a
// Runner on its share of the plan (global id % procs) and talks to the parent over two pipes:
//   child -> parent: "ready", then a progress line ("S ...") about every 100 ms, then the
//                    result line ("R ...", report.h);
//   parent -> child: "go <publish start ns>" once every child is ready, "stop" when draining
//                    is over.
// The parent samples the server (CPU, RSS), prints the live line, decides when the drain is
// complete from the children's summed counters, and merges their results. Parent thread only.
#pragma once

#include "tools/load/options.h"
#include "tools/load/report.h"

namespace ringcast::load {

// Runs `procs` children and fills *report (result, window, server sample). Returns false and a
// one-line reason when a child could not be started or died without a result.
[[nodiscard]] bool RunProcesses(const LoadOptions& options, uint32_t procs, Report* report,
                                std::string* error);

}  // namespace ringcast::load
