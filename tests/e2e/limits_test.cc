// Keepalive, per-connection limits and lame-duck draining over real shards.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr uint8_t kOpPing = 0x9;

std::string HealthzStatus(uint16_t port) {
  WsClient probe;
  if (!probe.ConnectTcp(port)) return "connect failed";
  std::string response = probe.RawHttp("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  return response.substr(0, response.find("\r\n"));
}

TEST(KeepaliveTest, ServerPingsASilentConnection) {
  auto options = TestServerOptions(1);
  options.ping_interval_ms = 200;
  options.idle_timeout_ms = 0;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, server.port()));
  auto frame = client.ReadFrame(3000);
  ASSERT_TRUE(frame.has_value()) << "no ping within 3 s";
  EXPECT_EQ(frame->opcode, kOpPing);
}

TEST(KeepaliveTest, ConnectionAnsweringPingsStaysOpenAndSilentOneIsClosed) {
  auto options = TestServerOptions(1);
  options.ping_interval_ms = 100;
  options.idle_timeout_ms = 400;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient lively, silent;
  ASSERT_TRUE(ConnectWelcomed(lively, server.port(), "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(silent, server.port(), "127.0.0.3"));
  // `lively` answers pings (ReadMessage pongs them) for a second; `silent` never reads.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
  while (std::chrono::steady_clock::now() < until) {
    auto msg = lively.ReadMessage(100);
    ASSERT_FALSE(msg.has_value()) << "unexpected message " << *msg;
    ASSERT_FALSE(lively.close_code().has_value()) << "a connection answering pings was closed";
  }
  lively.SendText(R"({"op":"ping","id":1})");
  auto pong = lively.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(JsonString(*pong, "op"), "pong");
  auto code = silent.WaitClose(3000);
  ASSERT_TRUE(code.has_value()) << "silent connection not closed";
  EXPECT_EQ(*code, 1000);
  EXPECT_EQ(silent.close_reason(), "idle timeout");
}

TEST(LimitsTest, CommandFloodGetsRateLimitedThenClosedWith1008) {
  auto options = TestServerOptions(1);
  options.commands_per_second = 50;
  options.command_burst = 20;
  options.rate_limit_grace_ms = 300;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient flood, polite;
  ASSERT_TRUE(ConnectWelcomed(flood, server.port(), "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(polite, server.port(), "127.0.0.3"));
  std::string batch;
  for (int i = 1; i <= 40; ++i) batch += R"({"op":"ping","id":)" + std::to_string(i) + "}\n";
  flood.SendText(batch);
  int pongs = 0, limited = 0;
  for (int i = 1; i <= 40; ++i) {
    auto msg = flood.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << i;
    EXPECT_EQ(JsonUint(*msg, "id"), static_cast<uint64_t>(i)) << "replies keep command order";
    if (JsonString(*msg, "op") == "pong") ++pongs;
    if (JsonString(*msg, "code") == "rate_limited") ++limited;
  }
  EXPECT_EQ(pongs, 20) << "the burst is served";
  EXPECT_EQ(limited, 20) << "the rest is refused with rate_limited";
  // Keep flooding past the grace period: the server closes with 1008.
  for (int round = 0; round < 30 && !flood.close_code(); ++round) {
    flood.SendText(batch);
    while (flood.ReadMessage(20)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(flood.close_code().has_value()) << "abuse never closed the connection";
  EXPECT_EQ(*flood.close_code(), 1008);
  // Others are unaffected.
  polite.SendText(R"({"op":"ping","id":7})");
  auto pong = polite.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(JsonString(*pong, "op"), "pong");
}

TEST(LimitsTest, SubscriptionsPerConnectionAreCapped) {
  auto options = TestServerOptions(2);
  options.max_subscriptions_per_connection = 3;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, server.port()));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Subscribe(client, "cap-" + std::to_string(i), i + 1));
  client.SendText(R"({"op":"sub","room":"cap-3","id":9})");
  EXPECT_TRUE(NextIsError(client, "limit", 9));
  client.SendText(R"({"op":"unsub","room":"cap-0","id":10})");
  EXPECT_TRUE(NextIsOk(client, 10));
  EXPECT_TRUE(Subscribe(client, "cap-3", 11)) << "a freed place can be used again";
}

TEST(LimitsTest, ConnectionsPastTheShardLimitGet503) {
  auto options = TestServerOptions(1);
  options.max_connections_per_shard = 2;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient a, b;
  ASSERT_TRUE(ConnectWelcomed(a, server.port()));
  ASSERT_TRUE(ConnectWelcomed(b, server.port()));
  WsClient full;
  ASSERT_TRUE(full.ConnectTcp(server.port()));
  std::string response = full.RawHttp("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(response.substr(0, response.find("\r\n")), "HTTP/1.1 503 Service Unavailable")
      << response;
  a.Close();  // a freed slot is usable again
  bool again = false;
  for (int i = 0; i < 50 && !again; ++i) {
    WsClient c;
    again = c.Connect(server.port());
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(again);
}

TEST(DrainTest, LameDuckRefusesNewUpgradesAnswers503AndSpreadsCloses) {
  auto options = TestServerOptions(2);
  options.drain_timeout_ms = 1200;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  EXPECT_EQ(HealthzStatus(server.port()), "HTTP/1.1 200 OK");
  constexpr int kClients = 12;
  std::vector<WsClient> clients(kClients);
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(ConnectWelcomed(clients[i], server.port(), SourceIp(i)));
    ASSERT_TRUE(Subscribe(clients[i], "drain", 1));
  }
  WsClient publisher;
  ASSERT_TRUE(ConnectWelcomed(publisher, server.port(), "127.0.0.100"));
  publisher.SendText(PubCommand("drain", "\"last words\"", 5));
  ASSERT_TRUE(NextIsOk(publisher, 5));  // the owner has handed it to every shard
  auto start = std::chrono::steady_clock::now();
  server.server().RequestStop();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(HealthzStatus(server.port()), "HTTP/1.1 503 Service Unavailable");
  WsClient late;
  EXPECT_FALSE(late.Connect(server.port())) << "upgrades are refused while draining";
  std::vector<double> bye_at_ms;
  for (auto& c : clients) {
    auto msg = c.ReadMessage(kReadTimeoutMs);  // queued messages are flushed first
    ASSERT_TRUE(msg.has_value());
    EXPECT_TRUE(IsMsg(msg, "drain", publisher.user(), "\"last words\"")) << *msg;
  }
  for (auto& c : clients) {
    auto bye = c.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(bye.has_value());
    EXPECT_EQ(JsonString(*bye, "op"), "bye");
    EXPECT_EQ(JsonBool(*bye, "reconnect"), true);
    bye_at_ms.push_back(std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - start)
                            .count());
    auto code = c.WaitClose(kReadTimeoutMs);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 1001);
  }
  std::sort(bye_at_ms.begin(), bye_at_ms.end());
  EXPECT_GT(bye_at_ms.back() - bye_at_ms.front(), 300.0)
      << "closes were not spread over the drain period";
  server.Stop();
}

}  // namespace
}  // namespace ringcast::testing
