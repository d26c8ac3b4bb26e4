// CRC16 and Redis Cluster hash slots. Redis Cluster puts every key (and every
// sharded pub/sub channel) in one of 16384 slots: CRC16 of the key, or of its
// hash tag, modulo 16384. The CRC is the XMODEM variant (polynomial 0x1021,
// initial value 0, no reflection, no final xor), the one Redis uses; its check
// value for "123456789" is 0x31C3. The hash tag is the text between the first
// '{' and the first '}' after it, when that text is not empty; it lets a
// room's keys and channel share one slot, so one script touches all of them.
// Pure functions over a table built at compile time: any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringcast::core {

inline constexpr int kRedisSlots = 16384;

namespace crc16_internal {

constexpr std::array<uint16_t, 256> MakeTable() {
  std::array<uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[i] = crc;
  }
  return table;
}

inline constexpr std::array<uint16_t, 256> kTable = MakeTable();

}  // namespace crc16_internal

constexpr uint16_t Crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (char ch : bytes) {
    const auto byte = static_cast<unsigned char>(ch);
    crc = static_cast<uint16_t>((crc << 8) ^ crc16_internal::kTable[((crc >> 8) ^ byte) & 0xff]);
  }
  return crc;
}

// The part of `key` that Redis Cluster hashes: the hash tag when there is a
// non-empty one, else the whole key.
constexpr std::string_view HashTagOf(std::string_view key) {
  const size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

// The slot of a key or sharded channel, as CLUSTER KEYSLOT answers.
constexpr int HashSlot(std::string_view key) { return Crc16(HashTagOf(key)) % kRedisSlots; }

}  // namespace ringcast::core
