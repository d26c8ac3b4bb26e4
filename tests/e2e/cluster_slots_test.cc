// Cluster mode's Redis Cluster pieces against a real cluster of three masters
// (tests/support/redis_process.h): CRC16 slots as the server computes them,
// the slot map from CLUSTER SLOTS, partitions spread over the masters, the
// history script publishing on a sharded channel, and a MOVED after a reshard.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

#include "core/crc16.h"
#include "shard/cluster_history.h"
#include "shard/cluster_redirect.h"
#include "shard/cluster_slot_map.h"
#include "tests/support/redis_process.h"

namespace ringcast::shard {
namespace {

using testing::RedisCluster;
using testing::RedisSubscriber;
using testing::RedisSync;

class ClusterSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.Start()) << cluster_.error(); }

  SlotMap Map(int node) {
    RedisSync c(cluster_.node(node).port());
    RedisSync::Reply r = c.Command({"CLUSTER", "SLOTS"});
    auto map = SlotMap::FromClusterSlots(r.get());
    EXPECT_TRUE(map);
    return map.value_or(SlotMap());
  }

  // The index of the cluster node listening on the map's address for slot.
  int IndexOf(const SlotMap& map, int slot) {
    const RedisAddress* a = map.AddressOf(slot);
    if (a == nullptr) return -1;
    for (int i = 0; i < cluster_.size(); ++i) {
      if (cluster_.node(i).port() == a->port) return i;
    }
    return -1;
  }

  RedisCluster cluster_{3};
};

TEST_F(ClusterSlotsTest, Crc16AgreesWithClusterKeyslot) {
  RedisSync c(cluster_.node(0).port());
  ClusterPartitions parts(64);
  ClusterKeys keys(&parts);
  for (const std::string& key :
       {std::string("123456789"), std::string("foo"), std::string("{user1000}.following"),
        std::string("foo{}{bar}"), std::string("foo{{bar}}zap"), std::string("a\xff{\x01}"),
        keys.RoomChannel("chat:{x}"), keys.Room("ünï").meta, keys.ControlChannel(),
        keys.NodeChannel("n1")}) {
    EXPECT_EQ(c.Text({"CLUSTER", "KEYSLOT", key}), std::to_string(core::HashSlot(key))) << key;
  }
  for (uint32_t p = 0; p < parts.count(); ++p) {
    EXPECT_EQ(c.Text({"CLUSTER", "KEYSLOT", "{" + parts.tag(p) + "}"}),
              std::to_string(parts.slot(p)));
  }
}

TEST_F(ClusterSlotsTest, SlotMapMatchesTheOwnersAndPartitionsSpreadEvenly) {
  SlotMap map = Map(1);
  EXPECT_TRUE(map.complete());
  EXPECT_EQ(map.nodes().size(), 3u);
  for (int slot : {0, 1, 5460, 5461, 8000, 10922, 10923, 16383}) {
    EXPECT_EQ(IndexOf(map, slot), cluster_.OwnerOf(slot)) << slot;
  }
  ClusterPartitions parts(128);
  int per_node[3] = {0, 0, 0};
  for (uint32_t p = 0; p < parts.count(); ++p) ++per_node[IndexOf(map, parts.slot(p))];
  for (int n : per_node) {
    EXPECT_GE(n, 42);
    EXPECT_LE(n, 43);
  }
}

