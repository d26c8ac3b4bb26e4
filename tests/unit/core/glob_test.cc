#include "core/glob.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast::core {
namespace {

TEST(GlobTest, LiteralMatchesOnlyItself) {
  EXPECT_TRUE(GlobMatch("chat:general", "chat:general"));
  EXPECT_FALSE(GlobMatch("chat:general", "chat:genera"));
  EXPECT_FALSE(GlobMatch("chat:general", "chat:generall"));
  EXPECT_FALSE(GlobMatch("chat:general", "Chat:general"));  // bytes, case-sensitive
  EXPECT_FALSE(GlobMatch("chat:general", "xchat:general"));
}

TEST(GlobTest, EmptyPatternAndText) {
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_FALSE(GlobMatch("a", ""));
  EXPECT_FALSE(GlobMatch("?", ""));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("***", ""));
}

TEST(GlobTest, StarMatchesAnyRunIncludingSeparators) {
  EXPECT_TRUE(GlobMatch("*", "anything at all"));
  EXPECT_TRUE(GlobMatch("chat:*", "chat:"));
  EXPECT_TRUE(GlobMatch("chat:*", "chat:general"));
  EXPECT_TRUE(GlobMatch("chat:*", "chat:a:b/c/d"));  // ':' and '/' are ordinary bytes
  EXPECT_FALSE(GlobMatch("chat:*", "chat"));
  EXPECT_FALSE(GlobMatch("chat:*", "chatroom:x"));
}

TEST(GlobTest, StarAtStartMiddleAndEnd) {
  EXPECT_TRUE(GlobMatch("*:lobby", "game:42:lobby"));
  EXPECT_TRUE(GlobMatch("*:lobby", ":lobby"));
  EXPECT_FALSE(GlobMatch("*:lobby", "game:42:lobby2"));
  EXPECT_TRUE(GlobMatch("game:*:lobby", "game:42:lobby"));
  EXPECT_TRUE(GlobMatch("game:*:lobby", "game::lobby"));
  EXPECT_TRUE(GlobMatch("game:*:lobby", "game:1:lobby:2:lobby"));
  EXPECT_FALSE(GlobMatch("game:*:lobby", "game:1:lobby:2"));
  EXPECT_TRUE(GlobMatch("*game*", "game"));
  EXPECT_TRUE(GlobMatch("*game*", "my game room"));
  EXPECT_FALSE(GlobMatch("*game*", "gam e"));
}

TEST(GlobTest, StarBacktracksToTheLastOccurrence) {
  // The first "b" after the star is not the right one; only the last one leaves "c" to match.
  EXPECT_TRUE(GlobMatch("a*bc", "abbbbc"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axbxbxc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axbxbx"));
  EXPECT_TRUE(GlobMatch("*aab", "aaaab"));
  EXPECT_TRUE(GlobMatch("a*", "a"));
}

TEST(GlobTest, QuestionMarkIsExactlyOneByte) {
  EXPECT_TRUE(GlobMatch("dm:?", "dm:x"));
  EXPECT_FALSE(GlobMatch("dm:?", "dm:"));
  EXPECT_FALSE(GlobMatch("dm:?", "dm:xy"));
  EXPECT_TRUE(GlobMatch("???", "a:b"));
  EXPECT_TRUE(GlobMatch("??", "\xc3\xa9"));  // "é" is two bytes
  EXPECT_FALSE(GlobMatch("?", "\xc3\xa9"));
  EXPECT_TRUE(GlobMatch("?*", "x"));
  EXPECT_FALSE(GlobMatch("*?", ""));
  EXPECT_TRUE(GlobMatch("a?c*", "abcdef"));
}

TEST(GlobTest, BackslashEscapesTheNextByte) {
  EXPECT_TRUE(GlobMatch(R"(a\*b)", "a*b"));
  EXPECT_FALSE(GlobMatch(R"(a\*b)", "axb"));
  EXPECT_FALSE(GlobMatch(R"(a\*b)", "ab"));
  EXPECT_TRUE(GlobMatch(R"(a\?)", "a?"));
  EXPECT_FALSE(GlobMatch(R"(a\?)", "ab"));
  EXPECT_TRUE(GlobMatch(R"(a\\b)", R"(a\b)"));
  EXPECT_FALSE(GlobMatch(R"(a\\b)", R"(a\\b)"));
  EXPECT_TRUE(GlobMatch(R"(\a)", "a"));  // an escaped ordinary byte is itself
  EXPECT_TRUE(GlobMatch(R"(*\*)", "stars*"));
  EXPECT_FALSE(GlobMatch(R"(*\*)", "stars"));
  EXPECT_TRUE(GlobMatch(R"(\**)", "*anything"));
  EXPECT_FALSE(GlobMatch(R"(\**)", "anything"));
}

TEST(GlobTest, TrailingBackslashIsLiteral) {
  EXPECT_TRUE(GlobMatch("a\\", "a\\"));
  EXPECT_FALSE(GlobMatch("a\\", "a"));
  EXPECT_TRUE(GlobMatch("*\\", "dir\\"));
}

TEST(GlobTest, NoCharacterClasses) {
  EXPECT_TRUE(GlobMatch("[ab]", "[ab]"));
  EXPECT_FALSE(GlobMatch("[ab]", "a"));
}

TEST(GlobTest, ManyStars) {
  EXPECT_TRUE(GlobMatch("*a*b*c*d*", "xxaxxbxxcxxdxx"));
  EXPECT_FALSE(GlobMatch("*a*b*c*d*", "xxaxxbxxdxxcxx"));
  EXPECT_TRUE(GlobMatch("**a**", "a"));
  EXPECT_TRUE(GlobMatch("*?*?*", "ab"));
  EXPECT_FALSE(GlobMatch("*?*?*", "a"));
}

TEST(GlobTest, PathologicalPatternFinishesFast) {
  // A recursive matcher tries every way of splitting the text among the stars: with 128 stars
  // over 4 KiB it would not finish in any test timeout. Not timed here (speed belongs to
  // benchmarks); a regression shows up as this test hanging until ctest's timeout.
  const std::string text(4096, 'a');
  std::string pattern;
  for (int i = 0; i < 128; ++i) pattern += "a*";
  EXPECT_TRUE(GlobMatch(pattern, text));
  EXPECT_FALSE(GlobMatch(pattern + 'b', text));
  EXPECT_FALSE(GlobMatch("*" + std::string(255, 'a') + "b", text));
  EXPECT_TRUE(GlobMatch(pattern + 'b', text + 'b'));
}

TEST(GlobTest, MatchesAny) {
  const std::vector<std::string> patterns = {"chat:*", "dm:alice:?", R"(lit\*)"};
  EXPECT_TRUE(MatchesAny(patterns, "chat:general"));
  EXPECT_TRUE(MatchesAny(patterns, "dm:alice:1"));
  EXPECT_TRUE(MatchesAny(patterns, "lit*"));
  EXPECT_FALSE(MatchesAny(patterns, "dm:alice:12"));
  EXPECT_FALSE(MatchesAny(patterns, "litx"));
  EXPECT_FALSE(MatchesAny({}, "chat:general"));
  EXPECT_FALSE(MatchesAny({}, ""));
  EXPECT_TRUE(MatchesAny({""}, ""));
}

}  // namespace
}  // namespace ringcast::core
