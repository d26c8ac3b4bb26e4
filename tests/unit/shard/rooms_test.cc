// LocalRooms and RoomOwner across two simulated shards (shard_harness.h):
// subscribe, publish, echo, unsubscribe and history recovery, end to end
// through the real Sessions and Commands.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/shard/shard_harness.h"

namespace ringcast::shard {
namespace {

using harness::Client;
using harness::Cluster;
using harness::JsonField;
using harness::Msg;
using harness::Ok;
using harness::Pub;
using harness::Sub;
using harness::Unsub;
using Texts = std::vector<std::string>;

std::string SeqMsg(const std::string& room, uint64_t seq, const std::string& from,
                   const std::string& data) {
  return R"({"op":"msg","room":")" + room + R"(","seq":)" + std::to_string(seq) + R"(,"from":")" +
         from + R"(","data":)" + data + "}";
}

// Subscribes and settles; expects exactly the `ok`.
void Subscribe(Cluster& cluster, Client& c, const std::string& room, int id) {
  c.Text(Sub(room, id));
  cluster.Settle();
  EXPECT_EQ(c.Texts(), Texts{Ok(id)});
}

// ---------------------------------------------------------------------------

// The `ok` for `sub` is held until the owner (another shard) has recorded the
// subscribing shard: a publication the owner handles after recording the
// join reaches the subscriber (behind its `ok`); one it handled before the
// join is not delivered.
TEST(LocalRoomsAcrossShardsTest, SubOkComesOnlyAfterTheOwnerRecordedTheJoin) {
  Cluster cluster(ServerOptions{});
  const std::string room = cluster.RoomOwnedBy(1);
  Client alice = cluster.ConnectUser(0, "alice");
  Client bob = cluster.ConnectUser(1, "bob");

  alice.Text(Sub(room, 1));
  cluster.shard(0).Round();  // alice's sub: the join goes to shard 1
  EXPECT_EQ(cluster.CountQueued<bus::Join>(0, 1), 1u);
  cluster.shard(0).Round();
  EXPECT_EQ(alice.Texts(), Texts{}) << "ok before the owner recorded the join";
  EXPECT_EQ(cluster.shard(1).owner().Find(room), nullptr);

  // Shard 1's round: bob's m0 is received before the bus is drained, so the
  // owner sees it before the join; then the join is recorded.
  bob.Text(Pub(room, R"("m0")", 10));
  cluster.shard(1).Round();
  const OwnedRoom* owned = cluster.shard(1).owner().Find(room);
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(owned->shard_mask, 0b01u);
  EXPECT_EQ(cluster.CountQueued<bus::JoinAck>(1, 0), 1u);
  // Publish m1 after the owner recorded the join, before shard 0 has the ack.
  bob.Text(Pub(room, R"("m1")", 11));
  cluster.shard(1).Round();
  // Behind the ack: m1 alone. Nobody asked for presence, so alice's join is not even framed.
  EXPECT_EQ(cluster.CountQueued<bus::Deliver>(1, 0), 1u);
  EXPECT_EQ(alice.Texts(), Texts{});

  cluster.Settle();
  EXPECT_EQ(alice.Texts(), (Texts{Ok(1), Msg(room, "bob", R"("m1")")}));
  EXPECT_EQ(bob.Texts(), (Texts{Ok(10), Ok(11)}));
}

