// Process and thread accounting from /proc and getrusage: the server's CPU time and resident
// memory (given --server-pid), and the generator's own CPU, per process and per thread, so a
// report shows whether the generator itself was the bottleneck. Linux only; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace ringcast::load {

// utime + stime of a process (pid) or of one of our threads (tid), in seconds.
[[nodiscard]] std::optional<double> ProcessCpuSeconds(pid_t pid);
[[nodiscard]] std::optional<double> ThreadCpuSeconds(pid_t tid);
// VmRSS in bytes.
[[nodiscard]] std::optional<uint64_t> ProcessRssBytes(pid_t pid);
// Sums over several processes (the nodes of a cluster on this host); a process that is gone
// counts as 0.
double ProcessesCpuSeconds(const std::vector<int>& pids);
uint64_t ProcessesRssBytes(const std::vector<int>& pids);
// user + system CPU of this process (all threads) so far, in seconds.
double SelfCpuSeconds();
// Raises RLIMIT_NOFILE to its hard limit; returns the soft limit now in force.
uint64_t RaiseFileLimit();

}  // namespace ringcast::load
