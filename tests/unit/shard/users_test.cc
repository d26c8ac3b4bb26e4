// Users across two simulated shards (shard_harness.h): send, req/res with
// its timeout, and POST /api/disconnect.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "shard/rid.h"
#include "tests/unit/shard/shard_harness.h"

namespace ringcast::shard {
namespace {

using harness::Client;
using harness::Cluster;
using harness::DirectMsg;
using harness::Error;
using harness::HttpResponse;
using harness::JsonField;
using harness::Ok;
using Texts = std::vector<std::string>;

constexpr std::string_view kNoSuchUser = "no connection of that user on this node";

std::string Req(std::string_view to, std::string_view data, uint64_t timeout_ms, uint64_t id) {
  return R"({"op":"req","to":")" + std::string(to) + R"(","data":)" + std::string(data) +
         R"(,"timeout_ms":)" + std::to_string(timeout_ms) + R"(,"id":)" + std::to_string(id) + "}";
}
std::string Res(std::string_view rid, std::string_view data, uint64_t id) {
  return R"({"op":"res","rid":")" + std::string(rid) + R"(","data":)" + std::string(data) +
         R"(,"id":)" + std::to_string(id) + "}";
}

TEST(UsersAcrossShardsTest, SendReachesEachConnectionOfTheUserOnBothShardsOnce) {
  Cluster cluster(ServerOptions{});
  Client bob0 = cluster.ConnectUser(0, "bob");
  Client bob1 = cluster.ConnectUser(1, "bob");
  Client alice = cluster.ConnectUser(0, "alice");
  const OwnedRoom* personal = cluster.shard(cluster.OwnerOf("@bob")).owner().Find("@bob");
  ASSERT_NE(personal, nullptr);
  EXPECT_EQ(personal->user_conns, 2u);

  alice.Text(R"({"op":"send","to":"bob","data":{"x":1},"id":5})");
  cluster.Settle();
  EXPECT_EQ(bob0.Texts(), Texts{DirectMsg("alice", R"({"x":1})")});
  EXPECT_EQ(bob1.Texts(), Texts{DirectMsg("alice", R"({"x":1})")});
  EXPECT_EQ(alice.Texts(), Texts{Ok(5)});

  // To several users, one of them without connections: ok (someone reached).
  alice.Text(R"({"op":"send","to":["nobody","bob"],"data":2,"id":6})");
  cluster.Settle();
  EXPECT_EQ(bob0.Texts(), Texts{DirectMsg("alice", "2")});
  EXPECT_EQ(bob1.Texts(), Texts{DirectMsg("alice", "2")});
  EXPECT_EQ(alice.Texts(), Texts{Ok(6)});

  // To oneself: every own connection, this one included.
  bob1.Text(R"({"op":"send","to":"bob","data":3,"id":7})");
  cluster.Settle();
  EXPECT_EQ(bob0.Texts(), Texts{DirectMsg("bob", "3")});
  EXPECT_EQ(bob1.Texts(), (Texts{DirectMsg("bob", "3"), Ok(7)}));
  EXPECT_EQ(alice.Texts(), Texts{});
}

TEST(UsersAcrossShardsTest, SendToAUserWithoutConnectionsGivesNoSuchUser) {
  Cluster cluster(ServerOptions{});
  Client alice = cluster.ConnectUser(0, "alice");
  alice.Text(R"({"op":"send","to":"nobody","data":1,"id":1})");
  alice.Text(R"({"op":"send","to":"nobody","data":1})");  // said even without an id
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Error(1, "no_such_user", kNoSuchUser),
                                  Error(std::nullopt, "no_such_user", kNoSuchUser)}));

  // A user whose only connection went away has none any more.
  Client bob = cluster.ConnectUser(1, "bob");
  alice.Text(R"({"op":"send","to":"bob","data":1,"id":2})");
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Ok(2)});
  bob.PeerClose();
  cluster.Settle();
  ASSERT_TRUE(bob.closed());
  alice.Text(R"({"op":"send","to":"bob","data":1,"id":3})");
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Error(3, "no_such_user", kNoSuchUser)});
}

