#include "net/http_head.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ringcast::net {
namespace {

constexpr size_t kLimit = 8192;

constexpr std::string_view kUpgradeRequest =
    "GET /ws?token=abc&user=bob HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

HttpParseStatus Status(std::string_view buf, size_t limit = kLimit) {
  HttpRequest req;
  return ParseHttpHead(buf, limit, &req).status;
}

// Wraps one header line in an otherwise valid request.
std::string WithHeaderLine(std::string_view line) {
  return "GET / HTTP/1.1\r\nHost: h\r\n" + std::string(line) + "\r\n\r\n";
}

TEST(HttpHeadTest, ParsesUpgradeRequest) {
  HttpRequest req;
  const HttpParseResult r = ParseHttpHead(kUpgradeRequest, kLimit, &req);
  ASSERT_EQ(r.status, HttpParseStatus::kComplete) << r.error;
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/ws?token=abc&user=bob");
  EXPECT_EQ(req.path, "/ws");
  EXPECT_EQ(req.query, "token=abc&user=bob");
  EXPECT_EQ(req.version_minor, 1);
  ASSERT_EQ(req.header_count, 5u);
  EXPECT_EQ(req.headers[0].name, "Host");
  EXPECT_EQ(req.headers[0].value, "example.com:8080");
  EXPECT_EQ(req.headers[4].name, "Sec-WebSocket-Version");
  EXPECT_EQ(req.headers[4].value, "13");
  EXPECT_EQ(req.head_bytes, kUpgradeRequest.size());
}

TEST(HttpHeadTest, ViewsPointIntoBuffer) {
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead(kUpgradeRequest, kLimit, &req).status, HttpParseStatus::kComplete);
  const char* begin = kUpgradeRequest.data();
  const char* end = begin + kUpgradeRequest.size();
  auto inside = [&](std::string_view v) { return v.data() >= begin && v.data() + v.size() <= end; };
  EXPECT_EQ(req.method.data(), begin);
  EXPECT_TRUE(inside(req.target));
  EXPECT_TRUE(inside(req.path));
  EXPECT_TRUE(inside(req.query));
  ASSERT_EQ(req.header_count, 5u);  // the loop below checks every header, not none
  for (size_t i = 0; i < req.header_count; ++i) {
    EXPECT_TRUE(inside(req.headers[i].name)) << i;
    EXPECT_TRUE(inside(req.headers[i].value)) << i;
  }
}

TEST(HttpHeadTest, PathWithoutQuery) {
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead("POST /api/publish HTTP/1.1\r\nHost: h\r\n\r\n", kLimit, &req).status,
            HttpParseStatus::kComplete);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/api/publish");
  EXPECT_EQ(req.query, "");
}

TEST(HttpHeadTest, EmptyQueryAndSecondQuestionMark) {
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead("GET /ws? HTTP/1.1\r\n\r\n", kLimit, &req).status,
            HttpParseStatus::kComplete);
  EXPECT_EQ(req.path, "/ws");
  EXPECT_EQ(req.query, "");
  ASSERT_EQ(ParseHttpHead("GET /a?b?c HTTP/1.1\r\n\r\n", kLimit, &req).status,
            HttpParseStatus::kComplete);
  EXPECT_EQ(req.path, "/a");
  EXPECT_EQ(req.query, "b?c");
}

TEST(HttpHeadTest, ParsesHttp10WithNoHeaders) {
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead("GET / HTTP/1.0\r\n\r\n", kLimit, &req).status,
            HttpParseStatus::kComplete);
  EXPECT_EQ(req.version_minor, 0);
  EXPECT_EQ(req.header_count, 0u);
  EXPECT_EQ(req.head_bytes, 18u);
}

TEST(HttpHeadTest, TrimsOptionalWhitespaceAndKeepsInnerSpaces) {
  HttpRequest req;
  const std::string buf = WithHeaderLine("X-Thing: \t a  b \t ");
  ASSERT_EQ(ParseHttpHead(buf, kLimit, &req).status, HttpParseStatus::kComplete);
  EXPECT_EQ(req.Header("x-thing"), "a  b");
}

TEST(HttpHeadTest, EmptyHeaderValue) {
  HttpRequest req;
  const std::string buf = WithHeaderLine("X-Empty:");
  ASSERT_EQ(ParseHttpHead(buf, kLimit, &req).status, HttpParseStatus::kComplete);
  ASSERT_EQ(req.header_count, 2u);
  EXPECT_EQ(req.headers[1].name, "X-Empty");
  EXPECT_EQ(req.headers[1].value, "");
}

TEST(HttpHeadTest, AcceptsObsTextInValue) {
  EXPECT_EQ(Status(WithHeaderLine("X-Name: caf\xc3\xa9")), HttpParseStatus::kComplete);
}

