// BoxedString: an owned string that takes one pointer in its owner and one
// heap block of exactly its length (plus a 4-byte length) when not empty.
//
// For names held once per connection or per user (a user id, the key of a
// room's map entry): std::string takes 32 bytes inline and, past 15 bytes, a
// heap block with room to grow, which is twice what a name that never changes
// needs. Hashes and compares as its string_view (core::StringHash,
// std::equal_to<>), so maps keyed by it look up by string_view. Immutable once made (assign a
// new one to change it); moves leave the source empty. At most 4 GiB - 1
// bytes. Not thread-safe beyond what a const std::string is.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "core/check.h"

namespace ringcast::core {

class BoxedString {
 public:
  BoxedString() = default;
  explicit BoxedString(std::string_view s) {
    if (s.empty()) return;
    RC_CHECK(s.size() <= UINT32_MAX);
    const uint32_t n = static_cast<uint32_t>(s.size());
    block_ = std::make_unique_for_overwrite<char[]>(sizeof(n) + n);
    std::memcpy(block_.get(), &n, sizeof(n));
    std::memcpy(block_.get() + sizeof(n), s.data(), n);
  }

  std::string_view view() const {
    if (!block_) return {};
    uint32_t n;
    std::memcpy(&n, block_.get(), sizeof(n));
    return {block_.get() + sizeof(n), n};
  }
  operator std::string_view() const { return view(); }  // NOLINT: used as a string_view
  bool empty() const { return !block_; }
  size_t size() const { return view().size(); }

 private:
  std::unique_ptr<char[]> block_;
};
static_assert(sizeof(BoxedString) == sizeof(void*));

inline bool operator==(const BoxedString& a, std::string_view b) { return a.view() == b; }
inline bool operator==(const BoxedString& a, const BoxedString& b) { return a.view() == b.view(); }

}  // namespace ringcast::core
