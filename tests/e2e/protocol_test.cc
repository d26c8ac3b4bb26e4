// Native protocol over real shards: welcome, sub/unsub/pub with ok ids,
// delivery within and across shards, echo, batching, ping and command errors.
// Two shards; clients are spread over several connections because
// SO_REUSEPORT picks the shard from the 4-tuple.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

class ProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<InProcessServer>(TestServerOptions(2));
    auto error = server_->Start();
    ASSERT_FALSE(error.has_value()) << *error;
    port_ = server_->port();
  }

  std::unique_ptr<InProcessServer> server_;
  uint16_t port_ = 0;
};

TEST_F(ProtocolTest, WelcomeHasAllFields) {
  std::set<std::string> sids, users, nodes;
  for (size_t i = 0; i < 8; ++i) {
    WsClient client;
    ASSERT_TRUE(client.Connect(port_, "/ws", SourceIp(i))) << client.last_error();
    auto welcome = client.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(welcome.has_value());
    EXPECT_EQ(JsonString(*welcome, "op"), "welcome") << *welcome;
    EXPECT_EQ(JsonUint(*welcome, "v"), 1u) << *welcome;
    std::string sid = JsonString(*welcome, "sid");
    std::string user = JsonString(*welcome, "user");
    std::string node = JsonString(*welcome, "node");
    EXPECT_FALSE(sid.empty()) << *welcome;
    EXPECT_FALSE(user.empty()) << *welcome;
    EXPECT_FALSE(node.empty()) << *welcome;
    sids.insert(sid);
    users.insert(user);
    nodes.insert(node);
  }
  EXPECT_EQ(sids.size(), 8u) << "session ids must be unique";
  EXPECT_EQ(users.size(), 8u) << "anonymous user ids must be unique";
  EXPECT_EQ(nodes.size(), 1u) << "one process is one node";
}

TEST_F(ProtocolTest, AnyPathUpgrades) {
  WsClient client;
  ASSERT_TRUE(client.Connect(port_, "/some/other/path?x=1")) << client.last_error();
  auto welcome = client.ReadWelcome();
  ASSERT_TRUE(welcome.has_value());
}

TEST_F(ProtocolTest, UserQueryParameterNamesTheUser) {
  // No JWT secret: `user` is honoured by default, and is the `from` of publications.
  WsClient alice, bob;
  ASSERT_TRUE(alice.Connect(port_, "/ws?user=alice", "127.0.0.2")) << alice.last_error();
  ASSERT_TRUE(alice.ReadWelcome().has_value());
  EXPECT_EQ(alice.user(), "alice");
  ASSERT_TRUE(bob.Connect(port_, "/ws?x=1&user=bob", "127.0.0.3")) << bob.last_error();
  ASSERT_TRUE(bob.ReadWelcome().has_value());
  EXPECT_EQ(bob.user(), "bob");
  ASSERT_TRUE(Subscribe(bob, "named", 1));
  alice.SendText(PubCommand("named", "true"));
  EXPECT_TRUE(IsMsg(bob.ReadMessage(kReadTimeoutMs), "named", "alice", "true"));
}

TEST_F(ProtocolTest, SubThenPubDeliversExactMsgFrame) {
  // Several pairs, so that subscriber and publisher land on the same shard for
  // some pairs and on different shards for others.
  auto subs = ConnectMany(port_, 8);
  std::vector<std::unique_ptr<WsClient>> pubs;
  for (size_t i = 0; i < 8; ++i) {
    pubs.push_back(std::make_unique<WsClient>());
    ASSERT_TRUE(ConnectWelcomed(*pubs.back(), port_, SourceIp(100 + i)));
  }
  for (size_t i = 0; i < subs.size(); ++i) {
    std::string room = "exact-" + std::to_string(i);
    ASSERT_TRUE(Subscribe(*subs[i], room, 1));
    std::string data =
        R"({"n":)" + std::to_string(i) + R"(,"s":"h\u00e9llo \"q\"","a":[1,2.5,null,true]})";
    pubs[i]->SendText(PubCommand(room, data, 2));
    EXPECT_TRUE(NextIsOk(*pubs[i], 2));
    EXPECT_TRUE(IsMsg(subs[i]->ReadMessage(kReadTimeoutMs), room, pubs[i]->user(), data));
    // Scalar data values too.
    for (std::string scalar : {"42", R"("text")", "null", "[]"}) {
      pubs[i]->SendText(PubCommand(room, scalar));
      EXPECT_TRUE(IsMsg(subs[i]->ReadMessage(kReadTimeoutMs), room, pubs[i]->user(), scalar));
    }
  }
}

