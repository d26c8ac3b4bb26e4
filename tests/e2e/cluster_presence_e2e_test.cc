// Presence in cluster mode end to end: real ringcast nodes (the binary, 2
// shards each) through a real redis-server on loopback. Membership lives in
// Redis, so any node lists every node's users, join/leave are debounced
// across nodes, and a SIGKILLed node's users age out with a `leave`. Every
// wait is bounded; the fixtures kill what they started.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/cluster_nodes.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/redis_process.h"
#include "tests/support/server_fixture.h"
#include "tests/support/temp_file.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr char kHistoryToml[] = R"([namespaces.h]
history_size = 1000
)";

std::string Http(uint16_t port, const std::string& path) {
  WsClient c;
  if (!c.ConnectTcp(port)) return "connect failed";
  return c.RawHttp("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

std::string BodyOf(const std::string& response) {
  size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// `n` nodes on `redis` (2 shards each, tests/support/cluster_nodes.h) with
// the history namespace `h`, no command rate limit, a leave delay and a
// presence TTL.
std::vector<std::unique_ptr<ClusterNode>> StartNodes(const RedisProcess& redis,
                                                     const TempFile& config, int n,
                                                     uint32_t leave_delay_ms, uint32_t ttl_ms) {
  return StartClusterNodes(
      n, {redis.url(),
          config.path(),
          {"--commands-per-second", "0", "--presence-leave-delay-ms",
           std::to_string(leave_delay_ms), "--redis-presence-ttl-ms", std::to_string(ttl_ms)}});
}

// The next join or leave (msgs and oks are skipped), or nullopt within `timeout_ms`.
std::optional<std::string> NextPresenceEvent(WsClient& c, int timeout_ms) {
  for (int i = 0; i < 2000; ++i) {
    auto m = c.ReadMessage(timeout_ms);
    if (!m) return std::nullopt;
    std::string op = JsonString(*m, "op");
    if (op == "join" || op == "leave") return m;
  }
  return std::nullopt;
}

::testing::AssertionResult IsEvent(const std::optional<std::string>& m, const std::string& op,
                                   const std::string& room, const std::string& user) {
  if (!m) return ::testing::AssertionFailure() << "no " << op << " of " << user;
  if (JsonString(*m, "op") != op || JsonString(*m, "room") != room ||
      JsonString(*m, "user") != user || JsonKeys(*m) != "info,op,room,user") {
    return ::testing::AssertionFailure() << "expected " << op << " of " << user << ", got " << *m;
  }
  return ::testing::AssertionSuccess();
}

// user -> conns of a presence answer (the `ok` or the HTTP body).
std::map<std::string, uint64_t> UsersOf(const std::string& answer) {
  std::map<std::string, uint64_t> out;
  std::string users = JsonField(answer, "users");
  // [{"user":..,"info":..,"conns":n},...]: objects split at "},{" (no nested info here).
  size_t at = 1;
  while (at < users.size()) {
    size_t end = users.find('}', at);
    if (end == std::string::npos) break;
    std::string obj = users.substr(at, end - at + 1);
    out[JsonString(obj, "user")] = JsonUint(obj, "conns").value_or(0);
    at = end + 2;
  }
  return out;
}

// The `presence` command's ok on `c` (id 90), or "" when the answer is not an ok.
std::string AskPresence(WsClient& c, const std::string& room) {
  c.SendText(R"({"op":"presence","room":)" + JsonQuote(room) + R"(,"id":90})");
  for (int i = 0; i < 2000; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m) return "";
    if (JsonUint(*m, "id") == 90u) return JsonString(*m, "op") == "ok" ? *m : "";
  }
  return "";
}

TEST(ClusterPresenceE2eTest, AnyNodeListsTheUsersOfEveryNode) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  auto nodes = StartNodes(redis, config, 3, 2000, 15000);
  // alice twice on node 1 and once on node 2, bob on node 2, carol on node 3.
  std::vector<std::unique_ptr<WsClient>> clients;
  auto join = [&](size_t node, const std::string& user) {
    clients.push_back(Connect(*nodes[node], user, clients.size()));
    ASSERT_TRUE(Subscribe(*clients.back(), "lobby", 1));
  };
  join(0, "alice");
  join(0, "alice");
  join(1, "alice");
  join(1, "bob");
  join(2, "carol");
  const std::map<std::string, uint64_t> want = {{"alice", 3}, {"bob", 1}, {"carol", 1}};
  // The nodes' refreshes reach Redis within a round or so of the subs.
  std::string answer;
  ASSERT_TRUE(WaitUntil(
      [&] {
        answer = AskPresence(*clients[0], "lobby");
        return UsersOf(answer) == want;
      },
      5000))
      << answer;
  EXPECT_EQ(JsonUint(answer, "count"), 3u) << answer;
  EXPECT_EQ(JsonKeys(answer), "count,id,op,users") << "no truncated when all are listed";
  // A node with no member of the room answers the same over HTTP.
  ClusterNode& quiet = *nodes[2];
  std::string r = Http(quiet.port(), "/api/presence?room=lobby");
  ASSERT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_EQ(UsersOf(BodyOf(r)), want) << r;
  EXPECT_EQ(JsonUint(BodyOf(r), "count"), 3u);
  // bob goes (leave delay 2 s: still listed meanwhile), carol's node keeps her.
  clients[3]->Close();
  auto watcher = Connect(*nodes[2], "watcher", 9);
  watcher->SendText(R"({"op":"sub","room":"lobby","presence":true,"id":1})");
  EXPECT_TRUE(IsEvent(NextPresenceEvent(*watcher, kReadTimeoutMs), "join", "lobby", "watcher"));
  EXPECT_TRUE(IsEvent(NextPresenceEvent(*watcher, kReadTimeoutMs), "leave", "lobby", "bob"));
  answer = AskPresence(*watcher, "lobby");
  EXPECT_EQ(UsersOf(answer),
            (std::map<std::string, uint64_t>{{"alice", 3}, {"carol", 1}, {"watcher", 1}}))
      << answer;
}

TEST(ClusterPresenceE2eTest, AUserOnTwoNodesJoinsOnceAndLeavesOnceAfterItsLastConnection) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  constexpr uint32_t kDelayMs = 1000;
  auto nodes = StartNodes(redis, config, 3, kDelayMs, 15000);
  auto watcher = Connect(*nodes[0], "watcher");
  watcher->SendText(R"({"op":"sub","room":"lobby","presence":true,"id":1})");
  ASSERT_TRUE(IsEvent(NextPresenceEvent(*watcher, kReadTimeoutMs), "join", "lobby", "watcher"));
  auto on2 = Connect(*nodes[1], "dup", 1);
  ASSERT_TRUE(Subscribe(*on2, "lobby", 1));
  EXPECT_TRUE(IsEvent(NextPresenceEvent(*watcher, kReadTimeoutMs), "join", "lobby", "dup"));
  auto on3 = Connect(*nodes[2], "dup", 2);
  ASSERT_TRUE(Subscribe(*on3, "lobby", 1));
  // Its first connection on node 2 is gone; node 3 still has one: no leave,
  // even well past the delay (and no second join before it).
  on2->Close();
  auto event = NextPresenceEvent(*watcher, 2 * kDelayMs);
  EXPECT_FALSE(event) << *event;
  // Its last one goes, and within the delay it is back on node 1: no noise.
  on3->Close();
  auto back = Connect(*nodes[0], "dup", 3);
  ASSERT_TRUE(Subscribe(*back, "lobby", 1));
  event = NextPresenceEvent(*watcher, 2 * kDelayMs);
  EXPECT_FALSE(event) << *event;
  // Gone for good: one leave, after the delay, and nothing more.
  back->Close();
  EXPECT_TRUE(IsEvent(NextPresenceEvent(*watcher, kReadTimeoutMs), "leave", "lobby", "dup"));
  event = NextPresenceEvent(*watcher, kDelayMs);
  EXPECT_FALSE(event) << *event;
  std::string answer = AskPresence(*watcher, "lobby");
  EXPECT_EQ(UsersOf(answer), (std::map<std::string, uint64_t>{{"watcher", 1}})) << answer;
}

