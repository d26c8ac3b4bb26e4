#include "proto/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <array>
#include <climits>
#include <cmath>
#include <utility>

#include "core/base64url.h"
#include "core/check.h"
#include "proto/json_walk.h"

namespace ringcast::proto {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

constexpr size_t kHmacBytes = 32;
constexpr size_t kTopFieldDepth = 2;  // a field value of the header or payload object
constexpr std::string_view kSignedHeader = R"({"alg":"HS256","typ":"JWT"})";

using Mac = std::array<unsigned char, kHmacBytes>;

Mac HmacSha256(std::string_view key, std::string_view data) {
  RC_CHECK(!key.empty() && key.size() <= static_cast<size_t>(INT_MAX));
  Mac mac{};
  unsigned int mac_len = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_len);
  RC_CHECK(result != nullptr && mac_len == kHmacBytes);
  return mac;
}

// ---- JSON walking (simdjson On-Demand, error codes only) ----
// On-Demand checks only what is read, so everything not read as a claim is walked by Validate.

using json::ForEachElement;
using json::ForEachField;
using json::TrimRight;

error_code ValidateNumber(od::value& v) { return json::ValidateNumber(v.raw_json_token()); }
error_code Validate(od::value& v, size_t depth) {
  return json::ValidateJson(v, depth, kMaxJwtJsonDepth);
}

// Reads a string; a value of another type is still validated and reported as *is_string = false.
error_code ReadString(od::value& v, size_t depth, std::string_view* s, bool* is_string) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  *is_string = type == od::json_type::string;
  if (!*is_string) return Validate(v, depth);
  return v.get_string().get(*s);
}

// The exact text of `v`, validated, without trailing blanks.
error_code ReadRaw(od::value& v, size_t depth, std::string_view* raw) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  const std::string_view token = v.raw_json_token();
  if (auto err = Validate(v, depth)) return err;
  if (type != od::json_type::object && type != od::json_type::array) {
    *raw = TrimRight(token);  // a scalar is exactly one token
    return simdjson::SUCCESS;
  }
  // A consumed container leaves the iterator on the next structural (',' or '}').
  const char* end = nullptr;
  if (v.current_location().get(end) != simdjson::SUCCESS) {
    return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
  }
  RC_DCHECK(end > token.data());
  *raw = TrimRight(std::string_view(token.data(), static_cast<size_t>(end - token.data())));
  return simdjson::SUCCESS;
}

// Parses `json` as exactly one JSON object, calling f(key, value&) for each field. Views handed
// to f live only until f returns.
template <class F>
error_code ForEachTopField(std::string_view json, F f) {
  thread_local od::parser parser(kMaxJwtBytes);
  const simdjson::padded_string padded(json);
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) return err;
  od::object obj;
  if (auto err = doc.get_object().get(obj)) return err;  // INCORRECT_TYPE for a non-object
  if (auto err = ForEachField(obj, f)) return err;
  // On-Demand stops where we stop reading: anything after the object is ours to reject.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
    return simdjson::TRAILING_CONTENT;
  }
  return simdjson::SUCCESS;
}

// ---- header ----

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<JwtError> CheckHeader(std::string_view json) {
  int alg_count = 0;
  int typ_count = 0;
  bool alg_ok = false;
  bool typ_ok = true;
  bool has_crit = false;
  const error_code err = ForEachTopField(json, [&](std::string_view key, od::value& v) {
    std::string_view s;
    bool is_string = false;
    if (key == "alg") {
      ++alg_count;
      const error_code read_err = ReadString(v, kTopFieldDepth, &s, &is_string);
      alg_ok = is_string && s == "HS256";  // algorithm names are case-sensitive (RFC 7518)
      return read_err;
    }
    if (key == "typ") {
      ++typ_count;
      const error_code read_err = ReadString(v, kTopFieldDepth, &s, &is_string);
      typ_ok = is_string && EqualsIgnoreAsciiCase(s, "JWT");  // a media type (RFC 7519 5.1)
      return read_err;
    }
    if (key == "crit") has_crit = true;
    return Validate(v, kTopFieldDepth);
  });
  if (err != simdjson::SUCCESS || alg_count > 1 || typ_count > 1 || !typ_ok || has_crit) {
    return JwtError::kMalformed;
  }
  if (!alg_ok) return JwtError::kBadAlgorithm;
  return std::nullopt;
}

// ---- payload ----

// Collects the claims as they stream by; a badly typed claim is remembered and the walk goes
// on, so a JSON error anywhere still wins (kMalformed over kBadClaims).
class ClaimsReader {
 public:
  explicit ClaimsReader(JwtClaims* out) : out_(out) {}

