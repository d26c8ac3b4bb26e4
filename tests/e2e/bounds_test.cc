// Bounds that no other test drove to their limit, each driven there against the real `ringcast`
// binary (ChildServer, small limits on its command line) or, where server time matters, real
// shards on a ManualClock. Each test checks what docs/limits.md says happens at the bound, and
// that the server still serves afterwards. The bounds tested elsewhere are listed in
// docs/limits.md with their tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "proto/jwt.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/temp_file.h"
#include "tests/support/ws_client.h"

#ifndef RINGCAST_BINARY
#error "RINGCAST_BINARY must name the built ringcast executable"
#endif

namespace ringcast::testing {
namespace {

constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";

// A valid upgrade request for `target` with `extra` header lines (each ending in CRLF).
std::string UpgradeHead(const std::string& target, const std::string& extra = "") {
  return "GET " + target +
         " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         kKey + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
}

std::string StatusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

std::string Body(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

// Sends `request` on a fresh connection and returns the answer.
std::string Ask(uint16_t port, const std::string& request) {
  WsClient client;
  if (!client.ConnectTcp(port)) return "connect failed: " + client.last_error();
  return client.RawHttp(request);
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// HTTP request heads: at most 48 header fields (net/http_head.h), whatever their size.
TEST(BoundsTest, HeadWithMoreThanFortyEightFieldsGets431) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1"})) << child.Stderr();
  std::string fill;  // the upgrade head has 5 fields of its own
  for (int i = 0; i < 43; ++i) fill += "X-Fill-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(StatusLine(Ask(child.port(), UpgradeHead("/ws", fill))),
            "HTTP/1.1 101 Switching Protocols")
      << "48 fields are allowed";
  std::string response = Ask(child.port(), UpgradeHead("/ws", fill + "X-One-More: v\r\n"));
  EXPECT_EQ(StatusLine(response).rfind("HTTP/1.1 431 ", 0), 0u) << response;
  WsClient after;
  EXPECT_TRUE(ConnectWelcomed(after, child.port()));
}

// User ids are 1-128 bytes: a longer ?user= is refused before the upgrade.
TEST(BoundsTest, UserIdOf128BytesIsTakenAndALongerOneGets400) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1"})) << child.Stderr();
  const std::string longest(128, 'u');
  WsClient at_bound;
  ASSERT_TRUE(at_bound.Connect(child.port(), "/ws?user=" + longest)) << at_bound.last_error();
  ASSERT_TRUE(at_bound.ReadWelcome());
  EXPECT_EQ(at_bound.user(), longest);
  std::string response = Ask(child.port(), UpgradeHead("/ws?user=" + longest + "u"));
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 400 Bad Request") << response;
  EXPECT_NE(Body(response).find("1-128 bytes"), std::string::npos) << response;
}

// One command line is at most 16 MiB (proto/command.h), reachable only when
// limits.max_message_bytes is raised above that: the line gets `too_large`, the connection
// stays.
TEST(BoundsTest, CommandLineOverSixteenMebibytesIsTooLargeAndTheConnectionStays) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1", "--max-message-bytes", "20000000"}))
      << child.Stderr();
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, child.port()));
  const std::string head = R"({"op":"ping","id":1,"pad":")";
  const size_t limit = size_t{16} << 20;
  std::string at_bound = head + std::string(limit - head.size() - 2, 'a') + "\"}";
  ASSERT_EQ(at_bound.size(), limit);
  client.SendText(at_bound);
  auto pong = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value()) << "a command of exactly 16 MiB is served";
  EXPECT_EQ(JsonString(*pong, "op"), "pong") << *pong;
  client.SendText(at_bound.insert(head.size(), "a"));
  EXPECT_TRUE(NextIsError(client, "too_large", std::nullopt));
  client.SendText(R"({"op":"ping","id":3})");
  pong = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value()) << "closed after too_large";
  EXPECT_EQ(JsonUint(*pong, "id"), 3u);
}

