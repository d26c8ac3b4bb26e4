#include "tools/load/ws_codec.h"

#include <openssl/evp.h>

#include <cstring>

#include "net/handshake.h"

namespace ringcast::load {

namespace {

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

size_t WriteHeader(uint8_t* h, uint8_t opcode, size_t len, uint32_t mask_key) {
  size_t n = 0;
  h[n++] = static_cast<uint8_t>(0x80 | opcode);
  if (len < 126) {
    h[n++] = static_cast<uint8_t>(0x80 | len);
  } else if (len <= 0xffff) {
    h[n++] = 0x80 | 126;
    h[n++] = static_cast<uint8_t>(len >> 8);
    h[n++] = static_cast<uint8_t>(len);
  } else {
    h[n++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8)
      h[n++] = static_cast<uint8_t>(uint64_t{len} >> shift);
  }
  std::memcpy(h + n, &mask_key, 4);
  return n + 4;
}

void MaskInPlace(char* p, size_t len, uint32_t mask_key) {
  uint8_t key[4];
  std::memcpy(key, &mask_key, 4);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 3]);
}

}  // namespace

std::string BuildUpgradeRequest(std::string_view host, std::string_view path, uint64_t nonce,
                                std::string* expected_accept) {
  unsigned char raw[16];
  uint64_t a = nonce * 0x9e3779b97f4a7c15ull + 1;
  uint64_t b = (nonce ^ 0x5851f42d4c957f2dull) * 0xd1b54a32d192ed03ull;
  std::memcpy(raw, &a, 8);
  std::memcpy(raw + 8, &b, 8);
  std::string key = Base64(raw, sizeof(raw));
  *expected_accept = net::ComputeAcceptKey(key).value_or("");
  std::string req;
  req.reserve(256);
  req.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  req.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").append(key);
  req.append("\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ringcast-load\r\n\r\n");
  return req;
}

UpgradeStatus CheckUpgradeResponse(std::string_view received, std::string_view expected_accept,
                                   size_t* head_bytes) {
  constexpr size_t kMaxHeadBytes = 16384;
  size_t end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return received.size() > kMaxHeadBytes ? UpgradeStatus::kRefused : UpgradeStatus::kIncomplete;
  }
  *head_bytes = end + 4;
  std::string_view head = received.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" ||
      status_line.substr(8, 4) != " 101") {
    return UpgradeStatus::kRefused;
  }
  bool accept_ok = false;
  for (size_t pos = eol + 2; pos < head.size();) {
    size_t next = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (EqualsIgnoreCase(Trim(line.substr(0, colon)), "sec-websocket-accept")) {
      accept_ok = Trim(line.substr(colon + 1)) == expected_accept;
    }
  }
  return accept_ok ? UpgradeStatus::kAccepted : UpgradeStatus::kRefused;
}

void AppendClientFrame(std::string* out, uint8_t opcode, std::string_view payload,
                       uint32_t mask_key) {
  uint8_t header[14];
  size_t n = WriteHeader(header, opcode, payload.size(), mask_key);
  out->append(reinterpret_cast<const char*>(header), n);
  size_t at = out->size();
  out->append(payload);
  MaskInPlace(out->data() + at, payload.size(), mask_key);
}

void AppendClientText(std::string* out, std::initializer_list<std::string_view> parts,
                      uint32_t mask_key) {
  size_t len = 0;
  for (std::string_view part : parts) len += part.size();
  uint8_t header[14];
  size_t n = WriteHeader(header, kWsText, len, mask_key);
  out->append(reinterpret_cast<const char*>(header), n);
  size_t at = out->size();
  for (std::string_view part : parts) out->append(part);
  MaskInPlace(out->data() + at, len, mask_key);
}

int ServerFrameParser::ParseHeader(std::string_view data, Header* h) {
  if (data.size() < 2) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  if ((p[0] & 0x70) != 0) return -1;  // no extensions negotiated: RSV bits must be 0
  h->fin = (p[0] & 0x80) != 0;
  h->opcode = p[0] & 0x0f;
  const bool masked = (p[1] & 0x80) != 0;
  uint64_t len = p[1] & 0x7f;
  size_t n = 2;
  if (len == 126) {
    if (data.size() < 4) return 0;
    len = (uint64_t{p[2]} << 8) | p[3];
    n = 4;
  } else if (len == 127) {
    if (data.size() < 10) return 0;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    n = 10;
  }
  if (masked) return -1;  // RFC 6455 5.1: a client must fail on a masked server frame
  const bool control = wire::IsControl(h->opcode);
  if ((h->opcode > 0x2 && h->opcode < 0x8) || h->opcode > 0xA) return -1;
  if (control && (!h->fin || len > 125)) return -1;
  h->header_bytes = n;
  h->payload_bytes = len;
  return 1;
}

}  // namespace ringcast::load
