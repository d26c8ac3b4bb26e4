// libFuzzer target for JWT verification. A random token almost never carries a valid MAC, so
// the payload parser would never be reached; the first input byte therefore picks a mode:
//   even: the rest is a whole token, verified as received from a client;
//   odd:  the rest is a payload, signed with the fuzz secret and then verified, so every claim
//         path (types, limits, raw info, time checks) sees arbitrary JSON.
// Checked invariants: every error has a reason; a success has a bounded, non-empty subject and
// bounded pattern lists; a signed payload never fails on algorithm or signature; and a
// successful `info` is one JSON value that round-trips verbatim when signed again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/check.h"
#include "proto/jwt.h"

namespace {

using ringcast::proto::JwtClaims;
using ringcast::proto::JwtError;
using ringcast::proto::JwtResult;

constexpr std::string_view kSecret = "fuzz-secret";
constexpr int64_t kNow = 1'700'000'000;

void CheckClaims(const JwtClaims& claims) {
  RC_CHECK(!claims.sub.empty());
  RC_CHECK(claims.sub.size() <= ringcast::proto::kMaxJwtSubjectBytes);
  RC_CHECK(claims.info_json.size() <= ringcast::proto::kMaxJwtInfoBytes);
  if (claims.exp) RC_CHECK(*claims.exp > kNow - 30);
  if (claims.nbf) RC_CHECK(*claims.nbf <= kNow + 30);
  for (const auto* list : {&claims.rooms, &claims.pub}) {
    if (!list->has_value()) continue;
    RC_CHECK((*list)->size() <= ringcast::proto::kMaxJwtPatterns);
    for (const std::string& pattern : **list) {
      RC_CHECK(pattern.size() <= ringcast::proto::kMaxJwtPatternBytes);
    }
  }
}

JwtResult Verify(std::string_view token) {
  JwtResult result = ringcast::proto::VerifyJwtHs256(token, kSecret, kNow, 30);
  if (result.claims) {
    CheckClaims(*result.claims);
  } else {
    RC_CHECK(!ringcast::proto::JwtErrorReason(result.error).empty());
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    (void)Verify(rest);
    return 0;
  }
  const std::string token = ringcast::proto::SignJwtHs256(rest, kSecret);
  const JwtResult result = Verify(token);
  if (!result.claims) {
    RC_CHECK(result.error != JwtError::kBadAlgorithm && result.error != JwtError::kBadSignature);
    if (token.size() > ringcast::proto::kMaxJwtBytes)
      RC_CHECK(result.error == JwtError::kMalformed);
    return 0;
  }
  if (!result.claims->info_json.empty()) {
    std::string again = R"({"sub":"s","info":)";
    again.append(result.claims->info_json);
    again.push_back('}');
    const JwtResult reparsed = Verify(ringcast::proto::SignJwtHs256(again, kSecret));
    RC_CHECK(reparsed.claims.has_value());
    RC_CHECK(reparsed.claims->info_json == result.claims->info_json);
  }
  return 0;
}
