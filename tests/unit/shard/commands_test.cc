// Commands on simulated shards (shard_harness.h): the per-connection rate
// limit and its grace period, authorization of server rooms, and replies in
// command order when an earlier reply waits for another shard.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/shard/shard_harness.h"

namespace ringcast::shard {
namespace {

using harness::Client;
using harness::Cluster;
using harness::Error;
using harness::JsonField;
using harness::Ok;
using harness::Pong;
using harness::Pub;
using harness::Sub;
using Texts = std::vector<std::string>;

std::string Ping(uint64_t id) { return R"({"op":"ping","id":)" + std::to_string(id) + "}"; }

ServerOptions RateLimited(uint32_t per_second, uint32_t burst, uint32_t grace_ms) {
  ServerOptions o;
  o.commands_per_second = per_second;
  o.command_burst = burst;
  o.rate_limit_grace_ms = grace_ms;
  return o;
}

TEST(CommandsRateLimitTest, CommandsPastTheBurstAreRefusedUntilTimeRefills) {
  Cluster cluster(RateLimited(2, 3, 60000));
  Client alice = cluster.ConnectUser(0, "alice");
  const std::string limited = "too many commands: at most 2 per second";

  // Five commands in one message: the burst of three, then refusals.
  alice.Text(Ping(1) + "\n" + Ping(2) + "\n" + Ping(3) + "\n" + Ping(4) + "\n" + Ping(5));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Pong(1), Pong(2), Pong(3), Error(4, "rate_limited", limited),
                                  Error(5, "rate_limited", limited)}));

  // 2 per second: one token takes 500 ms.
  cluster.Advance(499);
  alice.Text(Ping(6));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Error(6, "rate_limited", limited)});
  cluster.Advance(1);
  alice.Text(Ping(7) + "\n" + Ping(8));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Pong(7), Error(8, "rate_limited", limited)}));

  // A long pause refills the bucket to the burst, not beyond.
  cluster.Advance(10000);
  alice.Text(Ping(9) + "\n" + Ping(10) + "\n" + Ping(11) + "\n" + Ping(12));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(),
            (Texts{Pong(9), Pong(10), Pong(11), Error(12, "rate_limited", limited)}));

  // A refused command without an id is still told; malformed ones keep their id.
  alice.Text(R"({"op":"ping"})"
             "\n"
             R"({"op":"nope","id":13})");
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Error(std::nullopt, "rate_limited", limited),
                                  Error(13, "rate_limited", limited)}));

  EXPECT_EQ(cluster.shard(0).stats().rate_limited.load(), 7u);
  EXPECT_EQ(cluster.shard(0).stats().messages_in.load(), 14u);
  EXPECT_EQ(cluster.shard(0).stats().rate_limit_closes.load(), 0u);
  EXPECT_FALSE(alice.close_code.has_value());
}

// Refusals that go on for longer than rate_limit_grace_ms close with 1008;
// exactly the grace period is still tolerated.
TEST(CommandsRateLimitTest, RefusalsPastTheGracePeriodCloseWith1008) {
  Cluster cluster(RateLimited(1, 1, 500));
  Client alice = cluster.ConnectUser(0, "alice");
  const std::string limited = "too many commands: at most 1 per second";
  alice.Text(Ping(1) + "\n" + Ping(2));  // 2 is the first refusal
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Pong(1), Error(2, "rate_limited", limited)}));
  cluster.Advance(400);
  alice.Text(Ping(3));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Error(3, "rate_limited", limited)});
  cluster.Advance(100);  // 500 ms of refusals: still within the grace period
  alice.Text(Ping(4));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Error(4, "rate_limited", limited)});

  cluster.Advance(1);
  alice.Text(Ping(5) + "\n" + Ping(6));
  cluster.Settle();
  std::vector<harness::ServerFrame> frames = alice.Frames();
  ASSERT_EQ(frames.size(), 1u) << "no reply to 5 or 6, only the close";
  EXPECT_EQ(frames[0].opcode, wire::OpcodeValue(wire::Opcode::kClose));
  EXPECT_EQ(alice.close_code, 1008);
  EXPECT_EQ(alice.close_reason, "rate limit exceeded");
  EXPECT_EQ(cluster.shard(0).stats().rate_limit_closes.load(), 1u);

  // Closing: nothing more is read.
  alice.Text(Ping(7));
  cluster.Settle();
  EXPECT_EQ(alice.Frames().size(), 0u);
}

// A client that backs off until the whole burst is back starts a new run:
// its earlier refusals no longer count toward the grace period.
TEST(CommandsRateLimitTest, AFullRefillForgivesEarlierRefusals) {
  Cluster cluster(RateLimited(1, 1, 500));
  Client alice = cluster.ConnectUser(0, "alice");
  const std::string limited = "too many commands: at most 1 per second";
  alice.Text(Ping(1) + "\n" + Ping(2));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Pong(1), Error(2, "rate_limited", limited)}));
  cluster.Advance(1000);  // full again
  alice.Text(Ping(3) + "\n" + Ping(4));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Pong(3), Error(4, "rate_limited", limited)}));
  cluster.Advance(400);  // 1400 ms after the first refusal, 400 after this run began
  alice.Text(Ping(5));
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), Texts{Error(5, "rate_limited", limited)});
  EXPECT_FALSE(alice.close_code.has_value());
}

