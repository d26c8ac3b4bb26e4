// Handshake authentication tokens (docs/protocol.md, "Identity"): JWS compact serialization
// signed with HMAC-SHA256 ("HS256", RFC 7515 / RFC 7519). VerifyJwtHs256 is pure and does no
// I/O; the caller supplies the clock, so expiry is testable and one handshake sees one `now`.
//
// What is accepted: exactly three base64url parts (strict, unpadded; see core/base64url.h) of a
// token at most kMaxJwtBytes long; a header that is a JSON object with "alg":"HS256", an
// optional "typ" equal to "JWT" (ASCII case-insensitive), no "crit" (no extension is
// understood) and no duplicate "alg"/"typ"; a signature equal, in constant time, to
// HMAC-SHA256(secret, "<header>.<payload>") as sent; a payload that is one JSON object whose
// known claims (below) are well-typed and not duplicated. Both JSON texts are validated in full
// (unknown fields too, nesting at most kMaxJwtJsonDepth). Checks run in this order, and the first
// failure is the result: structure, header, signature, payload, claim types, exp, nbf, sub.
// The payload is never parsed before its signature has been checked.
//
// Claims: `sub` non-empty string of at most kMaxJwtSubjectBytes (absent or "" is
// kMissingSubject, any other type or size is kBadClaims); `exp`, `nbf` NumericDates (a JSON
// number; a fraction is rounded toward the stricter side: exp down, nbf up); `rooms`, `pub`
// arrays of at most kMaxJwtPatterns strings of at most kMaxJwtPatternBytes each, glob patterns
// for core::GlobMatch (an empty array allows nothing; null is not absent, it is kBadClaims);
// `info` any JSON value, kept as its exact text, at most kMaxJwtInfoBytes. Other claims (iat,
// iss, aud, jti, ...) are validated as JSON and otherwise ignored: there is no audience or
// issuer configuration to check them against.
//
// Precondition (RC_CHECK): the secret is non-empty (an empty auth.jwt_secret must be refused
// when the configuration loads) and leeway_s >= 0.
// Thread: any; each thread reuses its own JSON parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::proto {

constexpr size_t kMaxJwtBytes = 8u << 10;      // longer tokens are kMalformed
constexpr size_t kMaxJwtSubjectBytes = 256;    // a longer sub is kBadClaims
constexpr size_t kMaxJwtPatterns = 256;        // more entries in rooms/pub is kBadClaims
constexpr size_t kMaxJwtPatternBytes = 256;    // a longer pattern is kBadClaims
constexpr size_t kMaxJwtInfoBytes = 4u << 10;  // a longer info text is kBadClaims
constexpr size_t kMaxJwtJsonDepth = 64;        // deeper header or payload JSON is kMalformed

struct JwtClaims {
  std::string sub;             // required, non-empty -> the user id
  std::optional<int64_t> exp;  // seconds since epoch
  std::optional<int64_t> nbf;  // seconds since epoch
  std::optional<std::vector<std::string>>
      rooms;                                    // patterns the user may subscribe to (absent = any)
  std::optional<std::vector<std::string>> pub;  // patterns the user may publish to (absent = any)
  std::string info_json;                        // raw JSON text of "info", "" if absent
};

enum class JwtError : uint8_t {
  kMalformed,       // not three canonical base64url parts of JSON objects, or too long
  kBadAlgorithm,    // header alg is not "HS256" (including "none")
  kBadSignature,    // HMAC mismatch
  kExpired,         // exp <= now - leeway
  kNotYetValid,     // nbf > now + leeway
  kMissingSubject,  // no sub, or an empty one
  kBadClaims,       // a known claim has the wrong type or breaks a limit
};

// One-line reason for a 401 body, e.g. "token expired".
std::string_view JwtErrorReason(JwtError error);

struct JwtResult {
  std::optional<JwtClaims> claims;  // set on success; then `error` is meaningless
  JwtError error{};
};

// Verifies an HS256 compact JWS against `secret` at time now_s (seconds since the epoch),
// tolerating clock skew of leeway_s seconds on exp and nbf.
[[nodiscard]] JwtResult VerifyJwtHs256(std::string_view token, std::string_view secret,
                                       int64_t now_s, int64_t leeway_s = 0);

// For tests and tools: signs `payload_json` (used as is, not validated) under the header
// {"alg":"HS256","typ":"JWT"} and returns the compact token.
std::string SignJwtHs256(std::string_view payload_json, std::string_view secret);

}  // namespace ringcast::proto
