#include "proto/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/base64url.h"

// Counts the constant-time comparisons made by code linked into this binary. A definition in
// the executable takes precedence over libcrypto's for the (static) ringcast_proto objects, so
// a verifier that compared MACs with memcmp or == would leave the count unchanged. It is a
// faithful constant-time implementation, in case anything else ends up calling it.
namespace {
std::atomic<int> g_crypto_memcmp_calls{0};
}  // namespace

extern "C" int CRYPTO_memcmp(const void* in_a, const void* in_b, size_t len) {
  g_crypto_memcmp_calls.fetch_add(1, std::memory_order_relaxed);
  const auto* a = static_cast<const volatile unsigned char*>(in_a);
  const auto* b = static_cast<const volatile unsigned char*>(in_b);
  unsigned char diff = 0;
  for (size_t i = 0; i < len; ++i) diff = static_cast<unsigned char>(diff | (a[i] ^ b[i]));
  return diff;
}

namespace ringcast::proto {
namespace {

constexpr std::string_view kSecret = "ringcast-test-secret";
constexpr int64_t kNow = 1'700'000'000;

// Computed independently with Node's crypto.createHmac('sha256', 'ringcast-test-secret') over
// base64url('{"alg":"HS256","typ":"JWT"}') + '.' + base64url(kNodePayload).
constexpr std::string_view kNodePayload =
    R"({"sub":"alice","exp":2000000000,"rooms":["chat:*","dm:alice:?"],"pub":["chat:general"],)"
    R"("info":{"name":"Alice","tags":[1,2]}})";
constexpr std::string_view kNodeToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMCwicm9vbXMiOlsiY2hhdDoqIiwiZG06YWxpY2U6PyJdLCJwdW"
    "IiOlsiY2hhdDpnZW5lcmFsIl0sImluZm8iOnsibmFtZSI6IkFsaWNlIiwidGFncyI6WzEsMl19fQ."
    "4oNdz4pNjT_Y_9yzjyFNun6c_voejhrYPnKxLzNHgKk";

// Node again: header {"alg":"HS256"} (no typ), payload {"sub":"bob","nbf":1700000000},
// secret "another secret".
constexpr std::string_view kNodeNbfToken =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IiLCJuYmYiOjE3MDAwMDAwMDB9."
    "X5oZBHWgByHDLh040mstMOveICO7Z7lW8iANs2lRz7E";

std::string B64(std::string_view bytes) { return core::Base64UrlEncode(bytes); }

// A token with any header, signed with OpenSSL directly (not through SignJwtHs256).
std::string Token(std::string_view header, std::string_view payload,
                  std::string_view secret = kSecret) {
  std::string input = B64(header) + "." + B64(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  EXPECT_NE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len),
            nullptr);
  return input + "." + B64(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string Signed(std::string_view payload) { return SignJwtHs256(payload, kSecret); }

JwtClaims Ok(std::string_view token, int64_t now_s = kNow, int64_t leeway_s = 0,
             std::string_view secret = kSecret) {
  JwtResult result = VerifyJwtHs256(token, secret, now_s, leeway_s);
  EXPECT_TRUE(result.claims.has_value()) << token << " -> " << JwtErrorReason(result.error);
  return result.claims.value_or(JwtClaims{});
}

// The error for `token`, which must not verify. kMalformed-free sentinel on success.
std::optional<JwtError> Err(std::string_view token, int64_t now_s = kNow, int64_t leeway_s = 0,
                            std::string_view secret = kSecret) {
  const JwtResult result = VerifyJwtHs256(token, secret, now_s, leeway_s);
  if (result.claims.has_value()) return std::nullopt;
  return result.error;
}

std::optional<JwtError> ClaimsErr(std::string_view payload, int64_t now_s = kNow,
                                  int64_t leeway_s = 0) {
  return Err(Signed(payload), now_s, leeway_s);
}

// `token` with the character at `pos` replaced by another base64url character whose value
// differs only in bit 2, so a final character keeps its zero padding bits.
std::string Tweak(std::string token, size_t pos) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t v = kAlphabet.find(token.at(pos));
  EXPECT_NE(v, std::string_view::npos);
  token[pos] = kAlphabet[v ^ 4];
  return token;
}

size_t SignatureStart(std::string_view token) { return token.rfind('.') + 1; }

// ---- valid tokens and independent vectors ----

TEST(JwtTest, SignerMatchesNodeCrypto) { EXPECT_EQ(Signed(kNodePayload), kNodeToken); }

TEST(JwtTest, VerifiesNodeSignedToken) {
  const JwtClaims claims = Ok(kNodeToken);
  EXPECT_EQ(claims.sub, "alice");
  EXPECT_EQ(claims.exp, 2000000000);
  EXPECT_EQ(claims.nbf, std::nullopt);
  ASSERT_TRUE(claims.rooms.has_value());
  EXPECT_EQ(*claims.rooms, (std::vector<std::string>{"chat:*", "dm:alice:?"}));
  ASSERT_TRUE(claims.pub.has_value());
  EXPECT_EQ(*claims.pub, (std::vector<std::string>{"chat:general"}));
  EXPECT_EQ(claims.info_json, R"({"name":"Alice","tags":[1,2]})");
}

TEST(JwtTest, VerifiesJwtIoExample) {
  // The well-known example token from jwt.io (HS256, secret "your-256-bit-secret").
  const JwtClaims claims =
      Ok("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
         "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
         "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
         kNow, 0, "your-256-bit-secret");
  EXPECT_EQ(claims.sub, "1234567890");
  EXPECT_EQ(claims.exp, std::nullopt);
  EXPECT_EQ(claims.rooms, std::nullopt);
  EXPECT_EQ(claims.pub, std::nullopt);
  EXPECT_EQ(claims.info_json, "");
}

TEST(JwtTest, Rfc7515AppendixA1) {
  // RFC 7515 A.1: a binary key, "typ" before "alg", CR LF inside both JSON texts, no sub.
  constexpr std::string_view kKey(
      "\x03\x23\x35\x4b\x2b\x0f\xa5\xbc\x83\x7e\x06\x65\x77\x7b\xa6\x8f\x5a\xb3\x28\xe6\xf0\x54"
      "\xc9\x28\xa9\x0f\x84\xb2\xd2\x50\x2e\xbf\xd3\xfb\x5a\x92\xd2\x06\x47\xef\x96\x8a\xb4\xc3"
      "\x77\x62\x3d\x22\x3d\x2e\x21\x72\x05\x2e\x4f\x08\xc0\xcd\x9a\xf5\x67\xd0\x80\xa3",
      64);
  constexpr std::string_view kToken =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cn"
      "VlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  // The signature is accepted (the failure is the missing subject, checked last) ...
  EXPECT_EQ(Err(kToken, 1300819379, 0, kKey), JwtError::kMissingSubject);
  // ... and exp is read from the CR LF-separated payload.
  EXPECT_EQ(Err(kToken, 1300819380, 0, kKey), JwtError::kExpired);
  EXPECT_EQ(Err(kToken, 1300819379, 0, "other key"), JwtError::kBadSignature);
}

TEST(JwtTest, HeaderWithoutTypAndOtherFields) {
  EXPECT_EQ(Ok(kNodeNbfToken, 1700000000, 0, "another secret").sub, "bob");
  EXPECT_EQ(Ok(Token(R"({"alg":"HS256","kid":"k1","x":[1,{"y":null}]})", R"({"sub":"a"})")).sub,
            "a");
  EXPECT_EQ(Ok(Token(R"({"typ":"jwt","alg":"HS256"})", R"({"sub":"a"})")).sub, "a");
  EXPECT_EQ(Ok(Token(" {\"alg\" : \"HS256\"}\n", R"({"sub":"a"})")).sub, "a");
}

TEST(JwtTest, ErrorReasonsAreOneLine) {
  EXPECT_EQ(JwtErrorReason(JwtError::kExpired), "token expired");
  for (JwtError e :
       {JwtError::kMalformed, JwtError::kBadAlgorithm, JwtError::kBadSignature, JwtError::kExpired,
        JwtError::kNotYetValid, JwtError::kMissingSubject, JwtError::kBadClaims}) {
    const std::string_view reason = JwtErrorReason(e);
    EXPECT_FALSE(reason.empty());
    EXPECT_EQ(reason.find('\n'), std::string_view::npos);
  }
}

// ---- time ----

TEST(JwtTest, Expiry) {
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":1699999999})"), JwtError::kExpired);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":1700000000})"), JwtError::kExpired);  // exp <= now
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","exp":1700000001})")).exp, 1700000001);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":-5})"), JwtError::kExpired);
}