TEST(LocalRoomsAcrossShardsTest, PublishToRoomOwnedByOtherShardReachesBothShardsExactlyOnce) {
  Cluster cluster(ServerOptions{});
  const std::string room = cluster.RoomOwnedBy(1);
  Client a = cluster.ConnectUser(0, "a");
  Client a2 = cluster.ConnectUser(0, "a2");
  Client b = cluster.ConnectUser(1, "b");
  Client publisher = cluster.ConnectUser(0, "p");  // not subscribed
  Subscribe(cluster, a, room, 1);
  Subscribe(cluster, a2, room, 1);
  Subscribe(cluster, b, room, 1);
  EXPECT_EQ(cluster.shard(1).owner().Find(room)->shard_mask, 0b11u);

  publisher.Text(Pub(room, R"({"n":1})", 7));
  cluster.Settle();
  const std::string msg = Msg(room, "p", R"({"n":1})");
  EXPECT_EQ(a.Texts(), Texts{msg});
  EXPECT_EQ(a2.Texts(), Texts{msg});
  EXPECT_EQ(b.Texts(), Texts{msg});
  EXPECT_EQ(publisher.Texts(), Texts{Ok(7)});
  // Framed once, by the owner; queued once per local subscriber.
  EXPECT_EQ(cluster.shard(1).stats().publications.load(), 1u);
  EXPECT_EQ(cluster.shard(0).stats().publications.load(), 0u);
  EXPECT_EQ(cluster.shard(0).stats().deliveries.load(), 2u);
  EXPECT_EQ(cluster.shard(1).stats().deliveries.load(), 1u);

  // And the next one, once again exactly once each.
  publisher.Text(Pub(room, R"({"n":2})", 8));
  cluster.Settle();
  const std::string msg2 = Msg(room, "p", R"({"n":2})");
  EXPECT_EQ(a.Texts(), Texts{msg2});
  EXPECT_EQ(a2.Texts(), Texts{msg2});
  EXPECT_EQ(b.Texts(), Texts{msg2});
  EXPECT_EQ(publisher.Texts(), Texts{Ok(8)});
}

// echo:false skips exactly the publishing connection: not the user's other
// connection, and not a subscriber on another shard that happens to have the
// same slot number.
TEST(LocalRoomsAcrossShardsTest, EchoFalseSkipsOnlyThePublishingConnection) {
  Cluster cluster(ServerOptions{});
  const std::string room = cluster.RoomOwnedBy(1);
  Client p = cluster.ConnectUser(0, "p");
  Client q = cluster.ConnectUser(1, "q");
  Client p2 = cluster.ConnectUser(0, "p");  // the same user, another connection
  ASSERT_EQ(p.handle().slot, q.handle().slot);
  ASSERT_EQ(p.handle().gen, q.handle().gen);
  Subscribe(cluster, p, room, 1);
  Subscribe(cluster, q, room, 1);
  Subscribe(cluster, p2, room, 1);

  p.Text(R"({"op":"pub","room":")" + room + R"(","data":"quiet","echo":false,"id":2})");
  cluster.Settle();
  const std::string quiet = Msg(room, "p", R"("quiet")");
  EXPECT_EQ(p.Texts(), Texts{Ok(2)});
  EXPECT_EQ(p2.Texts(), Texts{quiet});
  EXPECT_EQ(q.Texts(), Texts{quiet});

  // With echo (the default) the publisher gets its own msg, before its ok.
  p.Text(Pub(room, R"("loud")", 3));
  cluster.Settle();
  const std::string loud = Msg(room, "p", R"("loud")");
  EXPECT_EQ(p.Texts(), (Texts{loud, Ok(3)}));
  EXPECT_EQ(p2.Texts(), Texts{loud});
  EXPECT_EQ(q.Texts(), Texts{loud});

  // echo:false from shard 1 toward the same slot number on shard 0.
  q.Text(R"({"op":"pub","room":")" + room + R"(","data":"q","echo":false,"id":4})");
  cluster.Settle();
  EXPECT_EQ(q.Texts(), Texts{Ok(4)});
  EXPECT_EQ(p.Texts(), Texts{Msg(room, "q", R"("q")")});
  EXPECT_EQ(p2.Texts(), Texts{Msg(room, "q", R"("q")")});
}

