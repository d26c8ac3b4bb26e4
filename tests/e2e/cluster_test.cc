// Cluster mode end to end: real ringcast nodes (the binary, 2 shards each)
// joined through a real redis-server on loopback, driven by WebSocket and
// HTTP clients. Every wait is bounded; the fixtures kill what they started.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "shard/cluster_keys.h"
#include "shard/cluster_partitions.h"
#include "tests/support/cluster_nodes.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/redis_process.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr uint64_t kConnsPerNode = 4;  // 2 shards x (commands + subscriber)

std::string Http(uint16_t port, const std::string& method, const std::string& path,
                 const std::string& body = "") {
  WsClient c;
  if (!c.ConnectTcp(port)) return "connect failed";
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return c.RawHttp(req + "\r\n" + body);
}

std::string BodyOf(const std::string& response) {
  size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// Nodes on `redis` (2 shards each, tests/support/cluster_nodes.h); `extra`
// flags follow the common ones.
std::vector<std::unique_ptr<ClusterNode>> StartNodes(const RedisProcess& redis, int n,
                                                     std::vector<std::string> extra = {}) {
  return StartClusterNodes(n, {redis.url(), "", std::move(extra)});
}

// Waits until `user`'s node has subscribed its personal room in Redis: from
// then on other nodes reach the user. That is a Redis round trip after the
// welcome (README: cluster differences), so a test that sends at once waits.
bool ReachableAcrossNodes(const RedisProcess& redis, const std::string& user) {
  shard::ClusterPartitions partitions;
  shard::ClusterKeys keys(&partitions);
  RedisSync sync(redis.port());
  return WaitUntil(
      [&] {
        auto numsub = sync.Command({"PUBSUB", "NUMSUB", keys.RoomChannel("@" + user)});
        return numsub && numsub->elements == 2 && numsub->element[1]->integer >= 1;
      },
      10000);
}

// Reads messages until one with op `op` (others are skipped), or nullopt.
std::optional<std::string> ReadOp(WsClient& c, const std::string& op) {
  for (int i = 0; i < 1000; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m) return std::nullopt;
    if (JsonString(*m, "op") == op) return m;
  }
  return std::nullopt;
}

// A publisher subscribed to its own room gets its `ok` and its echo in
// either order: the ok follows Redis's PUBLISH reply, the echo comes from the
// node's subscription, on another connection.
::testing::AssertionResult OkAndEcho(WsClient& c, uint64_t id, const std::string& room,
                                     const std::string& from, const std::string& data) {
  bool ok = false, echo = false;
  for (int i = 0; i < 2; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m) return ::testing::AssertionFailure() << "missing ok or echo";
    if (JsonString(*m, "op") == "ok" && JsonUint(*m, "id") == id && !ok) {
      ok = true;
    } else if (IsMsg(m, room, from, data) && !echo) {
      echo = true;
    } else {
      return ::testing::AssertionFailure() << "unexpected " << *m;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(ClusterTest, FanOutAcrossThreeNodesIsExactAndInOneOrder) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 3);
  // Four subscribers on every node, spread over its shards by source address.
  std::vector<std::unique_ptr<WsClient>> subs;
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (size_t i = 0; i < 4; ++i) {
      subs.push_back(Connect(*nodes[n], "s" + std::to_string(n) + "_" + std::to_string(i), i));
      ASSERT_TRUE(Subscribe(*subs.back(), "game", 1));
    }
  }
  // One publisher per node, all publishing at once without waiting.
  constexpr int kPerPublisher = 60;
  std::vector<std::unique_ptr<WsClient>> pubs;
  for (size_t n = 0; n < nodes.size(); ++n)
    pubs.push_back(Connect(*nodes[n], "p" + std::to_string(n), 9));
  for (int i = 0; i < kPerPublisher; ++i) {
    for (size_t n = 0; n < pubs.size(); ++n) {
      pubs[n]->SendText(
          PubCommand("game", R"({"p":)" + std::to_string(n) + R"(,"i":)" + std::to_string(i) + "}",
                     uint64_t(i + 1)));
    }
  }
  for (auto& p : pubs) {
    for (int i = 0; i < kPerPublisher; ++i) ASSERT_TRUE(NextIsOk(*p, uint64_t(i + 1)));
  }
  const size_t total = kPerPublisher * pubs.size();
  std::vector<std::string> first_order;
  for (size_t s = 0; s < subs.size(); ++s) {
    std::vector<std::string> order;
    std::map<uint64_t, int> next_i;
    for (size_t k = 0; k < total; ++k) {
      auto m = subs[s]->ReadMessage(kReadTimeoutMs);
      ASSERT_TRUE(m) << "subscriber " << s << " got " << k << " of " << total;
      ASSERT_EQ(JsonString(*m, "op"), "msg") << *m;
      std::string data = JsonField(*m, "data");
      uint64_t p = *JsonUint(data, "p");
      ASSERT_EQ(JsonString(*m, "from"), "p" + std::to_string(p));
      // Each publisher's messages in the order it sent them, none missing.
      ASSERT_EQ(*JsonUint(data, "i"), uint64_t(next_i[p]++)) << "subscriber " << s;
      order.push_back(data);
    }
    // No duplicate after the last one.
    EXPECT_FALSE(subs[s]->ReadMessage(200)) << "subscriber " << s << " got more";
    // Every subscriber, on every node, sees the one order of the channel.
    if (s == 0) {
      first_order = order;
    } else {
      ASSERT_EQ(order, first_order) << "subscriber " << s << " saw another order";
    }
  }
  // One PUBLISH per publication, whatever the number of nodes and subscribers.
  uint64_t publishes = 0;
  for (auto& node : nodes) publishes += StatsTotal(node->port(), "redis_publishes").value_or(0);
  RedisSync sync(redis.port());
  EXPECT_GE(publishes, total);
  EXPECT_LT(publishes, total + 64) << "status events publish too, nothing else per delivery";
}

