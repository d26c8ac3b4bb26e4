// The real `ringcast` binary run as an operator runs it: a second process on a
// port that one already serves, the process's open-file limit, and the
// start-up warning about anonymous `?user=` identities on a public address.
// Children are always killed and reaped by ChildServer's destructor.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
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
constexpr char kPrlimit[] = "/usr/bin/prlimit";  // util-linux

constexpr char kUpgradeRequest[] =
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

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

// A supervisor restarts a crashed server at once, on the same port. The
// kernel releases a killed process's io_uring (and the listener its accept
// holds) a moment after the exit; the restart must wait that out instead of
// refusing the port. Five kill-and-restart rounds: without the grace at least
// one of them met the dead process's listener on this machine (4 restarts in
// 10 were refused).
TEST(OperatorTest, ServerRestartedAtOnceAfterSigkillGetsItsPortBack) {
  auto server = std::make_unique<ChildServer>(RINGCAST_BINARY);
  ASSERT_TRUE(server->StartListening({"--shards", "2", "--no-pin"})) << server->Stderr();
  const uint16_t port = server->port();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  for (int round = 0; round < 5; ++round) {
    // A connection in flight makes the listener's teardown do some work.
    WsClient client;
    ASSERT_TRUE(client.Connect(port)) << "round " << round;
    server->Kill();  // SIGKILL + reap
    server = std::make_unique<ChildServer>(RINGCAST_BINARY);
    ASSERT_TRUE(server->Spawn({"--listen", address, "--shards", "2", "--no-pin"}));
    const std::string err = StartupOutput(*server);
    ASSERT_NE(err.find("listening on " + address), std::string::npos)
        << "round " << round << ", stderr:\n"
        << err;
    ASSERT_TRUE(server->running()) << "round " << round;
  }
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

std::string StatusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

// The number in "up to N connections each" of the start-up line.
std::optional<uint64_t> ConnectionsPerShard(const std::string& startup) {
  const std::string marker = "up to ";
  size_t at = startup.find(marker);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(startup.substr(at + marker.size()));
}

// Fills a one-shard server on `port`: connects welcomed clients until an upgrade is refused
// (bounded above the open-file limits the tests set). Returns the refusal's error, or nullopt
// (with a test failure) when a client was not welcomed or the server never filled.
std::optional<std::string> FillShard(uint16_t port,
                                     std::vector<std::unique_ptr<WsClient>>* clients) {
  constexpr size_t kMaxClients = 300;
  while (clients->size() < kMaxClients) {
    auto client = std::make_unique<WsClient>();
    if (!client->Connect(port, "/ws", SourceIp(clients->size()))) return client->last_error();
    if (!client->ReadWelcome(kReadTimeoutMs)) {
      ADD_FAILURE() << "client " << clients->size() << " was not welcomed";
      return std::nullopt;
    }
    clients->push_back(std::move(client));
  }
  ADD_FAILURE() << "never full";
  return std::nullopt;
}

// At the open-file limit, new clients used to wait unanswered in the backlog
// (accept failed with EMFILE) and /healthz could not be reached: a load
// balancer saw a dead node. Now the connection limit fits the limit, and a
// full shard answers upgrades with 503 from its HTTP reserve while /healthz
// and the API keep working.
TEST(OperatorTest, FullNodeUnderALowOpenFileLimitAnswers503AndServesHttp) {
  const uint16_t port = FreePort();
  ASSERT_NE(port, 0);
  ChildServer child(kPrlimit);
  ASSERT_TRUE(child.Spawn({"--nofile=256:256", RINGCAST_BINARY, "--listen",
                           "127.0.0.1:" + std::to_string(port), "--shards", "1", "--no-pin"}));
  ASSERT_TRUE(WaitAccepting(port, kStartTimeoutMs)) << child.Stderr();
  const std::string startup = StartupOutput(child);
  EXPECT_NE(startup.find("ringcast: warning: the open-file limit is low (256)"), std::string::npos)
      << startup;

  // Fill the shard: connect until an upgrade is refused.
  std::vector<std::unique_ptr<WsClient>> clients;
  std::optional<std::string> refusal = FillShard(port, &clients);
  ASSERT_TRUE(refusal.has_value());
  ASSERT_FALSE(clients.empty()) << *refusal;
  EXPECT_EQ(ConnectionsPerShard(startup), clients.size())
      << "full at another count than the start-up line says: " << startup;
  ASSERT_TRUE(Subscribe(*clients[0], "ops-full", 1));

  // A new upgrade gets 503 with Retry-After, promptly (well within the read timeout).
  WsClient late;
  ASSERT_TRUE(late.ConnectTcp(port));
  const std::string response = late.RawHttp(kUpgradeRequest, 2000);
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 503 Service Unavailable") << response;
  EXPECT_NE(response.find("\r\nRetry-After: "), std::string::npos) << response;
  EXPECT_NE(response.find("server full"), std::string::npos) << response;

  // /healthz and the API still answer.
  WsClient health;
  ASSERT_TRUE(health.ConnectTcp(port));
  EXPECT_EQ(StatusLine(health.RawHttp("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 2000)),
            "HTTP/1.1 200 OK");
  const std::string body = R"({"room":"ops-full","data":{"n":1}})";
  WsClient api;
  ASSERT_TRUE(api.ConnectTcp(port));
  const std::string published = api.RawHttp(
      "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body,
      2000);
  EXPECT_EQ(StatusLine(published), "HTTP/1.1 200 OK") << published;
  auto msg = clients[0]->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(msg.has_value()) << "the publication did not arrive";
  EXPECT_EQ(JsonField(*msg, "data"), R"({"n":1})") << *msg;
  std::optional<uint64_t> refused = StatsTotal(port, "upgrades_refused_full");
  ASSERT_TRUE(refused.has_value()) << "/api/stats did not answer on a full node";
  EXPECT_GE(*refused, 2u);  // the fill's last attempt and `late`

  // Once some clients leave, upgrades succeed again.
  for (size_t i = 0; i < 4; ++i) {
    clients.back()->Close();
    clients.pop_back();
  }
  WsClient again;
  EXPECT_TRUE(WaitUntil([&] { return again.Connect(port, "/ws", SourceIp(7)); }, kReadTimeoutMs))
      << again.last_error();
}

// Without an HTTP reserve a full shard answers 503 on the accepted socket and closes it. The
// request has arrived with the accept (TCP_DEFER_ACCEPT), so the shard reads it first: closing
// over unread bytes would reset the connection, and a client could lose the 503 with it.
TEST(OperatorTest, FullNodeWithoutAReserveAnswers503AndClosesCleanly) {
  const uint16_t port = FreePort();
  ASSERT_NE(port, 0);
  ChildServer child(kPrlimit);
  ASSERT_TRUE(child.Spawn({"--nofile=256:256", RINGCAST_BINARY, "--listen",
                           "127.0.0.1:" + std::to_string(port), "--shards", "1", "--no-pin",
                           "--http-reserve", "0"}));
  ASSERT_TRUE(WaitAccepting(port, kStartTimeoutMs)) << child.Stderr();
  std::vector<std::unique_ptr<WsClient>> clients;
  std::optional<std::string> refusal = FillShard(port, &clients);
  ASSERT_TRUE(refusal.has_value());
  ASSERT_FALSE(clients.empty()) << *refusal;

  WsClient late;
  ASSERT_TRUE(late.ConnectTcp(port));
  const std::string response = late.RawHttp(kUpgradeRequest, 2000);
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 503 Service Unavailable") << response;
  EXPECT_NE(response.find("server full"), std::string::npos) << response;
  EXPECT_TRUE(late.WaitEof(2000)) << "not closed after the 503";
  EXPECT_FALSE(late.reset()) << "the 503 ended with a reset";
}

// Starts the binary on `host` with `args` and tells whether it warned about
// anonymous identities before its start-up line.
bool WarnsAboutAnonymous(const std::string& host, const std::vector<std::string>& args) {
  const uint16_t port = FreePort();
  EXPECT_NE(port, 0);
  std::vector<std::string> argv = {"--listen", host + ":" + std::to_string(port), "--shards", "1",
                                   "--no-pin"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildServer child(RINGCAST_BINARY);
  EXPECT_TRUE(child.Spawn(argv));
  const std::string startup = StartupOutput(child);
  EXPECT_NE(startup.find("listening on"), std::string::npos) << startup;
  return startup.find("ringcast: warning: anonymous mode") != std::string::npos;
}

// Anyone may claim any user id with ?user= when there is no JWT secret: fine
// on a developer's loopback, worth a warning on a public address.
TEST(OperatorTest, AnonymousUserParamBeyondLoopbackWarnsAtStartup) {
  EXPECT_TRUE(WarnsAboutAnonymous("0.0.0.0", {}));
}

TEST(OperatorTest, AnonymousUserParamOnLoopbackDoesNotWarn) {
  EXPECT_FALSE(WarnsAboutAnonymous("127.0.0.1", {}));
}

TEST(OperatorTest, JwtSecretOrNoUserParamBeyondLoopbackDoesNotWarn) {
  EXPECT_FALSE(WarnsAboutAnonymous("0.0.0.0", {"--jwt-secret", "operator-test-secret"}));
  EXPECT_FALSE(WarnsAboutAnonymous("0.0.0.0", {"--allow-anonymous-user-param", "false"}));
}

}  // namespace
}  // namespace ringcast::testing
