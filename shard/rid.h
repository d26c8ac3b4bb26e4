// Rid: the id a `req` frame carries and a `res` names (docs/protocol.md,
// Requests and responses), as text "<shard>.<number>.<tag>", and in cluster
// mode "<node>/<shard>.<number>.<tag>": node routes the `res` to the
// requester's node (its Redis channel; node ids have no '/').
//
// shard routes the `res` to the requester's shard, number finds the pending
// entry in that shard's Requests table, and tag is 64 bits from the shard's
// CSPRNG kept in the entry: a `res` must repeat it exactly. The number alone
// is a counter anyone can predict, so without the tag any user could answer
// somebody else's request; with it, naming a live request takes a 2^-64
// guess. Clients treat the whole string as opaque. Pure functions: any thread.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast::shard {

struct Rid {
  unsigned shard = 0;
  uint32_t number = 0;
  uint64_t tag = 0;
  std::string node;  // cluster mode: the requester's node; empty on a single node

  static constexpr size_t kTagDigits = 16;  // hex, fixed width
  static constexpr size_t kMaxNodeBytes = 32;

  std::string Format() const {
    char tag_hex[kTagDigits];
    for (size_t i = 0; i < kTagDigits; ++i) {
      tag_hex[i] = "0123456789abcdef"[(tag >> (4 * (kTagDigits - 1 - i))) & 0xf];
    }
    return (node.empty() ? std::string() : node + "/") + std::to_string(shard) + "." +
           std::to_string(number) + "." + std::string(tag_hex, kTagDigits);
  }

  // A rid of exactly the form Format writes; nullopt for anything else.
  static std::optional<Rid> Parse(std::string_view text) {
    Rid rid;
    if (size_t slash = text.find('/'); slash != std::string_view::npos) {
      if (slash == 0 || slash > kMaxNodeBytes) return std::nullopt;
      for (char ch : text.substr(0, slash)) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) return std::nullopt;
      }
      rid.node = std::string(text.substr(0, slash));
      text.remove_prefix(slash + 1);
    }
    const char* p = text.data();
    const char* end = text.data() + text.size();
    auto [after_shard, e1] = std::from_chars(p, end, rid.shard);
    if (e1 != std::errc() || after_shard == end || *after_shard != '.') return std::nullopt;
    auto [after_number, e2] = std::from_chars(after_shard + 1, end, rid.number);
    if (e2 != std::errc() || after_number == end || *after_number != '.') return std::nullopt;
    const char* tag = after_number + 1;
    if (end - tag != static_cast<std::ptrdiff_t>(kTagDigits)) return std::nullopt;
    auto [after_tag, e3] = std::from_chars(tag, end, rid.tag, 16);
    if (e3 != std::errc() || after_tag != end) return std::nullopt;
    return rid;
  }
};

}  // namespace ringcast::shard
