#include "shard/fd_budget.h"

#include <sys/resource.h>

#include <algorithm>

namespace ringcast::shard {

namespace {

constexpr char kRaise[] = "raise it (ulimit -n, systemd LimitNOFILE=)";

std::string Shards(unsigned shards) {
  return std::to_string(shards) + (shards == 1 ? " shard" : " shards");
}

}  // namespace

FdPlan PlanFds(uint64_t open_file_limit, unsigned shards, uint32_t max_connections_per_shard,
               uint32_t http_reserve_per_shard) {
  FdPlan plan;
  const uint64_t fixed = kProcessFds + kShardFds * shards;
  const uint64_t least = fixed + 2 * uint64_t{shards};  // one session and one HTTP socket each
  if (open_file_limit < least) {
    plan.error = "the open-file limit (" + std::to_string(open_file_limit) + ") is too low for " +
                 Shards(shards) + ": " + kRaise + " to at least " + std::to_string(least);
    return plan;
  }
  const uint64_t share = (open_file_limit - fixed) / shards;
  // At least one HTTP socket when any is asked for, so that a full shard still
  // answers /healthz at the lowest limits; share >= 2 leaves a session too.
  const uint64_t reserve =
      std::min<uint64_t>(http_reserve_per_shard, std::max<uint64_t>(1, share / 4));
  const uint64_t fit = share - reserve;
  const uint64_t wanted =
      max_connections_per_shard != 0 ? max_connections_per_shard : kDefaultConnectionsPerShard;
  plan.max_connections_per_shard = static_cast<uint32_t>(std::min(wanted, fit));
  plan.http_reserve_per_shard = static_cast<uint32_t>(reserve);
  const std::string what = std::to_string(plan.max_connections_per_shard) +
                           " WebSocket connections per shard (plus " + std::to_string(reserve) +
                           " for HTTP) with " + Shards(shards);
  if (max_connections_per_shard != 0 && max_connections_per_shard > fit) {
    plan.warning =
        "limits.max_connections_per_shard = " + std::to_string(max_connections_per_shard) +
        " does not fit the open-file limit (" + std::to_string(open_file_limit) + "): using " +
        what + "; " + kRaise + " or lower the setting";
  } else if (max_connections_per_shard == 0 && open_file_limit < kLowOpenFileLimit) {
    plan.warning = "the open-file limit is low (" + std::to_string(open_file_limit) +
                   "): at most " + what + "; " + kRaise + " for more";
  }
  return plan;
}

uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;  // the kernel's usual soft default
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised{limit.rlim_max, limit.rlim_max};
    // Fails only for an infinite hard limit (above fs.nr_open): keep the soft one.
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit.rlim_cur = limit.rlim_max;
  }
  return limit.rlim_cur;
}

}  // namespace ringcast::shard
