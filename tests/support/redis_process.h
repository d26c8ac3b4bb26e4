// Real redis-server processes for cluster-mode tests. RedisProcess runs one
// redis-server on a free loopback port (no persistence unless asked, its own
// temporary directory), can be SIGKILLed and restarted on the same port and
// directory (so an appendonly file survives the restart), and is killed and
// its directory removed when it goes out of scope. RedisCluster starts N
// such processes in cluster mode and joins them into one Redis Cluster of N
// masters (slots split evenly, no replicas). RedisSync is a blocking hiredis
// connection for a test's own commands (seeding keys, reading INFO), and
// RedisSubscriber one for a test's own subscription (what a script or the
// broker publishes); the broker never uses either.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/server_fixture.h"

namespace ringcast::testing {

struct RedisOptions {
  bool appendonly = false;         // appendonly yes, appendfsync always
  bool cluster = false;            // cluster-enabled yes (its node file in the directory)
  std::vector<std::string> extra;  // more "--name value" arguments
};

class RedisProcess {
 public:
  explicit RedisProcess(RedisOptions options = {});
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Picks a free port (first start only), spawns redis-server and waits until
  // it answers PING. False (with the reason in error()) if it does not.
  [[nodiscard]] bool Start();
  // SIGKILL + reap; the port and directory are kept for Start().
  void Kill();
  // SIGKILL, then Start() again on the same port and directory.
  [[nodiscard]] bool Restart();
  bool running() const;

  uint16_t port() const { return port_; }
  // The cluster bus port (cluster mode; chosen free, not port + 10000).
  uint16_t cluster_port() const { return cluster_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "redis://" + address(); }
  const std::string& dir() const { return dir_; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  // The server's log so far (stdout; redis-server logs there without --logfile).
  std::string Log() const { return child_ ? child_->Stdout() : std::string(); }

 private:
  RedisOptions options_;
  uint16_t port_ = 0;
  uint16_t cluster_port_ = 0;
  std::string dir_;
  std::string error_;
  std::unique_ptr<ChildServer> child_;
};

// A blocking connection for tests. Every call has a 5 s timeout.
class RedisSync {
 public:
  explicit RedisSync(uint16_t port);
  ~RedisSync();
  RedisSync(const RedisSync&) = delete;
  RedisSync& operator=(const RedisSync&) = delete;

  bool connected() const { return ctx_ != nullptr && ctx_->err == 0; }
  // Runs one command; the reply is freed by the returned pointer. Null on a
  // connection error.
  using Reply = std::unique_ptr<redisReply, void (*)(void*)>;
  Reply Command(const std::vector<std::string>& argv);
  // The reply as a string: status/string/error text, an integer in decimal,
  // "(nil)" for nil; empty on a connection error.
  std::string Text(const std::vector<std::string>& argv);
  // One field of INFO (e.g. "connected_clients"), empty when absent.
  std::string Info(const std::string& section, const std::string& field);
  // The value of "field:value" lines (INFO, CLUSTER INFO), empty when absent.
  static std::string Field(const std::string& text, const std::string& field);

 private:
  redisContext* ctx_ = nullptr;
};

// A subscriber connection for tests: SUBSCRIBE to one channel (SSUBSCRIBE
// with `sharded`, on the Redis Cluster master that serves the channel), then
// read the messages pushed on it. Every call has a 5 s timeout.
class RedisSubscriber {
 public:
  RedisSubscriber(uint16_t port, const std::string& channel, bool sharded = false);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // True once Redis confirmed the subscription.
  bool ok() const { return ok_; }
  // The payload of the next pushed message, empty on a timeout or a push
  // without one.
  std::string Next();

 private:
  redisContext* ctx_ = nullptr;
  bool ok_ = false;
};

// N masters (N >= 3 for a real Redis Cluster) with the 16384 slots split
// evenly and no replicas, joined with CLUSTER MEET / ADDSLOTSRANGE, waiting
// until every node reports cluster_state:ok.
class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3);
  [[nodiscard]] bool Start();
  RedisProcess& node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  // "127.0.0.1:p1,127.0.0.1:p2,…": the seed list.
  std::string Seeds() const;
  // The index of the node that serves `slot` now (per node 0's CLUSTER SLOTS), -1 if unknown.
  int OwnerOf(int slot);
  // Moves one slot (with its keys) from its owner to node `to`, the way
  // redis-cli --cluster reshard does: IMPORTING/MIGRATING, MIGRATE keys,
  // SETSLOT NODE everywhere. Clients see ASK during and MOVED after.
  [[nodiscard]] bool MoveSlot(int slot, int to);
  const std::string& error() const { return error_; }

 private:
  std::string NodeId(int i);
  std::vector<std::unique_ptr<RedisProcess>> nodes_;
  std::string error_;
};

}  // namespace ringcast::testing