// Every connection of bob gets the req with the same rid; the first res wins,
// the second is dropped (its sender still gets ok), the timeout stays quiet.
TEST(UsersAcrossShardsTest, FirstResWinsAndLaterOnesAreDropped) {
  Cluster cluster(ServerOptions{});
  Client alice = cluster.ConnectUser(0, "alice");
  Client bob0 = cluster.ConnectUser(0, "bob");
  Client bob1 = cluster.ConnectUser(1, "bob");
  alice.Text(Req("bob", R"({"q":1})", 2000, 7));
  cluster.Settle();
  Texts to0 = bob0.Texts();
  Texts to1 = bob1.Texts();
  ASSERT_EQ(to0.size(), 1u);
  ASSERT_EQ(to1.size(), 1u);
  const std::string rid = JsonField(to0[0], "rid");
  std::optional<Rid> parsed = Rid::Parse(rid);
  ASSERT_TRUE(parsed.has_value()) << rid;
  EXPECT_EQ(parsed->shard, 0u);  // "<requester's shard>.<request>.<tag>"
  EXPECT_EQ(parsed->number, 1u);
  const std::string req = R"({"op":"req","from":"alice","rid":")" + rid + R"(","data":{"q":1}})";
  EXPECT_EQ(to0[0], req);
  EXPECT_EQ(to1[0], req);
  EXPECT_EQ(alice.Texts(), Texts{}) << "a req is answered by its res";

  bob1.Text(Res(rid, R"("first")", 1));
  cluster.Settle();
  EXPECT_EQ(bob1.Texts(), Texts{Ok(1)});
  EXPECT_EQ(alice.Texts(), Texts{R"({"op":"res","id":7,"from":"bob","data":"first"})"});

  bob0.Text(Res(rid, R"("second")", 2));
  cluster.Settle();
  EXPECT_EQ(bob0.Texts(), Texts{Ok(2)});
  EXPECT_EQ(alice.Texts(), Texts{});

  cluster.Advance(2000);  // past the timeout: answered already, nothing more
  EXPECT_EQ(alice.Texts(), Texts{});
}

TEST(UsersAcrossShardsTest, ReqWithoutAnswerTimesOutThroughTheTimerWheel) {
  Cluster cluster(ServerOptions{});
  Client alice = cluster.ConnectUser(0, "alice");
  Client bob = cluster.ConnectUser(1, "bob");
  alice.Text(Req("bob", "1", 1000, 8));
  cluster.Settle();
  Texts asked = bob.Texts();
  ASSERT_EQ(asked.size(), 1u);
  const std::string rid = JsonField(asked[0], "rid");

  cluster.Advance(999);
  EXPECT_EQ(alice.Texts(), Texts{});
  cluster.Advance(1);
  EXPECT_EQ(alice.Texts(), Texts{Error(8, "timeout", "no answer in time")});

  // A res after the timeout is dropped.
  bob.Text(Res(rid, "1", 3));
  cluster.Settle();
  EXPECT_EQ(bob.Texts(), Texts{Ok(3)});
  EXPECT_EQ(alice.Texts(), Texts{});
}

// Nobody to ask: no_such_user at once, and the timeout does not fire later.
TEST(UsersAcrossShardsTest, ReqToAUserWithoutConnectionsFailsAtOnce) {
  Cluster cluster(ServerOptions{});
  Client alice = cluster.ConnectUser(0, "alice");
  alice.Text(Req("nobody", "1", 1000, 9));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Error(9, "no_such_user", kNoSuchUser)});
  cluster.Advance(1000);
  EXPECT_EQ(alice.Texts(), Texts{});
}

TEST(UsersAcrossShardsTest, ResWithMalformedRidGetsBadCommand) {
  Cluster cluster(ServerOptions{});
  Client bob = cluster.ConnectUser(1, "bob");
  const std::string tag = ".0123456789abcdef";
  const std::vector<std::string> bad = {"abc",
                                        "1",
                                        "0.1" /* no tag */,
                                        "0.1.2",
                                        "0.1.0123456789abcde" /* 15 digits */,
                                        "0.1.0123456789abcdef0",
                                        "0.1.0123456789abcdeg",
                                        "0.1.-123456789abcdef",
                                        "0" + tag,
                                        "0." + tag,
                                        ".1" + tag,
                                        "2.1" + tag /* no shard 2 */,
                                        "0.1x" + tag,
                                        "x0.1" + tag,
                                        "-0.1" + tag,
                                        "0.-1" + tag,
                                        "+0.1" + tag,
                                        " 0.1" + tag,
                                        "0.4294967296" + tag /* past uint32 */,
                                        "0.1" + tag + " "};
  uint64_t id = 1;
  Texts expected;
  for (const std::string& rid : bad) {
    bob.Text(Res(rid, "1", id));
    expected.push_back(Error(id, "bad_command", "rid is not one this node gave"));
    ++id;
  }
  cluster.Settle();
  EXPECT_EQ(bob.Texts(), expected);

  // Well-formed but unknown: dropped silently, ok.
  bob.Text(Res("1.999" + tag, "1", 100));
  bob.Text(Res("0.0.0000000000000000", "1", 101));
  cluster.Settle();
  EXPECT_EQ(bob.Texts(), (Texts{Ok(100), Ok(101)}));
}

