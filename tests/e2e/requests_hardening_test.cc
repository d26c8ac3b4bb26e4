// Attacks on direct messages and requests, against the real `ringcast`
// binary with one shard (every connection on the same shard): answering
// somebody else's `req` by guessing or learning its rid, amplifying one
// `send` by naming a user many times, and starving a shard's other
// connections of pending requests (docs/protocol.md, Requests and
// responses, and Limits).
#include <gtest/gtest.h>

#include <set>
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

::testing::AssertionResult ConnectAs(WsClient& client, uint16_t port, const std::string& user,
                                     const std::string& src_ip = "127.0.0.1") {
  if (!client.Connect(port, "/ws?user=" + user, src_ip)) {
    return ::testing::AssertionFailure() << user << ": connect failed: " << client.last_error();
  }
  if (!client.ReadWelcome(kReadTimeoutMs)) {
    return ::testing::AssertionFailure() << user << ": no welcome";
  }
  return ::testing::AssertionSuccess();
}

std::string Res(const std::string& rid, const std::string& data_json, uint64_t id) {
  return R"({"op":"res","rid":)" + JsonQuote(rid) + R"(,"data":)" + data_json + R"(,"id":)" +
         std::to_string(id) + "}";
}

// The rid with its second dot-separated field (the request number) plus one:
// what an attacker who has seen one rid tries for the next request.
std::string NextNumber(const std::string& rid) {
  size_t first = rid.find('.');
  size_t second = rid.find('.', first + 1);
  std::string number =
      rid.substr(first + 1, second == std::string::npos ? second : second - first - 1);
  std::string rest = second == std::string::npos ? "" : rid.substr(second);
  return rid.substr(0, first + 1) + std::to_string(std::stoull(number) + 1) + rest;
}

// Sends `count` req commands to `to`, many per frame, ids from `first_id`.
void SendRequests(WsClient& client, const std::string& to, size_t count, uint64_t first_id) {
  constexpr size_t kPerFrame = 500;  // ~30 KB frames, under limits.max_message_bytes
  std::string frame;
  for (size_t i = 0; i < count; ++i) {
    if (!frame.empty()) frame += '\n';
    frame += R"({"op":"req","to":)" + JsonQuote(to) + R"(,"data":)" + std::to_string(i) +
             R"(,"timeout_ms":60000,"id":)" + std::to_string(first_id + i) + "}";
    if ((i + 1) % kPerFrame == 0 || i + 1 == count) {
      client.SendText(frame);
      frame.clear();
    }
  }
}

// Reads req frames until one from `from` arrives; its rid, or "" if none came.
// Waits up to 30 s per frame: a sanitizer build works through a flood slowly.
std::string ReadUntilRequestFrom(WsClient& client, const std::string& from, size_t* skipped,
                                 std::vector<std::string>* other_rids) {
  while (auto m = client.ReadMessage(30000)) {
    if (JsonString(*m, "op") != "req") continue;
    if (JsonString(*m, "from") == from) return JsonString(*m, "rid");
    ++*skipped;
    if (other_rids != nullptr) other_rids->push_back(JsonString(*m, "rid"));
  }
  return "";
}