TEST_F(ProtocolTest, OkCarriesTheSameIdForSubUnsubPub) {
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, port_));
  for (uint64_t id : {1ull, 77ull, 123456789012ull}) {
    std::string sid = std::to_string(id);
    client.SendText(R"({"op":"sub","room":"ids","id":)" + sid + "}");
    EXPECT_TRUE(NextIsOk(client, id));
    client.SendText(R"({"op":"unsub","room":"ids","id":)" + sid + "}");
    EXPECT_TRUE(NextIsOk(client, id));
    client.SendText(PubCommand("ids-other", "1", id));
    EXPECT_TRUE(NextIsOk(client, id));
  }
  // No id: no reply. The next reply is the pong.
  client.SendText(R"({"op":"sub","room":"noid"})");
  client.SendText(R"({"op":"pub","room":"elsewhere","data":1})");
  client.SendText(R"({"op":"ping","id":9})");
  auto msg = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(JsonString(*msg, "op"), "pong") << *msg;
  EXPECT_EQ(JsonUint(*msg, "id"), 9u) << *msg;
}

TEST_F(ProtocolTest, ManyRoomsManyPairsAcrossShards) {
  constexpr size_t kClients = 16;
  constexpr size_t kRooms = 40;
  constexpr size_t kPerRoom = 5;
  auto subs = ConnectMany(port_, kClients);
  auto pubs = ConnectMany(port_, kClients);
  ASSERT_FALSE(::testing::Test::HasFailure());
  // Room k: subscribers k % 16 and (k + 5) % 16, publisher k % 16 of `pubs`.
  std::map<size_t, std::vector<size_t>> rooms_of;
  for (size_t k = 0; k < kRooms; ++k) {
    rooms_of[k % kClients].push_back(k);
    rooms_of[(k + 5) % kClients].push_back(k);
  }
  uint64_t id = 100;
  for (auto& [client, rooms] : rooms_of) {
    for (size_t k : rooms) ASSERT_TRUE(Subscribe(*subs[client], "room-" + std::to_string(k), ++id));
  }
  for (size_t j = 0; j < kPerRoom; ++j) {
    for (size_t k = 0; k < kRooms; ++k) {
      pubs[k % kClients]->SendText(
          PubCommand("room-" + std::to_string(k),
                     R"({"k":)" + std::to_string(k) + R"(,"j":)" + std::to_string(j) + "}"));
    }
  }
  for (auto& [client, rooms] : rooms_of) {
    std::map<std::string, uint64_t> next_j;
    size_t expected = rooms.size() * kPerRoom;
    for (size_t got = 0; got < expected; ++got) {
      auto msg = subs[client]->ReadMessage(kReadTimeoutMs);
      ASSERT_TRUE(msg.has_value()) << "client " << client << " got " << got << "/" << expected;
      ASSERT_EQ(JsonString(*msg, "op"), "msg") << *msg;
      std::string room = JsonString(*msg, "room");
      std::string data = JsonField(*msg, "data");
      size_t k = std::stoul(room.substr(5));
      EXPECT_EQ(JsonString(*msg, "from"), pubs[k % kClients]->user());
      EXPECT_EQ(JsonUint(data, "j"), next_j[room]++) << "out of order in " << room;
      EXPECT_EQ(JsonUint(data, "k"), k);
    }
    EXPECT_EQ(next_j.size(), rooms.size());
  }
  // Nothing beyond what was subscribed.
  for (auto& c : subs) {
    auto extra = c->ReadMessage(100);
    EXPECT_FALSE(extra.has_value()) << *extra;
  }
}