// Reads the `ok`s of ids 1..n (any order) and returns their seqs.
std::vector<uint64_t> ReadPubOks(WsClient& c, uint64_t n) {
  std::vector<uint64_t> seqs(n + 1, 0);
  for (uint64_t i = 0; i < n; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m || JsonString(*m, "op") != "ok" || JsonUint(*m, "id").value_or(0) > n) {
      ADD_FAILURE() << "expected an ok, got " << m.value_or("nothing");
      break;
    }
    seqs[*JsonUint(*m, "id")] = JsonUint(*m, "seq").value_or(0);
  }
  return seqs;
}

TEST(ClusterPresenceE2eTest, ANodeKilledMidTrafficItsClientsRecoverElsewhereAndItsUsersAgeOut) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  constexpr uint32_t kTtlMs = 1500;
  auto nodes = StartNodes(redis, config, 3, 200, kTtlMs);
  const std::string room = "h:feed";
  auto watcher = Connect(*nodes[0], "watcher");
  watcher->SendText(R"({"op":"sub","room":"h:feed","presence":true,"id":1})");
  ASSERT_TRUE(IsEvent(NextPresenceEvent(*watcher, kReadTimeoutMs), "join", room, "watcher"));
  // Two users on node 2: one comes back elsewhere, the other never does.
  auto mover = Connect(*nodes[1], "mover", 1);
  mover->SendText(R"({"op":"sub","room":"h:feed","id":1})");
  auto ok = mover->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(ok && JsonString(*ok, "op") == "ok") << ok.value_or("nothing");
  const std::string epoch = JsonString(*ok, "epoch");
  auto ghost = Connect(*nodes[1], "ghost", 2);
  ASSERT_TRUE(Subscribe(*ghost, room, 1));
  for (const char* user : {"mover", "ghost"}) {
    EXPECT_TRUE(IsEvent(NextPresenceEvent(*watcher, kReadTimeoutMs), "join", room, user));
  }

  auto pub = Connect(*nodes[2], "pub", 3);
  uint64_t next_id = 0;
  auto publish = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ++next_id;
      pub->SendText(PubCommand(room, std::to_string(next_id), next_id));
    }
  };
  publish(30);
  // What the mover has seen when its node dies mid-traffic.
  std::vector<uint64_t> got;
  while (got.size() < 10) {
    auto m = mover->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m && JsonString(*m, "op") == "msg") << m.value_or("nothing");
    got.push_back(JsonUint(*m, "seq").value_or(0));
  }
  publish(30);
  nodes[1]->child.Kill();  // SIGKILL
  while (auto m = mover->ReadMessage(kReadTimeoutMs)) {
    if (JsonString(*m, "op") != "msg") continue;
    got.push_back(JsonUint(*m, "seq").value_or(0));
  }
  ASSERT_TRUE(mover->WaitEof(kReadTimeoutMs));
  const uint64_t last = got.back();
  publish(30);  // missed while moving

  // The mover reconnects to node 3 and recovers from its last seq while
  // publishing goes on: every seq after `last` once, in order, recovered.
  auto moved = Connect(*nodes[2], "mover", 4);
  moved->SendText(R"({"op":"sub","room":"h:feed","id":2,"since":{"seq":)" + std::to_string(last) +
                  R"(,"epoch":)" + JsonQuote(epoch) + "}}");
  publish(30);
  std::vector<uint64_t> after;
  bool answered = false;
  while (after.size() < 120 - last || !answered) {
    auto m = moved->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m) << "after " << after.size() << " messages";
    if (JsonString(*m, "op") == "ok") {
      ASSERT_FALSE(answered);
      answered = true;
      EXPECT_EQ(JsonBool(*m, "recovered"), true) << *m;
      EXPECT_EQ(JsonString(*m, "epoch"), epoch);
      publish(20);
      continue;
    }
    ASSERT_EQ(JsonString(*m, "op"), "msg") << *m;
    after.push_back(JsonUint(*m, "seq").value_or(0));
    EXPECT_EQ(JsonField(*m, "data"), std::to_string(after.back()));
  }
  while (after.size() < 140 - last) {
    auto m = moved->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m && JsonString(*m, "op") == "msg") << m.value_or("nothing");
    after.push_back(JsonUint(*m, "seq").value_or(0));
  }
  for (size_t i = 0; i < after.size(); ++i) ASSERT_EQ(after[i], last + 1 + i);
  std::vector<uint64_t> seqs = ReadPubOks(*pub, next_id);
  for (uint64_t i = 1; i <= next_id; ++i) EXPECT_EQ(seqs[i], i);

  // The dead node stopped refreshing: ghost ages out within the TTL (the
  // live nodes' refreshes purge), the mover, back elsewhere, does not leave.
  auto event = NextPresenceEvent(*watcher, 3 * kTtlMs);
  EXPECT_TRUE(IsEvent(event, "leave", room, "ghost"));
  event = NextPresenceEvent(*watcher, kTtlMs);
  EXPECT_FALSE(event) << *event;
  std::string r = Http(nodes[2]->port(), "/api/presence?room=h%3Afeed");
  ASSERT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_EQ(UsersOf(BodyOf(r)), (std::map<std::string, uint64_t>{{"mover", 1}, {"watcher", 1}}))
      << r;
}