TEST(ClusterTest, EchoOffSkipsOnlyThePublisherAcrossNodes) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 2);
  auto a = Connect(*nodes[0], "a");
  auto a2 = Connect(*nodes[0], "a2", 1);
  auto b = Connect(*nodes[1], "b");
  for (WsClient* c : {a.get(), a2.get(), b.get()}) ASSERT_TRUE(Subscribe(*c, "room", 1));
  a->SendText(R"({"op":"pub","room":"room","data":1,"echo":false,"id":2})");
  ASSERT_TRUE(NextIsOk(*a, 2));
  EXPECT_TRUE(IsMsg(a2->ReadMessage(kReadTimeoutMs), "room", "a", "1"));
  EXPECT_TRUE(IsMsg(b->ReadMessage(kReadTimeoutMs), "room", "a", "1"));
  a->SendText(PubCommand("room", "2", 3));
  // What a sees next is its echo of 2, not 1: exactly once each.
  EXPECT_TRUE(OkAndEcho(*a, 3, "room", "a", "2"));
}

TEST(ClusterTest, UsersRequestsAndTheHttpApiAcrossNodes) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 3);
  auto alice = Connect(*nodes[0], "alice");
  auto bob = Connect(*nodes[1], "bob");
  auto carol = Connect(*nodes[2], "carol");
  for (const char* user : {"alice", "bob", "carol"}) {
    ASSERT_TRUE(ReachableAcrossNodes(redis, user)) << user;
  }

  // send: to a user on another node; to nobody anywhere.
  alice->SendText(R"({"op":"send","to":"bob","data":{"hi":1},"id":1})");
  ASSERT_TRUE(NextIsOk(*alice, 1));
  auto m = bob->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(m);
  EXPECT_EQ(JsonKeys(*m), "data,from,op");
  EXPECT_EQ(JsonString(*m, "from"), "alice");
  alice->SendText(R"({"op":"send","to":"nobody","data":1,"id":2})");
  EXPECT_TRUE(NextIsError(*alice, "no_such_user", 2));

  // req/res: the rid routes bob's answer to alice's node.
  alice->SendText(R"({"op":"req","to":"bob","data":"q","id":3})");
  auto req = bob->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(req);
  ASSERT_EQ(JsonString(*req, "op"), "req") << *req;
  std::string rid = JsonString(*req, "rid");
  EXPECT_EQ(rid.rfind("n1/", 0), 0u) << rid;
  // Somebody else on a third node cannot answer it.
  carol->SendText(R"({"op":"res","rid":)" + JsonQuote(rid) + R"(,"data":"forged","id":7})");
  EXPECT_TRUE(NextIsError(*carol, "not_allowed", 7));
  bob->SendText(R"({"op":"res","rid":)" + JsonQuote(rid) + R"(,"data":"a","id":8})");
  ASSERT_TRUE(NextIsOk(*bob, 8));
  auto res = alice->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(res);
  EXPECT_EQ(JsonString(*res, "op"), "res") << *res;
  EXPECT_EQ(JsonUint(*res, "id"), 3u);
  EXPECT_EQ(JsonString(*res, "from"), "bob");
  EXPECT_EQ(JsonField(*res, "data"), "\"a\"");

  // The HTTP API on any node.
  ASSERT_TRUE(Subscribe(*alice, "news", 4));
  std::string r = Http(nodes[2]->port(), "POST", "/api/publish", R"({"room":"news","data":5})");
  ASSERT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_TRUE(IsMsg(alice->ReadMessage(kReadTimeoutMs), "news", "$server", "5"));
  r = Http(nodes[2]->port(), "POST", "/api/send", R"({"to":"bob","data":6})");
  ASSERT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_EQ(JsonUint(BodyOf(r), "delivered"), 1u) << "one node reached";
  m = bob->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(m);
  EXPECT_EQ(JsonField(*m, "data"), "6");
  r = Http(nodes[0]->port(), "POST", "/api/disconnect", R"({"user":"bob"})");
  ASSERT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  auto bye = ReadOp(*bob, "bye");
  ASSERT_TRUE(bye);
  EXPECT_EQ(bob->WaitClose(kReadTimeoutMs), 1008);
}

