// FdBudget: how many connections the process's open-file limit has room for.
//
// Every connection is a socket. A connection limit the open-file limit cannot
// hold makes accept fail with EMFILE once the fds run out: new clients then
// wait unanswered in the backlog until they time out, and /healthz and the
// API cannot be reached either, so a load balancer cannot tell a full node
// from a dead one. The plan keeps an allowance for the process (stdio, the
// config file, the allocator) and for each shard (its listener and io_uring),
// and splits the rest evenly between the shards. Per shard:
//
//   max_connections_per_shard   WebSocket sessions; an upgrade past it gets 503
//   http_reserve_per_shard      sockets on top of those, for HTTP: /healthz, the
//                               API, and the 503 that refuses an upgrade
//
// so a full shard still answers. limits.max_connections_per_shard = 0 (the
// default) means "as many as fit, at most kDefaultConnectionsPerShard"; an
// explicit value that does not fit is lowered to what fits, with a warning.
// The reserve takes at most a quarter of a shard's share, but at least one
// socket when the setting asks for any.
//
// PlanFds is pure (unit-tested); RaiseOpenFileLimit does the one syscall.
// Main thread, at start-up, before the shards exist.
#pragma once

#include <cstdint>
#include <string>

namespace ringcast::shard {

inline constexpr uint32_t kDefaultConnectionsPerShard = 262144;
// Below this hard limit the default connection limit gets a warning: the
// node holds far fewer clients than it could.
inline constexpr uint64_t kLowOpenFileLimit = 65536;
inline constexpr uint64_t kProcessFds = 32;  // stdio, config file, allocator, slack
inline constexpr uint64_t kShardFds = 4;     // listener, io_uring, slack

struct FdPlan {
  uint32_t max_connections_per_shard = 0;  // effective WebSocket sessions per shard
  uint32_t http_reserve_per_shard = 0;     // effective HTTP sockets on top of those
  std::string warning;                     // one line for stderr, or empty
  std::string error;                       // the limit is too low to start at all
};

// `open_file_limit` is the RLIMIT_NOFILE in force; `max_connections_per_shard`
// and `http_reserve_per_shard` are the settings (0 connections = automatic).
[[nodiscard]] FdPlan PlanFds(uint64_t open_file_limit, unsigned shards,
                             uint32_t max_connections_per_shard, uint32_t http_reserve_per_shard);

// Raises the soft RLIMIT_NOFILE to the hard limit (allowed without privilege)
// and returns the limit then in force.
[[nodiscard]] uint64_t RaiseOpenFileLimit();

}  // namespace ringcast::shard
