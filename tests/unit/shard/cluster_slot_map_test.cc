#include "shard/cluster_slot_map.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

#include "shard/cluster_redirect.h"

namespace ringcast::shard {
namespace {

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

// A reply tree parsed by hiredis from RESP text, as the backplane gets it.
ReplyPtr Parse(const std::string& resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* reply = nullptr;
  const int status = redisReaderGetReply(reader, &reply);
  redisReaderFree(reader);
  EXPECT_EQ(status, REDIS_OK);
  EXPECT_NE(reply, nullptr) << "incomplete RESP";
  return ReplyPtr(static_cast<redisReply*>(reply), freeReplyObject);
}

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

std::string Range(int first, int last, const std::string& host, int port) {
  return "*4\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*3\r\n" +
         Bulk(host) + ":" + std::to_string(port) + "\r\n" + Bulk("id-" + std::to_string(port)) +
         // one replica, ignored
         "*3\r\n" + Bulk(host) + ":" + std::to_string(port + 100) + "\r\n" + Bulk("replica");
}

TEST(SlotMapTest, ParsesClusterSlots) {
  ReplyPtr r = Parse("*3\r\n" + Range(0, 5460, "127.0.0.1", 7001) +
                     Range(5461, 10922, "127.0.0.1", 7002) + Range(10923, 16383, "10.0.0.3", 7003));
  auto map = SlotMap::FromClusterSlots(r.get());
  ASSERT_TRUE(map);
  EXPECT_TRUE(map->complete());
  ASSERT_EQ(map->nodes().size(), 3u);
  EXPECT_EQ(map->AddressOf(0)->ToString(), "127.0.0.1:7001");
  EXPECT_EQ(map->AddressOf(5460)->ToString(), "127.0.0.1:7001");
  EXPECT_EQ(map->AddressOf(5461)->ToString(), "127.0.0.1:7002");
  EXPECT_EQ(map->AddressOf(16383)->ToString(), "10.0.0.3:7003");
}

TEST(SlotMapTest, GapsHaveNoNodeAndMovedFillsThem) {
  ReplyPtr r = Parse("*2\r\n" + Range(0, 99, "h1", 1) + Range(200, 16383, "h2", 2));
  auto map = SlotMap::FromClusterSlots(r.get());
  ASSERT_TRUE(map);
  EXPECT_FALSE(map->complete());
  EXPECT_EQ(map->NodeOf(150), -1);
  EXPECT_EQ(map->AddressOf(150), nullptr);
  // Two ranges of one master count as one node.
  map->Move(150, RedisAddress{"h3", 3});
  EXPECT_EQ(map->AddressOf(150)->ToString(), "h3:3");
  map->Move(151, RedisAddress{"h1", 1});
  EXPECT_EQ(map->NodeOf(151), map->NodeOf(0));
  EXPECT_EQ(map->nodes().size(), 3u);
}

TEST(SlotMapTest, UnknownEndpointsKeepAnEmptyHost) {
  ReplyPtr r = Parse("*2\r\n*3\r\n:0\r\n:10\r\n*3\r\n$-1\r\n:7001\r\n" + Bulk("a") +
                     "*3\r\n:11\r\n:16383\r\n*3\r\n" + Bulk("?") + ":7002\r\n" + Bulk("b"));
  auto map = SlotMap::FromClusterSlots(r.get());
  ASSERT_TRUE(map);
  EXPECT_EQ(map->AddressOf(5)->host, "");
  EXPECT_EQ(map->AddressOf(5)->port, 7001);
  EXPECT_EQ(map->AddressOf(20)->host, "");
  EXPECT_EQ(map->AddressOf(20)->port, 7002);
}

TEST(SlotMapTest, RejectsMalformedReplies) {
  for (const std::string& bad : {
           std::string("+OK\r\n"),
           std::string("-ERR This instance has cluster support disabled\r\n"),
           "*1\r\n" + Range(0, 16384, "h", 1),                               // slot out of range
           "*1\r\n" + Range(10, 5, "h", 1),                                  // reversed
           "*1\r\n" + Range(0, 10, "h", 0),                                  // port 0
           "*1\r\n" + Range(0, 10, "h", 70000),                              // port too large
           std::string("*1\r\n*2\r\n:0\r\n:10\r\n"),                         // no master
           std::string("*1\r\n*3\r\n:0\r\n:10\r\n*1\r\n$1\r\nh\r\n"),        // master without port
           std::string("*1\r\n*3\r\n$1\r\n0\r\n:10\r\n*2\r\n:5\r\n:1\r\n"),  // host not a string
       }) {
    ReplyPtr r = Parse(bad);
    EXPECT_FALSE(SlotMap::FromClusterSlots(r.get())) << bad;
  }
}

TEST(RedisAddressTest, ParsesHostsAndPorts) {
  EXPECT_EQ(RedisAddress::Parse("127.0.0.1:6381"), (RedisAddress{"127.0.0.1", 6381}));
  EXPECT_EQ(RedisAddress::Parse("[::1]:6381"), (RedisAddress{"::1", 6381}));
  EXPECT_EQ(RedisAddress::Parse("::1:6381"), (RedisAddress{"::1", 6381}));
  EXPECT_EQ(RedisAddress::Parse(":6381"), (RedisAddress{"", 6381}));
  EXPECT_EQ(RedisAddress::Parse("?:6381"), (RedisAddress{"", 6381}));
  EXPECT_EQ(RedisAddress::Parse("[::1]:6381")->ToString(), "[::1]:6381");
  for (const char* bad :
       {"", "host", "host:", "host:0", "host:65536", "host:12x", "a b:1", "host:-1"}) {
    EXPECT_FALSE(RedisAddress::Parse(bad)) << bad;
  }
}

TEST(RedirectTest, ParsesMovedAndAsk) {
  auto moved = Redirect::Parse("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->to, (RedisAddress{"127.0.0.1", 6381}));
  auto ask = Redirect::Parse("ASK 0 host.example:7000");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(ask->slot, 0);
  EXPECT_EQ(ask->to.host, "host.example");
  ReplyPtr r = Parse("-MOVED 16383 :7002\r\n");
  auto from_reply = Redirect::FromReply(r.get());
  ASSERT_TRUE(from_reply);
  EXPECT_EQ(from_reply->slot, 16383);
  EXPECT_EQ(from_reply->to, (RedisAddress{"", 7002}));
}

TEST(RedirectTest, RejectsOtherErrorsAndMalformedOnes) {
  for (const char* bad : {"", "MOVED", "MOVED ", "MOVED 3999", "MOVED 16384 h:1", "MOVED -1 h:1",
                          "MOVED x h:1", "ASK 1 h", "ASK 1 h:0", "moved 1 h:1", "ERR unknown",
                          "NOSCRIPT No matching script", "TRYAGAIN Multiple keys"}) {
    EXPECT_FALSE(Redirect::Parse(bad)) << bad;
  }
  ReplyPtr ok = Parse("$22\r\nMOVED 1 127.0.0.1:1234\r\n");  // a string, not an error
  EXPECT_FALSE(Redirect::FromReply(ok.get()));
}

}  // namespace
}  // namespace ringcast::shard