TEST(LocalRoomsAcrossShardsTest, UnsubStopsDeliveryAndTheLastUnsubMakesTheOwnerForget) {
  Cluster cluster(ServerOptions{});
  const std::string room = cluster.RoomOwnedBy(1);
  Client a = cluster.ConnectUser(0, "a");
  Client a2 = cluster.ConnectUser(0, "a2");
  Client b = cluster.ConnectUser(1, "b");
  Client p = cluster.ConnectUser(1, "p");
  Subscribe(cluster, a, room, 1);
  Subscribe(cluster, a2, room, 1);
  Subscribe(cluster, b, room, 1);
  const size_t owned_before = cluster.shard(1).owner().rooms();

  // One of shard 0's two subscribers leaves: shard 0 still subscribes.
  a.Text(Unsub(room, 2));
  cluster.shard(0).Round();
  EXPECT_EQ(cluster.CountQueued<bus::Leave>(0, 1), 0u);
  cluster.Settle();
  EXPECT_EQ(a.Texts(), Texts{Ok(2)});
  EXPECT_EQ(cluster.shard(1).owner().Find(room)->shard_mask, 0b11u);
  p.Text(Pub(room, "1", 3));
  cluster.Settle();
  EXPECT_EQ(p.Texts(), Texts{Ok(3)});
  EXPECT_EQ(a.Texts(), Texts{});
  EXPECT_EQ(a2.Texts(), Texts{Msg(room, "p", "1")});
  EXPECT_EQ(b.Texts(), Texts{Msg(room, "p", "1")});

  // Shard 0's last subscriber leaves: one Leave, and the owner drops shard 0.
  a2.Text(Unsub(room, 4));
  cluster.shard(0).Round();
  EXPECT_EQ(cluster.CountQueued<bus::Leave>(0, 1), 1u);
  cluster.Settle();
  EXPECT_EQ(a2.Texts(), Texts{Ok(4)});
  EXPECT_EQ(cluster.shard(1).owner().Find(room)->shard_mask, 0b10u);
  p.Text(Pub(room, "2", 5));
  cluster.Settle();
  EXPECT_EQ(p.Texts(), Texts{Ok(5)});
  EXPECT_EQ(a2.Texts(), Texts{});
  EXPECT_EQ(b.Texts(), Texts{Msg(room, "p", "2")});
  EXPECT_EQ(cluster.CountQueued<bus::Deliver>(1, 0), 0u);

  // The last subscriber anywhere leaves: the owner forgets the room.
  b.Text(Unsub(room, 6));
  cluster.Settle();
  EXPECT_EQ(b.Texts(), Texts{Ok(6)});
  EXPECT_EQ(cluster.shard(1).owner().Find(room), nullptr);
  EXPECT_EQ(cluster.shard(1).owner().rooms(), owned_before - 1);
  const uint64_t framed = cluster.shard(1).stats().publications.load();
  p.Text(Pub(room, "3", 7));
  cluster.Settle();
  EXPECT_EQ(p.Texts(), Texts{Ok(7)});  // still answered: a room without subscribers
  EXPECT_EQ(cluster.shard(1).stats().publications.load(), framed);  // nothing framed
  EXPECT_EQ(a.Texts(), Texts{});
  EXPECT_EQ(a2.Texts(), Texts{});
  EXPECT_EQ(b.Texts(), Texts{});

  // Unsubscribing from a room one is not in is still ok.
  b.Text(Unsub(room, 8));
  cluster.Settle();
  EXPECT_EQ(b.Texts(), Texts{Ok(8)});
}

// Join/leave events go only to shards where a subscriber of the room asked for them (each
// presence delta tells the owner whether its shard still has one), and are not framed at all
// while no shard has.
TEST(LocalRoomsAcrossShardsTest, PresenceEventsGoOnlyToShardsWithAPresenceSubscriber) {
  Cluster cluster(ServerOptions{});
  const std::string room = cluster.RoomOwnedBy(1);
  auto join = [&](const std::string& user) {
    return R"({"op":"join","room":")" + room + R"(","user":")" + user + R"(","info":null})";
  };
  auto listening = [&] { return cluster.shard(1).owner().Find(room)->presence->listening; };
  Client bob = cluster.ConnectUser(1, "bob");
  Subscribe(cluster, bob, room, 1);
  EXPECT_EQ(listening(), 0u);

  // A plain subscriber on shard 0: its join is framed for nobody.
  Client carol = cluster.ConnectUser(0, "carol");
  carol.Text(Sub(room, 2));
  cluster.shard(0).Round();
  cluster.shard(1).Round();
  EXPECT_EQ(cluster.CountQueued<bus::Deliver>(1, 0), 0u);
  cluster.Settle();
  EXPECT_EQ(carol.Texts(), Texts{Ok(2)});

  // A presence subscriber on shard 0: shard 0 listens, and from its own join on it hears joins.
  Client watcher = cluster.ConnectUser(0, "watcher");
  watcher.Text(R"({"op":"sub","room":")" + room + R"(","presence":true,"id":3})");
  cluster.Settle();
  EXPECT_EQ(listening(), 0b01u);
  EXPECT_EQ(watcher.Texts(), (Texts{Ok(3), join("watcher")}));
  Client dave = cluster.ConnectUser(1, "dave");
  dave.Text(Sub(room, 4));
  cluster.shard(1).Round();
  EXPECT_EQ(cluster.CountQueued<bus::Deliver>(1, 0), 1u);  // to shard 0 only
  cluster.Settle();
  EXPECT_EQ(watcher.Texts(), Texts{join("dave")});
  EXPECT_EQ(bob.Texts(), Texts{});
  EXPECT_EQ(carol.Texts(), Texts{});

  // The watcher leaves: shard 0 stops listening (it still subscribes, through carol).
  watcher.Text(Unsub(room, 5));
  cluster.Settle();
  EXPECT_EQ(watcher.Texts(), Texts{Ok(5)});
  EXPECT_EQ(listening(), 0u);
  EXPECT_EQ(cluster.shard(1).owner().Find(room)->shard_mask, 0b11u);
  Client erin = cluster.ConnectUser(1, "erin");
  erin.Text(Sub(room, 6));
  cluster.shard(1).Round();
  EXPECT_EQ(cluster.CountQueued<bus::Deliver>(1, 0), 0u);
  cluster.Settle();
  EXPECT_EQ(erin.Texts(), Texts{Ok(6)});
  EXPECT_EQ(carol.Texts(), Texts{});
}

