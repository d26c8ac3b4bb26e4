// The Redis test fixtures themselves (tests/support/redis_process.h): the
// cluster-mode tests rest on them, so what they promise is checked here
// against real redis-server processes.
#include <gtest/gtest.h>

#include "tests/support/redis_process.h"

namespace ringcast::testing {
namespace {

TEST(RedisFixtureTest, KilledServerWithoutAppendonlyRestartsEmpty) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  {
    RedisSync c(redis.port());
    ASSERT_EQ(c.Text({"SET", "k", "v"}), "OK");
    ASSERT_EQ(c.Text({"GET", "k"}), "v");
  }
  const uint16_t port = redis.port();
  ASSERT_TRUE(redis.Restart()) << redis.error();
  EXPECT_EQ(redis.port(), port);
  RedisSync c(redis.port());
  EXPECT_EQ(c.Text({"GET", "k"}), "(nil)");
}

TEST(RedisFixtureTest, KilledServerWithAppendonlyKeepsItsKeys) {
  RedisOptions o;
  o.appendonly = true;
  RedisProcess redis(o);
  ASSERT_TRUE(redis.Start()) << redis.error();
  {
    RedisSync c(redis.port());
    ASSERT_EQ(c.Text({"SET", "k", "v"}), "OK");
  }
  ASSERT_TRUE(redis.Restart()) << redis.error();
  RedisSync c(redis.port());
  EXPECT_EQ(c.Text({"GET", "k"}), "v");
}

TEST(RedisFixtureTest, ClusterOfThreeServesEverySlotAndMovesOne) {
  RedisCluster cluster(3);
  ASSERT_TRUE(cluster.Start()) << cluster.error();
  EXPECT_EQ(cluster.OwnerOf(0), 0);
  EXPECT_EQ(cluster.OwnerOf(8000), 1);
  EXPECT_EQ(cluster.OwnerOf(16383), 2);
  // "{a}" hashes to slot 15495: write a key there, move the slot to node 0.
  const int slot = 15495;
  const int from = cluster.OwnerOf(slot);
  ASSERT_EQ(from, 2);
  {
    RedisSync c(cluster.node(from).port());
    ASSERT_EQ(c.Text({"CLUSTER", "KEYSLOT", "{a}x"}), std::to_string(slot));
    ASSERT_EQ(c.Text({"SET", "{a}x", "1"}), "OK");
  }
  ASSERT_TRUE(cluster.MoveSlot(slot, 0)) << cluster.error();
  EXPECT_EQ(cluster.OwnerOf(slot), 0);
  RedisSync old_owner(cluster.node(from).port());
  EXPECT_EQ(old_owner.Text({"GET", "{a}x"}).rfind("MOVED " + std::to_string(slot), 0), 0u);
  RedisSync new_owner(cluster.node(0).port());
  EXPECT_EQ(new_owner.Text({"GET", "{a}x"}), "1");
}

}  // namespace
}  // namespace ringcast::testing