TEST(ClusterTest, PresenceJoinAndLeaveEventsCrossNodes) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 2, {"--presence-leave-delay-ms", "0"});
  auto watcher = Connect(*nodes[0], "watcher");
  watcher->SendText(R"({"op":"sub","room":"lobby","presence":true,"id":1})");
  auto own = ReadOp(*watcher, "join");  // its own join, through Redis
  ASSERT_TRUE(own);
  EXPECT_EQ(JsonString(*own, "user"), "watcher");
  auto guest = Connect(*nodes[1], "guest");
  ASSERT_TRUE(Subscribe(*guest, "lobby", 1));
  auto join = ReadOp(*watcher, "join");
  ASSERT_TRUE(join);
  EXPECT_EQ(JsonString(*join, "room"), "lobby");
  EXPECT_EQ(JsonString(*join, "user"), "guest");
  guest->SendText(R"({"op":"unsub","room":"lobby","id":2})");
  auto leave = ReadOp(*watcher, "leave");
  ASSERT_TRUE(leave);
  EXPECT_EQ(JsonString(*leave, "user"), "guest");
}

TEST(ClusterTest, StatusEventsReachABackendOnAnotherNode) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 2, {"--events-room", "$events", "--api-key", "k"});
  WsClient backend;
  ASSERT_TRUE(backend.Connect(nodes[1]->port(), "/ws?apikey=k", "127.0.0.1"));
  ASSERT_TRUE(backend.ReadWelcome());
  ASSERT_TRUE(Subscribe(backend, "$events", 1));
  auto dave = Connect(*nodes[0], "dave");
  auto ev = ReadOp(backend, "msg");
  ASSERT_TRUE(ev);
  EXPECT_EQ(JsonString(*ev, "room"), "$events");
  EXPECT_EQ(JsonString(JsonField(*ev, "data"), "user"), "dave");
  EXPECT_EQ(JsonUint(JsonField(*ev, "data"), "status"), 1u);
}

