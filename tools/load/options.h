// LoadOptions: the ringcast-load command line, parsed and validated once in main. Every other
// part of the generator reads these values and nothing else from the environment.
// Several --url values name several nodes of one cluster; Plan decides which node each
// connection dials (Spread, --pub-nodes, --sub-nodes), so the options only hold the list.
// Plain data; copied into forked child processes before any thread exists.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::load {

enum class Scenario : uint8_t { kFanout, kDirect, kChurn, kIdle };

std::string_view ScenarioName(Scenario s);

// How connections are spread over several nodes (Plan::NodeOf says exactly).
//   kConn: round robin per connection; the members of one room go to successive nodes, so a
//          room's subscribers are spread over every node (what cluster mode must carry).
//   kRoom: every connection of room r (its subscribers and its publisher) on one node, rooms
//          spread over nodes: no publication has to cross nodes (the baseline without Redis).
enum class Spread : uint8_t { kConn, kRoom };

// One node to dial, from one --url.
struct Node {
  std::string url;
  std::string host;          // Host header value (HOST:PORT from the URL)
  std::string path = "/ws";  // request target (path and query)
  sockaddr_in addr{};        // resolved IPv4 address

  bool IsLoopback() const { return (ntohl(addr.sin_addr.s_addr) >> 24) == 127; }
};

// Most nodes one run may name: a cluster behind one load generator, not a fleet.
inline constexpr uint32_t kMaxNodes = 64;

struct LoadOptions {
  Scenario scenario = Scenario::kFanout;
  std::vector<Node> nodes;  // from --url (ws://127.0.0.1:8080/ws when none is given)
  // fanout: the nodes (indices into `nodes`) publishers and subscribers dial; empty = all.
  std::vector<uint32_t> pub_nodes;
  std::vector<uint32_t> sub_nodes;
  Spread spread = Spread::kConn;
  std::string dialect = "native";

  uint32_t rooms = 1;
  uint32_t subs = 100;
  uint32_t pubs = 1;
  double rate = 1000;   // fanout/direct: total msgs/s; churn: cycles/s; 0 = closed loop
  uint32_t window = 1;  // closed loop: messages in flight per publisher
  uint32_t size = 64;   // payload bytes (at least 46, the fixed part)
  double duration_s = 5;
  double warmup_s = 1;
  double drain_s = 2;
  uint32_t conns = 1000;  // idle: connections; churn: concurrent cycles; direct: users
  double ramp = 5000;     // new connections per second while connecting
  uint32_t rcvbuf = 0;    // SO_RCVBUF of every connection; 0 = the kernel's autotuning
  uint32_t threads = 1;
  uint32_t procs = 0;            // 0 = automatic (one per 18000 connections)
  std::vector<int> server_pids;  // summed: the nodes of a cluster on this host
  bool json = false;
  bool live = true;            // live line each second on stderr
  bool spread_sources = true;  // bind 127.0.0.2.. when the target is loopback

  bool closed_loop() const { return rate <= 0 && scenario != Scenario::kIdle; }
  // Connections this scenario holds open at once (churn: at most `conns`).
  uint64_t planned_connections() const;
  // The --url values joined by commas (the report's "url").
  std::string UrlList() const;
};

extern const char kLoadUsage[];

// Parses argv into *out. nullopt on success; otherwise a one-line error. `--help` sets *help.
[[nodiscard]] std::optional<std::string> ParseLoadArgs(int argc, char** argv, LoadOptions* out,
                                                       bool* help);

}  // namespace ringcast::load
