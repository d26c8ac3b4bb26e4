#include "shard/cluster_router.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

namespace ringcast::shard {
namespace {

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

ReplyPtr Parse(const std::string& resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  redisReaderFree(reader);
  EXPECT_NE(reply, nullptr) << "incomplete RESP";
  return ReplyPtr(static_cast<redisReply*>(reply), freeReplyObject);
}

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

std::string Range(int first, int last, const std::string& host, int port) {
  return "*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*3\r\n" +
         Bulk(host) + ":" + std::to_string(port) + "\r\n" + Bulk("id");
}

net::RedisAddress Seed(const std::string& text) {
  net::RedisAddress a = *net::RedisAddress::Parse(text);
  EXPECT_EQ(a.Resolve(true), "");
  return a;
}

// Seeds 127.0.0.1:7001 and :7002; the map names a third master 127.0.0.1:7003.
ClusterRouter ThreeMasters() {
  ClusterRouter router({Seed("127.0.0.1:7001"), Seed("127.0.0.1:7002")});
  ReplyPtr r = Parse("*3\r\n" + Range(0, 5460, "127.0.0.1", 7001) + Range(5461, 10922, "", 7002) +
                     Range(10923, 16383, "127.0.0.1", 7003));
  EXPECT_TRUE(router.Apply(r.get(), 1));
  return router;
}

TEST(ClusterRouterTest, WithoutAMapEverySlotGoesToTheFirstSeed) {
  ClusterRouter router({Seed("127.0.0.1:7001"), Seed("127.0.0.1:7002")});
  EXPECT_FALSE(router.HasMap());
  EXPECT_EQ(router.InstanceOfSlot(0), 0u);
  EXPECT_EQ(router.InstanceOfSlot(16383), 0u);
  EXPECT_EQ(router.slots_covered(), 0u);
}

TEST(ClusterRouterTest, TheMapNamesSeedsAndAddsNewMasters) {
  ClusterRouter router = ThreeMasters();
  ASSERT_EQ(router.addresses().size(), 3u);
  EXPECT_EQ(router.addresses()[2].ToString(), "127.0.0.1:7003");
  EXPECT_TRUE(router.addresses()[2].IsResolved());
  EXPECT_EQ(router.InstanceOfSlot(0), 0u);
  // An empty host is the host of the instance that answered.
  EXPECT_EQ(router.InstanceOfSlot(5461), 1u);
  EXPECT_EQ(router.InstanceOfSlot(16383), 2u);
  EXPECT_EQ(router.masters(), 3u);
  EXPECT_EQ(router.slots_covered(), 16384u);
  EXPECT_TRUE(router.ServesSlots(2));
}

TEST(ClusterRouterTest, MovedMovesOneSlotAndAMalformedMapChangesNothing) {
  ClusterRouter router = ThreeMasters();
  auto moved = Redirect::Parse("MOVED 42 127.0.0.1:7003");
  ASSERT_TRUE(moved);
  EXPECT_EQ(router.Moved(*moved, 0), std::optional<size_t>(2));
  EXPECT_EQ(router.InstanceOfSlot(42), 2u);
  EXPECT_EQ(router.InstanceOfSlot(41), 0u);
  // A master new to the router is added; one that is not numeric cannot be used.
  auto elsewhere = Redirect::Parse("MOVED 43 127.0.0.9:7009");
  EXPECT_EQ(router.Moved(*elsewhere, 0), std::optional<size_t>(3));
  EXPECT_EQ(router.InstanceOfSlot(43), 3u);
  auto named = Redirect::Parse("MOVED 44 redis.example:7009");
  EXPECT_FALSE(router.Moved(*named, 0));
  EXPECT_EQ(router.InstanceOfSlot(44), 0u);
  ReplyPtr bad = Parse("*1\r\n*3\r\n:0\r\n:99999\r\n*2\r\n" + Bulk("h") + ":1\r\n");
  EXPECT_FALSE(router.Apply(bad.get(), 0));
  EXPECT_EQ(router.InstanceOfSlot(16383), 2u);
}

TEST(ClusterRouterTest, SentCommandsComeBackInOrderPerInstance) {
  ClusterRouter router = ThreeMasters();
  for (uint64_t tag = 1; tag <= 3; ++tag) {
    ClusterRouter::Sent s;
    s.tag = tag;
    s.argv = {"SPUBLISH", "c", std::to_string(tag)};
    router.Record(tag == 2 ? 1 : 0, std::move(s));
  }
  EXPECT_EQ(router.Pop(0).tag, 1u);
  ClusterRouter::Sent third = router.Pop(0);
  EXPECT_EQ(third.tag, 3u);
  EXPECT_EQ(third.argv.back(), "3");
  EXPECT_EQ(router.Pop(1).tag, 2u);
}

}  // namespace
}  // namespace ringcast::shard