TEST(JwtTest, NotBefore) {
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","nbf":1700000001})"), JwtError::kNotYetValid);
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","nbf":1700000000})")).nbf, 1700000000);
  EXPECT_EQ(Err(kNodeNbfToken, 1699999999, 0, "another secret"), JwtError::kNotYetValid);
}

TEST(JwtTest, LeewayToleratesSkewOnBothEnds) {
  const std::string expired = Signed(R"({"sub":"a","exp":1699999995})");
  EXPECT_EQ(Err(expired, kNow, 4), JwtError::kExpired);
  EXPECT_EQ(Err(expired, kNow, 5), JwtError::kExpired);  // exp <= now - leeway
  Ok(expired, kNow, 6);
  const std::string early = Signed(R"({"sub":"a","nbf":1700000005})");
  EXPECT_EQ(Err(early, kNow, 4), JwtError::kNotYetValid);
  Ok(early, kNow, 5);
  EXPECT_EQ(Err(kNodeNbfToken, 1699999990, 9, "another secret"), JwtError::kNotYetValid);
  Ok(kNodeNbfToken, 1699999990, 10, "another secret");
}

TEST(JwtTest, ExpiredIsCheckedBeforeNotYetValid) {
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":1,"nbf":1800000000})"), JwtError::kExpired);
}

