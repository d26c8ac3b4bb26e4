#include "shard/cluster_keys.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/crc16.h"

namespace ringcast::shard {
namespace {

class ClusterKeysTest : public ::testing::Test {
 protected:
  ClusterPartitions partitions_{128};
  ClusterKeys keys_{&partitions_};
};

TEST_F(ClusterKeysTest, EveryKeyOfARoomSharesItsPartitionsSlot) {
  for (const char* room : {"chat:lobby", "{evil}", "}{", "a}b{c", "@alice", "", "x y\nz", "ünï"}) {
    const RoomKeys k = keys_.Room(room);
    const int slot = partitions_.slot(partitions_.Of(room));
    for (const std::string* key : {&k.channel, &k.meta, &k.stream, &k.presence_info,
                                   &k.presence_users, &k.presence_conns, &k.presence_expiry}) {
      EXPECT_EQ(core::HashSlot(*key), slot) << *key;
    }
    EXPECT_EQ(keys_.RoomChannel(room), k.channel);
  }
}

TEST_F(ClusterKeysTest, LayoutIsReadable) {
  const std::string tag = partitions_.tag(partitions_.Of("chat:lobby"));
  const RoomKeys k = keys_.Room("chat:lobby");
  EXPECT_EQ(k.channel, "rc:{" + tag + "}:c:chat:lobby");
  EXPECT_EQ(k.meta, "rc:{" + tag + "}:m:chat:lobby");
  EXPECT_EQ(k.stream, "rc:{" + tag + "}:h:chat:lobby");
  EXPECT_EQ(keys_.ControlChannel(), "rc:{ctl}:control");
  EXPECT_EQ(keys_.NodeChannel("node 1"), "rc:{n.node%201}:node");
  ClusterPartitions one(1);
  ClusterKeys other(&one, "app7");
  EXPECT_EQ(other.RoomChannel("r"), "app7:{" + one.tag(0) + "}:c:r");
}

TEST_F(ClusterKeysTest, EscapeKeepsNamesApartAndTagsClosed) {
  EXPECT_EQ(ClusterKeys::Escape("a{b}c"), "a%7Bb%7Dc");
  EXPECT_EQ(ClusterKeys::Escape("50%"), "50%25");
  EXPECT_EQ(ClusterKeys::Escape(std::string("a\0b\n", 4)), "a%00b%0A");
  EXPECT_EQ(ClusterKeys::Escape("chat:ünï"), "chat:ünï");
  // Injective over names that would collide if only some bytes were escaped.
  std::set<std::string> seen;
  for (const char* name : {"a{b", "a%7Bb", "a%257Bb", "a b", "a%20b", "a}b", "a%7Db"}) {
    EXPECT_TRUE(seen.insert(keys_.RoomChannel(name)).second) << name;
    EXPECT_EQ(keys_.RoomChannel(name).find_first_of("{}", keys_.RoomChannel(name).find('}') + 1),
              std::string::npos)
        << name;
  }
}

TEST_F(ClusterKeysTest, KindsAndRoomsNeverShareAKey) {
  std::set<std::string> seen;
  for (const char* room : {"x", "c:x", "m:x", "h", "h:x", "pi:x", "@x", "ctl", "control"}) {
    const RoomKeys k = keys_.Room(room);
    for (const std::string* key : {&k.channel, &k.meta, &k.stream, &k.presence_info,
                                   &k.presence_users, &k.presence_conns, &k.presence_expiry}) {
      EXPECT_TRUE(seen.insert(*key).second) << *key;
    }
  }
  EXPECT_TRUE(seen.insert(keys_.ControlChannel()).second);
  EXPECT_TRUE(seen.insert(keys_.NodeChannel("x")).second);
  EXPECT_EQ(ClusterKeys::PersonalRoom("alice"), "@alice");
}

}  // namespace
}  // namespace ringcast::shard
