// req/res (docs/protocol.md, Requests and responses): correlation through an
// opaque rid, first answer wins, timeout, no_such_user, across 2 shards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

TEST(RequestTest, FirstAnswerWinsAndLaterOnesAreDropped) {
  InProcessServer server(TestServerOptions(2));
  ASSERT_FALSE(server.Start().has_value());
  std::vector<WsClient> bob = ConnectOnBothShards(server.port(), "bob");
  WsClient alice;
  ASSERT_TRUE(alice.Connect(server.port(), "/ws?user=alice", "127.0.0.200"));
  ASSERT_TRUE(alice.ReadWelcome());
  alice.SendText(R"({"op":"req","to":"bob","data":{"q":"time?"},"id":7})");
  std::string rid;
  for (auto& b : bob) {
    auto m = b.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    EXPECT_EQ(JsonString(*m, "op"), "req");
    EXPECT_EQ(JsonString(*m, "from"), "alice");
    EXPECT_EQ(JsonMinify(JsonField(*m, "data")), R"({"q":"time?"})");
    if (rid.empty()) {
      rid = JsonString(*m, "rid");
      ASSERT_FALSE(rid.empty()) << *m;
    }
    EXPECT_EQ(JsonString(*m, "rid"), rid) << "one request, one rid on every connection";
  }
  // Every connection of bob answers; alice gets exactly the first.
  for (size_t i = 0; i < bob.size(); ++i) {
    bob[i].SendText(R"({"op":"res","rid":")" + rid + R"(","data":)" + std::to_string(i) +
                    R"(,"id":1})");
    EXPECT_TRUE(NextIsOk(bob[i], 1));
  }
  auto res = alice.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(res);
  EXPECT_EQ(JsonString(*res, "op"), "res");
  EXPECT_EQ(JsonUint(*res, "id"), 7u);
  EXPECT_EQ(JsonString(*res, "from"), "bob");
  EXPECT_EQ(JsonField(*res, "data"), "0");
  auto extra = alice.ReadMessage(300);
  EXPECT_FALSE(extra.has_value()) << "a later answer leaked: " << *extra;
}

TEST(RequestTest, TimeoutNoSuchUserAndBadRid) {
  core::ManualClock clock;
  InProcessServer server(TestServerOptions(2), &clock);
  ASSERT_FALSE(server.Start().has_value());
  WsClient alice, carol;
  ASSERT_TRUE(alice.Connect(server.port(), "/ws?user=alice", "127.0.0.2"));
  ASSERT_TRUE(alice.ReadWelcome());
  ASSERT_TRUE(carol.Connect(server.port(), "/ws?user=carol", "127.0.0.3"));
  ASSERT_TRUE(carol.ReadWelcome());
  alice.SendText(R"({"op":"req","to":"carol","data":1,"timeout_ms":300,"id":1})");
  ASSERT_TRUE(carol.ReadMessage(kReadTimeoutMs));  // carol ignores it
  clock.Advance(299);
  alice.SendText(R"({"op":"ping","id":9})");  // answered behind the req: it waits too
  EXPECT_FALSE(alice.ReadMessage(300).has_value()) << "no timeout before timeout_ms";
  clock.Advance(1);
  EXPECT_TRUE(NextIsError(alice, "timeout", 1));
  auto pong = alice.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong);
  EXPECT_EQ(JsonString(*pong, "op"), "pong") << *pong;
  alice.SendText(R"({"op":"req","to":"nobody","data":1,"id":2})");
  EXPECT_TRUE(NextIsError(alice, "no_such_user", 2));
  alice.SendText(R"({"op":"req","to":"carol","data":1,"timeout_ms":999999,"id":3})");
  EXPECT_TRUE(NextIsError(alice, "bad_command", 3));
  carol.SendText(R"({"op":"res","rid":"nonsense","data":1,"id":4})");
  EXPECT_TRUE(NextIsError(carol, "bad_command", 4));
  carol.SendText(R"({"op":"res","rid":"0.424242.0123456789abcdef","data":1,"id":5})");
  EXPECT_TRUE(NextIsOk(carol, 5)) << "an expired or unknown request is answered, then dropped";
}

TEST(RequestTest, EitherSideDisconnectingLeaksNothing) {
  core::ManualClock clock;
  InProcessServer server(TestServerOptions(2), &clock);
  ASSERT_FALSE(server.Start().has_value());
  WsClient carol;
  ASSERT_TRUE(carol.Connect(server.port(), "/ws?user=carol", "127.0.0.3"));
  ASSERT_TRUE(carol.ReadWelcome());
  std::string rid;
  {
    WsClient alice;
    ASSERT_TRUE(alice.Connect(server.port(), "/ws?user=alice", "127.0.0.2"));
    ASSERT_TRUE(alice.ReadWelcome());
    alice.SendText(R"({"op":"req","to":"carol","data":1,"timeout_ms":400,"id":1})");
    auto m = carol.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    rid = JsonString(*m, "rid");
  }  // the requester is gone
  // ... once the server has freed its connection: only carol and the stats request are left.
  EXPECT_TRUE(
      WaitUntil([&] { return StatsTotal(server.port(), "connections") == 2u; }, kReadTimeoutMs))
      << "open connections: " << StatsTotal(server.port(), "connections").value_or(0);
  carol.SendText(R"({"op":"res","rid":")" + rid + R"(","data":1,"id":2})");
  EXPECT_TRUE(NextIsOk(carol, 2));
  // Past the timeout: the entry is gone and nothing fires at a stale handle.
  clock.Advance(600);
  WsClient alice2;
  ASSERT_TRUE(alice2.Connect(server.port(), "/ws?user=alice", "127.0.0.2"));
  ASSERT_TRUE(alice2.ReadWelcome());
  alice2.SendText(R"({"op":"ping","id":3})");
  auto pong = alice2.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong);
  EXPECT_EQ(JsonString(*pong, "op"), "pong") << "no stray res or error for the old request";
}

}  // namespace
}  // namespace ringcast::testing
