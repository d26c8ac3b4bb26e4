// Server: the process-level owner of N shards. Start() refuses a port that
// another process serves, fits the connection limits to the open-file limit
// (shard/fd_budget.h), binds every shard's SO_REUSEPORT listener on the same
// port (port 0 picks a free one, shared by all shards), spawns one pinned
// thread per shard, and returns once all of them accept connections. RequestStop() may be called
// from any thread; it makes every shard stop accepting, send `bye` + close 1001 to its clients,
// flush, and exit its loop within ServerOptions::drain_timeout_ms. Wait()
// joins the shard threads. The destructor stops and joins.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "net/redis_address.h"

namespace ringcast::shard {

// Per-namespace options: a room "name:rest" uses [namespaces.name], a room
// without a prefix uses [namespaces.default].
struct NamespaceOptions {
  uint32_t history_size = 0;   // messages kept per room by its owner (0 = no history)
  uint32_t history_ttl_s = 0;  // 0 = kept until pushed out by newer ones
  bool presence = true;        // clients may ask for presence
  bool client_publish = true;  // clients (not only the API) may publish
};

// Every setting of a running server. Flags and the TOML file (shard/config_options.h)
// fill it; TOML keys in brackets.
struct ServerOptions {
  std::string listen_host = "0.0.0.0";  // [listen = "HOST:PORT"]
  uint16_t port = 8080;                 // 0 = pick a free port (tests)
  unsigned shards = 0;                  // [shards] 0 = one per online CPU
  std::string node_id;                  // [node_id] empty = random
  bool pin_threads = true;              // [pin_threads]

  // [limits]
  size_t max_message_bytes = 65536;   // limits.max_message_bytes -> close 1009
  size_t max_queued_bytes = 1 << 20;  // limits.max_queued_bytes -> close 4000
  size_t max_head_bytes = 8192;       // limits.max_head_bytes -> 431
  // limits.max_connections_per_shard: WebSocket sessions per shard, past it an
  // upgrade gets 503. 0 = as many as the open-file limit holds, at most 262144
  // (shard/fd_budget.h); Start() puts the effective value here.
  uint32_t max_connections_per_shard = 0;
  // limits.http_reserve_per_shard: sockets per shard on top of the sessions,
  // so a full shard still answers /healthz, the API and its 503s.
  uint32_t http_reserve_per_shard = 256;
  uint32_t max_subscriptions_per_connection = 1000;  // limits.max_subscriptions_per_connection
  uint32_t commands_per_second = 1000;               // limits.commands_per_second (0 = unlimited)
  uint32_t command_burst = 2000;                     // limits.command_burst (bucket size)
  uint32_t rate_limit_grace_ms = 5000;               // limits.rate_limit_grace_ms, then close 1008
  size_t max_body_bytes = 1 << 20;                   // limits.max_body_bytes (HTTP API)
  uint32_t max_idle_history_rooms = 65536;           // limits.max_idle_history_rooms, per shard
  size_t max_history_bytes = size_t{128} << 20;      // limits.max_history_bytes, per shard
  uint32_t max_presence_users = 1000;                // limits.max_presence_users, per answer
  uint32_t max_pending_requests_per_connection = 256;  // limits.*: `req` gets `limit`
  uint32_t max_pending_requests_per_user = 1024;       // limits.* (per shard): `req` gets `limit`
  uint32_t max_pending_sends_per_connection = 256;     // limits.*: `send` gets `rate_limited`

  // [keepalive]
  uint32_t ping_interval_ms = 25000;      // keepalive.ping_interval_ms (0 = never ping)
  uint32_t idle_timeout_ms = 60000;       // keepalive.idle_timeout_ms (0 = never)
  uint32_t handshake_timeout_ms = 10000;  // keepalive.handshake_timeout_ms

  // [shutdown]
  uint32_t drain_timeout_ms = 3000;  // shutdown.drain_ms: spread closes over this

  // [auth], [api], [events], origins, [presence]
  std::string jwt_secret;                   // auth.jwt_secret (empty = no JWT)
  bool allow_anonymous_user_param = true;   // auth.allow_anonymous_user_param
  std::string api_key;                      // api.key (empty = API only from loopback)
  std::vector<std::string> api_hosts;       // api.hosts (empty = loopback names without a key)
  std::string events_room;                  // events.room (empty = no status events)
  std::vector<std::string> origins;         // origins (empty = any Origin)
  uint32_t presence_leave_delay_ms = 2000;  // presence.leave_delay_ms

  // [cluster] (shard/backplane.h): empty redis = a single node, nothing changes.
  std::vector<std::string> redis;  // cluster.redis / --redis URL (repeatable, or comma-separated)
  bool redis_cluster =
      false;  // cluster.redis_cluster / --redis-cluster: redis = seeds of one Redis Cluster
  uint32_t redis_max_pending = 65536;       // cluster.max_pending_commands, per Redis connection
  uint32_t redis_probe_interval_ms = 1000;  // cluster.probe_interval_ms: PING an idle connection
  uint32_t redis_reply_timeout_ms = 3000;   // cluster.reply_timeout_ms: unanswered this long = dead
  uint32_t redis_presence_ttl_ms = 15000;   // cluster.presence_ttl_ms: presence entry expiry

  // [namespaces.NAME]; "default" applies to rooms without a prefix.
  std::map<std::string, NamespaceOptions> namespaces;
};

class Mesh;
class Metrics;
class Shard;

// The shards Start() runs: `configured`, or for 0 one per online CPU capped
// at the mesh's 64, so a host with more CPUs still starts by default.
unsigned ShardCount(unsigned configured, long online_cpus);

class Server {
 public:
  // Shards read time through `clock` (tests pass a ManualClock).
  explicit Server(ServerOptions options, const core::Clock* clock = core::SystemClock::Get());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts every shard. Returns a one-line error on failure (bad
  // address, port in use or served by another process, open-file limit too
  // low, io_uring unavailable); then nothing is running. Raises the soft
  // open-file limit to the hard one and fits the connection limits to it.
  [[nodiscard]] std::optional<std::string> Start();
  // One-line warnings from Start() for the operator (open-file limit, anonymous
  // identities on a public address), for main to print.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // The port actually bound (useful when options.port was 0).
  uint16_t port() const { return port_; }
  unsigned shard_count() const { return static_cast<unsigned>(shards_.size()); }
  const ServerOptions& options() const { return options_; }
  // Async-signal-safe enough to call from a signal-waiting thread.
  void RequestStop();
  // Joins the shard threads. Returns once every shard has exited.
  void Wait();

 private:
  ServerOptions options_;
  uint16_t port_ = 0;
  const core::Clock* const clock_;
  std::vector<net::RedisAddress> redis_;  // cluster mode: options_.redis resolved
  std::unique_ptr<Mesh> mesh_;
  std::unique_ptr<Metrics> metrics_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::vector<std::string> warnings_;
};

}  // namespace ringcast::shard
