#include "shard/rid.h"

#include <gtest/gtest.h>

#include <string>

namespace ringcast::shard {
namespace {

TEST(RidTest, FormatsShardNumberAndFixedWidthTagAndParsesBack) {
  Rid rid{3, 42, 0xabcull, {}};
  EXPECT_EQ(rid.Format(), "3.42.0000000000000abc");
  std::optional<Rid> back = Rid::Parse(rid.Format());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->shard, 3u);
  EXPECT_EQ(back->number, 42u);
  EXPECT_EQ(back->tag, 0xabcull);

  Rid extreme{63, 0xffffffffu, ~uint64_t{0}, {}};
  EXPECT_EQ(extreme.Format(), "63.4294967295.ffffffffffffffff");
  back = Rid::Parse(extreme.Format());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->number, 0xffffffffu);
  EXPECT_EQ(back->tag, ~uint64_t{0});
}

TEST(RidTest, ClusterModeNamesTheRequestersNode) {
  Rid rid{1, 7, 0x10ull, "node-a.1_x"};
  EXPECT_EQ(rid.Format(), "node-a.1_x/1.7.0000000000000010");
  std::optional<Rid> back = Rid::Parse(rid.Format());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->node, "node-a.1_x");
  EXPECT_EQ(back->shard, 1u);
  EXPECT_EQ(back->tag, 0x10ull);
  EXPECT_EQ(Rid::Parse("1.7.0000000000000010")->node, "") << "a single node's form";
  for (const char* bad :
       {"/1.7.0000000000000010", "a b/1.7.0000000000000010", "a/b/1.7.0000000000000010",
        "a/1.7.000000000000001", "123456789012345678901234567890123/1.7.0000000000000010"}) {
    EXPECT_FALSE(Rid::Parse(bad).has_value()) << bad;
  }
}

TEST(RidTest, RejectsAnythingButTheFormItWrites) {
  for (const char* bad : {"", "0", "0.1", "0.1.", "0.1.abc", "0.1.0000000000000abc0",
                          "0.1.000000000000abc", "0.1.000000000000zzzz", "0..0000000000000abc",
                          ".1.0000000000000abc", "0.1.0000000000000abc\n", "0.1.-000000000000abc",
                          "0.4294967296.0000000000000abc", "0.1,0000000000000abc"}) {
    EXPECT_FALSE(Rid::Parse(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ringcast::shard
