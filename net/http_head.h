// HttpRequest and ParseHttpHead: a strict, bounded, zero-copy parser for an
// HTTP/1.1 request head (request line plus header fields, up to and including
// the blank line). It sees every byte a client sends before the WebSocket
// upgrade or an HTTP API call, so it accepts only what RFC 9110/9112 allow and
// rejects everything ambiguous (bare LF, obs-fold, whitespace before ':',
// control characters) instead of guessing.
//
// Invariants: the parser never reads past `buf` nor past `max_head_bytes`; it
// keeps no state between calls (a caller whose head arrives in pieces asks
// HttpHeadScanner when parsing again is worth it, rather than re-parsing on
// every receive); every
// string_view in HttpRequest points into `buf` and is valid only while that
// buffer is. Bytes after the head (a body, an early WebSocket frame) are not
// examined; `head_bytes` is where they start.
//
// Thread: pure functions and plain data; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringcast::net {

struct HttpHeader {
  std::string_view name;
  std::string_view value;  // optional whitespace around it already trimmed
};

// A head with more header fields than this is refused (kTooLarge, then 431).
constexpr size_t kMaxHttpHeaders = 48;

struct HttpRequest {
  std::string_view method;
  std::string_view target;  // as sent, always starts with '/'
  std::string_view path;    // target before the first '?'
  std::string_view query;   // target after the first '?', without it; "" if none
  int version_minor = 1;    // HTTP/1.0 or HTTP/1.1 only
  std::array<HttpHeader, kMaxHttpHeaders> headers;
  size_t header_count = 0;
  size_t head_bytes = 0;  // bytes up to and including the blank line

  // Value of the first header named `name` (ASCII case-insensitive); "" if absent.
  std::string_view Header(std::string_view name) const;
  // How many header fields are named `name`, so that a present but empty
  // field is told from an absent one.
  size_t HeaderCount(std::string_view name) const;
  // True if any header named `name` holds `token` as one element of its
  // comma-separated list, compared case-insensitively
  // (e.g. `Connection: keep-alive, Upgrade` has token "upgrade").
  bool HeaderHasToken(std::string_view name, std::string_view token) const;
};

enum class HttpParseStatus : uint8_t {
  kComplete,    // *out is filled; head_bytes says where the head ends
  kIncomplete,  // a valid prefix; read more bytes and parse again
  kTooLarge,    // no complete head within max_head_bytes, or too many headers
  kBad,         // malformed; answer 400 and close
};

struct HttpParseResult {
  HttpParseStatus status;
  std::string_view error;  // short human reason for kBad/kTooLarge; "" otherwise
};

// Parses the request head at the start of `buf`. Only the first
// `max_head_bytes` bytes are looked at: if the head does not end within them,
// the result is kTooLarge even while `buf` itself is still incomplete. *out is
// reset on every call and meaningful only for kComplete.
[[nodiscard]] HttpParseResult ParseHttpHead(std::string_view buf, size_t max_head_bytes,
                                            HttpRequest* out);

// How a request's body is delimited (RFC 9112 6.1-6.3): by exactly one
// Content-Length of digits only, or it has none. Anything that leaves the
// end of the body open to interpretation is refused rather than guessed,
// since a proxy in front may have guessed otherwise (request smuggling): a
// Transfer-Encoding field of any value, even empty (411: bodies come with
// Content-Length), and a Content-Length that is repeated, empty, not all
// digits or too large for 64 bits (400). After a refusal nothing more may be
// read from the connection: where the next request starts is unknown.
struct HttpBodyFraming {
  int status = 0;           // 0 when well framed; else 400 or 411
  std::string_view reason;  // one line, for the refusal
  uint64_t body_bytes = 0;  // Content-Length, 0 without one
};
[[nodiscard]] HttpBodyFraming BodyFraming(const HttpRequest& req);

// ASCII case-insensitive equality (HTTP field names and tokens).
[[nodiscard]] bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace ringcast::net
