#include "tools/load/payload.h"

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

bool GetHex(const char* in, size_t digits, uint64_t* value) {
  uint64_t v = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = in[i];
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return false;
    }
    v = (v << 4) | d;
  }
  *value = v;
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
  PayloadFields f;
  uint64_t pub = 0;
  if (!GetHex(p + kPubAt, kPubDigits, &pub) || !GetHex(p + kSeqAt, kSeqDigits, &f.seq) ||
      !GetHex(p + kTsAt, kTsDigits, &f.send_ns)) {
    return std::nullopt;
  }
  f.publisher = static_cast<uint32_t>(pub);
  f.measured = p[kFlagAt] == 'm';
  return f;
}

std::optional<PayloadFields> FindPayload(std::string_view frame_text) {
  size_t at = frame_text.find("\"rcl1:");
  if (at == std::string_view::npos) return std::nullopt;
  return DecodePayload(frame_text.substr(at + 1));
}

}  // namespace ringcast::load