TEST(JwtTest, FractionalNumericDatesRoundTowardStricter) {
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","exp":1700000001.9})")).exp, 1700000001);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":1700000000.9})"), JwtError::kExpired);
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","nbf":1699999999.1})")).nbf, 1700000000);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","nbf":1700000000.1})"), JwtError::kNotYetValid);
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","exp":2e9})")).exp, 2000000000);
}

TEST(JwtTest, BadNumericDates) {
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":"2000000000"})"), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":null})"), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","nbf":[1]})"), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":99999999999999999999})"), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":1e19})"), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":1e400})"), JwtError::kBadClaims);  // valid JSON
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":01})"), JwtError::kMalformed);     // not JSON
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","exp":1.})"), JwtError::kMalformed);
}

TEST(JwtTest, ExtremeClockValuesDoNotOverflow) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::string token =
      Signed(R"({"sub":"a","exp":-9223372036854775808,"nbf":9223372036854775807})");
  EXPECT_EQ(Err(token, kMin, kMax), JwtError::kNotYetValid);  // now - leeway underflows
  EXPECT_EQ(Err(token, kMax, kMax), JwtError::kExpired);
  const std::string late = Signed(R"({"sub":"a","nbf":9223372036854775807})");
  Ok(late, kMax, 1);  // now + leeway overflows: nothing is in the future
}

// ---- signature ----

TEST(JwtTest, FlippedSignatureBytesAreRejected) {
  const std::string token(kNodeToken);
  const size_t sig = SignatureStart(token);
  EXPECT_EQ(Err(Tweak(token, sig)), JwtError::kBadSignature);               // first byte
  EXPECT_EQ(Err(Tweak(token, sig + 20)), JwtError::kBadSignature);          // middle
  EXPECT_EQ(Err(Tweak(token, token.size() - 1)), JwtError::kBadSignature);  // last byte
}

TEST(JwtTest, FlippedPayloadOrHeaderIsRejected) {
  const std::string token(kNodeToken);
  const size_t payload = token.find('.') + 1;
  EXPECT_EQ(Err(Tweak(token, payload + 10)), JwtError::kBadSignature);
  EXPECT_EQ(Err(Tweak(token, SignatureStart(token) - 3)), JwtError::kBadSignature);
  // A different but valid header over the same payload and signature.
  const std::string swapped = B64(R"({"alg":"HS256"})") + token.substr(token.find('.'));
  EXPECT_EQ(Err(swapped), JwtError::kBadSignature);
}

