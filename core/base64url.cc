#include "core/base64url.h"

#include <array>
#include <cstdint>

#include "core/check.h"

namespace ringcast::core {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (uint8_t& v : table) v = kInvalid;
  for (uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}

constexpr std::array<uint8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

void Base64UrlEncode(std::string_view bytes, std::string* out) {
  RC_DCHECK(out != nullptr);
  const auto byte = [&bytes](size_t i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i]));
  };
  out->reserve(out->size() + Base64UrlEncodedSize(bytes.size()));
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return;
  const uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
  out->push_back(kAlphabet[v >> 18]);
  out->push_back(kAlphabet[(v >> 12) & 63]);
  if (rest == 2) out->push_back(kAlphabet[(v >> 6) & 63]);
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  Base64UrlEncode(bytes, &out);
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  RC_DCHECK(out != nullptr);
  if (text.size() % 4 == 1) return false;  // 6 bits cannot end a byte
  out->reserve(out->size() + text.size() / 4 * 3 + 2);
  uint32_t acc = 0;  // pending bits, right-aligned
  int bits = 0;      // how many of acc's low bits are pending (< 8 between characters)
  for (char c : text) {
    const uint8_t v = kDecode[static_cast<unsigned char>(c)];
    if (v == kInvalid) return false;
    acc = (acc << 6 | v) & 0xFFF;  // at most 6 + 6 bits are ever pending
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>(static_cast<uint8_t>(acc >> bits)));
    }
  }
  // Leftover bits (2 or 4) are padding and must be zero for the encoding to be canonical.
  return (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace ringcast::core