// A connection that goes away leaves its rooms like an unsub would.
TEST(LocalRoomsAcrossShardsTest, ClosedConnectionLeavesItsRooms) {
  Cluster cluster(ServerOptions{});
  const std::string room = cluster.RoomOwnedBy(1);
  Client a = cluster.ConnectUser(0, "a");
  Subscribe(cluster, a, room, 1);
  ASSERT_NE(cluster.shard(1).owner().Find(room), nullptr);
  a.PeerClose();
  cluster.Settle();
  EXPECT_TRUE(a.closed());
  EXPECT_EQ(cluster.shard(1).owner().Find(room), nullptr);
  EXPECT_EQ(cluster.shard(0).sessions().size(), 0u);
}

// ---------------------------------------------------------------------------
// History.

ServerOptions WithHistory(uint32_t size) {
  ServerOptions o;
  o.namespaces["hist"] = NamespaceOptions{size, 0, true, true};
  return o;
}

std::string OkSeq(int id, uint64_t seq) {
  return R"({"op":"ok","id":)" + std::to_string(id) + R"(,"seq":)" + std::to_string(seq) + "}";
}

std::string OkSeqEpoch(int id, uint64_t seq, const std::string& epoch) {
  return R"({"op":"ok","id":)" + std::to_string(id) + R"(,"seq":)" + std::to_string(seq) +
         R"(,"epoch":")" + epoch + R"("})";
}

std::string OkRecovered(int id, uint64_t seq, const std::string& epoch, bool recovered) {
  return R"({"op":"ok","id":)" + std::to_string(id) + R"(,"seq":)" + std::to_string(seq) +
         R"(,"epoch":")" + epoch + R"(","recovered":)" + (recovered ? "true" : "false") + "}";
}

std::string SubSince(const std::string& room, uint64_t seq, const std::string& epoch, int id) {
  return R"({"op":"sub","room":")" + room + R"(","since":{"seq":)" + std::to_string(seq) +
         R"(,"epoch":")" + epoch + R"("},"id":)" + std::to_string(id) + "}";
}

// Publishes `data` as `p` and expects `ok` with the given seq.
void PublishSeq(Cluster& cluster, Client& p, const std::string& room, const std::string& data,
                int id, uint64_t seq) {
  p.Text(Pub(room, data, id));
  cluster.Settle();
  EXPECT_EQ(p.Texts(), Texts{OkSeq(id, seq)});
}

