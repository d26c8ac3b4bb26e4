// LoadOptions: the ringcast-load command line, parsed and validated once in main. Every other
// part of the generator reads these values and nothing else from the environment.
// Plain data; copied into forked child processes before any thread exists.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast::load {

enum class Scenario : uint8_t { kFanout, kDirect, kChurn, kIdle };

std::string_view ScenarioName(Scenario s);

struct LoadOptions {
  Scenario scenario = Scenario::kFanout;
  std::string url = "ws://127.0.0.1:8080/ws";
  std::string host;          // Host header value (HOST:PORT from the URL)
  std::string path = "/ws";  // request target (path and query)
  sockaddr_in target{};      // resolved IPv4 address
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
  uint32_t threads = 1;
  uint32_t procs = 0;  // 0 = automatic (one per 18000 connections)
  int server_pid = 0;
  bool json = false;
  bool live = true;            // live line each second on stderr
  bool spread_sources = true;  // bind 127.0.0.2.. when the target is loopback

  bool closed_loop() const { return rate <= 0 && scenario != Scenario::kIdle; }
  bool target_is_loopback() const { return (ntohl(target.sin_addr.s_addr) >> 24) == 127; }
  // Connections this scenario holds open at once (churn: at most `conns`).
  uint64_t planned_connections() const;
};

extern const char kLoadUsage[];

// Parses argv into *out. nullopt on success; otherwise a one-line error. `--help` sets *help.
[[nodiscard]] std::optional<std::string> ParseLoadArgs(int argc, char** argv, LoadOptions* out,
                                                       bool* help);

}  // namespace ringcast::load
