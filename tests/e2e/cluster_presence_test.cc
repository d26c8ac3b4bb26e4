// The presence scripts of cluster mode (shard/cluster_presence.h) on a real
// redis-server. Time is the test's: every call passes its own "now", so
// ageing out needs no sleeping.
#include "shard/cluster_presence.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/redis_script_test.h"

namespace ringcast::shard {
namespace {

using testing::RedisSync;

constexpr uint64_t kTtlMs = 30'000;

class ClusterPresenceTest : public testing::RedisScriptTest {
 protected:
  PresenceChange Refresh(const std::string& node, uint64_t now_ms,
                         std::vector<PresenceMember> members) {
    RedisSync::Reply r =
        Run(presence_.Refresh(room_, node, now_ms, kTtlMs, members), presence_.refresh_script());
    auto parsed = ClusterPresence::ParseChanges(r.get(), 1);
    EXPECT_TRUE(parsed) << (r && r->str ? r->str : "unexpected reply");
    return parsed ? (*parsed)[0] : PresenceChange{};
  }

  PresenceChange Remove(const std::string& node, uint64_t now_ms, std::vector<std::string> users) {
    RedisSync::Reply r =
        Run(presence_.Remove(room_, node, now_ms, users), presence_.remove_script());
    auto parsed = ClusterPresence::ParseChange(r.get());
    EXPECT_TRUE(parsed) << (r && r->str ? r->str : "unexpected reply");
    return parsed.value_or(PresenceChange{});
  }

  PresenceList List(uint64_t now_ms, uint32_t limit = 100) {
    RedisSync::Reply r = Run(presence_.List(room_, now_ms, limit), presence_.list_script());
    auto parsed = ClusterPresence::ParseList(r.get());
    EXPECT_TRUE(parsed) << (r && r->str ? r->str : "unexpected reply");
    PresenceList out = parsed.value_or(PresenceList{});
    std::sort(out.users.begin(), out.users.end(),
              [](const PresenceMember& a, const PresenceMember& b) { return a.user < b.user; });
    return out;
  }