TEST(JwtTest, WrongSecretOrSignatureLength) {
  EXPECT_EQ(Err(kNodeToken, kNow, 0, "ringcast-test-secreT"), JwtError::kBadSignature);
  const std::string token(kNodeToken);
  const std::string unsigned_part = token.substr(0, SignatureStart(token));
  EXPECT_EQ(Err(unsigned_part), JwtError::kBadSignature);  // empty
  EXPECT_EQ(Err(unsigned_part + B64(std::string(64, 'x'))), JwtError::kBadSignature);
  std::string mac;
  ASSERT_TRUE(core::Base64UrlDecode(token.substr(SignatureStart(token)), &mac));
  // A prefix of the right MAC, or the right MAC followed by more bytes, is not the right MAC.
  EXPECT_EQ(Err(unsigned_part + B64(mac.substr(0, 31))), JwtError::kBadSignature);
  EXPECT_EQ(Err(unsigned_part + B64(mac.substr(0, 16))), JwtError::kBadSignature);
  EXPECT_EQ(Err(unsigned_part + B64(mac + '\0')), JwtError::kBadSignature);
  Ok(unsigned_part + B64(mac));
}

TEST(JwtTest, SignatureIsComparedInConstantTime) {
  const std::string token(kNodeToken);
  int before = g_crypto_memcmp_calls.load();
  Ok(token);
  EXPECT_EQ(g_crypto_memcmp_calls.load(), before + 1);
  before = g_crypto_memcmp_calls.load();
  EXPECT_EQ(Err(Tweak(token, token.size() - 1)), JwtError::kBadSignature);
  EXPECT_EQ(g_crypto_memcmp_calls.load(), before + 1);
  // Rejected before any MAC is computed: bad algorithm, wrong MAC length.
  before = g_crypto_memcmp_calls.load();
  EXPECT_EQ(Err(Token(R"({"alg":"none"})", R"({"sub":"a"})")), JwtError::kBadAlgorithm);
  EXPECT_EQ(Err(token.substr(0, SignatureStart(token))), JwtError::kBadSignature);
  EXPECT_EQ(g_crypto_memcmp_calls.load(), before);
}

// ---- algorithm ----

TEST(JwtTest, OnlyHs256IsAccepted) {
  const std::string_view payload = R"({"sub":"a"})";
  // Each is MACed with HMAC-SHA256 and the right secret: only the declared alg is wrong.
  for (std::string_view header :
       {R"({"alg":"HS384","typ":"JWT"})", R"({"alg":"HS512"})", R"({"alg":"RS256"})",
        R"({"alg":"ES256"})", R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"hs256"})",
        R"({"alg":"HS256 "})", R"({"alg":""})", R"({"alg":256})", R"({"alg":null})",
        R"({"alg":["HS256"]})", R"({"typ":"JWT"})", R"({})"}) {
    EXPECT_EQ(Err(Token(header, payload)), JwtError::kBadAlgorithm) << header;
  }
}

TEST(JwtTest, UnsignedNoneTokenIsRejected) {
  const std::string token =
      B64(R"({"alg":"none","typ":"JWT"})") + "." + B64(R"({"sub":"a"})") + ".";
  EXPECT_EQ(Err(token), JwtError::kBadAlgorithm);
}

TEST(JwtTest, HeaderRules) {
  const std::string_view payload = R"({"sub":"a"})";
  EXPECT_EQ(Err(Token(R"({"alg":"HS256","typ":"JWS"})", payload)), JwtError::kMalformed);
  EXPECT_EQ(Err(Token(R"({"alg":"HS256","typ":"at+jwt"})", payload)), JwtError::kMalformed);
  EXPECT_EQ(Err(Token(R"({"alg":"HS256","typ":1})", payload)), JwtError::kMalformed);
  EXPECT_EQ(Err(Token(R"({"alg":"HS256","crit":["exp"]})", payload)), JwtError::kMalformed);
  EXPECT_EQ(Err(Token(R"({"alg":"HS256","b64":false,"crit":["b64"]})", payload)),
            JwtError::kMalformed);
  // Duplicates: parsers disagree on which one wins, so neither does.
  EXPECT_EQ(Err(Token(R"({"alg":"HS256","alg":"HS256"})", payload)), JwtError::kMalformed);
  EXPECT_EQ(Err(Token(R"({"alg":"none","alg":"HS256"})", payload)), JwtError::kMalformed);
  EXPECT_EQ(Err(Token(R"({"alg":"HS256","typ":"JWT","typ":"JWT"})", payload)),
            JwtError::kMalformed);
}

// ---- structure ----

