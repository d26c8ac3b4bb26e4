#include "core/crc16.h"

#include <gtest/gtest.h>

namespace ringcast::core {
namespace {

TEST(Crc16Test, MatchesTheXmodemCheckValue) {
  // The check value of CRC-16/XMODEM, and the one in Redis's own crc16.c.
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
  static_assert(Crc16("123456789") == 0x31C3);
}

TEST(Crc16Test, SlotsOfKnownKeys) {
  // Slots as CLUSTER KEYSLOT answers them (redis_fixture_test and the Redis docs).
  EXPECT_EQ(HashSlot("{a}x"), 15495);
  EXPECT_EQ(HashSlot("foo"), 12182);
  EXPECT_EQ(HashSlot("123456789"), 0x31C3 % kRedisSlots);
}

TEST(Crc16Test, HashTagRules) {
  EXPECT_EQ(HashTagOf("{user1000}.following"), "user1000");
  EXPECT_EQ(HashTagOf("foo{}{bar}"), "foo{}{bar}");  // empty first tag: the whole key
  EXPECT_EQ(HashTagOf("foo{{bar}}zap"), "{bar");     // from the first '{' to the first '}'
  EXPECT_EQ(HashTagOf("foo{bar}{zap}"), "bar");      // only the first tag counts
  EXPECT_EQ(HashTagOf("no tag"), "no tag");
  EXPECT_EQ(HashTagOf("open{only"), "open{only");
  EXPECT_EQ(HashSlot("{user1000}.following"), HashSlot("{user1000}.followers"));
}

}  // namespace
}  // namespace ringcast::core