  ClusterPartitions partitions_{16};
  ClusterKeys keys_{&partitions_};
  RoomKeys room_ = keys_.Room("chat:lobby");
  ClusterPresence presence_;
};

using Users = std::vector<std::string>;

TEST_F(ClusterPresenceTest, MembersOfSeveralNodesAddUp) {
  PresenceChange a = Refresh("node-a", 1000, {{"alice", 2, R"({"n":"A"})"}, {"bob", 1, ""}});
  EXPECT_EQ(a.joined, (Users{"alice", "bob"}));
  EXPECT_EQ(a.joined_info, (Users{R"({"n":"A"})", ""}));
  EXPECT_TRUE(a.left.empty());
  // Alice on a second node is no news; carol is.
  PresenceChange b = Refresh("node-b", 1000, {{"alice", 1, R"({"n":"A"})"}, {"carol", 1, ""}});
  EXPECT_EQ(b.joined, (Users{"carol"}));
  PresenceList list = List(1000);
  EXPECT_EQ(list.count, 3u);
  EXPECT_FALSE(list.truncated);
  ASSERT_EQ(list.users.size(), 3u);
  EXPECT_EQ(list.users[0].user, "alice");
  EXPECT_EQ(list.users[0].conns, 3u);
  EXPECT_EQ(list.users[0].info_json, R"({"n":"A"})");
  EXPECT_EQ(list.users[1].user, "bob");
  EXPECT_EQ(list.users[1].info_json, "");
}

TEST_F(ClusterPresenceTest, AUserLeavesWithItsLastNode) {
  Refresh("node-a", 1000, {{"alice", 1, ""}});
  Refresh("node-b", 1000, {{"alice", 1, ""}});
  EXPECT_TRUE(Remove("node-a", 1000, {"alice"}).left.empty());
  EXPECT_EQ(List(1000).count, 1u);
  PresenceChange gone = Remove("node-b", 1000, {"alice"});
  EXPECT_EQ(gone.left, (Users{"alice"}));
  EXPECT_EQ(gone.left_info, (Users{""}));
  EXPECT_EQ(List(1000).count, 0u);
  // Removing again, or someone never there, changes nothing.
  EXPECT_TRUE(Remove("node-b", 1000, {"alice", "nobody"}).left.empty());
  // Empty structures are gone from Redis.
  EXPECT_EQ(client_->Text({"EXISTS", room_.presence_users, room_.presence_conns,
                           room_.presence_expiry, room_.presence_info}),
            "0");
}

TEST_F(ClusterPresenceTest, ACountOfZeroRemovesAndCountsChange) {
  Refresh("node-a", 1000, {{"alice", 3, ""}});
  Refresh("node-a", 2000, {{"alice", 1, ""}});
  EXPECT_EQ(List(2000).users.at(0).conns, 1u);
  EXPECT_EQ(Refresh("node-a", 3000, {{"alice", 0, ""}}).left, (Users{"alice"}));
  EXPECT_EQ(List(3000).count, 0u);
}

TEST_F(ClusterPresenceTest, ACrashedNodesMembersAgeOut) {
  Refresh("node-a", 1000, {{"alice", 1, R"("A")"}, {"bob", 1, ""}});
  Refresh("node-b", 1000, {{"bob", 1, ""}});
  // node-b keeps refreshing, node-a has crashed.
  Refresh("node-b", 1000 + kTtlMs / 2, {{"bob", 1, ""}});
  // Still within node-a's TTL: everyone is there.
  EXPECT_EQ(List(1000 + kTtlMs - 1).count, 2u);
  // Past it: alice ages out (reported once), bob stays through node-b.
  PresenceList after = List(1000 + kTtlMs);
  EXPECT_EQ(after.left, (Users{"alice"}));
  EXPECT_EQ(after.left_info, (Users{R"("A")"})) << "a leave shows the info the user had";
  EXPECT_EQ(after.count, 1u);
  ASSERT_EQ(after.users.size(), 1u);
  EXPECT_EQ(after.users[0].user, "bob");
  EXPECT_EQ(after.users[0].conns, 1u);
  EXPECT_TRUE(List(1000 + kTtlMs + 1).left.empty());
}

TEST_F(ClusterPresenceTest, ARefreshKeepsAMemberAlive) {
  Refresh("node-a", 1000, {{"alice", 1, ""}});
  Refresh("node-a", 1000 + kTtlMs - 1, {{"alice", 1, ""}});
  PresenceList later = List(1000 + kTtlMs + 5);
  EXPECT_TRUE(later.left.empty());
  EXPECT_EQ(later.count, 1u);
  // The keys carry a TTL of their own.
  const int64_t pttl = std::stoll(client_->Text({"PTTL", room_.presence_expiry}));
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, static_cast<int64_t>(2 * kTtlMs));
}

TEST_F(ClusterPresenceTest, ListingIsBoundedAndSaysTruncated) {
  std::vector<PresenceMember> many;
  for (int i = 0; i < 250; ++i) many.push_back({"user" + std::to_string(i), 1, ""});
  EXPECT_EQ(Refresh("node-a", 1000, many).joined.size(), 250u);
  PresenceList some = List(1000, 40);
  EXPECT_EQ(some.count, 250u);
  EXPECT_TRUE(some.truncated);
  EXPECT_EQ(some.users.size(), 40u);
  PresenceList all = List(1000, 250);
  EXPECT_FALSE(all.truncated);
  EXPECT_EQ(all.users.size(), 250u);
}

TEST_F(ClusterPresenceTest, OneCallRefreshesSeveralRoomsEachWithItsOwnAnswer) {
  RoomKeys other = keys_.Room("chat:other");
  Refresh("node-a", 1000, {{"alice", 1, ""}});
  std::vector<PresenceMember> lobby = {{"alice", 0, ""}, {"bob", 2, R"("B")"}};
  std::vector<PresenceMember> elsewhere = {{"alice", 1, R"("A")"}};
  std::vector<PresenceRoomUpdate> rooms = {{&room_, lobby}, {&other, elsewhere}};
  RedisSync::Reply r =
      Run(presence_.RefreshRooms(rooms, "node-a", 2000, kTtlMs), presence_.refresh_script());
  auto changes = ClusterPresence::ParseChanges(r.get(), 2);
  ASSERT_TRUE(changes) << (r && r->str ? r->str : "unexpected reply");
  EXPECT_EQ((*changes)[0].joined, (Users{"bob"}));
  EXPECT_EQ((*changes)[0].joined_info, (Users{R"("B")"}));
  EXPECT_EQ((*changes)[0].left, (Users{"alice"})) << "a count of 0 removes";
  EXPECT_EQ((*changes)[1].joined, (Users{"alice"}));
  EXPECT_TRUE((*changes)[1].left.empty());
  EXPECT_EQ(List(2000).count, 1u);
  RedisSync::Reply l = Run(presence_.List(other, 2000, 10), presence_.list_script());
  auto listed = ClusterPresence::ParseList(l.get());
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->count, 1u);
  EXPECT_EQ(listed->users.at(0).info_json, R"("A")");
  EXPECT_FALSE(ClusterPresence::ParseChanges(r.get(), 3)) << "one answer per room";
}

TEST_F(ClusterPresenceTest, UserIdsWithNewlinesAndBraces) {
  const std::string odd = "a\nb{c}";
  EXPECT_EQ(Refresh("node a", 1000, {{odd, 1, ""}}).joined, (Users{odd}));
  EXPECT_EQ(List(1000).users.at(0).user, odd);
  EXPECT_EQ(Remove("node a", 1000, {odd}).left, (Users{odd}));
}

}  // namespace
}  // namespace ringcast::shard