TEST(CommandsRateLimitTest, ZeroCommandsPerSecondMeansUnlimited) {
  Cluster cluster(RateLimited(0, 1, 0));
  Client alice = cluster.ConnectUser(0, "alice");
  std::string many;
  Texts expected;
  for (uint64_t id = 1; id <= 50; ++id) {
    many += Ping(id) + "\n";
    expected.push_back(Pong(id));
  }
  alice.Text(many);
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), expected);
}

// ---------------------------------------------------------------------------

TEST(CommandsAccessTest, PersonalAndEventsRoomsAreNotAllowedToClients) {
  ServerOptions o;
  o.api_key = "k3y";
  o.events_room = "$events";
  o.namespaces["ro"] = NamespaceOptions{0, 0, true, /*client_publish=*/false};
  Cluster cluster(o);
  Client alice = cluster.ConnectUser(0, "alice");
  alice.Text(Sub("@bob", 1));
  alice.Text(Pub("@bob", "1", 2));
  alice.Text(Sub("$events", 3));
  alice.Text(Pub("$events", "1", 4));
  alice.Text(Sub("@alice", 5));  // one's own personal room too
  alice.Text(R"({"op":"presence","room":"@bob","id":6})");
  alice.Text(R"({"op":"sub","room":"@bob","presence":true,"id":7})");
  alice.Text(Pub("ro:news", "1", 8));  // a namespace without client_publish
  alice.Text(Sub("ro:news", 9));       // ...may still be subscribed to
  cluster.Settle();
  EXPECT_EQ(alice.Texts(),
            (Texts{Error(1, "not_allowed", "not allowed to subscribe to '@bob'"),
                   Error(2, "not_allowed", "not allowed to publish to '@bob'"),
                   Error(3, "not_allowed", "not allowed to subscribe to '$events'"),
                   Error(4, "not_allowed", "not allowed to publish to '$events'"),
                   Error(5, "not_allowed", "not allowed to subscribe to '@alice'"),
                   Error(6, "not_allowed", "presence is not available for '@bob'"),
                   Error(7, "not_allowed", "not allowed to subscribe to '@bob'"),
                   Error(8, "not_allowed", "not allowed to publish to 'ro:news'"), Ok(9)}));

  // The server (API key) may: it gets the events room's status events.
  Client server = cluster.Connect(1, "/ws?apikey=k3y");
  server.Text(Sub("$events", 1));
  server.Text(Sub("@alice", 2));
  cluster.Settle();
  EXPECT_EQ(server.Texts(), (Texts{Ok(1), Ok(2)}));
  Client carol = cluster.ConnectUser(1, "carol");
  cluster.Settle();
  Texts events = server.Texts();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(JsonField(events[0], "room"), "$events");
  EXPECT_EQ(JsonField(events[0], "from"), "$server");
  EXPECT_EQ(JsonField(events[0], "data/status"), "1");
  EXPECT_EQ(JsonField(events[0], "data/user"), "carol");
  carol.PeerClose();
  cluster.Settle();
  events = server.Texts();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(JsonField(events[0], "data/status"), "0");
  EXPECT_EQ(JsonField(events[0], "data/user"), "carol");
}

// ---------------------------------------------------------------------------

// Replies come in command order even when the first waits for another shard
// (the remote owner's join and publication acks): replies that are ready at
// once park behind it.
TEST(CommandsOrderTest, RepliesKeepCommandOrderWhenAnEarlierReplyWaitsForAnotherShard) {
  Cluster cluster(ServerOptions{});
  const std::string remote = cluster.RoomOwnedBy(1, "remote");
  const std::string local = cluster.RoomOwnedBy(0, "local");
  Client alice = cluster.ConnectUser(0, "alice");
  alice.Text(Sub(remote, 1) + "\n" + Ping(2) + "\n" + R"({"op":"pub","room":")" + remote +
             R"(","data":1,"echo":false,"id":3})" + "\n" + Sub(local, 4) + "\n" +
             R"({"op":"bogus","id":5})" + "\n" + Ping(6));
  cluster.shard(0).Round();
  cluster.shard(0).Round();
  EXPECT_EQ(alice.Texts(), Texts{}) << "everything waits behind the remote sub";
  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Ok(1), Pong(2), Ok(3), Ok(4),
                                  Error(5, "bad_command", "unknown op 'bogus'"), Pong(6)}));

  // Once nothing waits, replies go out at once again.
  alice.Text(Ping(7));
  cluster.shard(0).Round();
  cluster.shard(0).Round();
  EXPECT_EQ(alice.Texts(), Texts{Pong(7)});
}

// A req holds back the replies of later commands until its answer: here its
// timeout.
TEST(CommandsOrderTest, AReqHoldsBackLaterRepliesUntilItsTimeout) {
  Cluster cluster(ServerOptions{});
  Client alice = cluster.ConnectUser(0, "alice");
  Client bob = cluster.ConnectUser(1, "bob");
  alice.Text(R"({"op":"req","to":"bob","data":1,"timeout_ms":1000,"id":1})"
             "\n" +
             Ping(2));
  cluster.Settle();
  EXPECT_EQ(bob.Texts().size(), 1u);
  EXPECT_EQ(alice.Texts(), Texts{});
  cluster.Advance(1000);
  EXPECT_EQ(alice.Texts(), (Texts{Error(1, "timeout", "no answer in time"), Pong(2)}));
}

}  // namespace
}  // namespace ringcast::shard