TEST(JwtTest, WrongNumberOfParts) {
  const std::string token(kNodeToken);
  EXPECT_EQ(Err(""), JwtError::kMalformed);
  EXPECT_EQ(Err("abc"), JwtError::kMalformed);
  EXPECT_EQ(Err(token.substr(0, SignatureStart(token) - 1)), JwtError::kMalformed);  // 2 parts
  EXPECT_EQ(Err(token + ".x"), JwtError::kMalformed);                                // 4 parts
  EXPECT_EQ(Err(token + "."), JwtError::kMalformed);
  EXPECT_EQ(Err(token + ".a.b"), JwtError::kMalformed);  // JWE: 5
  EXPECT_EQ(Err(".."), JwtError::kMalformed);
  EXPECT_EQ(Err("." + token.substr(token.find('.'))), JwtError::kMalformed);  // empty header
}

TEST(JwtTest, BadBase64Url) {
  const std::string token(kNodeToken);
  const size_t payload = token.find('.') + 1;
  const size_t sig = SignatureStart(token);
  std::string plus = token;
  plus[payload + 5] = '+';
  EXPECT_EQ(Err(plus), JwtError::kMalformed);
  std::string slash = token;
  slash[sig + 3] = '/';
  EXPECT_EQ(Err(slash), JwtError::kMalformed);
  std::string space = token;
  space[2] = ' ';
  EXPECT_EQ(Err(space), JwtError::kMalformed);
  EXPECT_EQ(Err(" " + token), JwtError::kMalformed);
  EXPECT_EQ(Err(token + "\n"), JwtError::kMalformed);
  EXPECT_EQ(Err(token.substr(0, sig) + "=" + token.substr(sig)), JwtError::kMalformed);
  // Non-canonical: the unused bits of the signature's last character set.
  std::string loose = token;
  loose.back() = static_cast<char>(loose.back() == 'k' ? 'l' : loose.back() + 1);
  EXPECT_EQ(Err(loose), JwtError::kMalformed);
  EXPECT_EQ(Err(std::string_view("a\0b.c.d", 7)), JwtError::kMalformed);
}

TEST(JwtTest, PaddedPartsAreRejected) {
  // Padding is not part of JWS base64url, even where standard base64 would need it.
  const std::string padded_payload =
      B64(R"({"alg":"HS256"})") + "." + B64(R"({"sub":"abc"})") + "==";
  const std::string token = Token(R"({"alg":"HS256"})", R"({"sub":"abc"})");
  ASSERT_EQ(B64(R"({"sub":"abc"})").size() % 4, 2u);  // would be padded with "=="
  Ok(token);
  const size_t sig = SignatureStart(token);
  EXPECT_EQ(Err(padded_payload + token.substr(sig - 1)), JwtError::kMalformed);
  EXPECT_EQ(Err(token + "="), JwtError::kMalformed);  // signature is 43 chars: one '=' missing
}

TEST(JwtTest, HeaderMustBeOneJsonObject) {
  const std::string_view payload = R"({"sub":"a"})";
  for (std::string_view header :
       {"not json", R"(["alg","HS256"])", R"("HS256")", "42", "null", "", R"({"alg":"HS256"} x)",
        R"({"alg":"HS256"}{})", R"({"alg":"HS256")", R"({"alg":"HS256",})",
        R"({"alg":"HS256","x":tru})", R"({"alg":"HS256","x":1.})", R"({"alg":"HS\u00"})",
        "{\"alg\":\"HS256\",\"x\":\"\xff\"}"}) {
    EXPECT_EQ(Err(Token(header, payload)), JwtError::kMalformed) << header;
  }
}

TEST(JwtTest, PayloadMustBeOneJsonObject) {
  for (std::string_view payload :
       {"", "not json", R"(["sub","a"])", R"("a")", "7", R"({"sub":"a"} {})", R"({"sub":"a")",
        R"({"sub":"a","x":[1,2})", R"({"sub":"a","x":nul})", R"({"sub":"a",})"}) {
    EXPECT_EQ(ClaimsErr(payload), JwtError::kMalformed) << payload;
  }
}

TEST(JwtTest, JsonErrorsWinOverClaimErrors) {
  EXPECT_EQ(ClaimsErr(R"({"sub":1,"x":[1,}})"), JwtError::kMalformed);
  EXPECT_EQ(ClaimsErr(R"({"rooms":"x","x":tru})"), JwtError::kMalformed);
}