// A res from someone the request was not sent to, or with a tag other than
// the rid's, is refused (not_allowed, even without an id) and changes
// nothing: the target's answer still wins.
TEST(UsersAcrossShardsTest, ResFromAnotherUserOrWithAnotherTagIsRefused) {
  Cluster cluster(ServerOptions{});
  Client alice = cluster.ConnectUser(0, "alice");
  Client bob = cluster.ConnectUser(1, "bob");
  Client mallory = cluster.ConnectUser(1, "mallory");
  alice.Text(Req("bob", "1", 1000, 7));
  cluster.Settle();
  Texts asked = bob.Texts();
  ASSERT_EQ(asked.size(), 1u);
  const std::string rid = JsonField(asked[0], "rid");
  std::optional<Rid> parsed = Rid::Parse(rid);
  ASSERT_TRUE(parsed.has_value());
  Rid forged = *parsed;
  forged.tag ^= 1;

  constexpr std::string_view kNotYours = "no pending request with that rid was sent to you";
  mallory.Text(Res(rid, R"("forged")", 1));
  mallory.Text(R"({"op":"res","rid":")" + rid + R"(","data":2})");
  bob.Text(Res(forged.Format(), R"("wrong tag")", 3));
  cluster.Settle();
  EXPECT_EQ(mallory.Texts(), (Texts{Error(1, "not_allowed", kNotYours),
                                    Error(std::nullopt, "not_allowed", kNotYours)}));
  EXPECT_EQ(bob.Texts(), Texts{Error(3, "not_allowed", kNotYours)});
  EXPECT_EQ(alice.Texts(), Texts{});

  bob.Text(Res(rid, R"("real")", 4));
  cluster.Settle();
  EXPECT_EQ(bob.Texts(), Texts{Ok(4)});
  EXPECT_EQ(alice.Texts(), Texts{R"({"op":"res","id":7,"from":"bob","data":"real"})"});
}

// Two requests get different tags, so one rid says nothing about the next.
TEST(UsersAcrossShardsTest, EachRequestGetsItsOwnRandomTag) {
  Cluster cluster(ServerOptions{});
  Client alice = cluster.ConnectUser(0, "alice");
  Client bob = cluster.ConnectUser(0, "bob");
  alice.Text(Req("bob", "1", 1000, 1));
  alice.Text(Req("bob", "2", 1000, 2));
  cluster.Settle();
  Texts asked = bob.Texts();
  ASSERT_EQ(asked.size(), 2u);
  std::optional<Rid> first = Rid::Parse(JsonField(asked[0], "rid"));
  std::optional<Rid> second = Rid::Parse(JsonField(asked[1], "rid"));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->number, first->number + 1);
  EXPECT_NE(second->tag, first->tag);
}

ServerOptions WithApiKey() {
  ServerOptions o;
  o.api_key = "k3y";
  return o;
}

TEST(UsersAcrossShardsTest, ApiDisconnectClosesEveryConnectionOfTheUserWithBye1008) {
  Cluster cluster(WithApiKey());
  Client bob0 = cluster.ConnectUser(0, "bob");
  Client bob0b = cluster.ConnectUser(0, "bob");
  Client bob1 = cluster.ConnectUser(1, "bob");
  Client alice = cluster.ConnectUser(0, "alice");

  Client api = cluster.Open(1);
  api.Write(harness::HttpRequest("POST", "/api/disconnect", R"({"user":"bob"})",
                                 "Authorization: apikey k3y\r\n"));
  cluster.Settle();
  std::vector<HttpResponse> answers = api.Responses();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, 200);
  EXPECT_EQ(answers[0].body, "{}");

  const std::string bye =
      R"({"op":"bye","code":1008,"reason":"disconnected by the server","reconnect":false})";
  for (Client* bob : {&bob0, &bob0b, &bob1}) {
    std::vector<harness::ServerFrame> frames = bob->Frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].opcode, wire::OpcodeValue(wire::Opcode::kText));
    EXPECT_EQ(frames[0].payload, bye);
    EXPECT_EQ(frames[1].opcode, wire::OpcodeValue(wire::Opcode::kClose));
    EXPECT_EQ(bob->close_code, 1008);
    EXPECT_EQ(bob->close_reason, "disconnected by the server");
    EXPECT_TRUE(bob->shut_wr()) << "the close frame is out: the write side is shut";
  }
  EXPECT_EQ(alice.Frames().size(), 0u);
  EXPECT_EQ(cluster.shard(0).stats().connections_open.load(), 3u);  // alice, bob x2 (closing)

  // The peers answer; bob's connections are gone, alice's stays.
  for (Client* bob : {&bob0, &bob0b, &bob1}) bob->PeerClose();
  cluster.Settle();
  for (Client* bob : {&bob0, &bob0b, &bob1}) EXPECT_TRUE(bob->closed());
  EXPECT_FALSE(alice.closed());
  EXPECT_EQ(cluster.shard(cluster.OwnerOf("@bob")).owner().Find("@bob"), nullptr);
  alice.Text(R"({"op":"send","to":"bob","data":1,"id":1})");
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Error(1, "no_such_user", kNoSuchUser)});

  // Disconnecting a user without connections is answered all the same.
  api.Write(harness::HttpRequest("POST", "/api/disconnect", R"({"user":"nobody"})",
                                 "Authorization: apikey k3y\r\n"));
  cluster.Settle();
  answers = api.Responses();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, 200);
  EXPECT_EQ(answers[0].body, "{}");
}