TEST_F(ProtocolTest, UnsubStopsDelivery) {
  WsClient a, b, c;
  ASSERT_TRUE(ConnectWelcomed(a, port_, "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(b, port_, "127.0.0.3"));
  ASSERT_TRUE(ConnectWelcomed(c, port_, "127.0.0.4"));
  ASSERT_TRUE(Subscribe(a, "u-room", 1));
  ASSERT_TRUE(Subscribe(a, "u-other", 2));
  ASSERT_TRUE(Subscribe(c, "u-room", 1));
  b.SendText(PubCommand("u-room", R"("m1")", 10));
  ASSERT_TRUE(NextIsOk(b, 10));
  EXPECT_TRUE(IsMsg(a.ReadMessage(kReadTimeoutMs), "u-room", b.user(), R"("m1")"));
  EXPECT_TRUE(IsMsg(c.ReadMessage(kReadTimeoutMs), "u-room", b.user(), R"("m1")"));

  a.SendText(R"({"op":"unsub","room":"u-room","id":3})");
  ASSERT_TRUE(NextIsOk(a, 3));
  b.SendText(PubCommand("u-room", R"("m2")", 11));
  ASSERT_TRUE(NextIsOk(b, 11));
  // c still subscribed: m2 has been delivered once c has it.
  EXPECT_TRUE(IsMsg(c.ReadMessage(kReadTimeoutMs), "u-room", b.user(), R"("m2")"));
  b.SendText(PubCommand("u-other", R"("m3")", 12));
  ASSERT_TRUE(NextIsOk(b, 12));
  EXPECT_TRUE(IsMsg(a.ReadMessage(kReadTimeoutMs), "u-other", b.user(), R"("m3")"));
  auto extra = a.ReadMessage(300);
  EXPECT_FALSE(extra.has_value()) << "delivered after unsub: " << *extra;
}

TEST_F(ProtocolTest, EchoFalseSkipsOnlyThePublisher) {
  WsClient a, b;
  ASSERT_TRUE(ConnectWelcomed(a, port_, "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(b, port_, "127.0.0.3"));
  ASSERT_TRUE(Subscribe(a, "echo", 1));
  ASSERT_TRUE(Subscribe(b, "echo", 1));
  a.SendText(R"({"op":"pub","room":"echo","data":"e1","echo":false,"id":2})");
  a.SendText(R"({"op":"pub","room":"echo","data":"e2","id":3})");
  EXPECT_TRUE(IsMsg(b.ReadMessage(kReadTimeoutMs), "echo", a.user(), R"("e1")"));
  EXPECT_TRUE(IsMsg(b.ReadMessage(kReadTimeoutMs), "echo", a.user(), R"("e2")"));
  // a: ok 2, ok 3 (in order) and the echo of e2 only.
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto msg = a.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << "a got only " << i << " messages";
    got.push_back(*msg);
  }
  std::vector<uint64_t> ok_ids;
  int echoes = 0;
  for (auto& m : got) {
    if (JsonString(m, "op") == "ok") {
      ok_ids.push_back(JsonUint(m, "id").value_or(0));
    } else {
      EXPECT_TRUE(IsMsg(m, "echo", a.user(), R"("e2")"));
      ++echoes;
    }
  }
  EXPECT_EQ(ok_ids, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(echoes, 1);
  auto extra = a.ReadMessage(200);
  EXPECT_FALSE(extra.has_value()) << *extra;
}

TEST_F(ProtocolTest, SeveralCommandsInOneFrameAnsweredInOrder) {
  WsClient a, b;
  ASSERT_TRUE(ConnectWelcomed(a, port_, "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(b, port_, "127.0.0.3"));
  // Sub to several rooms (owned by different shards) interleaved with pings.
  a.SendText(
      "{\"op\":\"ping\",\"id\":1}\n"
      "{\"op\":\"sub\",\"room\":\"batch-a\",\"id\":2}\n"
      "{\"op\":\"sub\",\"room\":\"batch-b\",\"id\":3}\n"
      "{\"op\":\"ping\",\"id\":4}\n"
      "{\"op\":\"sub\",\"room\":\"batch-c\",\"id\":5}\n"
      "{\"op\":\"sub\",\"room\":\"batch-d\",\"id\":6}\n"
      "{\"op\":\"ping\",\"id\":7}");
  std::vector<std::string> expected_ops = {"pong", "ok", "ok", "pong", "ok", "ok", "pong"};
  for (uint64_t id = 1; id <= 7; ++id) {
    auto msg = a.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value()) << "reply " << id;
    EXPECT_EQ(JsonString(*msg, "op"), expected_ops[id - 1]) << *msg;
    EXPECT_EQ(JsonUint(*msg, "id"), id) << *msg;
  }
  // The subscriptions are live.
  b.SendText(PubCommand("batch-a", "1") + "\n" + PubCommand("batch-d", "4"));
  std::set<std::string> rooms;
  for (int i = 0; i < 2; ++i) {
    auto msg = a.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value());
    rooms.insert(JsonString(*msg, "room"));
  }
  EXPECT_EQ(rooms, (std::set<std::string>{"batch-a", "batch-d"}));
}

TEST_F(ProtocolTest, PingGetsPongWithId) {
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, port_));
  for (uint64_t id : {1ull, 2ull, 4000000000ull}) {
    client.SendText(R"({"op":"ping","id":)" + std::to_string(id) + "}");
    auto msg = client.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(JsonString(*msg, "op"), "pong") << *msg;
    EXPECT_EQ(JsonUint(*msg, "id"), id) << *msg;
  }
}

TEST_F(ProtocolTest, BadJsonIsAnErrorAndTheConnectionStaysUsable) {
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, port_));
  for (std::string bad : {R"({"op":)", "not json at all", R"({"op":"ping","id":1)"}) {
    client.SendText(bad);
    EXPECT_TRUE(NextIsError(client, "bad_json", std::nullopt)) << "for " << bad;
  }
  client.SendText(R"({"op":"ping","id":2})");
  auto msg = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(msg.has_value()) << "connection closed after bad JSON";
  EXPECT_EQ(JsonString(*msg, "op"), "pong") << *msg;
  EXPECT_EQ(JsonUint(*msg, "id"), 2u) << *msg;
}

