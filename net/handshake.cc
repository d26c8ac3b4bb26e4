#include "net/handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <memory>

#include "core/check.h"

namespace ringcast::net {
namespace {

constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kClientKeyChars = 24;  // base64 of 16 bytes
constexpr size_t kAcceptKeyChars = 28;  // base64 of a 20-byte SHA-1 digest

constexpr bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// 22 alphabet characters then "==": exactly what encodes 16 bytes. Like most
// decoders, the 4 unused low bits of the last character are not checked.
bool IsValidClientKey(std::string_view key) {
  if (key.size() != kClientKeyChars || key.substr(22) != "==") return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsBase64Char(key[i])) return false;
  }
  return true;
}

// SHA1() looks the digest up among OpenSSL's providers on every call (under
// its locks), which costs more than the hash: fetch it once, and keep one
// context per thread (the shards hash concurrently).
void Sha1(const unsigned char* data, size_t size, unsigned char* out) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  unsigned int len = 0;
  RC_CHECK(md != nullptr && ctx != nullptr);
  RC_CHECK(EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
           EVP_DigestUpdate(ctx.get(), data, size) == 1 &&
           EVP_DigestFinal_ex(ctx.get(), out, &len) == 1 && len == SHA_DIGEST_LENGTH);
}

size_t CountHeaders(const HttpRequest& req, std::string_view name) {
  size_t count = 0;
  for (size_t i = 0; i < req.header_count; ++i) {
    if (EqualsIgnoreCase(req.headers[i].name, name)) ++count;
  }
  return count;
}

constexpr int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding; nullopt on a malformed escape.
std::optional<std::string> DecodeQueryComponent(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      if (in.size() - i < 3) return std::nullopt;  // '%' needs two hex digits after it
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> ComputeAcceptKey(std::string_view client_key) {
  if (!IsValidClientKey(client_key)) return std::nullopt;
  std::array<unsigned char, kClientKeyChars + kWebSocketGuid.size()> input;
  client_key.copy(reinterpret_cast<char*>(input.data()), client_key.size());
  kWebSocketGuid.copy(reinterpret_cast<char*>(input.data()) + client_key.size(),
                      kWebSocketGuid.size());

  std::array<unsigned char, SHA_DIGEST_LENGTH> digest;
  Sha1(input.data(), input.size(), digest.data());

  std::array<unsigned char, kAcceptKeyChars + 1> encoded;  // EVP_EncodeBlock adds a NUL
  const int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest.size()));
  RC_CHECK(n == static_cast<int>(kAcceptKeyChars));
  return std::string(reinterpret_cast<const char*>(encoded.data()), kAcceptKeyChars);
}

UpgradeCheck ValidateUpgrade(const HttpRequest& req) {
  if (req.method != "GET") return {405, "WebSocket upgrade requires GET"};
  if (req.version_minor != 1) return {400, "WebSocket upgrade requires HTTP/1.1"};
  if (!req.HeaderHasToken("Upgrade", "websocket")) return {400, "missing Upgrade: websocket"};
  if (!req.HeaderHasToken("Connection", "upgrade")) return {400, "missing Connection: Upgrade"};

  const size_t versions = CountHeaders(req, "Sec-WebSocket-Version");
  if (versions == 0) return {400, "missing Sec-WebSocket-Version"};
  if (versions > 1 || req.Header("Sec-WebSocket-Version") != "13") {
    return {426, "unsupported Sec-WebSocket-Version"};
  }

  if (CountHeaders(req, "Sec-WebSocket-Key") != 1 ||
      !IsValidClientKey(req.Header("Sec-WebSocket-Key"))) {
    return {400, "missing or invalid Sec-WebSocket-Key"};
  }
  if (CountHeaders(req, "Host") != 1 || req.Header("Host").empty()) {
    return {400, "missing or repeated Host"};
  }
  return {};
}

bool IsUpgradeRequest(const HttpRequest& req) { return req.HeaderHasToken("Upgrade", "websocket"); }

std::string BuildUpgradeResponse(std::string_view accept_key) {
  RC_DCHECK(accept_key.size() == kAcceptKeyChars);
  std::string out;
  out.reserve(160);
  out.append(
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out.append(accept_key);
  out.append("\r\n\r\n");
  return out;
}

std::string BuildHttpError(int status, std::string_view reason, uint32_t retry_after_s) {
  RC_DCHECK(status >= 100 && status <= 599);
  const std::string body = std::string(reason) + "\n";
  std::string out;
  out.reserve(160 + body.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(StatusText(status)).append("\r\n");
  out.append("Content-Type: text/plain; charset=utf-8\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append("Connection: close\r\n");
  if (status == 426) out.append("Sec-WebSocket-Version: 13\r\n");
  if (retry_after_s > 0)
    out.append("Retry-After: ").append(std::to_string(retry_after_s)).append("\r\n");
  out.append("\r\n");
  out.append(body);
  return out;
}

std::string_view StatusText(int status) {
  struct Entry {
    int status;
    std::string_view text;
  };
  static constexpr Entry kTexts[] = {
      {101, "Switching Protocols"},
      {200, "OK"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {411, "Length Required"},
      {413, "Content Too Large"},
      {415, "Unsupported Media Type"},
      {421, "Misdirected Request"},
      {426, "Upgrade Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
  };
  for (const Entry& e : kTexts) {
    if (e.status == status) return e.text;
  }
  return "Unknown";
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  RC_DCHECK(!name.empty());
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    const std::string_view raw_name = pair.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    // A parameter whose own name is undecodable cannot be the one asked for.
    if (std::optional<std::string> decoded = DecodeQueryComponent(raw_name);
        decoded.has_value() && *decoded == name) {
      return DecodeQueryComponent(raw_value);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace ringcast::net