TEST(ClusterTest, RedisKilledMidTrafficDegradesTellsGapAndResumes) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 2);
  auto a = Connect(*nodes[0], "a");
  auto a_sub = Connect(*nodes[0], "asub", 1);
  auto b_sub = Connect(*nodes[1], "bsub");
  ASSERT_TRUE(Subscribe(*a_sub, "live", 1));
  ASSERT_TRUE(Subscribe(*b_sub, "live", 1));
  a->SendText(PubCommand("live", "1", 1));
  ASSERT_TRUE(NextIsOk(*a, 1));
  EXPECT_TRUE(IsMsg(a_sub->ReadMessage(kReadTimeoutMs), "live", "a", "1"));
  EXPECT_TRUE(IsMsg(b_sub->ReadMessage(kReadTimeoutMs), "live", "a", "1"));
  // A request from b's node to a, answered only once Redis is gone.
  b_sub->SendText(R"({"op":"req","to":"a","data":0,"id":5})");
  auto req = a->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(req);
  std::string rid = JsonString(*req, "rid");

  redis.Kill();
  ASSERT_TRUE(
      WaitUntil([&] { return StatsTotal(nodes[0]->port(), "redis_connections_up") == 0u; }, 5000));
  std::string health = Http(nodes[0]->port(), "GET", "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  EXPECT_NE(BodyOf(health).find("redis: degraded"), std::string::npos) << health;
  // Local delivery goes on.
  a->SendText(PubCommand("live", "2", 2));
  ASSERT_TRUE(NextIsOk(*a, 2));
  EXPECT_TRUE(IsMsg(a_sub->ReadMessage(kReadTimeoutMs), "live", "a", "2"));
  // What needs Redis says so.
  a->SendText(R"({"op":"res","rid":)" + JsonQuote(rid) + R"(,"data":1,"id":6})");
  EXPECT_TRUE(NextIsError(*a, "unavailable", 6));

  ASSERT_TRUE(redis.Start()) << redis.error();
  for (auto& node : nodes) ASSERT_TRUE(WaitUntil([&] { return RedisUp(node->port()); }, 10000));
  // Both nodes' subscribers are told they may have missed publications...
  auto gap_a = ReadOp(*a_sub, "gap");
  ASSERT_TRUE(gap_a);
  EXPECT_EQ(*gap_a, R"({"op":"gap","room":"live"})");
  auto gap_b = ReadOp(*b_sub, "gap");
  ASSERT_TRUE(gap_b);
  // ...and the room is subscribed again: delivery across nodes resumes.
  a->SendText(PubCommand("live", "3", 3));
  ASSERT_TRUE(NextIsOk(*a, 3));
  EXPECT_TRUE(IsMsg(a_sub->ReadMessage(kReadTimeoutMs), "live", "a", "3"));
  EXPECT_TRUE(IsMsg(b_sub->ReadMessage(kReadTimeoutMs), "live", "a", "3"));
  EXPECT_GE(StatsTotal(nodes[0]->port(), "redis_reconnects").value_or(0), kConnsPerNode);
  EXPECT_GE(StatsTotal(nodes[0]->port(), "redis_gaps").value_or(0), 1u);
  health = Http(nodes[1]->port(), "GET", "/healthz");
  EXPECT_NE(BodyOf(health).find("redis: up"), std::string::npos) << health;
  for (auto& node : nodes) EXPECT_TRUE(node->child.running()) << node->id;
}

TEST(ClusterTest, NodeStartsBeforeRedisAndJoinsWhenItComes) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  std::string url = redis.url();
  redis.Kill();
  ClusterNode node;
  node.id = "early";
  ASSERT_TRUE(node.child.StartListening(
      {"--shards", "2", "--no-pin", "--node-id", "early", "--redis", url}));
  auto c = Connect(node, "u");
  ASSERT_TRUE(Subscribe(*c, "r", 1)) << "degraded: subscribing does not wait for Redis";
  c->SendText(PubCommand("r", "1", 2));
  EXPECT_TRUE(OkAndEcho(*c, 2, "r", "u", "1"));
  ASSERT_TRUE(redis.Start()) << redis.error();
  ASSERT_TRUE(WaitUntil([&] { return RedisUp(node.port()); }, 10000));
  auto gap = ReadOp(*c, "gap");
  ASSERT_TRUE(gap) << "it may have missed other nodes' publications";
  RedisSync sync(redis.port());
  shard::ClusterPartitions partitions;
  shard::ClusterKeys keys(&partitions);
  auto numsub = sync.Command({"PUBSUB", "NUMSUB", keys.RoomChannel("r")});
  ASSERT_TRUE(numsub);
  ASSERT_EQ(numsub->elements, 2u);
  EXPECT_EQ(numsub->element[1]->integer, 1) << "the room's owner subscribed it once";
}

