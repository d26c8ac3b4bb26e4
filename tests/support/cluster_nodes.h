// Real ringcast nodes for the cluster end-to-end tests: each node is the
// binary (a ChildServer) with its own --node-id, joined to the others through
// Redis (one redis-server, several, or a Redis Cluster; RedisProcess and
// RedisCluster in tests/support/redis_process.h). StartClusterNodes starts
// them with the flags every cluster test shares and waits until each has
// Redis up, so a test begins with a working cluster; the differences between
// the suites (a --config file, --redis-cluster, reply timeout, more flags)
// are ClusterNodeOptions. Every wait is bounded; a node's ChildServer kills
// the process when the node goes out of scope.
//
// Header only: it names RINGCAST_BINARY, which only the e2e_tests target
// defines (tests/CMakeLists.txt), not the support library.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {

// One ringcast node: the binary, run with --node-id `id`.
struct ClusterNode {
  std::string id;
  ChildServer child{RINGCAST_BINARY};
  uint16_t port() const { return child.port(); }
};

// What the nodes of one StartClusterNodes call are started with, besides
// `--no-pin --node-id nK --redis-probe-ms 100`.
struct ClusterNodeOptions {
  // `redis_flag`: --redis, one instance's URL or a Redis Cluster's seed list.
  // `config_file`: --config, the first flag; none when empty.
  // `extra_flags`: more flags, after all the others.
  ClusterNodeOptions(std::string redis_flag, std::string config_file = "",
                     std::vector<std::string> extra_flags = {})
      : redis(std::move(redis_flag)),
        config(std::move(config_file)),
        extra(std::move(extra_flags)) {}

  std::string redis;
  std::string config;
  std::vector<std::string> extra;
  int shards = 2;           // --shards
  int cluster_masters = 0;  // > 0: --redis-cluster true, and a node is ready once every
                            // slot is covered by this many masters; 0: plain --redis
  uint32_t redis_reply_timeout_ms = 500;  // --redis-reply-timeout-ms
};

// GET /healthz of the node on `port` (no API key needed): the whole response,
// empty when the connection fails.
inline std::string Healthz(uint16_t port) {
  WsClient c;
  if (!c.ConnectTcp(port)) return "";
  return c.RawHttp("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

// True when /healthz's body says every Redis connection of the node is up.
inline bool RedisUp(uint16_t port) {
  const std::string response = Healthz(port);
  const size_t body = response.find("\r\n\r\n");
  return body != std::string::npos && response.find("redis: up", body + 4) != std::string::npos;
}

// RedisUp, and every slot mapped to one of `masters` masters (--redis-cluster).
inline bool RedisClusterReady(uint16_t port, int masters) {
  const std::string h = Healthz(port);
  return h.find("redis: up") != std::string::npos &&
         h.find("redis cluster: " + std::to_string(masters) +
                " masters, 16384 of 16384 slots covered") != std::string::npos;
}

// Starts `n` nodes, n1..n<n>, then waits (10 s each) until each is ready:
// RedisUp, or RedisClusterReady with options.cluster_masters. Failures are
// reported through gtest and the nodes are returned all the same.
inline std::vector<std::unique_ptr<ClusterNode>> StartClusterNodes(
    int n, const ClusterNodeOptions& options) {
  std::vector<std::unique_ptr<ClusterNode>> nodes;
  for (int i = 0; i < n; ++i) {
    auto node = std::make_unique<ClusterNode>();
    node->id = "n" + std::to_string(i + 1);
    std::vector<std::string> args;
    if (!options.config.empty()) args = {"--config", options.config};
    args.insert(args.end(), {"--shards", std::to_string(options.shards), "--no-pin", "--node-id",
                             node->id, "--redis", options.redis});
    if (options.cluster_masters > 0) args.insert(args.end(), {"--redis-cluster", "true"});
    args.insert(args.end(), {"--redis-probe-ms", "100", "--redis-reply-timeout-ms",
                             std::to_string(options.redis_reply_timeout_ms)});
    args.insert(args.end(), options.extra.begin(), options.extra.end());
    EXPECT_TRUE(node->child.StartListening(args)) << node->child.Stderr();
    nodes.push_back(std::move(node));
  }
  for (auto& node : nodes) {
    const uint16_t port = node->port();
    EXPECT_TRUE(WaitUntil(
        [&] {
          return options.cluster_masters > 0 ? RedisClusterReady(port, options.cluster_masters)
                                             : RedisUp(port);
        },
        10000))
        << node->id << ": " << Healthz(port);
  }
  return nodes;
}

// Connects `user` (?user=) to `node` through source address SourceIp(src)
// and reads the welcome, which must name the node.
inline std::unique_ptr<WsClient> Connect(const ClusterNode& node, const std::string& user,
                                         size_t src = 0) {
  auto c = std::make_unique<WsClient>();
  EXPECT_TRUE(c->Connect(node.port(), "/ws?user=" + user, SourceIp(src))) << c->last_error();
  auto welcome = c->ReadWelcome();
  EXPECT_TRUE(welcome);
  if (welcome) {
    EXPECT_EQ(JsonString(*welcome, "node"), node.id);
  }
  return c;
}

}  // namespace ringcast::testing
