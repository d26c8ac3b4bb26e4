// ringcast: the server command line. Parses flags, starts the shards, waits
// for SIGINT/SIGTERM, drains and exits 0. Only main may exit; every startup
// error is one line on stderr and a non-zero status.
#include <mimalloc.h>
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "net/listener.h"
#include "shard/server.h"

namespace {

constexpr char kUsage[] =
    "usage: ringcast [flags]\n"
    "\n"
    "A WebSocket pub/sub broker: one io_uring shard per core. Clients connect to\n"
    "ws://HOST:PORT/ws (see PROTOCOL.md in the project).\n"
    "\n"
    "flags:\n"
    "  --listen HOST:PORT         address to listen on (default 0.0.0.0:8080)\n"
    "  --shards N                 shard threads, one per core (default: online CPUs)\n"
    "  --max-message-bytes N      largest client message; larger closes with 1009\n"
    "                             (default 65536)\n"
    "  --max-queued-bytes N       outbound bytes a connection may have queued before\n"
    "                             it is closed as a slow consumer with 4000\n"
    "                             (default 1048576)\n"
    "  --max-head-bytes N         largest HTTP request head; larger gets 431 (default 8192)\n"
    "  --handshake-timeout-ms N   close connections that do not finish the HTTP\n"
    "                             upgrade in time (default 10000)\n"
    "  --drain-ms N               on SIGINT/SIGTERM, time allowed to send `bye` +\n"
    "                             close 1001 and flush before exiting (default 3000)\n"
    "  --max-connections N        connections per shard (default 262144)\n"
    "  --node-id ID               node id shown in `welcome` (default: random)\n"
    "  --no-pin                   do not pin shard threads to cores\n"
    "  --help                     show this text\n"
    "  --version                  print the version\n";

bool ParseUint(std::string_view text, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max) {
    return false;
  }
  *out = v;
  return true;
}

int Fail(const std::string& line) {
  std::fprintf(stderr, "ringcast: %s\n", line.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ringcast::shard::ServerOptions options;
  std::string listen = "0.0.0.0:8080";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("ringcast 0.1.0 (mimalloc %d)\n", mi_version());
      return 0;
    }
    if (arg == "--no-pin") {
      options.pin_threads = false;
      continue;
    }
    auto need_value = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    uint64_t n = 0;
    auto number = [&](uint64_t min, uint64_t max) -> bool {
      return need_value() && ParseUint(value, max, &n) && n >= min;
    };
    if (arg == "--listen") {
      if (!need_value()) return Fail("--listen needs HOST:PORT");
      listen = std::string(value);
    } else if (arg == "--shards") {
      if (!number(1, 64)) return Fail("--shards needs a number from 1 to 64");
      options.shards = static_cast<unsigned>(n);
    } else if (arg == "--max-message-bytes") {
      if (!number(16, 1ull << 30)) return Fail("--max-message-bytes needs a number of bytes >= 16");
      options.max_message_bytes = n;
    } else if (arg == "--max-queued-bytes") {
      if (!number(1024, 1ull << 40)) return Fail("--max-queued-bytes needs a number of bytes >= 1024");
      options.max_queued_bytes = n;
    } else if (arg == "--max-head-bytes") {
      if (!number(256, 1 << 20)) return Fail("--max-head-bytes needs a number from 256 to 1048576");
      options.max_head_bytes = n;
    } else if (arg == "--handshake-timeout-ms") {
      if (!number(1, 3600000)) return Fail("--handshake-timeout-ms needs milliseconds >= 1");
      options.handshake_timeout_ms = static_cast<uint32_t>(n);
    } else if (arg == "--drain-ms") {
      if (!number(0, 3600000)) return Fail("--drain-ms needs milliseconds");
      options.drain_timeout_ms = static_cast<uint32_t>(n);
    } else if (arg == "--max-connections") {
      if (!number(1, 1u << 30)) return Fail("--max-connections needs a number >= 1");
      options.max_connections_per_shard = static_cast<uint32_t>(n);
    } else if (arg == "--node-id") {
      if (!need_value() || value.empty() || value.size() > 32) {
        return Fail("--node-id needs an id of 1-32 characters");
      }
      options.node_id = std::string(value);
    } else {
      return Fail("unknown flag '" + std::string(arg) + "' (see ringcast --help)");
    }
  }
  if (!ringcast::net::SplitHostPort(listen, &options.listen_host, &options.port)) {
    return Fail("--listen needs HOST:PORT, got '" + listen + "'");
  }

  // Shard threads inherit this mask: only the sigwait below sees the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ringcast::shard::Server server(options);
  if (std::optional<std::string> error = server.Start()) {
    std::fprintf(stderr, "ringcast: %s\n", error->c_str());
    return 1;
  }
  std::fprintf(stderr, "ringcast: listening on %s:%u with %u shards (node %s)\n",
               options.listen_host.c_str(), server.port(), server.shard_count(),
               server.options().node_id.c_str());
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "ringcast: %s received, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.RequestStop();
  server.Wait();
  return 0;
}
