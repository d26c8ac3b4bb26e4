// Server: the process-level owner of N shards. Start() binds every shard's
// SO_REUSEPORT listener on the same port (port 0 picks a free one, shared by
// all shards), spawns one pinned thread per shard, and returns once all of
// them accept connections. RequestStop() may be called from any thread; it
// makes every shard stop accepting, send `bye` + close 1001 to its clients,
// flush, and exit its loop within ServerOptions::drain_timeout_ms. Wait()
// joins the shard threads. The destructor stops and joins.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ringcast::shard {

struct ServerOptions {
  std::string listen_host = "0.0.0.0";
  uint16_t port = 8080;              // 0 = pick a free port (tests)
  unsigned shards = 0;               // 0 = one per online CPU
  size_t max_message_bytes = 65536;  // limits.max_message_bytes -> close 1009
  size_t max_queued_bytes = 1 << 20; // limits.max_queued_bytes -> close 4000
  size_t max_head_bytes = 8192;      // HTTP request head limit -> 431
  uint32_t handshake_timeout_ms = 10000;
  uint32_t drain_timeout_ms = 3000;  // shutdown: time to flush and close clients
  uint32_t max_connections_per_shard = 262144;
  bool pin_threads = true;
  std::string node_id;               // empty = random
};

class Mesh;
class Shard;

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts every shard. Returns a one-line error on failure (bad
  // address, port in use, io_uring unavailable); then nothing is running.
  [[nodiscard]] std::optional<std::string> Start();
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
  std::unique_ptr<Mesh> mesh_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace ringcast::shard