TEST(RoomHistoryAcrossShardsTest, SubOkCarriesSeqAndEpochAndPubOkItsSeq) {
  Cluster cluster(WithHistory(3));
  const std::string room = cluster.RoomOwnedBy(1, "hist:r");
  Client p = cluster.ConnectUser(0, "p");
  PublishSeq(cluster, p, room, "1", 1, 1);  // history outlives subscribers
  PublishSeq(cluster, p, room, "2", 2, 2);

  Client s = cluster.ConnectUser(0, "s");
  s.Text(Sub(room, 3));
  cluster.shard(0).Round();
  cluster.shard(0).Round();
  EXPECT_EQ(s.Texts(), Texts{}) << "ok before the owner answered";
  cluster.Settle();
  Texts got = s.Texts();
  ASSERT_EQ(got.size(), 1u);
  const std::string epoch = JsonField(got[0], "epoch");
  EXPECT_FALSE(epoch.empty());
  EXPECT_EQ(got[0], OkSeqEpoch(3, 2, epoch));  // no replay, no `recovered` without since

  PublishSeq(cluster, p, room, R"("x")", 4, 3);
  EXPECT_EQ(s.Texts(), Texts{SeqMsg(room, 3, "p", R"("x")")});

  // Subscribing again: ok with seq and epoch, nothing replayed, even with since.
  s.Text(Sub(room, 5));
  s.Text(SubSince(room, 0, epoch, 6));
  cluster.Settle();
  EXPECT_EQ(s.Texts(), (Texts{OkSeqEpoch(5, 3, epoch), OkSeqEpoch(6, 3, epoch)}));
  PublishSeq(cluster, p, room, R"("y")", 7, 4);
  EXPECT_EQ(s.Texts(), Texts{SeqMsg(room, 4, "p", R"("y")")}) << "subscribed once only";
}

TEST(RoomHistoryAcrossShardsTest, SinceReplaysExactlyTheMissedMessagesThenLive) {
  Cluster cluster(WithHistory(3));
  const std::string room = cluster.RoomOwnedBy(1, "hist:r");
  Client s = cluster.ConnectUser(0, "s");
  Client p = cluster.ConnectUser(1, "p");
  s.Text(Sub(room, 1));
  cluster.Settle();
  const std::string epoch = JsonField(s.Texts().at(0), "epoch");

  PublishSeq(cluster, p, room, "1", 2, 1);
  EXPECT_EQ(s.Texts(), Texts{SeqMsg(room, 1, "p", "1")});
  s.Text(Unsub(room, 3));
  cluster.Settle();
  EXPECT_EQ(s.Texts(), Texts{Ok(3)});
  PublishSeq(cluster, p, room, "2", 4, 2);
  PublishSeq(cluster, p, room, "3", 5, 3);
  EXPECT_EQ(s.Texts(), Texts{});

  s.Text(SubSince(room, 1, epoch, 6));
  cluster.Settle();
  EXPECT_EQ(s.Texts(), (Texts{SeqMsg(room, 2, "p", "2"), SeqMsg(room, 3, "p", "3"),
                              OkRecovered(6, 3, epoch, true)}));
  // Live from there on: no gap, no overlap.
  PublishSeq(cluster, p, room, "4", 7, 4);
  EXPECT_EQ(s.Texts(), Texts{SeqMsg(room, 4, "p", "4")});

  // A new connection that saw everything: nothing to replay, recovered.
  Client t = cluster.ConnectUser(0, "t");
  t.Text(SubSince(room, 4, epoch, 8));
  cluster.Settle();
  EXPECT_EQ(t.Texts(), Texts{OkRecovered(8, 4, epoch, true)});
}

TEST(RoomHistoryAcrossShardsTest, RecoveredIsFalseWhenHistoryNoLongerReachesBack) {
  Cluster cluster(WithHistory(3));
  const std::string room = cluster.RoomOwnedBy(1, "hist:r");
  Client p = cluster.ConnectUser(1, "p");
  for (int i = 1; i <= 6; ++i) PublishSeq(cluster, p, room, std::to_string(i), i, i);
  Client s = cluster.ConnectUser(0, "s");
  s.Text(Sub(room, 1));
  cluster.Settle();
  const std::string epoch = JsonField(s.Texts().at(0), "epoch");
  s.Text(Unsub(room, 2));
  cluster.Settle();
  EXPECT_EQ(s.Texts(), Texts{Ok(2)});

  // Seqs 2 and 3 are gone (3 kept: 4, 5, 6): what is there is replayed anyway.
  s.Text(SubSince(room, 1, epoch, 3));
  cluster.Settle();
  EXPECT_EQ(s.Texts(), (Texts{SeqMsg(room, 4, "p", "4"), SeqMsg(room, 5, "p", "5"),
                              SeqMsg(room, 6, "p", "6"), OkRecovered(3, 6, epoch, false)}));

  // Seq 3 is the last one missing: 4.. are all there, so this is recovered.
  Client t = cluster.ConnectUser(0, "t");
  t.Text(SubSince(room, 3, epoch, 4));
  cluster.Settle();
  EXPECT_EQ(t.Texts(), (Texts{SeqMsg(room, 4, "p", "4"), SeqMsg(room, 5, "p", "5"),
                              SeqMsg(room, 6, "p", "6"), OkRecovered(4, 6, epoch, true)}));

  // Another epoch: nothing replayed, not recovered.
  Client u = cluster.ConnectUser(0, "u");
  u.Text(SubSince(room, 5, "not-" + epoch, 5));
  cluster.Settle();
  EXPECT_EQ(u.Texts(), Texts{OkRecovered(5, 6, epoch, false)});

  // A seq beyond the room's: nothing replayed, not recovered.
  Client v = cluster.ConnectUser(1, "v");
  v.Text(SubSince(room, 9, epoch, 6));
  cluster.Settle();
  EXPECT_EQ(v.Texts(), Texts{OkRecovered(6, 6, epoch, false)});
}

