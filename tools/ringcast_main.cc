// ringcast: the server command line. Reads flags and the config file
// (shard/config_options.h), starts the shards, waits for SIGINT/SIGTERM,
// drains and exits 0. Only main may exit; every startup error is one line on
// stderr and a non-zero status.
#include <signal.h>

#include <cstdio>
#include <optional>
#include <string>

#include "shard/config_options.h"
#include "shard/server.h"

int main(int argc, char** argv) {
  ringcast::shard::ServerOptions options;
  ringcast::shard::ConfigResult config = ringcast::shard::BuildOptions(argc, argv, &options);
  if (!config.ok) {
    std::fprintf(stderr, "ringcast: %s\n", config.error.c_str());
    return config.exit_code;
  }
  if (config.exit_now) {
    std::fputs(config.output.c_str(), stdout);
    return config.exit_code;
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
  for (const std::string& warning : server.warnings()) {
    std::fprintf(stderr, "ringcast: warning: %s\n", warning.c_str());
  }
  std::fprintf(stderr,
               "ringcast: listening on %s:%u with %u shards, up to %u connections each (node %s)\n",
               options.listen_host.c_str(), server.port(), server.shard_count(),
               server.options().max_connections_per_shard, server.options().node_id.c_str());
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "ringcast: %s received, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.RequestStop();
  server.Wait();
  return 0;
}