TEST(JwtTest, NestingIsBounded) {
  const auto nested = [](size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
  };
  // The payload object is level 1; a field value opens level 2.
  Ok(Signed(R"({"sub":"a","x":)" + nested(kMaxJwtJsonDepth - 1) + "}"));
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","x":)" + nested(kMaxJwtJsonDepth) + "}"), JwtError::kMalformed);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","info":)" + nested(kMaxJwtJsonDepth) + "}"),
            JwtError::kMalformed);
}

TEST(JwtTest, TokenLengthIsBounded) {
  // Grow an ignored claim until the token crosses kMaxJwtBytes.
  std::string fits;
  std::string too_long;
  for (size_t pad = 6000; pad < 7000 && too_long.empty(); ++pad) {
    std::string token = Signed(R"({"sub":"a","pad":")" + std::string(pad, 'x') + "\"}");
    if (token.size() <= kMaxJwtBytes) {
      fits = std::move(token);
    } else {
      too_long = std::move(token);
    }
  }
  ASSERT_FALSE(fits.empty());
  ASSERT_FALSE(too_long.empty());
  EXPECT_GE(fits.size(), kMaxJwtBytes - 4);
  Ok(fits);
  EXPECT_EQ(Err(too_long), JwtError::kMalformed);
  EXPECT_EQ(Err(std::string(1u << 20, 'a')), JwtError::kMalformed);
}

// ---- claims ----

TEST(JwtTest, SubjectIsRequired) {
  EXPECT_EQ(ClaimsErr(R"({})"), JwtError::kMissingSubject);
  EXPECT_EQ(ClaimsErr(R"({"name":"a","exp":1800000000})"), JwtError::kMissingSubject);
  EXPECT_EQ(ClaimsErr(R"({"sub":""})"), JwtError::kMissingSubject);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","sub":"b"})"), JwtError::kBadClaims);  // duplicate
}

TEST(JwtTest, SubjectMustBeAString) {
  for (std::string_view payload : {R"({"sub":42})", R"({"sub":null})", R"({"sub":true})",
                                   R"({"sub":["a"]})", R"({"sub":{"id":"a"}})"}) {
    EXPECT_EQ(ClaimsErr(payload), JwtError::kBadClaims) << payload;
  }
}

TEST(JwtTest, SubjectIsUnescapedAndBounded) {
  EXPECT_EQ(Ok(Signed(R"({"sub":"caf\u00e9 \"x\""})")).sub, "caf\xc3\xa9 \"x\"");
  const std::string max(kMaxJwtSubjectBytes, 's');
  EXPECT_EQ(Ok(Signed(R"({"sub":")" + max + "\"}")).sub, max);
  EXPECT_EQ(ClaimsErr(R"({"sub":")" + max + "s\"}"), JwtError::kBadClaims);
}

TEST(JwtTest, RoomsAndPubAbsentMeansAny) {
  const JwtClaims claims = Ok(Signed(R"({"sub":"a"})"));
  EXPECT_FALSE(claims.rooms.has_value());
  EXPECT_FALSE(claims.pub.has_value());
}

TEST(JwtTest, EmptyPatternListAllowsNothing) {
  const JwtClaims claims = Ok(Signed(R"({"sub":"a","rooms":[],"pub":[]})"));
  ASSERT_TRUE(claims.rooms.has_value());
  EXPECT_TRUE(claims.rooms->empty());
  ASSERT_TRUE(claims.pub.has_value());
  EXPECT_TRUE(claims.pub->empty());
}

TEST(JwtTest, PatternsAreUnescapedJsonStrings) {
  const JwtClaims claims = Ok(Signed(R"({"sub":"a","rooms":["lit\\*","a\"b", ""],"pub":["*"]})"));
  ASSERT_TRUE(claims.rooms.has_value());
  EXPECT_EQ(*claims.rooms, (std::vector<std::string>{"lit\\*", "a\"b", ""}));
  EXPECT_EQ(*claims.pub, (std::vector<std::string>{"*"}));
}