TEST(HttpHeadTest, AcceptsExactlyMaxHeaders) {
  std::string buf = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < kMaxHttpHeaders; ++i) buf += "X-H" + std::to_string(i) + ": v\r\n";
  buf += "\r\n";
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead(buf, kLimit, &req).status, HttpParseStatus::kComplete);
  EXPECT_EQ(req.header_count, kMaxHttpHeaders);
  EXPECT_EQ(req.Header("X-H47"), "v");
}

TEST(HttpHeadTest, TooManyHeaders) {
  std::string buf = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i <= kMaxHttpHeaders; ++i) buf += "X-H" + std::to_string(i) + ": v\r\n";
  buf += "\r\n";
  HttpRequest req;
  const HttpParseResult r = ParseHttpHead(buf, kLimit, &req);
  EXPECT_EQ(r.status, HttpParseStatus::kTooLarge);
  EXPECT_FALSE(r.error.empty());
}

TEST(HttpHeadTest, EveryTruncationIsIncomplete) {
  for (size_t len = 0; len < kUpgradeRequest.size(); ++len) {
    // A copy of exactly `len` bytes, so ASan catches any read past the end.
    const std::string prefix(kUpgradeRequest.substr(0, len));
    HttpRequest req;
    const HttpParseResult r = ParseHttpHead(prefix, kLimit, &req);
    EXPECT_EQ(r.status, HttpParseStatus::kIncomplete) << "len=" << len << " " << r.error;
  }
  EXPECT_EQ(Status(std::string(kUpgradeRequest)), HttpParseStatus::kComplete);
}

TEST(HttpHeadTest, HeadOverLimitIsTooLarge) {
  // Complete but longer than the limit.
  EXPECT_EQ(Status(kUpgradeRequest, kUpgradeRequest.size() - 1), HttpParseStatus::kTooLarge);
  // Exactly at the limit is fine.
  EXPECT_EQ(Status(kUpgradeRequest, kUpgradeRequest.size()), HttpParseStatus::kComplete);
  // Still incomplete and already at or past the limit: no more bytes can help.
  const std::string_view partial = kUpgradeRequest.substr(0, 40);
  EXPECT_EQ(Status(partial, 40), HttpParseStatus::kTooLarge);
  EXPECT_EQ(Status(partial, 20), HttpParseStatus::kTooLarge);
  EXPECT_EQ(Status(partial, 41), HttpParseStatus::kIncomplete);
  // One huge header.
  const std::string huge = WithHeaderLine("X-Big: " + std::string(10000, 'a'));
  HttpRequest req;
  const HttpParseResult r = ParseHttpHead(huge, kLimit, &req);
  EXPECT_EQ(r.status, HttpParseStatus::kTooLarge);
  EXPECT_FALSE(r.error.empty());
}

TEST(HttpHeadTest, LimitWindowDecidesBadVersusTooLarge) {
  EXPECT_EQ(Status("GET / HTTP/1.1\nHost: h\r\n", 10), HttpParseStatus::kTooLarge);
  EXPECT_EQ(Status("GET / HTTP/1.1\nHost: h\r\n", 17), HttpParseStatus::kBad);
}

TEST(HttpHeadTest, IgnoresBytesAfterHead) {
  std::string buf(kUpgradeRequest);
  buf += "\x81\x85garbage\r\n\n\0\x01";
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead(buf, kLimit, &req).status, HttpParseStatus::kComplete);
  EXPECT_EQ(req.head_bytes, kUpgradeRequest.size());
  EXPECT_EQ(std::string_view(buf).substr(req.head_bytes, 2), "\x81\x85");
  // The limit applies to the head only, not to what follows it.
  EXPECT_EQ(Status(buf, kUpgradeRequest.size()), HttpParseStatus::kComplete);
}

TEST(HttpHeadTest, ResetsOutputBetweenCalls) {
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead(kUpgradeRequest, kLimit, &req).status, HttpParseStatus::kComplete);
  ASSERT_EQ(ParseHttpHead("GET / HTTP/1.0\r\n\r\n", kLimit, &req).status,
            HttpParseStatus::kComplete);
  EXPECT_EQ(req.header_count, 0u);
  EXPECT_EQ(req.query, "");
  EXPECT_EQ(req.Header("Host"), "");
}

struct BadCase {
  const char* what;
  std::string buf;
};