TEST_F(ProtocolTest, UnknownOpIsBadCommandWithId) {
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, port_));
  client.SendText(R"({"op":"frobnicate","id":5})");
  EXPECT_TRUE(NextIsError(client, "bad_command", 5));
  client.SendText(R"({"id":6})");
  EXPECT_TRUE(NextIsError(client, "bad_command", 6));
  client.SendText(R"({"op":"ping","id":7})");
  auto msg = client.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(JsonString(*msg, "op"), "pong") << *msg;
}

TEST_F(ProtocolTest, MissingOrWrongTypedRoomIsBadCommand) {
  WsClient client;
  ASSERT_TRUE(ConnectWelcomed(client, port_));
  client.SendText(R"({"op":"sub","id":1})");
  EXPECT_TRUE(NextIsError(client, "bad_command", 1));
  client.SendText(R"({"op":"unsub","id":2})");
  EXPECT_TRUE(NextIsError(client, "bad_command", 2));
  client.SendText(R"({"op":"pub","data":1,"id":3})");
  EXPECT_TRUE(NextIsError(client, "bad_command", 3));
  client.SendText(R"({"op":"sub","room":17,"id":4})");
  EXPECT_TRUE(NextIsError(client, "bad_command", 4));
  client.SendText(R"({"op":"pub","room":"r","id":5})");
  EXPECT_TRUE(NextIsError(client, "bad_command", 5)) << "pub without data";
}

TEST_F(ProtocolTest, WelcomeComesFirstEvenWhenCommandsArriveWithTheHead) {
  for (size_t i = 0; i < 4; ++i) {
    WsClient client;
    ASSERT_TRUE(client.ConnectPipelined(port_, R"({"op":"ping","id":3})")) << client.last_error();
    auto first = client.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(JsonString(*first, "op"), "welcome") << *first;
    auto second = client.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(second.has_value()) << "command sent behind the head was lost";
    EXPECT_EQ(JsonString(*second, "op"), "pong") << *second;
    EXPECT_EQ(JsonUint(*second, "id"), 3u) << *second;
  }
}

