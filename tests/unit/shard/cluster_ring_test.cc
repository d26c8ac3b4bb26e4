#include "shard/cluster_ring.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast::shard {
namespace {

constexpr int kRooms = 30'000;

std::string RoomName(int i) { return "chat:room-" + std::to_string(i); }

TEST(RedisRingTest, ThreeInstancesShareRoomsEvenly) {
  RedisRing ring({"redis://127.0.0.1:7001", "redis://127.0.0.1:7002", "redis://127.0.0.1:7003"});
  std::vector<int> count(3, 0);
  for (int i = 0; i < kRooms; ++i) ++count[ring.Of(RoomName(i))];
  for (int n : count) {
    EXPECT_GT(n, kRooms / 3 * 85 / 100) << n;
    EXPECT_LT(n, kRooms / 3 * 115 / 100) << n;
  }
}

TEST(RedisRingTest, AddingAFourthMovesAQuarterAndOnlyToIt) {
  std::vector<std::string> three = {"redis://a:1", "redis://b:1", "redis://c:1"};
  std::vector<std::string> four = three;
  four.push_back("redis://d:1");
  RedisRing before(three);
  RedisRing after(four);
  int moved = 0;
  for (int i = 0; i < kRooms; ++i) {
    const size_t was = before.Of(RoomName(i));
    const size_t now = after.Of(RoomName(i));
    if (was == now) continue;
    ++moved;
    EXPECT_EQ(now, 3u) << "a room moved between old instances";
  }
  EXPECT_GT(moved, kRooms / 4 * 80 / 100);
  EXPECT_LT(moved, kRooms / 4 * 120 / 100);
}

TEST(RedisRingTest, ListOrderDoesNotMatter) {
  RedisRing a({"redis://a:1", "redis://b:1", "redis://c:1"});
  RedisRing b({"redis://c:1", "redis://a:1", "redis://b:1"});
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(a.instance(a.Of(RoomName(i))), b.instance(b.Of(RoomName(i))));
  }
}

TEST(RedisRingTest, OneInstanceTakesEverything) {
  RedisRing ring({"redis://only:1"});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ring.Of(RoomName(i)), 0u);
}

}  // namespace
}  // namespace ringcast::shard
