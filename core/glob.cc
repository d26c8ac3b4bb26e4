#include "core/glob.h"

#include <cstddef>

namespace ringcast::core {
namespace {

constexpr size_t kNoStar = std::string_view::npos;

// The pattern token at pattern[p] (p < size) that is not a star: how many pattern bytes it
// takes, and whether it matches byte c.
struct Token {
  size_t width;
  bool matches;
};

Token MatchToken(std::string_view pattern, size_t p, char c) {
  const char head = pattern[p];
  if (head == '?') return {1, true};
  if (head == '\\' && p + 1 < pattern.size()) return {2, pattern[p + 1] == c};
  return {1, head == c};  // a literal, or a trailing lone backslash
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star_p = kNoStar;  // pattern position just after the last star seen
  size_t star_t = 0;        // text position that star's run currently ends at
  while (t < text.size()) {
    if (p < pattern.size()) {
      if (pattern[p] == '*') {
        star_p = ++p;
        star_t = t;
        continue;
      }
      const Token token = MatchToken(pattern, p, text[t]);
      if (token.matches) {
        p += token.width;
        ++t;
        continue;
      }
    }
    if (star_p == kNoStar) return false;
    // Let the last star swallow one more byte and retry what follows it.
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool MatchesAny(const std::vector<std::string>& patterns, std::string_view text) {
  for (const std::string& pattern : patterns) {
    if (GlobMatch(pattern, text)) return true;
  }
  return false;
}

}  // namespace ringcast::core
