// The real `ringcast` binary run as an operator runs it: a second process on a
// port that one already serves, the process's open-file limit, and the
// start-up warning about anonymous `?user=` identities on a public address.
// Children are always killed and reaped by ChildServer's destructor.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

#ifndef RINGCAST_BINARY
#error "RINGCAST_BINARY must name the built ringcast executable"
#endif

namespace ringcast::testing {
namespace {

constexpr int kExitTimeoutMs = 5000;
constexpr int kStartTimeoutMs = 10000;

size_t CountLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) +
         (!text.empty() && text.back() != '\n' ? 1 : 0);
}

// Waits for the start-up line (printed after the warnings) and returns stderr.
std::string StartupOutput(const ChildServer& child) {
  WaitUntil([&] { return child.Stderr().find("listening on") != std::string::npos; },
            kStartTimeoutMs);
  return child.Stderr();
}

// SO_REUSEPORT would let a second ringcast join the first one's port and take
// half of the new clients into rooms of its own. It must refuse instead.
TEST(OperatorTest, SecondProcessOnAServedPortExitsWithAddressInUse) {
  ChildServer first(RINGCAST_BINARY);
  ASSERT_TRUE(first.StartListening({"--shards", "2", "--no-pin"})) << first.Stderr();
  const std::string address = "127.0.0.1:" + std::to_string(first.port());

  ChildServer second(RINGCAST_BINARY);
  ASSERT_TRUE(second.Spawn({"--listen", address, "--shards", "2", "--no-pin"}));
  int status = second.WaitExit(kExitTimeoutMs);
  EXPECT_NE(status, -1) << "the second process is serving the first one's port";
  EXPECT_NE(status, 0);
  EXPECT_LT(status, 128) << "killed by a signal instead of exiting";
  std::string err = second.Stderr();
  EXPECT_EQ(CountLines(err), 1u) << "stderr:\n" << err;
  EXPECT_NE(err.find("ringcast: " + address + ": address already in use"), std::string::npos)
      << "stderr:\n"
      << err;

  // Every new client reaches the first process (its node id is in its start-up line).
  const std::string started = StartupOutput(first);
  const size_t at = started.find("(node ");
  ASSERT_NE(at, std::string::npos) << started;
  const std::string node = started.substr(at + 6, started.find(')', at) - at - 6);
  for (size_t i = 0; i < 16; ++i) {
    WsClient client;
    ASSERT_TRUE(ConnectWelcomed(client, first.port(), SourceIp(i)));
    EXPECT_EQ(client.sid().substr(0, client.sid().find('-')), node) << "client " << i;
  }
}

}  // namespace
}  // namespace ringcast::testing