TEST(HttpHeadTest, RejectsMalformed) {
  const BadCase cases[] = {
      {"bare LF in request line", "GET / HTTP/1.1\nHost: h\r\n\r\n"},
      {"bare LF after header", "GET / HTTP/1.1\r\nHost: h\n\r\n"},
      {"bare LF as blank line", "GET / HTTP/1.1\r\nHost: h\r\n\n"},
      {"bare CR", "GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n"},
      {"space before colon", WithHeaderLine("Upgrade : websocket")},
      {"tab before colon", WithHeaderLine("Upgrade\t: websocket")},
      {"obs-fold", WithHeaderLine("X-A: a\r\n  continued")},
      {"obs-fold tab", WithHeaderLine("X-A: a\r\n\tcontinued")},
      {"leading space on first header", "GET / HTTP/1.1\r\n Host: h\r\n\r\n"},
      {"bad method char", "G(T / HTTP/1.1\r\n\r\n"},
      {"method with slash", "GE/T / HTTP/1.1\r\n\r\n"},
      {"empty method", " / HTTP/1.1\r\n\r\n"},
      {"leading blank line", "\r\nGET / HTTP/1.1\r\n\r\n"},
      {"target without slash", "GET ws HTTP/1.1\r\n\r\n"},
      {"absolute-form target", "GET http://h/ws HTTP/1.1\r\n\r\n"},
      {"asterisk target", "OPTIONS * HTTP/1.1\r\n\r\n"},
      {"empty target", "GET  HTTP/1.1\r\n\r\n"},
      {"control char in target", "GET /a\x01 HTTP/1.1\r\n\r\n"},
      {"high byte in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"},
      {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n"},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n"},
      {"lowercase http", "GET / http/1.1\r\n\r\n"},
      {"HTTP/1.10", "GET / HTTP/1.10\r\n\r\n"},
      {"missing version", "GET /\r\n\r\n"},
      {"trailing space after version", "GET / HTTP/1.1 \r\n\r\n"},
      {"control char in value", WithHeaderLine("X-A: a\x01z")},
      {"DEL in value", WithHeaderLine("X-A: a\x7fz")},
      {"NUL in value", WithHeaderLine(std::string("X-A: a\0z", 8))},
      {"empty header name", WithHeaderLine(": value")},
      {"bad header name char", WithHeaderLine("X(A): v")},
      {"header without colon", WithHeaderLine("NoColon")},
  };
  for (const BadCase& c : cases) {
    HttpRequest req;
    const HttpParseResult r = ParseHttpHead(c.buf, kLimit, &req);
    EXPECT_EQ(r.status, HttpParseStatus::kBad) << c.what;
    EXPECT_FALSE(r.error.empty()) << c.what;
  }
}

TEST(HttpHeadTest, BadPrefixIsBadBeforeHeadCompletes) {
  EXPECT_EQ(Status("G(T"), HttpParseStatus::kBad);
  EXPECT_EQ(Status("GET ws"), HttpParseStatus::kBad);
  EXPECT_EQ(Status("GET / HTTP/2"), HttpParseStatus::kBad);
  EXPECT_EQ(Status("GET / HTTP/1.1\r\nHost : h"), HttpParseStatus::kBad);
}

TEST(HttpHeadTest, HeaderIsCaseInsensitiveFirstMatch) {
  HttpRequest req;
  const std::string buf = "GET / HTTP/1.1\r\nX-Dup: one\r\nx-dup: two\r\nHOST: h\r\n\r\n";
  ASSERT_EQ(ParseHttpHead(buf, kLimit, &req).status, HttpParseStatus::kComplete);
  EXPECT_EQ(req.Header("x-DUP"), "one");
  EXPECT_EQ(req.Header("host"), "h");
  EXPECT_EQ(req.Header("Missing"), "");
  EXPECT_EQ(req.Header("Hos"), "");
}

TEST(HttpHeadTest, HeaderHasToken) {
  HttpRequest req;
  const std::string buf =
      "GET / HTTP/1.1\r\n"
      "Connection: keep-alive, Upgrade\r\n"
      "Upgrade: WebSocket\r\n"
      "X-List: ,, a ,\tb\t,\r\n"
      "X-Split: first\r\n"
      "X-Split: second, third\r\n"
      "\r\n";
  ASSERT_EQ(ParseHttpHead(buf, kLimit, &req).status, HttpParseStatus::kComplete);
  EXPECT_TRUE(req.HeaderHasToken("connection", "upgrade"));
  EXPECT_TRUE(req.HeaderHasToken("Connection", "KEEP-ALIVE"));
  EXPECT_FALSE(req.HeaderHasToken("Connection", "keep"));
  EXPECT_FALSE(req.HeaderHasToken("Connection", "alive, upgrade"));
  EXPECT_TRUE(req.HeaderHasToken("Upgrade", "websocket"));
  EXPECT_TRUE(req.HeaderHasToken("X-List", "a"));
  EXPECT_TRUE(req.HeaderHasToken("X-List", "b"));
  EXPECT_FALSE(req.HeaderHasToken("X-List", ""));
  EXPECT_TRUE(req.HeaderHasToken("X-Split", "first"));
  EXPECT_TRUE(req.HeaderHasToken("X-Split", "third"));
  EXPECT_FALSE(req.HeaderHasToken("Missing", "upgrade"));
}

TEST(HttpHeadTest, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Sec-WebSocket-Key", "sec-websocket-key"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abd"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "ab"));
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));  // only letters fold
}

}  // namespace
}  // namespace ringcast::net
