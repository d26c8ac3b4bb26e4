#include "core/boxed_string.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace ringcast::core {
namespace {

TEST(BoxedStringTest, EmptyByDefaultAndFromAnEmptyView) {
  BoxedString a;
  BoxedString b{std::string_view()};
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(a.view(), "");
  EXPECT_EQ(b.size(), 0u);
}

TEST(BoxedStringTest, KeepsTheBytesOfLongAndShortStrings) {
  // Longer than std::string's inline buffer, and with a NUL inside.
  const std::string long_id = "anon-3b5031b4-0-2710" + std::string(1, '\0') + "tail";
  BoxedString s(long_id);
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.size(), long_id.size());
  EXPECT_EQ(s.view(), long_id);
  EXPECT_EQ(BoxedString("a").view(), "a");
  std::string_view as_view = s;
  EXPECT_EQ(as_view, long_id);
  EXPECT_TRUE(s == long_id);
  EXPECT_FALSE(s == "anon");
}

TEST(BoxedStringTest, MoveLeavesTheSourceEmptyAndAssignmentReplaces) {
  BoxedString a("alice");
  BoxedString b(std::move(a));
  EXPECT_EQ(b.view(), "alice");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  b = BoxedString("bob-with-a-much-longer-name");
  EXPECT_EQ(b.view(), "bob-with-a-much-longer-name");
}

}  // namespace
}  // namespace ringcast::core
