// How many shards a server runs (shard/server.h, ShardCount): the default
// follows the online CPUs but never past the mesh's 64, which the
// configuration refuses, so a large host still starts with the default.
#include "shard/server.h"

#include <gtest/gtest.h>

#include "shard/mesh.h"

namespace ringcast::shard {
namespace {

TEST(ServerShardCountTest, DefaultIsOnePerOnlineCpuAtMostSixtyFour) {
  EXPECT_EQ(ShardCount(0, 2), 2u);
  EXPECT_EQ(ShardCount(0, 64), 64u);
  EXPECT_EQ(ShardCount(0, 65), kMaxShards);
  EXPECT_EQ(ShardCount(0, 256), kMaxShards);
  EXPECT_EQ(ShardCount(0, -1), 1u) << "sysconf failing still gives one shard";
}

TEST(ServerShardCountTest, AConfiguredCountIsKeptWhateverTheCpus) {
  EXPECT_EQ(ShardCount(3, 256), 3u);
  EXPECT_EQ(ShardCount(64, 2), 64u);
}

}  // namespace
}  // namespace ringcast::shard
