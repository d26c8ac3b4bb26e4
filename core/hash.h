// Byte hashing for room and user names: shard ownership (HashBytes(name) % shards) and the
// shards' hash tables. A wyhash-style function: 8-byte reads folded through a 64x64->128-bit
// multiply whose halves are xored, so every input bit reaches every output bit (including the
// low bits that `% shards` keeps) in two or three multiplies for short names. It is
// deterministic across processes and runs on purpose: every shard and every node must agree on
// who owns a room. That also means it is not a keyed hash; keys chosen by an attacker to
// collide must be limited elsewhere (name length and per-connection subscription limits).
// Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ringcast::core {

namespace hash_internal {

__extension__ typedef unsigned __int128 Uint128;

// Odd 64-bit constants with balanced bits (the wyhash "secret" set).
constexpr uint64_t kK0 = 0x2d358dccaa6c78a5ull;
constexpr uint64_t kK1 = 0x8bb84b93962eacc9ull;
constexpr uint64_t kK2 = 0x4b33a62ed433d4a3ull;
constexpr uint64_t kK3 = 0x4d5a2da51de1aa47ull;

inline uint64_t Read8(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline uint64_t Read4(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Full 128-bit product of a and b, low half into *a and high half into *b.
inline void Multiply128(uint64_t* a, uint64_t* b) {
  const Uint128 product = static_cast<Uint128>(*a) * *b;
  *a = static_cast<uint64_t>(product);
  *b = static_cast<uint64_t>(product >> 64);
}

// Folds the 128-bit product back to 64 bits; the core mixing step.
inline uint64_t Mix(uint64_t a, uint64_t b) {
  Multiply128(&a, &b);
  return a ^ b;
}

// Consumes 16-byte blocks while more than 16 bytes remain, advancing *p and *remaining; the
// last 1..16 bytes are left for the caller. Long inputs run three independent lanes so the
// multiplies overlap.
inline uint64_t MixBlocks(const unsigned char** p, size_t* remaining, uint64_t state) {
  const unsigned char* in = *p;
  size_t left = *remaining;
  if (left > 48) {
    uint64_t lane1 = state;
    uint64_t lane2 = state;
    do {
      state = Mix(Read8(in) ^ kK1, Read8(in + 8) ^ state);
      lane1 = Mix(Read8(in + 16) ^ kK2, Read8(in + 24) ^ lane1);
      lane2 = Mix(Read8(in + 32) ^ kK3, Read8(in + 40) ^ lane2);
      in += 48;
      left -= 48;
    } while (left > 48);
    state ^= lane1 ^ lane2;
  }
  while (left > 16) {
    state = Mix(Read8(in) ^ kK1, Read8(in + 8) ^ state);
    in += 16;
    left -= 16;
  }
  *p = in;
  *remaining = left;
  return state;
}

}  // namespace hash_internal

inline uint64_t HashBytes(std::string_view bytes) {
  namespace hi = hash_internal;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t len = bytes.size();
  uint64_t state = hi::kK0 ^ hi::Mix(hi::kK0, hi::kK1);
  uint64_t a = 0;
  uint64_t b = 0;
  if (len <= 16) {
    if (len >= 4) {
      // Two overlapping pairs of 4-byte reads cover any length from 4 to 16.
      const size_t mid = (len >> 3) << 2;
      a = (hi::Read4(p) << 32) | hi::Read4(p + mid);
      b = (hi::Read4(p + len - 4) << 32) | hi::Read4(p + len - 4 - mid);
    } else if (len > 0) {
      a = (uint64_t{p[0]} << 16) | (uint64_t{p[len >> 1]} << 8) | p[len - 1];
    }
  } else {
    size_t remaining = len;
    state = hi::MixBlocks(&p, &remaining, state);
    // The last 16 bytes, overlapping already-mixed ones when remaining < 16 (len > 16, so the
    // reads stay inside the input).
    a = hi::Read8(p + remaining - 16);
    b = hi::Read8(p + remaining - 8);
  }
  a ^= hi::kK1;
  b ^= state;
  hi::Multiply128(&a, &b);
  return hi::Mix(a ^ hi::kK0 ^ len, b ^ hi::kK1);
}

// Transparent hasher: std::unordered_map<std::string, V, StringHash, std::equal_to<>> can then
// be searched with a std::string_view without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return HashBytes(s); }
};

}  // namespace ringcast::core
