#include "tools/load/payload.h"

#include <string.h>  // memrchr (GNU)

#include <bit>
#include <cstring>

namespace ringcast::load {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Field offsets inside the fixed part.
constexpr size_t kPubAt = 5;
constexpr size_t kPubDigits = 8;
constexpr size_t kSeqAt = kPubAt + kPubDigits + 1;  // 14
constexpr size_t kSeqDigits = 12;
constexpr size_t kTsAt = kSeqAt + kSeqDigits + 1;  // 27
constexpr size_t kTsDigits = 16;
constexpr size_t kFlagAt = kTsAt + kTsDigits + 1;  // 44
static_assert(kFlagAt + 2 == kMinPayloadBytes);

void PutHex(uint64_t value, size_t digits, char* out) {
  for (size_t i = digits; i-- > 0;) {
    out[i] = kHex[value & 0xf];
    value >>= 4;
  }
}

// Eight lowercase hex digits at once (SWAR): the generator decodes every
// delivery, millions a second, and a digit-at-a-time loop was its top cost.
// False unless all eight bytes are in '0'-'9' or 'a'-'f'.
bool Hex8(const char* in, uint32_t* value) {
  static_assert(std::endian::native == std::endian::little, "Hex8 reads bytes little-endian");
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  uint64_t x;
  std::memcpy(&x, in, 8);  // little-endian: in[0] is the low byte
  if (x & kHigh) return false;
  // With every byte below 0x80, adding 0x80 - k sets a byte's high bit
  // exactly when the byte is >= k, and never carries into the next byte.
  auto at_least = [x](uint64_t k) { return (x + (0x80 - k) * kOnes) & kHigh; };
  const uint64_t digit = at_least('0') & ~at_least('9' + 1);
  const uint64_t alpha = at_least('a') & ~at_least('f' + 1);
  if ((digit | alpha) != kHigh) return false;
  uint64_t n = (x & 0x0f0f0f0f0f0f0f0full) + (alpha >> 7) * 9;  // one nibble per byte
  // Pack the nibbles, first byte most significant.
  n = ((n & 0x000f000f000f000full) << 4) | ((n >> 8) & 0x000f000f000f000full);
  n = ((n & 0x000000ff000000ffull) << 8) | ((n >> 16) & 0x000000ff000000ffull);
  n = ((n & 0xffffull) << 16) | ((n >> 32) & 0xffffull);
  *value = static_cast<uint32_t>(n);
  return true;
}

}  // namespace

size_t EncodePayload(const PayloadFields& fields, size_t size, char* out) {
  const size_t total = PayloadBytes(size);
  std::memcpy(out, kPayloadMagic.data(), kPayloadMagic.size());
  PutHex(fields.publisher, kPubDigits, out + kPubAt);
  out[kSeqAt - 1] = ':';
  PutHex(fields.seq & kMaxPayloadSeq, kSeqDigits, out + kSeqAt);
  out[kTsAt - 1] = ':';
  PutHex(fields.send_ns, kTsDigits, out + kTsAt);
  out[kFlagAt - 1] = ':';
  out[kFlagAt] = fields.measured ? 'm' : 'w';
  out[kFlagAt + 1] = ':';
  std::memset(out + kMinPayloadBytes, 'x', total - kMinPayloadBytes);
  return total;
}

std::string EncodePayload(const PayloadFields& fields, size_t size) {
  std::string out(PayloadBytes(size), '\0');
  EncodePayload(fields, size, out.data());
  return out;
}

std::optional<PayloadFields> DecodePayload(std::string_view text) {
  if (text.size() < kMinPayloadBytes || text.substr(0, kPayloadMagic.size()) != kPayloadMagic) {
    return std::nullopt;
  }
  const char* p = text.data();
  if (p[kSeqAt - 1] != ':' || p[kTsAt - 1] != ':' || p[kFlagAt - 1] != ':' ||
      p[kFlagAt + 1] != ':' || (p[kFlagAt] != 'm' && p[kFlagAt] != 'w')) {
    return std::nullopt;
  }
  // 8 + 12 + 16 digits; the 12 are read as two overlapping runs of 8.
  uint32_t pub, seq_hi, seq_lo, ts_hi, ts_lo;
  if (!Hex8(p + kPubAt, &pub) || !Hex8(p + kSeqAt, &seq_hi) || !Hex8(p + kSeqAt + 4, &seq_lo) ||
      !Hex8(p + kTsAt, &ts_hi) || !Hex8(p + kTsAt + 8, &ts_lo)) {
    return std::nullopt;
  }
  static_assert(kPubDigits == 8 && kSeqDigits == 12 && kTsDigits == 16);
  PayloadFields f;
  f.seq = (uint64_t{seq_hi} << 16) | (seq_lo & 0xffff);
  f.send_ns = (uint64_t{ts_hi} << 32) | ts_lo;
  f.publisher = pub;
  f.measured = p[kFlagAt] == 'm';
  return f;
}

size_t LocatePayload(std::string_view frame_text) {
  if (frame_text.empty()) return std::string_view::npos;
  const char* begin = frame_text.data();
  const auto* close = static_cast<const char*>(::memrchr(begin, '"', frame_text.size()));
  if (close != nullptr) {
    const auto* open =
        static_cast<const char*>(::memrchr(begin, '"', static_cast<size_t>(close - begin)));
    if (open != nullptr && std::string_view(open + 1, static_cast<size_t>(close - open - 1))
                               .starts_with(kPayloadMagic)) {
      return static_cast<size_t>(open + 1 - begin);
    }
  }
  size_t at = frame_text.find("\"rcl1:");
  return at == std::string_view::npos ? at : at + 1;
}

std::optional<PayloadFields> FindPayload(std::string_view frame_text) {
  size_t at = LocatePayload(frame_text);
  if (at == std::string_view::npos) return std::nullopt;
  return DecodePayload(frame_text.substr(at));
}

}  // namespace ringcast::load