// An HTTP client that pipelines requests without reading the answers is cut off once its
// queued answers pass limits.max_queued_bytes: it gets the answers queued so far, then EOF.
TEST(BoundsTest, HttpPipelinerIsCutOffAtMaxQueuedBytes) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1", "--max-queued-bytes", "1024"}))
      << child.Stderr();
  constexpr size_t kRequests = 2000;  // 70 KB of requests, 200 KB of answers
  std::string burst;
  for (size_t i = 0; i < kRequests; ++i) burst += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  WsClient pipeliner;
  ASSERT_TRUE(pipeliner.ConnectTcp(child.port()));
  pipeliner.SendRaw(burst);
  ASSERT_TRUE(pipeliner.WaitEof(kReadTimeoutMs)) << "the pipeliner was never cut off";
  size_t answered = Count(pipeliner.raw_input(), "HTTP/1.1 200 OK\r\n");
  EXPECT_GT(answered, 0u);
  EXPECT_LT(answered, kRequests / 2) << "answered far past 1024 queued bytes";
  EXPECT_EQ(StatusLine(Ask(child.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 200 OK")
      << "others are still served";
}

// The personal room aside, a connection holds at most N subscriptions, and `sub`s to history
// rooms still waiting for their owner's answer count: six subs in one frame, the first three
// to history rooms, leave the sixth refused with `limit`.
TEST(BoundsTest, SubscriptionLimitFromTheFlagCountsHistorySubsInFlight) {
  TempFile config("[namespaces.h]\nhistory_size = 10\n");
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening(
      {"--shards", "2", "--config", config.path(), "--max-subscriptions-per-connection", "5"}))
      << child.Stderr();
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, child.port()));
  std::string frame;
  const char* rooms[] = {"h:0", "h:1", "h:2", "r3", "r4", "r5"};
  for (int i = 0; i < 6; ++i) {
    frame += R"({"op":"sub","room":")" + std::string(rooms[i]) + R"(","id":)" +
             std::to_string(i + 1) + "}\n";
  }
  client.SendText(frame);
  for (uint64_t id = 1; id <= 5; ++id) EXPECT_TRUE(NextIsOk(client, id));
  EXPECT_TRUE(NextIsError(client, "limit", 6));
  client.SendText(R"({"op":"unsub","room":"h:1","id":7})");
  EXPECT_TRUE(NextIsOk(client, 7));
  EXPECT_TRUE(Subscribe(client, "r5", 8)) << "a freed place can be used again";
  // Still in its personal room, outside the count: a direct message reaches it.
  WsClient sender;
  ASSERT_TRUE(ConnectWelcomed(sender, child.port(), "127.0.0.2"));
  sender.SendText(R"({"op":"send","to":)" + JsonQuote(client.user()) + R"(,"data":1,"id":1})");
  EXPECT_TRUE(NextIsOk(sender, 1));
  auto direct = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(direct.has_value());
  EXPECT_EQ(JsonString(*direct, "from"), sender.user()) << *direct;
}

