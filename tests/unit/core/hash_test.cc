#include "core/hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ringcast::core {
namespace {

TEST(HashTest, EqualInputsHashEqual) {
  const std::string a = "room:general";
  const std::string b(a.data(), a.size());  // Different buffer, same bytes.
  EXPECT_EQ(HashBytes(a), HashBytes(b));
  EXPECT_EQ(HashBytes(std::string_view(a)), HashBytes("room:general"));
  // Only the viewed bytes count, not what follows them.
  EXPECT_EQ(HashBytes(std::string_view("room:generalXYZ", 12)), HashBytes(a));
}

TEST(HashTest, NoCollisionsOverThousandsOfKeys) {
  std::vector<std::string> keys;
  for (int i = 0; i < 4000; ++i) keys.push_back("room:" + std::to_string(i));
  for (int i = 0; i < 4000; ++i) keys.push_back("@user-" + std::to_string(i * 7919));
  // Same-length keys that differ in one byte, at every position of a 64-byte key.
  const std::string base(64, 'x');
  for (size_t pos = 0; pos < base.size(); ++pos) {
    for (char c : {'a', 'b', '\0'}) {
      std::string k = base;
      k[pos] = c;
      keys.push_back(k);
    }
  }
  // Every length from 0 to 300 of the same byte, so the length itself must be mixed in.
  for (size_t len = 0; len <= 300; ++len) keys.push_back(std::string(len, '\0'));
  std::unordered_set<uint64_t> hashes;
  for (const std::string& k : keys) hashes.insert(HashBytes(k));
  EXPECT_EQ(hashes.size(), keys.size());
}

// Flipping one input bit should flip about half of the output bits, for every input bit.
TEST(HashTest, SingleBitFlipAvalanches) {
  std::mt19937_64 rng(12345);
  for (size_t len : {1, 3, 4, 7, 8, 12, 16, 17, 31, 48, 49, 100}) {
    std::string key(len, '\0');
    uint64_t flipped_bits = 0;
    uint64_t trials = 0;
    int worst = 64;
    for (int sample = 0; sample < 20; ++sample) {
      for (char& c : key) c = static_cast<char>(rng());
      const uint64_t h = HashBytes(key);
      for (size_t bit = 0; bit < len * 8; ++bit) {
        std::string flipped = key;
        flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
        const int changed = std::popcount(h ^ HashBytes(flipped));
        flipped_bits += changed;
        worst = std::min(worst, changed);
        ++trials;
      }
    }
    const double mean = static_cast<double>(flipped_bits) / static_cast<double>(trials);
    EXPECT_NEAR(mean, 32.0, 1.5) << "len " << len;
    EXPECT_GE(worst, 10) << "len " << len;
  }
}

// Shard ownership keeps the low bits (hash % shards): sequential names must spread evenly.
TEST(HashTest, LowBitsSpreadEvenlyOverShards) {
  constexpr int kShards = 8;
  constexpr int kKeys = 16000;
  int counts[kShards] = {};
  for (int i = 0; i < kKeys; ++i) ++counts[HashBytes("room:" + std::to_string(i)) % kShards];
  for (int count : counts) {
    EXPECT_GT(count, kKeys / kShards * 9 / 10);
    EXPECT_LT(count, kKeys / kShards * 11 / 10);
  }
}

// Exact-size heap buffers let ASan catch any read past the end for every length.
TEST(HashTest, ReadsOnlyTheGivenBytes) {
  uint64_t previous = 0;
  for (size_t len = 0; len <= 200; ++len) {
    std::unique_ptr<char[]> buffer(new char[len == 0 ? 1 : len]);
    std::memset(buffer.get(), 'k', len);
    const uint64_t h = HashBytes(std::string_view(buffer.get(), len));
    EXPECT_EQ(h, HashBytes(std::string(len, 'k')));
    EXPECT_NE(h, previous);
    previous = h;
  }
}

TEST(HashTest, StringHashSupportsHeterogeneousLookup) {
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> rooms;
  rooms.emplace("lobby", 1);
  rooms.emplace("@alice", 2);
  const std::string_view wanted = "lobby";
  auto it = rooms.find(wanted);  // No std::string is built for the lookup.
  ASSERT_NE(it, rooms.end());
  EXPECT_EQ(it->second, 1);
  EXPECT_NE(rooms.find("@alice"), rooms.end());
  EXPECT_EQ(rooms.find(std::string_view("@bob")), rooms.end());
  EXPECT_EQ(StringHash{}(std::string("lobby")), StringHash{}(wanted));
  EXPECT_EQ(StringHash{}(wanted), static_cast<size_t>(HashBytes(wanted)));
}

}  // namespace
}  // namespace ringcast::core