// ---------------------------------------------------------------------------
// Regressions.

// limits.max_subscriptions_per_connection holds for rooms with history too.
// A history subscriber joins c.subs only when its owner answers; until then
// it waits in room->joining, counted in Connection::history_joins. Without
// that count, subs to history rooms owned by another shard, sent before the
// answers arrive (here in one message), were all accepted: with a limit of 2
// the connection ended up in 5 rooms (plus its personal room).
TEST(RoomHistoryAcrossShardsTest, SubscriptionLimitHoldsForHistoryRooms) {
  ServerOptions o = WithHistory(3);
  o.max_subscriptions_per_connection = 2;
  Cluster cluster(o);
  Client s = cluster.ConnectUser(0, "s");
  std::string subs;
  for (int i = 1; i <= 5; ++i) {
    subs += Sub(cluster.RoomOwnedBy(1, "hist:" + std::to_string(i) + "-"), i) + "\n";
  }
  s.Text(subs);
  cluster.Settle();
  Texts got = s.Texts();
  ASSERT_EQ(got.size(), 5u);
  const std::string limit = "too many subscriptions: at most 2 per connection";
  EXPECT_EQ(JsonField(got[0], "op"), "ok");
  EXPECT_EQ(JsonField(got[1], "op"), "ok");
  for (int i = 2; i < 5; ++i) EXPECT_EQ(got[i], harness::Error(i + 1, "limit", limit));
  // Two rooms and the personal room.
  EXPECT_EQ(cluster.shard(0).sessions().At(s.handle().slot).subs.size(), 3u);
}

// Two `sub` with `since` to the same history room, the second sent before
// the owner answered the first, must not replay the missed messages twice:
// LocalRooms::FinishSubscriber replays only to a connection that joins the
// room with that answer, since docs/protocol.md says a sub on a room the connection is already in
// replays nothing, and that replay and live messages never overlap.
TEST(RoomHistoryAcrossShardsTest, ASecondSubWithSinceInFlightReplaysNothingTwice) {
  Cluster cluster(WithHistory(5));
  const std::string room = cluster.RoomOwnedBy(1, "hist:r");
  Client p = cluster.ConnectUser(1, "p");
  PublishSeq(cluster, p, room, "1", 1, 1);
  Client t = cluster.ConnectUser(0, "t");  // only to learn the epoch
  t.Text(Sub(room, 1));
  cluster.Settle();
  const std::string epoch = JsonField(t.Texts().at(0), "epoch");
  PublishSeq(cluster, p, room, "2", 2, 2);

  Client s = cluster.ConnectUser(0, "s");
  s.Text(SubSince(room, 0, epoch, 5) + "\n" + SubSince(room, 0, epoch, 6));
  cluster.Settle();
  Texts got = s.Texts();
  size_t msgs = 0;
  for (const std::string& m : got) msgs += JsonField(m, "op") == "msg" ? 1 : 0;
  EXPECT_EQ(msgs, 2u) << "seq 1 and 2, once each";
  EXPECT_EQ(got.front(), SeqMsg(room, 1, "p", "1"));
  EXPECT_EQ(got.at(1), SeqMsg(room, 2, "p", "2"));
  EXPECT_EQ(got.at(2), OkRecovered(5, 2, epoch, true));
}

}  // namespace
}  // namespace ringcast::shard