  error_code ReadField(std::string_view key, od::value& v);
  std::optional<JwtError> issue() const { return issue_; }
  bool has_subject() const { return !out_->sub.empty(); }

 private:
  enum Claim : uint8_t { kSub, kExp, kNbf, kRooms, kPub, kInfo, kClaimCount };
  static constexpr std::array<std::string_view, kClaimCount> kClaimNames = {"sub",   "exp", "nbf",
                                                                            "rooms", "pub", "info"};

  void BadClaims() {
    if (!issue_) issue_ = JwtError::kBadClaims;
  }
  error_code ReadSubject(od::value& v);
  error_code ReadNumericDate(od::value& v, bool round_up, std::optional<int64_t>* out);
  error_code ReadPatterns(od::value& v, std::optional<std::vector<std::string>>* out);
  error_code ReadInfo(od::value& v);

  JwtClaims* out_;
  std::array<bool, kClaimCount> seen_{};
  std::optional<JwtError> issue_;
};

error_code ClaimsReader::ReadField(std::string_view key, od::value& v) {
  size_t claim = 0;
  while (claim < kClaimCount && kClaimNames[claim] != key) ++claim;
  if (claim == kClaimCount) return Validate(v, kTopFieldDepth);
  // A repeated claim means different parsers may disagree on its value: refuse it.
  if (seen_[claim]) BadClaims();
  seen_[claim] = true;
  switch (static_cast<Claim>(claim)) {
    case kSub:
      return ReadSubject(v);
    case kExp:
      return ReadNumericDate(v, /*round_up=*/false, &out_->exp);
    case kNbf:
      return ReadNumericDate(v, /*round_up=*/true, &out_->nbf);
    case kRooms:
      return ReadPatterns(v, &out_->rooms);
    case kPub:
      return ReadPatterns(v, &out_->pub);
    case kInfo:
      return ReadInfo(v);
    case kClaimCount:
      break;
  }
  RC_CHECK(false && "unhandled claim");
  return simdjson::UNEXPECTED_ERROR;
}

error_code ClaimsReader::ReadSubject(od::value& v) {
  std::string_view sub;
  bool is_string = false;
  const error_code err = ReadString(v, kTopFieldDepth, &sub, &is_string);
  if (err) return err;
  if (!is_string || sub.size() > kMaxJwtSubjectBytes) {
    BadClaims();
  } else {
    out_->sub.assign(sub);  // "" stays "", reported as a missing subject
  }
  return simdjson::SUCCESS;
}

// A NumericDate may have a fraction (RFC 7519 section 2); it is rounded toward the stricter
// side. Integers beyond int64 and numbers beyond double are valid JSON but bad claims.
error_code ClaimsReader::ReadNumericDate(od::value& v, bool round_up, std::optional<int64_t>* out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type != od::json_type::number) {
    BadClaims();
    return Validate(v, kTopFieldDepth);
  }
  int64_t seconds = 0;
  if (v.get_int64().get(seconds) == simdjson::SUCCESS) {
    *out = seconds;
    return simdjson::SUCCESS;
  }
  if (auto err = ValidateNumber(v)) return err;  // not a number at all is a JSON error
  double d = 0;
  if (v.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d)) {
    d = round_up ? std::ceil(d) : std::floor(d);
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      *out = static_cast<int64_t>(d);
      return simdjson::SUCCESS;
    }
  }
  BadClaims();
  return simdjson::SUCCESS;
}

error_code ClaimsReader::ReadPatterns(od::value& v, std::optional<std::vector<std::string>>* out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type != od::json_type::array) {
    BadClaims();
    return Validate(v, kTopFieldDepth);
  }
  od::array arr;
  if (auto err = v.get_array().get(arr)) return err;
  std::vector<std::string> patterns;
  bool ok = true;
  const error_code err = ForEachElement(arr, [&](od::value& element) {
    std::string_view pattern;
    bool is_string = false;
    const error_code read_err = ReadString(element, kTopFieldDepth + 1, &pattern, &is_string);
    if (read_err) return read_err;
    // Keep walking past a bad element: the rest must still be valid JSON.
    ok = ok && is_string && pattern.size() <= kMaxJwtPatternBytes &&
         patterns.size() < kMaxJwtPatterns;
    if (ok) patterns.emplace_back(pattern);
    return simdjson::SUCCESS;
  });
  if (err) return err;
  if (ok) {
    *out = std::move(patterns);
  } else {
    BadClaims();
  }
  return simdjson::SUCCESS;
}