// POST /api/disconnect closes "every open connection of U" (docs/protocol.md),
// but Users::OnDisconnect (shard/users.cc:188-190) closes every open
// subscriber of the local room "@U", and API-key connections may subscribe
// to "@U" (Access::MaySubscribe, shard/access.cc:145; the owner does not
// count them, local_rooms.cc Unsubscribe). So a backend's connection that
// watches a user's direct messages gets `bye` 1008 and is closed with the
// user.
TEST(UsersAcrossShardsTest, ApiDisconnectLeavesServerConnectionsOnTheUsersRoomOpen) {
  Cluster cluster(WithApiKey());
  Client bob = cluster.ConnectUser(0, "bob");
  Client watcher0 = cluster.Connect(0, "/ws?apikey=k3y");
  Client watcher1 = cluster.Connect(1, "/ws?apikey=k3y");
  watcher0.Text(harness::Sub("@bob", 1));
  watcher1.Text(harness::Sub("@bob", 1));
  cluster.Settle();
  EXPECT_EQ(watcher0.Texts(), Texts{Ok(1)});
  EXPECT_EQ(watcher1.Texts(), Texts{Ok(1)});

  Client api = cluster.Open(1);
  api.Write(harness::HttpRequest("POST", "/api/disconnect", R"({"user":"bob"})",
                                 "Authorization: apikey k3y\r\n"));
  cluster.Settle();
  bob.Frames();
  EXPECT_EQ(bob.close_code, 1008);
  EXPECT_EQ(watcher0.Frames().size(), 0u);
  EXPECT_FALSE(watcher0.close_code.has_value());
  EXPECT_EQ(watcher1.Frames().size(), 0u);
  EXPECT_FALSE(watcher1.close_code.has_value());
}

// POST /api/disconnect is new work toward every shard: like send, it is
// admitted only while the bus admits it (Outbox::Admits), so a flood of them
// cannot grow a backlogged bus. Refused: 503, nothing closed; admitted again
// once the backlog is gone.
TEST(UsersAcrossShardsTest, ApiDisconnectGets503WhileTheBusIsBackloggedAndClosesNothing) {
  Cluster cluster(WithApiKey());
  Client bob0 = cluster.ConnectUser(0, "bob");
  Client bob1 = cluster.ConnectUser(1, "bob");
  Client api = cluster.Open(1);
  cluster.shard(1).set_admits(false);  // shard 1's bus is backlogged
  for (int i = 0; i < 3; ++i) {
    api.Write(harness::HttpRequest("POST", "/api/disconnect", R"({"user":"bob"})",
                                   "Authorization: apikey k3y\r\n"));
  }
  cluster.Settle();
  std::vector<HttpResponse> answers = api.Responses();
  ASSERT_EQ(answers.size(), 3u);
  for (const HttpResponse& r : answers) {
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, R"({"error":"rate_limited","reason":"server busy: disconnect refused"})");
  }
  for (Client* bob : {&bob0, &bob1}) {
    EXPECT_TRUE(bob->Frames().empty());
    EXPECT_FALSE(bob->close_code.has_value());
  }

  cluster.shard(1).set_admits(true);
  api.Write(harness::HttpRequest("POST", "/api/disconnect", R"({"user":"bob"})",
                                 "Authorization: apikey k3y\r\n"));
  cluster.Settle();
  answers = api.Responses();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, 200);
  for (Client* bob : {&bob0, &bob1}) {
    bob->Frames();
    EXPECT_EQ(bob->close_code, 1008);
  }
}

}  // namespace
}  // namespace ringcast::shard
