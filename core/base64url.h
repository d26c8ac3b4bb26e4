// Base64url (RFC 4648 section 5) without padding, as JWS compact serialization uses it
// (RFC 7515 section 2). Decoding is strict so that one byte string has exactly one accepted
// encoding: only the 64 alphabet bytes are allowed ('=' padding, whitespace, '+' and '/' are
// rejected), a length of 4k+1 is rejected, and the unused low bits of the last character must
// be zero. A lenient decoder would let a token be re-spelled without changing what it signs.
// Pure functions: any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ringcast::core {

// Encoded length of n bytes (no padding).
constexpr size_t Base64UrlEncodedSize(size_t n) { return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }

// Appends the encoding of `bytes` to *out.
void Base64UrlEncode(std::string_view bytes, std::string* out);
[[nodiscard]] std::string Base64UrlEncode(std::string_view bytes);

// Appends the decoding of `text` to *out. Returns false if `text` is not a canonical unpadded
// base64url string; *out then holds unspecified partial output.
[[nodiscard]] bool Base64UrlDecode(std::string_view text, std::string* out);

}  // namespace ringcast::core