error_code ClaimsReader::ReadInfo(od::value& v) {
  std::string_view raw;
  if (auto err = ReadRaw(v, kTopFieldDepth, &raw)) return err;
  if (raw.size() > kMaxJwtInfoBytes) {
    BadClaims();
  } else {
    out_->info_json.assign(raw);
  }
  return simdjson::SUCCESS;
}

// ---- token ----

struct TokenParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // "<header>.<payload>", as sent
};

std::optional<TokenParts> SplitToken(std::string_view token) {
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return std::nullopt;
  if (token.find('.', dot2 + 1) != std::string_view::npos) return std::nullopt;  // JWE has 5
  return TokenParts{token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1),
                    token.substr(dot2 + 1), token.substr(0, dot2)};
}

bool IsExpired(int64_t exp, int64_t now_s, int64_t leeway_s) {
  int64_t limit = 0;
  if (__builtin_sub_overflow(now_s, leeway_s, &limit)) return false;  // before all of time
  return exp <= limit;
}

bool IsNotYetValid(int64_t nbf, int64_t now_s, int64_t leeway_s) {
  int64_t limit = 0;
  if (__builtin_add_overflow(now_s, leeway_s, &limit)) return false;  // after all of time
  return nbf > limit;
}

JwtResult Fail(JwtError error) { return JwtResult{std::nullopt, error}; }

}  // namespace

std::string_view JwtErrorReason(JwtError error) {
  switch (error) {
    case JwtError::kMalformed:
      return "malformed token";
    case JwtError::kBadAlgorithm:
      return "unsupported token algorithm (only HS256 is accepted)";
    case JwtError::kBadSignature:
      return "invalid token signature";
    case JwtError::kExpired:
      return "token expired";
    case JwtError::kNotYetValid:
      return "token not yet valid";
    case JwtError::kMissingSubject:
      return "token has no subject (sub)";
    case JwtError::kBadClaims:
      return "invalid token claims";
  }
  RC_CHECK(false && "unknown JwtError");
  return {};
}

JwtResult VerifyJwtHs256(std::string_view token, std::string_view secret, int64_t now_s,
                         int64_t leeway_s) {
  RC_CHECK(!secret.empty());
  RC_CHECK(leeway_s >= 0);
  if (token.size() > kMaxJwtBytes) return Fail(JwtError::kMalformed);
  const std::optional<TokenParts> parts = SplitToken(token);
  if (!parts) return Fail(JwtError::kMalformed);
  std::string header_json;
  std::string payload_json;
  std::string signature;
  if (!core::Base64UrlDecode(parts->header, &header_json) ||
      !core::Base64UrlDecode(parts->payload, &payload_json) ||
      !core::Base64UrlDecode(parts->signature, &signature)) {
    return Fail(JwtError::kMalformed);
  }
  if (const std::optional<JwtError> err = CheckHeader(header_json)) return Fail(*err);

  // The MAC length is public; only its bytes must be compared in constant time.
  if (signature.size() != kHmacBytes) return Fail(JwtError::kBadSignature);
  const Mac expected = HmacSha256(secret, parts->signing_input);
  if (CRYPTO_memcmp(expected.data(), signature.data(), kHmacBytes) != 0) {
    return Fail(JwtError::kBadSignature);
  }

  JwtClaims claims;
  ClaimsReader reader(&claims);
  if (ForEachTopField(payload_json, [&reader](std::string_view key, od::value& v) {
        return reader.ReadField(key, v);
      }) != simdjson::SUCCESS) {
    return Fail(JwtError::kMalformed);
  }
  if (const std::optional<JwtError> issue = reader.issue()) return Fail(*issue);
  if (claims.exp && IsExpired(*claims.exp, now_s, leeway_s)) return Fail(JwtError::kExpired);
  if (claims.nbf && IsNotYetValid(*claims.nbf, now_s, leeway_s)) {
    return Fail(JwtError::kNotYetValid);
  }
  if (!reader.has_subject()) return Fail(JwtError::kMissingSubject);
  return JwtResult{std::move(claims), JwtError{}};
}

std::string SignJwtHs256(std::string_view payload_json, std::string_view secret) {
  std::string token = core::Base64UrlEncode(kSignedHeader);
  token.push_back('.');
  core::Base64UrlEncode(payload_json, &token);
  const Mac mac = HmacSha256(secret, token);
  token.push_back('.');
  core::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()),
                        &token);
  return token;
}

}  // namespace ringcast::proto