// Mallory saw nothing of alice's request to bob. She tries what an attacker
// would: the number after a rid she saw (her own request to herself), in the
// shapes rids come in, and then the very rid (as if bob had leaked it). Every
// try gets an error and changes nothing: alice gets bob's answer.
TEST(RequestsHardeningTest, OnlyTheUserAskedCanAnswerARequest) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1"})) << child.Stderr();
  WsClient alice, bob, mallory;
  ASSERT_TRUE(ConnectAs(alice, child.port(), "alice"));
  ASSERT_TRUE(ConnectAs(bob, child.port(), "bob"));
  ASSERT_TRUE(ConnectAs(mallory, child.port(), "mallory"));

  // Mallory learns what a rid looks like from a request of her own.
  mallory.SendText(R"({"op":"req","to":"mallory","data":0,"id":1})");
  auto own = mallory.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(own);
  ASSERT_EQ(JsonString(*own, "op"), "req") << *own;
  const std::string seen = JsonString(*own, "rid");
  mallory.SendText(Res(seen, "0", 2));
  std::set<std::string> replies;
  for (int i = 0; i < 2; ++i) {
    auto m = mallory.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    replies.insert(JsonString(*m, "op") + "/" + std::to_string(JsonUint(*m, "id").value_or(0)));
  }
  EXPECT_EQ(replies, (std::set<std::string>{"res/1", "ok/2"}));

  alice.SendText(R"({"op":"req","to":"bob","data":"time?","timeout_ms":10000,"id":7})");
  auto asked = bob.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(asked);
  ASSERT_EQ(JsonString(*asked, "op"), "req") << *asked;
  const std::string rid = JsonString(*asked, "rid");
  ASSERT_NE(rid, seen);

  // Guesses: the next number, with and without the rest of the rid she saw.
  const std::string guess = NextNumber(seen);
  std::vector<std::string> guesses = {guess};
  if (size_t last = guess.rfind('.'); last != guess.find('.')) {
    guesses.push_back(guess.substr(0, last));
  }
  uint64_t id = 10;
  for (const std::string& g : guesses) {
    mallory.SendText(Res(g, R"("forged")", id));
    auto reply = mallory.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(reply) << "no reply to the guess " << g;
    EXPECT_EQ(JsonString(*reply, "op"), "error") << "guess " << g << " was taken: " << *reply;
    ++id;
  }
  // The real rid, learned: still not hers to answer.
  mallory.SendText(Res(rid, R"("forged")", id));
  EXPECT_TRUE(NextIsError(mallory, "not_allowed", id));

  bob.SendText(Res(rid, R"("noon")", 20));
  EXPECT_TRUE(NextIsOk(bob, 20));
  auto res = alice.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(res);
  EXPECT_EQ(JsonString(*res, "op"), "res") << *res;
  EXPECT_EQ(JsonUint(*res, "id"), 7u) << *res;
  EXPECT_EQ(JsonString(*res, "from"), "bob") << "a forged answer won: " << *res;
  EXPECT_EQ(JsonField(*res, "data"), R"("noon")") << *res;
}

// A user named 100 times in one `send` (or POST /api/send) gets one copy.
TEST(RequestsHardeningTest, RepeatedTargetGetsOneCopy) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1"})) << child.Stderr();
  WsClient alice, bob;
  ASSERT_TRUE(ConnectAs(alice, child.port(), "alice"));
  ASSERT_TRUE(ConnectAs(bob, child.port(), "bob"));

  auto to = [](size_t copies) {
    std::string list = "[";
    for (size_t i = 0; i < copies; ++i) list += i == 0 ? R"("bob")" : R"(,"bob")";
    return list + "]";
  };
  alice.SendText(R"({"op":"send","to":)" + to(100) + R"(,"data":"once","id":1})");
  EXPECT_TRUE(NextIsOk(alice, 1));
  WsClient api;
  ASSERT_TRUE(api.ConnectTcp(child.port(), "127.0.0.1"));
  const std::string body = R"({"to":)" + to(100) + R"(,"data":"api"})";
  const std::string response = api.RawHttp(
      "POST /api/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: "
      "close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_EQ(response.substr(response.find("\r\n\r\n") + 4), R"({"delivered":1})");
  // A marker after both: bob's messages up to it are exactly one of each.
  alice.SendText(R"({"op":"send","to":"bob","data":"marker","id":2})");
  EXPECT_TRUE(NextIsOk(alice, 2));
  std::vector<std::string> got;
  while (auto m = bob.ReadMessage(kReadTimeoutMs)) {
    got.push_back(JsonField(*m, "data"));
    if (got.back() == R"("marker")") break;
  }
  EXPECT_EQ(got, (std::vector<std::string>{R"("once")", R"("api")", R"("marker")"}));

  // The bound on the list itself still holds: more than 100 entries is `limit`.
  alice.SendText(R"({"op":"send","to":)" + to(101) + R"(,"data":1,"id":3})");
  EXPECT_TRUE(NextIsError(alice, "limit", 3));
}