TEST(ClusterPresenceE2eTest, WithRedisDownPresenceAnswersUnavailable) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  auto nodes = StartNodes(redis, config, 1, 2000, 15000);
  auto c = Connect(*nodes[0], "alice");
  ASSERT_TRUE(Subscribe(*c, "lobby", 1));
  std::string answer;
  ASSERT_TRUE(WaitUntil(
      [&] {
        answer = AskPresence(*c, "lobby");
        return JsonUint(answer, "count") == 1u;
      },
      5000))
      << answer;
  redis.Kill();
  ASSERT_TRUE(WaitUntil([&] { return !RedisUp(nodes[0]->port()); }, 10000));
  c->SendText(R"({"op":"presence","room":"lobby","id":7})");
  EXPECT_TRUE(NextIsError(*c, "unavailable", 7));
  std::string r = Http(nodes[0]->port(), "/api/presence?room=lobby");
  EXPECT_EQ(r.rfind("HTTP/1.1 503", 0), 0u) << r;
  EXPECT_EQ(JsonString(BodyOf(r), "error"), "unavailable") << r;
  // Back with Redis: the node's members are refreshed into it again.
  ASSERT_TRUE(redis.Start()) << redis.error();
  ASSERT_TRUE(WaitUntil([&] { return RedisUp(nodes[0]->port()); }, 10000));
  ASSERT_TRUE(WaitUntil(
      [&] {
        answer = AskPresence(*c, "lobby");
        return JsonUint(answer, "count") == 1u;
      },
      10000))
      << answer;
}

}  // namespace
}  // namespace ringcast::testing