// "After a client receives ok for sub, it receives every later publication":
// subscribers join while a publisher on another connection streams numbered
// messages; from the first message each one sees, the numbers are gapless,
// and everything published after its ok arrives.
TEST_F(ProtocolTest, SubscribingDuringAStreamMissesNothingAfterOk) {
  constexpr int kMinMessages = 3000;
  constexpr int kMaxMessages = 200000;
  constexpr int kPaceEvery = 50;
  constexpr size_t kSubscribers = 8;
  WsClient publisher;
  ASSERT_TRUE(ConnectWelcomed(publisher, port_, "127.0.0.2"));
  auto subs = ConnectMany(port_, kSubscribers);
  ASSERT_FALSE(HasFailure());
  // Every kPaceEvery-th message carries an id and the publisher waits for its ok, so the
  // stream keeps pace with the server. It runs until every subscriber has its ok (and for at
  // least kMinMessages), then one more paced batch: published after every ok.
  std::atomic<int> published{0};
  std::atomic<bool> all_joined{false};
  std::string publisher_problem;
  std::thread pub_thread([&] {
    auto publish = [&](int n) {
      const bool pace = n % kPaceEvery == kPaceEvery - 1;
      publisher.SendText(PubCommand("stream", std::to_string(n),
                                    pace ? std::optional<uint64_t>(n) : std::nullopt));
      published.store(n + 1);
      if (!pace) return true;
      auto ok = NextIsOk(publisher, n);
      if (!ok) publisher_problem = ok.message();
      return static_cast<bool>(ok);
    };
    int n = 0;
    for (; n < kMinMessages || !all_joined.load(); ++n) {
      if (n == kMaxMessages) {
        publisher_problem = "the subscribers never all had their ok";
        return;
      }
      if (!publish(n)) return;
    }
    for (const int end = (n / kPaceEvery + 1) * kPaceEvery; n < end; ++n) {
      if (!publish(n)) return;
    }
  });
  struct Joiner {
    std::atomic<bool>& all_joined;
    std::thread& t;
    ~Joiner() {
      all_joined = true;
      if (t.joinable()) t.join();
    }
  } joiner{all_joined, pub_thread};
  for (size_t i = 0; i < kSubscribers; ++i) {
    // Join at different points of the stream.
    const int at = static_cast<int>(i * kMinMessages / (kSubscribers + 1));
    ASSERT_TRUE(WaitUntil([&] { return published.load() >= at; }, kReadTimeoutMs, 1))
        << "the stream stopped at " << published.load() << ": " << publisher_problem;
    subs[i]->SendText(R"({"op":"sub","room":"stream","id":1})");
  }
  // Messages may come before the ok (published between join and ok); all of them, and all
  // after, are consecutive up to the last one.
  std::vector<int64_t> expected(kSubscribers, -1);
  auto read_one = [&](size_t i) -> std::optional<std::string> {
    auto msg = subs[i]->ReadMessage(kReadTimeoutMs);
    if (!msg) {
      ADD_FAILURE() << "subscriber " << i << " stalled after " << expected[i];
      return std::nullopt;
    }
    if (JsonString(*msg, "op") == "msg") {
      const int64_t n = std::stoll(JsonField(*msg, "data"));
      if (expected[i] >= 0 && n != expected[i]) {
        ADD_FAILURE() << "gap for subscriber " << i << ": " << n << " after " << expected[i] - 1;
        return std::nullopt;
      }
      expected[i] = n + 1;
    }
    return msg;
  };
  for (size_t i = 0; i < kSubscribers; ++i) {
    while (true) {
      auto msg = read_one(i);
      ASSERT_TRUE(msg.has_value());
      if (JsonString(*msg, "op") == "ok") break;
      ASSERT_EQ(JsonString(*msg, "op"), "msg") << *msg;
    }
  }
  all_joined = true;
  pub_thread.join();
  ASSERT_EQ(publisher_problem, "");
  const int total = published.load();
  for (size_t i = 0; i < kSubscribers; ++i) {
    while (expected[i] < total) {
      auto msg = read_one(i);
      ASSERT_TRUE(msg.has_value());
      ASSERT_EQ(JsonString(*msg, "op"), "msg") << *msg;
    }
  }
}

}  // namespace
}  // namespace ringcast::testing