// JWTs: at most 8 KiB, `info` at most 4 KiB, `rooms`/`pub` at most 256 patterns, JSON at most
// 64 deep, `sub` at most 128 bytes; past each, 401. The head must be allowed to hold such a token:
// at the default limits.max_head_bytes (8192) an 8 KiB token in the query gets 431 first.
TEST(BoundsTest, TokenBoundsGet401) {
  const std::string secret = "bounds-secret";
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(
      child.StartListening({"--shards", "1", "--jwt-secret", secret, "--max-head-bytes", "32768"}))
      << child.Stderr();
  auto status = [&](const std::string& payload) {
    return Ask(child.port(), UpgradeHead("/ws?token=" + proto::SignJwtHs256(payload, secret)));
  };
  auto patterns = [](size_t n) {
    std::string list = "[";
    for (size_t i = 0; i < n; ++i)
      list += std::string(i ? "," : "") + "\"r" + std::to_string(i) + "\"";
    return list + "]";
  };
  const std::string info_at_bound = "\"" + std::string(4094, 'i') + "\"";
  EXPECT_EQ(StatusLine(status(R"({"sub":"a","info":)" + info_at_bound + "}")),
            "HTTP/1.1 101 Switching Protocols");
  std::string r = status(R"({"sub":"a","info":")" + std::string(4095, 'i') + "\"}");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 401 Unauthorized") << r;
  EXPECT_NE(Body(r).find("invalid token claims"), std::string::npos) << r;

  EXPECT_EQ(StatusLine(status(R"({"sub":"a","rooms":)" + patterns(256) + "}")),
            "HTTP/1.1 101 Switching Protocols");
  r = status(R"({"sub":"a","pub":)" + patterns(257) + "}");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 401 Unauthorized") << r;
  EXPECT_NE(Body(r).find("invalid token claims"), std::string::npos) << r;

  r = status(R"({"sub":"a","pad":")" + std::string(7000, 'p') + "\"}");  // > 8 KiB signed
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 401 Unauthorized") << r;
  EXPECT_NE(Body(r).find("malformed token"), std::string::npos) << r;

  r = status(R"({"sub":"a","x":)" + std::string(100, '[') + std::string(100, ']') + "}");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 401 Unauthorized") << "JSON nested 100 deep: " << r;
  EXPECT_NE(Body(r).find("malformed token"), std::string::npos) << r;

  EXPECT_EQ(StatusLine(status(R"({"sub":")" + std::string(128, 's') + "\"}")),
            "HTTP/1.1 101 Switching Protocols");
  r = status(R"({"sub":")" + std::string(129, 's') + "\"}");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 401 Unauthorized") << r;
  EXPECT_NE(Body(r).find("1-128 bytes"), std::string::npos) << r;
}

// A connection the server is closing holds its slot until the peer finishes the close (its
// EOF) or 2 s of server time pass, whichever comes first. This peer never does.
TEST(BoundsTest, AClosingConnectionHoldsItsSlotAtMostTheCloseDeadline) {
  auto options = TestServerOptions(1);
  options.max_message_bytes = 1024;
  core::ManualClock clock;
  InProcessServer server(options, &clock);
  ASSERT_FALSE(server.Start().has_value());
  WsClient watcher, stubborn;
  ASSERT_TRUE(ConnectWelcomed(watcher, server.port(), "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(stubborn, server.port(), "127.0.0.3"));
  stubborn.SendText(std::string(2000, ' '));  // 1009; the client then neither reads nor closes
  // The stats request's own connection counts: watcher + stubborn + 1, once earlier stats
  // connections are gone.
  ASSERT_TRUE(
      WaitUntil([&] { return StatsTotal(server.port(), "connections") == 3u; }, kReadTimeoutMs));
  auto round_trip = [&](uint64_t id) {
    // A reply means a round ran after the clock moved (one shard).
    watcher.SendText(R"({"op":"ping","id":)" + std::to_string(id) + "}");
    auto pong = watcher.ReadMessage(kReadTimeoutMs);
    return pong.has_value() && JsonUint(*pong, "id") == id;
  };
  clock.Advance(1990);
  ASSERT_TRUE(round_trip(1));
  EXPECT_TRUE(
      WaitUntil([&] { return StatsTotal(server.port(), "connections") == 3u; }, kReadTimeoutMs))
      << "freed before the deadline";
  clock.Advance(30);
  ASSERT_TRUE(round_trip(2));
  EXPECT_TRUE(
      WaitUntil([&] { return StatsTotal(server.port(), "connections") == 2u; }, kReadTimeoutMs))
      << "a peer that never finishes the close keeps its slot past the deadline";
}

}  // namespace
}  // namespace ringcast::testing