TEST(ClusterTest, RoomsSpreadOverSeveralIndependentRedis) {
  RedisProcess r1, r2;
  ASSERT_TRUE(r1.Start()) << r1.error();
  ASSERT_TRUE(r2.Start()) << r2.error();
  std::vector<std::unique_ptr<ClusterNode>> nodes;
  for (int i = 0; i < 2; ++i) {
    auto node = std::make_unique<ClusterNode>();
    node->id = "m" + std::to_string(i);
    // The two nodes list the instances in different orders: they still agree.
    std::vector<std::string> urls = {r1.url(), r2.url()};
    if (i == 1) std::swap(urls[0], urls[1]);
    ASSERT_TRUE(node->child.StartListening({"--shards", "2", "--no-pin", "--node-id", node->id,
                                            "--redis", urls[0], "--redis", urls[1]}));
    ASSERT_TRUE(WaitUntil([&] { return RedisUp(node->port()); }, 10000));
    nodes.push_back(std::move(node));
  }
  constexpr int kRooms = 16;
  auto sub = Connect(*nodes[1], "s");
  for (int r = 0; r < kRooms; ++r) ASSERT_TRUE(Subscribe(*sub, "room" + std::to_string(r), 1));
  auto pub = Connect(*nodes[0], "p");
  for (int r = 0; r < kRooms; ++r) {
    pub->SendText(PubCommand("room" + std::to_string(r), std::to_string(r), uint64_t(r + 1)));
  }
  for (int r = 0; r < kRooms; ++r) ASSERT_TRUE(NextIsOk(*pub, uint64_t(r + 1)));
  std::vector<bool> seen(kRooms);
  for (int r = 0; r < kRooms; ++r) {
    auto m = sub->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    seen[*JsonUint(std::string("{\"v\":") + JsonField(*m, "data") + "}", "v")] = true;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kRooms);
  // Both instances carry some of the rooms (personal rooms too).
  for (RedisProcess* r : {&r1, &r2}) {
    RedisSync sync(r->port());
    auto channels = sync.Command({"PUBSUB", "CHANNELS"});
    ASSERT_TRUE(channels);
    EXPECT_GE(channels->elements, 3u) << r->url();
  }
}

TEST(ClusterTest, ResubscribingInOneRoundKeepsTheSubscription) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 2);
  auto c = Connect(*nodes[1], "c");
  auto p = Connect(*nodes[0], "p");
  ASSERT_TRUE(Subscribe(*c, "flip", 1));
  // unsub then sub in one frame: the node's interest goes away and comes back
  // within a round while Redis has the subscription; the new `ok` must still
  // come (not wait for a confirmation that nothing asked for), and delivery go on.
  for (int i = 0; i < 20; ++i) {
    c->SendText(
        "{\"op\":\"unsub\",\"room\":\"flip\",\"id\":2}\n"
        "{\"op\":\"sub\",\"room\":\"flip\",\"id\":3}");
    ASSERT_TRUE(NextIsOk(*c, 2)) << i;
    ASSERT_TRUE(NextIsOk(*c, 3)) << i;
    p->SendText(PubCommand("flip", std::to_string(i), 4));
    ASSERT_TRUE(NextIsOk(*p, 4));
    EXPECT_TRUE(IsMsg(c->ReadMessage(kReadTimeoutMs), "flip", "p", std::to_string(i))) << i;
  }
}

