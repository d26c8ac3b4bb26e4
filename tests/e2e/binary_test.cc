// The real `ringcast` binary: command line, startup errors, and graceful
// shutdown on SIGTERM/SIGINT (every client gets `bye` with reconnect:true and
// close 1001, the process exits 0). Children are always killed and reaped by
// ChildServer's destructor.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

size_t CountLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) +
         (!text.empty() && text.back() != '\n' ? 1 : 0);
}

TEST(BinaryTest, HelpExitsZeroAndNamesTheMainFlags) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.Spawn({"--help"}));
  EXPECT_EQ(child.WaitExit(kExitTimeoutMs), 0) << child.Stderr();
  std::string help = child.Stdout() + child.Stderr();
  for (const char* flag : {"--listen", "--shards", "--max-message-bytes", "--max-queued-bytes"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << "--help does not mention " << flag << ":\n"
                                                  << help;
  }
}

TEST(BinaryTest, UnknownFlagExitsNonZeroWithOneLine) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.Spawn({"--no-such-flag"}));
  int status = child.WaitExit(kExitTimeoutMs);
  EXPECT_NE(status, -1) << "still running";
  EXPECT_NE(status, 0);
  EXPECT_LT(status, 128) << "killed by a signal instead of exiting";
  std::string err = child.Stderr();
  EXPECT_EQ(CountLines(err), 1u) << "stderr:\n" << err;
  EXPECT_NE(err.find("--no-such-flag"), std::string::npos) << "stderr does not name the flag:\n"
                                                           << err;
}

TEST(BinaryTest, PortInUseExitsNonZeroWithOneLine) {
  // A plain listener (no SO_REUSEPORT) holds the port.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  uint16_t port = ntohs(addr.sin_port);

  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.Spawn({"--listen", "127.0.0.1:" + std::to_string(port), "--shards", "2"}));
  int status = child.WaitExit(kExitTimeoutMs);
  ::close(fd);
  EXPECT_NE(status, -1) << "still running with its port taken";
  EXPECT_NE(status, 0);
  EXPECT_LT(status, 128) << "killed by a signal instead of exiting";
  std::string err = child.Stderr();
  EXPECT_EQ(CountLines(err), 1u) << "stderr:\n" << err;
  EXPECT_NE(err.find(std::to_string(port)), std::string::npos) << "stderr does not name the port:\n"
                                                               << err;
}

// SIGTERM / SIGINT: bye{reconnect:true} then close 1001 on every client, exit 0.
void ExpectGracefulShutdown(int sig) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "2"})) << child.Stderr();
  constexpr size_t kClients = 8;
  auto clients = ConnectMany(child.port(), kClients);
  ASSERT_FALSE(::testing::Test::HasFailure()) << child.Stderr();
  // Something subscribed, to have state to tear down.
  for (auto& c : clients) ASSERT_TRUE(Subscribe(*c, "shutdown-room", 1));

  child.Signal(sig);
  for (size_t i = 0; i < kClients; ++i) {
    auto bye = clients[i]->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(bye.has_value()) << "client " << i << " got no bye (close code "
                                 << clients[i]->close_code().value_or(0) << ")";
    EXPECT_EQ(JsonString(*bye, "op"), "bye") << *bye;
    EXPECT_EQ(JsonBool(*bye, "reconnect"), true) << *bye;
    EXPECT_EQ(JsonUint(*bye, "code"), 1001u) << *bye;
    EXPECT_FALSE(JsonString(*bye, "reason").empty()) << "bye without a reason: " << *bye;
    auto code = clients[i]->WaitClose(kReadTimeoutMs);
    EXPECT_EQ(code, std::optional<uint16_t>(1001)) << "client " << i;
  }
  EXPECT_EQ(child.WaitExit(kExitTimeoutMs), 0) << "stderr:\n" << child.Stderr();
  // The port no longer accepts.
  WsClient late;
  EXPECT_FALSE(late.ConnectTcp(child.port()));
}

TEST(BinaryTest, SigtermDrainsClientsAndExitsZero) { ExpectGracefulShutdown(SIGTERM); }

TEST(BinaryTest, SigintDrainsClientsAndExitsZero) { ExpectGracefulShutdown(SIGINT); }

TEST(BinaryTest, SigtermWithNoClientsExitsZeroQuickly) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "2"})) << child.Stderr();
  int64_t start = NowMs();
  child.Signal(SIGTERM);
  EXPECT_EQ(child.WaitExit(kExitTimeoutMs), 0) << child.Stderr();
  EXPECT_LT(NowMs() - start, 3000);
}

TEST(BinaryTest, MaxMessageBytesFlagIsHonoured) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "2", "--max-message-bytes", "1024"}))
      << child.Stderr();
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, child.port()));
  client.SendText(R"({"op":"ping","id":1,"pad":")" + std::string(900, 'a') + "\"}");
  auto pong = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(JsonString(*pong, "op"), "pong");
  client.SendText(R"({"op":"ping","id":2,"pad":")" + std::string(2000, 'a') + "\"}");
  EXPECT_EQ(client.WaitClose(kReadTimeoutMs), std::optional<uint16_t>(1009));
}

TEST(BinaryTest, ServesPubSubAcrossShards) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "2"})) << child.Stderr();
  auto subs = ConnectMany(child.port(), 6);
  auto pubs = ConnectMany(child.port(), 6);
  ASSERT_FALSE(::testing::Test::HasFailure());
  for (size_t i = 0; i < subs.size(); ++i) {
    std::string room = "bin-" + std::to_string(i);
    ASSERT_TRUE(Subscribe(*subs[i], room, 1));
    pubs[i]->SendText(PubCommand(room, R"({"i":)" + std::to_string(i) + "}"));
    EXPECT_TRUE(IsMsg(subs[i]->ReadMessage(kReadTimeoutMs), room, pubs[i]->user(),
                      R"({"i":)" + std::to_string(i) + "}"));
  }
}

}  // namespace
}  // namespace ringcast::testing
