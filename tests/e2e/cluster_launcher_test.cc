// tools/cluster.sh against the real ringcast binary. With cluster mode in the binary it starts
// Redis and two nodes that greet clients with their node ids, and SIGTERM stops every process
// it started (none is left accepting); without cluster mode it refuses at once with one line
// and starts nothing. Which case applies is asked of the binary itself, so a script that
// refuses a capable binary, or starts an incapable one, fails the test.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

#ifndef RINGCAST_SOURCE_DIR
#error "RINGCAST_SOURCE_DIR must name the source tree (tools/cluster.sh)"
#endif

namespace ringcast::testing {
namespace {

// Whether a loopback port can be bound right now.
bool PortFree(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// The first of two consecutive free loopback ports, or 0.
uint16_t TwoFreePorts() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const uint16_t p = FreePort();
    if (p != 0 && p < 65535 && PortFree(static_cast<uint16_t>(p + 1))) return p;
  }
  return 0;
}

// Whether any socket is in LISTEN state on `port`, from /proc/net/tcp and tcp6. Connecting to
// find out can succeed with nothing listening: a connect to a free port in the ephemeral range
// sometimes picks that very port as its source and connects to itself.
bool Listening(uint16_t port) {
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const size_t colon = local.rfind(':');
      if (colon == std::string::npos || state != "0A") continue;  // 0A: TCP_LISTEN
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
    }
  }
  return false;
}

// The kernel may drop an exited process's io_uring listener a moment after the exit.
bool StopsListening(uint16_t port) {
  return WaitUntil([port] { return !Listening(port); }, 2000);
}

bool BinaryHasClusterMode() {
  ChildServer probe(RINGCAST_BINARY);
  if (!probe.Spawn({"--print-config", "--redis", "redis://127.0.0.1:1", "--node-id", "n1"})) {
    return false;
  }
  return probe.WaitExit(10000) == 0;
}

class ClusterLauncherTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // SIGTERM lets the script stop what it started; ChildServer's SIGKILL would orphan it.
    if (script.running()) {
      script.Signal(SIGTERM);
      script.WaitExit(15000);
    }
  }

  ChildServer script{"/bin/bash"};
};

TEST_F(ClusterLauncherTest, StartsNamedNodesAndStopsEverything) {
  const uint16_t base = TwoFreePorts();
  const uint16_t redis = FreePort();
  ASSERT_NE(base, 0);
  ASSERT_NE(redis, 0);
  ASSERT_TRUE(script.Spawn({std::string(RINGCAST_SOURCE_DIR) + "/tools/cluster.sh", "--bin",
                            RINGCAST_BINARY, "--nodes", "2", "--shards", "1", "--base-port",
                            std::to_string(base), "--redis-port", std::to_string(redis)}));
  if (!BinaryHasClusterMode()) {
    EXPECT_EQ(script.WaitExit(10000), 2) << script.Stderr();
    EXPECT_NE(script.Stderr().find("does not understand --redis"), std::string::npos)
        << script.Stderr();
    EXPECT_FALSE(Listening(base));
    EXPECT_FALSE(Listening(redis));
    return;
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        return script.Stdout().find("Ctrl-C stops") != std::string::npos ||
               script.WaitExit(0) != -1;
      },
      30000))
      << script.Stderr();
  ASSERT_NE(script.Stdout().find("Ctrl-C stops"), std::string::npos)
      << script.Stdout() << script.Stderr();
  for (uint16_t k = 0; k < 2; ++k) {
    WsClient client;
    ASSERT_TRUE(client.Connect(static_cast<uint16_t>(base + k)));
    std::optional<std::string> welcome = client.ReadWelcome();
    ASSERT_TRUE(welcome.has_value());
    EXPECT_EQ(JsonString(*welcome, "node"), "node" + std::to_string(k + 1)) << *welcome;
  }
  EXPECT_TRUE(WaitAccepting(redis, 0));
  EXPECT_TRUE(Listening(base));
  EXPECT_TRUE(Listening(static_cast<uint16_t>(base + 1)));
  EXPECT_TRUE(Listening(redis));
  script.Signal(SIGTERM);
  EXPECT_EQ(script.WaitExit(15000), 0) << script.Stderr();
  // The script waits for each process it started before it exits.
  EXPECT_TRUE(StopsListening(base));
  EXPECT_TRUE(StopsListening(static_cast<uint16_t>(base + 1)));
  EXPECT_TRUE(StopsListening(redis));
}

}  // namespace
}  // namespace ringcast::testing
