// Keepalive, per-connection limits and lame-duck draining over real shards.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

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
  core::ManualClock clock;
  InProcessServer server(options, &clock);
  ASSERT_FALSE(server.Start().has_value());
  WsClient lively, silent;
  ASSERT_TRUE(ConnectWelcomed(lively, server.port(), "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(silent, server.port(), "127.0.0.3"));
  // 1.2 s of server time in steps of one ping interval: `lively` answers each
  // ping before the next step; `silent` never reads.
  for (int step = 1; step <= 12; ++step) {
    clock.Advance(100);
    auto ping = lively.ReadFrame(kReadTimeoutMs);
    ASSERT_TRUE(ping.has_value()) << "no ping at step " << step;
    ASSERT_EQ(ping->opcode, kOpPing) << "step " << step;
    lively.SendFrame(kOpPong, ping->payload);
    // Replies keep order behind the pong: once this is answered, the server
    // has read the pong.
    lively.SendText(R"({"op":"ping","id":)" + std::to_string(step) + "}");
    auto pong = lively.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(pong.has_value()) << "a connection answering pings was closed at step " << step;
    ASSERT_EQ(JsonString(*pong, "op"), "pong");
  }
  auto code = silent.WaitClose(kReadTimeoutMs);
  ASSERT_TRUE(code.has_value()) << "silent connection not closed";
  EXPECT_EQ(*code, 1000);
  EXPECT_EQ(silent.close_reason(), "idle timeout");
}

TEST(LimitsTest, CommandFloodGetsRateLimitedThenClosedWith1008) {
  auto options = TestServerOptions(1);
  options.commands_per_second = 50;
  options.command_burst = 20;
  options.rate_limit_grace_ms = 300;
  core::ManualClock clock;  // no token comes back until the test moves time
  InProcessServer server(options, &clock);
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
  // Still refused within the grace period...
  clock.Advance(300);
  flood.SendText(batch);
  for (int i = 1; i <= 40; ++i) {
    auto msg = flood.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << "closed within the grace period, at reply " << i;
  }
  // ... and abuse that outlasts it (the refill of 1 ms is far from the whole
  // burst) closes with 1008.
  clock.Advance(1);
  flood.SendText(batch);
  flood.WaitClose(kReadTimeoutMs);
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
  // The connection itself is taken (into the HTTP reserve); its upgrade is refused.
  WsClient full;
  ASSERT_TRUE(full.ConnectTcp(server.port()));
  std::string response = full.RawHttp(
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(response.substr(0, response.find("\r\n")), "HTTP/1.1 503 Service Unavailable")
      << response;
  // A freed slot is usable again: once the server has seen a's close, an upgrade succeeds.
  a.Close();
  WsClient again;
  EXPECT_TRUE(WaitUntil([&] { return again.Connect(server.port()); }, kReadTimeoutMs))
      << again.last_error();
}

TEST(DrainTest, LameDuckRefusesNewUpgradesAnswers503AndSpreadsCloses) {
  auto options = TestServerOptions(2);
  options.drain_timeout_ms = 1200;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  EXPECT_EQ(HealthzStatus(server.port()), "HTTP/1.1 200 OK");
  // At least kClients, and at least three on each shard (SO_REUSEPORT spreads them by
  // 4-tuple): every shard's drain is seen, and no shard closes its listener, which it does
  // once it has said bye to all of its clients, while the test looks at lame-duck mode.
  constexpr size_t kClients = 12;
  std::vector<WsClient> clients;
  size_t per_shard[2] = {0, 0};
  for (size_t i = 0;
       i < 64 && (clients.size() < kClients || std::min(per_shard[0], per_shard[1]) < 3); ++i) {
    clients.emplace_back();
    ASSERT_TRUE(ConnectWelcomed(clients.back(), server.port(), SourceIp(i)));
    ASSERT_TRUE(Subscribe(clients.back(), "drain", 1));
    ++per_shard[ShardOf(clients.back())];
  }
  ASSERT_GE(std::min(per_shard[0], per_shard[1]), 3u) << "could not spread clients over shards";
  WsClient publisher;
  ASSERT_TRUE(ConnectWelcomed(publisher, server.port(), "127.0.0.100"));
  publisher.SendText(PubCommand("drain", "\"last words\"", 5));
  ASSERT_TRUE(NextIsOk(publisher, 5));  // the owner has handed it to every shard
  auto start = std::chrono::steady_clock::now();
  server.server().RequestStop();

  // What each client has read: the publication queued before the stop (queued messages are
  // flushed first), then bye, and when.
  struct Seen {
    bool msg = false;
    std::optional<double> bye_at_ms;
  };
  std::vector<Seen> seen(clients.size());
  auto read = [&](size_t i, int timeout_ms) {
    while (!seen[i].bye_at_ms) {
      auto m = clients[i].ReadMessage(timeout_ms);
      if (!m) return;
      if (!seen[i].msg) {
        EXPECT_TRUE(IsMsg(m, "drain", publisher.user(), "\"last words\"")) << *m;
        seen[i].msg = true;
        continue;
      }
      EXPECT_EQ(JsonString(*m, "op"), "bye") << *m;
      EXPECT_EQ(JsonBool(*m, "reconnect"), true) << *m;
      seen[i].bye_at_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
    }
  };
  // A shard starts draining on its next loop round and says bye to one of its clients at
  // once: when each shard has, the whole server is in lame-duck mode.
  for (int shard = 0; shard < 2; ++shard) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          bool draining = false;
          for (size_t i = 0; i < clients.size(); ++i) {
            if (ShardOf(clients[i]) != shard) continue;
            read(i, 0);
            draining |= seen[i].bye_at_ms.has_value();
          }
          return draining;
        },
        kReadTimeoutMs, 1))
        << "shard " << shard << " did not start draining";
  }
  EXPECT_EQ(HealthzStatus(server.port()), "HTTP/1.1 503 Service Unavailable");
  WsClient late;
  EXPECT_FALSE(late.Connect(server.port())) << "upgrades are refused while draining";
  std::vector<double> bye_at_ms;
  for (size_t i = 0; i < clients.size(); ++i) {
    read(i, kReadTimeoutMs);
    ASSERT_TRUE(seen[i].msg) << "client " << i << " lost the publication queued before the stop";
    ASSERT_TRUE(seen[i].bye_at_ms.has_value()) << "client " << i << " got no bye";
    bye_at_ms.push_back(*seen[i].bye_at_ms);
    auto code = clients[i].WaitClose(kReadTimeoutMs);
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