// Connections (users of their own) each try to park 1024 requests on a user
// who never answers: 64 of them fill the old shard-wide table of 65536. Each stops at its own
// bound, and another connection on the same shard still gets its request through.
TEST(RequestsHardeningTest, AFewConnectionsCannotFillTheShardsRequests) {
  ChildServer child(RINGCAST_BINARY);
  // No command rate limit, and room for the unread requests queued to sink.
  ASSERT_TRUE(child.StartListening(
      {"--shards", "1", "--commands-per-second", "0", "--max-queued-bytes", "1073741824"}))
      << child.Stderr();
  WsClient sink, alice;
  std::vector<WsClient> attackers(64);
  ASSERT_TRUE(ConnectAs(sink, child.port(), "sink"));
  ASSERT_TRUE(ConnectAs(alice, child.port(), "alice"));
  for (size_t i = 0; i < attackers.size(); ++i) {
    ASSERT_TRUE(ConnectAs(attackers[i], child.port(), "mallory" + std::to_string(i), SourceIp(i)));
  }
  constexpr size_t kEach = 1024;
  for (WsClient& a : attackers) SendRequests(a, "sink", kEach, 1);
  for (WsClient& a : attackers) ASSERT_TRUE(a.WaitServerRead(30000));

  alice.SendText(R"({"op":"req","to":"sink","data":"hello","timeout_ms":60000,"id":1})");
  size_t skipped = 0;
  std::vector<std::string> attacker_rids;
  const std::string rid = ReadUntilRequestFrom(sink, "alice", &skipped, &attacker_rids);
  if (rid.empty()) {
    auto reply = alice.ReadMessage(kReadTimeoutMs);
    FAIL() << "alice's request never reached sink (after " << skipped
           << " of the attackers'); alice got: " << reply.value_or("nothing");
  }
  EXPECT_EQ(skipped, attackers.size() * 256)
      << "each attacker gets limits.max_pending_requests_per_connection";
  sink.SendText(Res(rid, R"("hi alice")", 1));
  auto res = alice.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(res);
  EXPECT_EQ(JsonString(*res, "op"), "res") << *res;
  EXPECT_EQ(JsonField(*res, "data"), R"("hi alice")") << *res;

  // Once their pending requests are answered, the attackers see the refusals
  // (replies keep command order): `limit` for the rest.
  std::string answers;
  for (size_t i = 0; i < attacker_rids.size(); ++i) {
    answers += (answers.empty() ? "" : "\n") + Res(attacker_rids[i], "0", 2);
    if ((i + 1) % 500 == 0 || i + 1 == attacker_rids.size()) {  // frames under 64 KB
      sink.SendText(answers);
      answers.clear();
    }
  }
  for (WsClient& a : attackers) {
    for (size_t i = 0; i < 256; ++i) {
      auto m = a.ReadMessage(kReadTimeoutMs);
      ASSERT_TRUE(m);
      ASSERT_EQ(JsonString(*m, "op"), "res") << *m;
    }
    EXPECT_TRUE(NextIsError(a, "limit", 257));
  }
}

// One user's connections share a bound (1024 by default): four connections
// of mallory with 256 pending each leave her fifth connection nothing, while
// alice can still ask. Closing them frees her share at once, without waiting
// for the requests' timeouts.
TEST(RequestsHardeningTest, OneUserCannotFillTheShardsRequestsWithManyConnections) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening(
      {"--shards", "1", "--commands-per-second", "0", "--max-queued-bytes", "1073741824"}))
      << child.Stderr();
  WsClient sink, alice;
  ASSERT_TRUE(ConnectAs(sink, child.port(), "sink"));
  ASSERT_TRUE(ConnectAs(alice, child.port(), "alice"));
  std::vector<WsClient> mallory(4);
  for (size_t i = 0; i < mallory.size(); ++i) {
    ASSERT_TRUE(ConnectAs(mallory[i], child.port(), "mallory", SourceIp(i)));
    SendRequests(mallory[i], "sink", 256, 1);
    ASSERT_TRUE(mallory[i].WaitServerRead(kReadTimeoutMs));
  }
  WsClient fifth;
  ASSERT_TRUE(ConnectAs(fifth, child.port(), "mallory", SourceIp(4)));
  fifth.SendText(R"({"op":"req","to":"sink","data":1,"id":1})");
  EXPECT_TRUE(NextIsError(fifth, "limit", 1));

  alice.SendText(R"({"op":"req","to":"sink","data":"hello","id":1})");
  size_t skipped = 0;
  const std::string rid = ReadUntilRequestFrom(sink, "alice", &skipped, nullptr);
  ASSERT_FALSE(rid.empty()) << "alice's request never reached sink";
  EXPECT_EQ(skipped, 4u * 256);
  sink.SendText(Res(rid, "1", 1));
  auto res = alice.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(res);
  EXPECT_EQ(JsonString(*res, "op"), "res") << *res;

  for (WsClient& m : mallory) m.Close();
  // sink, alice, fifth and the stats request's own connection.
  ASSERT_TRUE(
      WaitUntil([&] { return StatsTotal(child.port(), "connections") == 4u; }, kReadTimeoutMs));
  fifth.SendText(R"({"op":"req","to":"sink","data":"again","id":2})");
  skipped = 0;
  EXPECT_FALSE(ReadUntilRequestFrom(sink, "mallory", &skipped, nullptr).empty())
      << "mallory's closed connections still hold her share";
}

}  // namespace
}  // namespace ringcast::testing