TEST(JwtTest, PatternListsMustBeArraysOfStrings) {
  for (std::string_view claim : {"rooms", "pub"}) {
    const std::string prefix = R"({"sub":"a",")" + std::string(claim) + "\":";
    for (std::string_view value : {R"("chat:*")", "null", "{}", "1", "true", R"(["a",1])",
                                   R"([null])", R"([["a"]])", R"(["a",{"b":"c"}])"}) {
      EXPECT_EQ(ClaimsErr(prefix + std::string(value) + "}"), JwtError::kBadClaims)
          << claim << " " << value;
    }
    EXPECT_EQ(ClaimsErr(prefix + R"(["a"],")" + std::string(claim) + R"(":["b"]})"),
              JwtError::kBadClaims);  // duplicate
  }
}

TEST(JwtTest, PatternListsAreBounded) {
  const auto list = [](size_t count, size_t bytes) {
    std::string json = "[";
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) json += ',';
      json += '"' + std::string(bytes, 'p') + '"';
    }
    return json + "]";
  };
  const JwtClaims claims = Ok(Signed(R"({"sub":"a","rooms":)" + list(kMaxJwtPatterns, 1) +
                                     R"(,"pub":)" + list(2, kMaxJwtPatternBytes) + "}"));
  ASSERT_TRUE(claims.rooms.has_value());
  EXPECT_EQ(claims.rooms->size(), kMaxJwtPatterns);
  EXPECT_EQ(claims.pub->at(1).size(), kMaxJwtPatternBytes);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","rooms":)" + list(kMaxJwtPatterns + 1, 1) + "}"),
            JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","pub":)" + list(1, kMaxJwtPatternBytes + 1) + "}"),
            JwtError::kBadClaims);
}

TEST(JwtTest, InfoIsKeptRaw) {
  EXPECT_EQ(
      Ok(Signed(R"({"sub":"a","info":{"n" : [1, 2.50, {"x":null}] ,"e":"\u00e9"}})")).info_json,
      R"({"n" : [1, 2.50, {"x":null}] ,"e":"\u00e9"})");
  EXPECT_EQ(Ok(Signed(R"({"info":  "hi \"there\"\n"  ,"sub":"a"})")).info_json,
            R"("hi \"there\"\n")");
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","info":-12.5e3})")).info_json, "-12.5e3");
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","info":1e400})")).info_json, "1e400");
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","info":[]  })")).info_json, "[]");
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","info":null})")).info_json, "null");
  EXPECT_EQ(Ok(Signed(R"({"sub":"a","info":false})")).info_json, "false");
  EXPECT_EQ(Ok(Signed(R"({"sub":"a"})")).info_json, "");
}

TEST(JwtTest, InfoIsBounded) {
  // "x" plus quotes: a string value of exactly n bytes of JSON text.
  const auto info_of = [](size_t json_bytes) {
    return R"({"sub":"a","info":")" + std::string(json_bytes - 2, 'i') + "\"}";
  };
  EXPECT_EQ(Ok(Signed(info_of(kMaxJwtInfoBytes))).info_json.size(), kMaxJwtInfoBytes);
  EXPECT_EQ(ClaimsErr(info_of(kMaxJwtInfoBytes + 1)), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","info":1,"info":2})"), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","info":{"x":tru}})"), JwtError::kMalformed);
}

TEST(JwtTest, UnknownClaimsAreValidatedAndIgnored) {
  const JwtClaims claims =
      Ok(Signed(R"({"iss":"me","aud":["x"],"iat":1,"jti":"j","sub":"a","x":{"y":[true,null]}})"));
  EXPECT_EQ(claims.sub, "a");
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","x":"\u12"})"), JwtError::kMalformed);
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","x":-})"), JwtError::kMalformed);
}

TEST(JwtTest, EscapedClaimNamesAreRecognized) {
  // "\u0073ub" is "sub" once unescaped; a verifier that compared raw keys would miss it.
  EXPECT_EQ(Ok(Signed(R"({"\u0073ub":"a"})")).sub, "a");
  EXPECT_EQ(ClaimsErr(R"({"sub":"a","\u0065xp":5})"), JwtError::kExpired);
}

TEST(JwtTest, ClaimTypeErrorsComeBeforeTimeAndSubject) {
  EXPECT_EQ(ClaimsErr(R"({"exp":1,"rooms":5})"), JwtError::kBadClaims);
  EXPECT_EQ(ClaimsErr(R"({"exp":1})"), JwtError::kExpired);
}

}  // namespace
}  // namespace ringcast::proto
