// The server side of the RFC 6455 opening handshake, on top of a parsed
// HttpRequest: decide whether a request is a WebSocket upgrade, validate it
// (status 0 or the HTTP status to refuse it with), compute
// Sec-WebSocket-Accept, and build the 101 response or a short error response
// that closes the connection. Also the query-string lookup the handshake uses
// for `token` and `user` (docs/protocol.md, Connecting).
//
// Invariants: reasons are static strings; responses are complete HTTP/1.1
// messages ready to send. Nothing here allocates except the returned strings.
//
// Thread: pure functions; any thread (the SHA-1 digest is fetched once, and
// each thread hashes with its own context).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_head.h"

namespace ringcast::net {

// Sec-WebSocket-Accept for a client key; nullopt unless the key is base64 of
// exactly 16 bytes (24 characters ending in "==").
[[nodiscard]] std::optional<std::string> ComputeAcceptKey(std::string_view client_key);

struct UpgradeCheck {
  int status = 0;           // 0 = valid upgrade, else the HTTP status to refuse with
  std::string_view reason;  // static one-line reason when status != 0
};

// Validates, in this order: method GET (405), HTTP/1.1 (400), Upgrade has
// token "websocket" (400), Connection has token "upgrade" (400),
// Sec-WebSocket-Version present (400) and exactly 13 (426), Sec-WebSocket-Key
// present once and valid (400), Host present once (400).
[[nodiscard]] UpgradeCheck ValidateUpgrade(const HttpRequest& req);

// True if the request asks for a WebSocket at all (Upgrade has token
// "websocket"), as opposed to a plain HTTP request.
[[nodiscard]] bool IsUpgradeRequest(const HttpRequest& req);

// "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection and Sec-WebSocket-Accept.
[[nodiscard]] std::string BuildUpgradeResponse(std::string_view accept_key);

// A complete short HTTP error response: Content-Type text/plain,
// Content-Length, Connection: close, body = reason + "\n". 426 also carries
// Sec-WebSocket-Version: 13; retry_after_s > 0 adds Retry-After.
[[nodiscard]] std::string BuildHttpError(int status, std::string_view reason,
                                         uint32_t retry_after_s = 0);

// Reason phrase for 101, 200, 400, 401, 403, 404, 405, 408, 413, 426, 429,
// 431, 500 and 503; "Unknown" for anything else.
[[nodiscard]] std::string_view StatusText(int status);

// Value of the first `name` parameter in `query` (no leading '?'), with
// percent-decoding and '+' as space; a parameter without '=' has value "".
// nullopt if absent or if that value has a malformed escape.
[[nodiscard]] std::optional<std::string> QueryParam(std::string_view query, std::string_view name);

}  // namespace ringcast::net
