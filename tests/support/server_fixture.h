// Servers for end-to-end tests. InProcessServer runs ringcast::shard::Server
// on a loopback port chosen by the kernel, with unpinned shard threads, and
// stops it when it goes out of scope. ChildServer runs the real `ringcast`
// binary through posix_spawn, with stdout and stderr captured in temporary
// files; its destructor kills and reaps the child, so a failing test never
// leaves a process behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "shard/server.h"

namespace ringcast::testing {

// Options for an in-process test server: 127.0.0.1, port 0, `shards` shards,
// threads not pinned, short drain.
shard::ServerOptions TestServerOptions(unsigned shards = 2);

class InProcessServer {
 public:
  explicit InProcessServer(shard::ServerOptions options = TestServerOptions());
  // Shards read time from `clock`, which the test moves instead of sleeping
  // (the shards still run a round at least every 20 ms of real time, so an
  // Advance takes effect within that). Stop() moves it on until the drain
  // is over.
  InProcessServer(shard::ServerOptions options, core::ManualClock* clock);
  ~InProcessServer();
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  // Starts the server; returns the error line on failure.
  [[nodiscard]] std::optional<std::string> Start();
  uint16_t port() const { return server_->port(); }
  shard::Server& server() { return *server_; }
  // RequestStop + Wait; idempotent.
  void Stop();

 private:
  std::unique_ptr<shard::Server> server_;
  core::ManualClock* clock_ = nullptr;
  bool started_ = false;
  bool stopped_ = false;
};

// A loopback port that was free a moment ago (bind port 0, read it, close).
uint16_t FreePort();

// A blocking TCP connection to 127.0.0.1:port; -1 on failure.
int ConnectLoopback(uint16_t port);

// True once a TCP connect to 127.0.0.1:port succeeds, polling until the deadline.
bool WaitAccepting(uint16_t port, int timeout_ms);

class ChildServer {
 public:
  explicit ChildServer(std::string binary);
  ~ChildServer();
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;

  // Spawns `binary args...`. Returns false when posix_spawn fails.
  [[nodiscard]] bool Spawn(const std::vector<std::string>& args);
  // Picks a free port, spawns `binary --listen 127.0.0.1:<port> extra_args...`
  // and waits until the port accepts. False if the child exits or the port
  // does not accept in time.
  [[nodiscard]] bool StartListening(const std::vector<std::string>& extra_args,
                                    int ready_timeout_ms = 10000);
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exited_; }

  void Signal(int sig);
  // Waits for the child to exit. Returns its exit code, 128 + signal number if
  // a signal ended it, or -1 on timeout (the child keeps running).
  int WaitExit(int timeout_ms);
  // SIGKILL + reap if still running.
  void Kill();

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  std::string binary_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = -1;
  uint16_t port_ = 0;
  std::string stdout_path_;
  std::string stderr_path_;
};

}  // namespace ringcast::testing
