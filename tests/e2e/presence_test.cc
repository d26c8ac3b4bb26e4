// Presence (docs/protocol.md, Presence): join/leave per user with a leave debounce, the
// presence command and GET /api/presence, across shards and connections.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

shard::ServerOptions PresenceOptions() {
  auto options = TestServerOptions(2);
  options.presence_leave_delay_ms = 300;
  return options;
}

WsClient As(uint16_t port, const std::string& user, const std::string& ip) {
  WsClient c;
  EXPECT_TRUE(c.Connect(port, "/ws?user=" + user, ip));
  EXPECT_TRUE(c.ReadWelcome());
  return c;
}

std::string PresenceSub(const std::string& room, int id) {
  return R"({"op":"sub","room":")" + room + R"(","presence":true,"id":)" + std::to_string(id) + "}";
}

TEST(PresenceTest, JoinOnFirstConnectionLeaveAfterTheLastOneAndTheDelay) {
  core::ManualClock clock;  // the leave delay passes only when the test says so
  InProcessServer server(PresenceOptions(), &clock);
  ASSERT_FALSE(server.Start().has_value());
  WsClient watcher = As(server.port(), "watcher", "127.0.0.2");
  watcher.SendText(PresenceSub("lobby", 1));
  // The watcher's own join comes as an event too; then ok.
  bool ok = false, self_join = false;
  for (int i = 0; i < 2; ++i) {
    auto m = watcher.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    ok |= JsonString(*m, "op") == "ok";
    self_join |= JsonString(*m, "op") == "join" && JsonString(*m, "user") == "watcher";
  }
  EXPECT_TRUE(ok && self_join);
  // dana joins with two connections (spread over source addresses / shards).
  std::vector<WsClient> dana;
  for (int i = 0; i < 4; ++i) {
    dana.push_back(As(server.port(), "dana", SourceIp(10 + i)));
    ASSERT_TRUE(Subscribe(dana.back(), "lobby", 1));
  }
  auto join = watcher.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(join);
  EXPECT_EQ(JsonMinify(*join), R"({"op":"join","room":"lobby","user":"dana","info":null})");
  EXPECT_FALSE(watcher.ReadMessage(200).has_value()) << "one join per user, not per connection";
  watcher.SendText(R"({"op":"presence","room":"lobby","id":5})");
  auto p = watcher.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(p);
  EXPECT_EQ(JsonUint(*p, "count"), 2u) << *p;
  EXPECT_NE(p->find(R"({"user":"dana","info":null,"conns":4})"), std::string::npos) << *p;
  // Three leave: nothing. The last one leaves and comes back quickly: nothing.
  for (int i = 0; i < 3; ++i) dana[i].Close();
  dana[3].SendText(R"({"op":"unsub","room":"lobby","id":2})");
  ASSERT_TRUE(NextIsOk(dana[3], 2));
  ASSERT_TRUE(Subscribe(dana[3], "lobby", 3));
  // Well past the delay on the server's clock: dana came back within it, so
  // nothing is pending (a few rounds of real time to let a leave show).
  clock.Advance(10 * PresenceOptions().presence_leave_delay_ms);
  EXPECT_FALSE(watcher.ReadMessage(200).has_value()) << "a quick return makes no noise";
  // Now really gone: once the server has seen it, one leave after the delay.
  dana[3].Close();
  ASSERT_TRUE(WaitUntil(
      [&] {
        watcher.SendText(R"({"op":"presence","room":"lobby","id":6})");
        auto answer = watcher.ReadMessage(kReadTimeoutMs);
        return answer && JsonUint(*answer, "count") == 1u;
      },
      kReadTimeoutMs));
  EXPECT_FALSE(watcher.ReadMessage(100).has_value()) << "no leave before the delay";
  clock.Advance(PresenceOptions().presence_leave_delay_ms);
  auto leave = watcher.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(leave);
  EXPECT_EQ(JsonMinify(*leave), R"({"op":"leave","room":"lobby","user":"dana","info":null})");
  std::string r;
  {
    WsClient http;
    ASSERT_TRUE(http.ConnectTcp(server.port()));
    r = http.RawHttp("GET /api/presence?room=lobby HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  EXPECT_EQ(r.substr(0, r.find("\r\n")), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find(R"({"users":[{"user":"watcher","info":null,"conns":1}],"count":1})"),
            std::string::npos)
      << r;
}

TEST(PresenceTest, OnlyPresenceSubscribersGetEventsAndNamespacesCanForbidIt) {
  auto options = PresenceOptions();
  options.namespaces["quiet"].presence = false;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient plain = As(server.port(), "plain", "127.0.0.2");
  ASSERT_TRUE(Subscribe(plain, "hall", 1));
  WsClient eve = As(server.port(), "eve", "127.0.0.3");
  ASSERT_TRUE(Subscribe(eve, "hall", 1));
  EXPECT_FALSE(plain.ReadMessage(300).has_value()) << "no presence:true, no events";
  plain.SendText(R"({"op":"presence","room":"quiet:x","id":2})");
  EXPECT_TRUE(NextIsError(plain, "not_allowed", 2));
}

// Each shard drops a join or leave at once where no local subscriber asked for presence (a count
// per room): the count follows subscribers through unsub and sub again, on both shards.
TEST(PresenceTest, EventsFollowPresenceSubscribersThroughUnsubAndSubAgain) {
  InProcessServer server(PresenceOptions());
  ASSERT_FALSE(server.Start().has_value());
  std::vector<WsClient> plain;
  for (int i = 0; i < 4; ++i) {
    plain.push_back(As(server.port(), "plain" + std::to_string(i), SourceIp(20 + i)));
    ASSERT_TRUE(Subscribe(plain.back(), "hall", 1));
  }
  WsClient watcher = As(server.port(), "watcher", "127.0.0.2");
  // Reads until the watcher has seen `user`'s join (unless empty) and, if `id`, the ok to it
  // (in either order).
  auto join_and_ok = [&](const std::string& user, int id) {
    bool join = user.empty(), ok = id == 0;
    for (int i = 0; i < 4 && !(join && ok); ++i) {
      auto m = watcher.ReadMessage(kReadTimeoutMs);
      if (!m) break;
      join |= JsonString(*m, "op") == "join" && JsonString(*m, "user") == user;
      ok |= JsonString(*m, "op") == "ok" && m->find("\"id\":" + std::to_string(id)) != m->npos;
    }
    return join && ok;
  };
  for (int round = 0; round < 2; ++round) {
    watcher.SendText(PresenceSub("hall", 10 + round));
    // Back within the leave delay the second time: no join of its own then.
    EXPECT_TRUE(join_and_ok(round == 0 ? "watcher" : "", 10 + round)) << "round " << round;
    const std::string guest_name = "guest" + std::to_string(round);
    WsClient guest = As(server.port(), guest_name, SourceIp(30 + round));
    ASSERT_TRUE(Subscribe(guest, "hall", 1));
    EXPECT_TRUE(join_and_ok(guest_name, 0)) << "round " << round;
    watcher.SendText(R"({"op":"unsub","room":"hall","id":20})");
    ASSERT_TRUE(NextIsOk(watcher, 20)) << "round " << round;
  }
  for (WsClient& p : plain) EXPECT_FALSE(p.ReadMessage(100).has_value()) << "no presence:true";
}

}  // namespace
}  // namespace ringcast::testing