TEST(ClusterTest, ANodeKilledMidTrafficLeavesTheOthersServing) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  auto nodes = StartNodes(redis, 3);
  auto p = Connect(*nodes[0], "p");
  auto doomed = Connect(*nodes[1], "d");
  auto s = Connect(*nodes[2], "s");
  ASSERT_TRUE(Subscribe(*doomed, "feed", 1));
  ASSERT_TRUE(Subscribe(*s, "feed", 1));
  for (int i = 0; i < 50; ++i) p->SendText(PubCommand("feed", std::to_string(i)));
  nodes[1]->child.Kill();  // SIGKILL mid-traffic
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(IsMsg(s->ReadMessage(kReadTimeoutMs), "feed", "p", std::to_string(i))) << i;
  }
  // Its client comes back on another node and is served there.
  EXPECT_TRUE(doomed->WaitEof(kReadTimeoutMs));
  auto again = Connect(*nodes[2], "d", 1);
  ASSERT_TRUE(Subscribe(*again, "feed", 2));
  p->SendText(PubCommand("feed", "100", 7));
  ASSERT_TRUE(NextIsOk(*p, 7));
  EXPECT_TRUE(IsMsg(again->ReadMessage(kReadTimeoutMs), "feed", "p", "100"));
  EXPECT_TRUE(IsMsg(s->ReadMessage(kReadTimeoutMs), "feed", "p", "100"));
  // Redis forgets the dead node's subscriptions with its connections. It does
  // so only once it reads their EOF, and the kernel closes a SIGKILLed node's
  // sockets only after tearing down its io_uring: under load that can come
  // after everything above, so wait for it (bounded). A node that stayed
  // subscribed, or a second subscription of node 3, still fails here.
  shard::ClusterPartitions partitions;
  shard::ClusterKeys keys(&partitions);
  RedisSync sync(redis.port());
  ASSERT_TRUE(sync.connected());
  long long subscribed = -1;
  auto only_node3 = [&] {
    auto numsub = sync.Command({"PUBSUB", "NUMSUB", keys.RoomChannel("feed")});
    if (!numsub) return false;
    subscribed = numsub->element[1]->integer;
    return subscribed == 1;
  };
  EXPECT_TRUE(WaitUntil(only_node3, 10000, 20))
      << subscribed << " subscribers: only node 3 should be";
}

// Clients gone while Redis has not yet confirmed their rooms' subscriptions
// (Redis paused), on a node of one shard: the owner of every room is the
// shard the clients leave from and runs in place, so a leave releases the
// held join acks at once, inside the leave. The node stays up (it crashed
// here when such an ack left and erased the room a second time) and serves
// the rooms once Redis is back.
TEST(ClusterTest, ClientsGoneBeforeRedisConfirmsTheirRoomsLeaveTheNodeServing) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  ClusterNode node;
  node.id = "one";
  ASSERT_TRUE(node.child.StartListening({"--shards", "1", "--no-pin", "--node-id", "one", "--redis",
                                         redis.url(), "--redis-reply-timeout-ms", "5000"}))
      << node.child.Stderr();
  ASSERT_TRUE(WaitUntil([&] { return RedisUp(node.port()); }, 10000));
  RedisSync sync(redis.port());
  ASSERT_EQ(sync.Text({"CLIENT", "PAUSE", "500", "ALL"}), "OK");
  for (int i = 0; i < 3; ++i) {
    // Its personal room and "r" wait for Redis; the client leaves first.
    auto c = Connect(node, "gone" + std::to_string(i));
    c->SendText(R"({"op":"sub","room":"r","id":1})");
    c->SendText(R"({"op":"sub","room":"r)" + std::to_string(i) + R"(","id":2})");
    c.reset();
  }
  auto after = Connect(node, "after");
  ASSERT_TRUE(Subscribe(*after, "r", 1)) << node.child.Stderr();
  after->SendText(PubCommand("r", "1", 2));
  EXPECT_TRUE(OkAndEcho(*after, 2, "r", "after", "1"));
  EXPECT_TRUE(node.child.running()) << node.child.Stderr();
}

TEST(ClusterTest, BadRedisUrlFailsStartWithOneLine) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.Spawn({"--listen", "127.0.0.1:0", "--redis", "rediss://x:1"}));
  EXPECT_NE(child.WaitExit(10000), 0);
  EXPECT_NE(child.Stderr().find("TLS"), std::string::npos) << child.Stderr();
}

}  // namespace
}  // namespace ringcast::testing
