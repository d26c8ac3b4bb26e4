// Glob patterns for room permissions (JWT claims `rooms` and `pub`, docs/protocol.md "Identity").
// Syntax, over bytes: `*` matches any run of bytes, including none and including ':' and '/'
// (room names have no path structure the pattern must respect); `?` matches exactly one byte
// (not one UTF-8 character); `\` makes the next byte literal (`\*`, `\?`, `\\`). A lone `\` at
// the end of a pattern matches a literal backslash. There are no character classes: `[` is an
// ordinary byte. A pattern must match the whole text.
//
// Matching is iterative with one restart point (the last `*` seen): when a literal fails after
// a star, only that star absorbs one more byte, because earlier stars can never help a match
// that the last star cannot complete. So there is no recursion and no exponential blowup on
// patterns like `a*a*a*a*b`; the worst case is O(|pattern| * |text|), and both are bounded by
// the JWT limits (256-byte patterns, 256-byte room names).
// Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ringcast::core {

// True if `pattern` matches all of `text`.
[[nodiscard]] bool GlobMatch(std::string_view pattern, std::string_view text);

// True if any pattern matches `text`; false for an empty list.
[[nodiscard]] bool MatchesAny(const std::vector<std::string>& patterns, std::string_view text);

}  // namespace ringcast::core