TEST_F(ClusterSlotsTest, HistoryScriptSpublishesOnTheRoomsMaster) {
  ClusterPartitions parts(128);
  ClusterKeys keys(&parts);
  ClusterHistory history;
  const std::string room = "chat:cluster";
  const RoomKeys k = keys.Room(room);
  SlotMap map = Map(0);
  const int owner = IndexOf(map, parts.slot(parts.Of(room)));
  ASSERT_GE(owner, 0);
  RedisSubscriber sub(cluster_.node(owner).port(), k.channel, /*sharded=*/true);
  ASSERT_TRUE(sub.ok());
  RedisSync c(cluster_.node(owner).port());
  const std::vector<MessagePart> message = {{MessagePart::Kind::kText, "n1 "},
                                            {MessagePart::Kind::kSeq, ""},
                                            {MessagePart::Kind::kText, " "},
                                            {MessagePart::Kind::kEpoch, ""}};
  std::vector<std::string> argv = history.Publish(k, HistorySettings{10, 0, 0}, "ep", 1000, true,
                                                  SplitMsgAtSeq(room, "u", "7"), message);
  RedisSync::Reply r = c.Command(argv);
  ASSERT_TRUE(RedisScript::IsNoScript(r.get()));
  history.publish_script().ToEval(&argv);
  r = c.Command(argv);
  auto published = ClusterHistory::ParsePublish(r.get());
  ASSERT_TRUE(published) << (r && r->str ? r->str : "unexpected reply");
  EXPECT_EQ(published->seq, 1u);
  EXPECT_EQ(sub.Next(), "n1 1 ep");
  // Another master refuses the room's keys with a MOVED naming the owner.
  RedisSync other(cluster_.node((owner + 1) % 3).port());
  RedisSync::Reply moved = other.Command(history.Publish(
      k, HistorySettings{10, 0, 0}, "ep", 1000, true, SplitMsgAtSeq(room, "u", "8"), message));
  auto redirect = Redirect::FromReply(moved.get());
  ASSERT_TRUE(redirect) << (moved && moved->str ? moved->str : "unexpected reply");
  EXPECT_EQ(redirect->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(redirect->slot, parts.slot(parts.Of(room)));
  EXPECT_EQ(redirect->to.port, cluster_.node(owner).port());
}

TEST_F(ClusterSlotsTest, AfterAReshardTheOldOwnerAnswersMovedToTheNewOne) {
  ClusterPartitions parts(128);
  ClusterKeys keys(&parts);
  const std::string room = "chat:moving";
  const RoomKeys k = keys.Room(room);
  const int slot = parts.slot(parts.Of(room));
  SlotMap map = Map(0);
  const int from = IndexOf(map, slot);
  ASSERT_EQ(from, cluster_.OwnerOf(slot));
  const int to = (from + 1) % 3;
  {
    RedisSync c(cluster_.node(from).port());
    ASSERT_EQ(c.Text({"HSET", k.meta, "epoch", "e", "seq", "5"}), "2");
  }
  ASSERT_TRUE(cluster_.MoveSlot(slot, to)) << cluster_.error();
  RedisSync old_owner(cluster_.node(from).port());
  RedisSync::Reply r = old_owner.Command({"HGET", k.meta, "seq"});
  auto redirect = Redirect::FromReply(r.get());
  ASSERT_TRUE(redirect) << (r && r->str ? r->str : "unexpected reply");
  EXPECT_EQ(redirect->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(redirect->slot, slot);
  EXPECT_EQ(redirect->to.port, cluster_.node(to).port());
  // The stale map, corrected by the MOVED, agrees with a fresh one.
  map.Move(redirect->slot, redirect->to);
  EXPECT_EQ(IndexOf(map, slot), to);
  EXPECT_EQ(IndexOf(Map(2), slot), to);
  RedisSync new_owner(cluster_.node(to).port());
  EXPECT_EQ(new_owner.Text({"HGET", k.meta, "seq"}), "5");
}

TEST_F(ClusterSlotsTest, DuringAMigrationAMovedKeyAnswersAsk) {
  ClusterPartitions parts(128);
  ClusterKeys keys(&parts);
  const RoomKeys k = keys.Room("chat:migrating");
  const int slot = parts.slot(parts.Of("chat:migrating"));
  const int from = cluster_.OwnerOf(slot);
  ASSERT_GE(from, 0);
  const int to = (from + 2) % 3;
  RedisSync src(cluster_.node(from).port());
  RedisSync dst(cluster_.node(to).port());
  ASSERT_EQ(src.Text({"HSET", k.meta, "epoch", "e", "seq", "3"}), "2");
  const std::string s = std::to_string(slot);
  // Half a reshard: the slot is migrating and the meta key has already moved.
  ASSERT_EQ(dst.Text({"CLUSTER", "SETSLOT", s, "IMPORTING", src.Text({"CLUSTER", "MYID"})}), "OK");
  ASSERT_EQ(src.Text({"CLUSTER", "SETSLOT", s, "MIGRATING", dst.Text({"CLUSTER", "MYID"})}), "OK");
  ASSERT_EQ(src.Text({"MIGRATE", "127.0.0.1", std::to_string(cluster_.node(to).port()), k.meta, "0",
                      "5000"}),
            "OK");
  RedisSync::Reply r = src.Command({"HGET", k.meta, "seq"});
  auto redirect = Redirect::FromReply(r.get());
  ASSERT_TRUE(redirect) << (r && r->str ? r->str : "unexpected reply");
  EXPECT_EQ(redirect->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(redirect->slot, slot);
  EXPECT_EQ(redirect->to.port, cluster_.node(to).port());
  // The map is not changed by an ASK: the slot still belongs to its old master.
  EXPECT_EQ(IndexOf(Map(0), slot), from);
  // ASKING, then the command, on the target.
  ASSERT_EQ(dst.Text({"ASKING"}), "OK");
  EXPECT_EQ(dst.Text({"HGET", k.meta, "seq"}), "3");
}

}  // namespace
}  // namespace ringcast::shard
