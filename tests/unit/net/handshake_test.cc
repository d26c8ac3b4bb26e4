#include "net/handshake.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "net/http_head.h"

namespace ringcast::net {
namespace {

constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// A valid upgrade request whose request line and headers can be overridden.
struct RequestSpec {
  std::string request_line = "GET /ws HTTP/1.1";
  std::string host = "Host: example.com";
  std::string upgrade = "Upgrade: websocket";
  std::string connection = "Connection: Upgrade";
  std::string version = "Sec-WebSocket-Version: 13";
  std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
  std::string extra;  // full extra lines, each ending in CRLF

  std::string Build() const {
    std::string out = request_line + "\r\n";
    for (const std::string* line : {&host, &upgrade, &connection, &version, &key}) {
      if (!line->empty()) out += *line + "\r\n";
    }
    return out + extra + "\r\n";
  }
};

// Keeps the buffer alive as long as the parsed request that points into it.
struct Parsed {
  std::string buf;
  HttpRequest req;
};

void Parse(const RequestSpec& spec, Parsed* out) {
  out->buf = spec.Build();
  const HttpParseResult r = ParseHttpHead(out->buf, 8192, &out->req);
  ASSERT_EQ(r.status, HttpParseStatus::kComplete) << r.error << "\n" << out->buf;
}

UpgradeCheck Check(const RequestSpec& spec) {
  Parsed p;
  Parse(spec, &p);
  return ValidateUpgrade(p.req);
}

TEST(HandshakeTest, AcceptKeyMatchesRfcExample) {
  const std::optional<std::string> accept = ComputeAcceptKey(kRfcKey);
  ASSERT_TRUE(accept.has_value());
  EXPECT_EQ(*accept, kRfcAccept);
}

TEST(HandshakeTest, AcceptKeyOfOtherValidKeys) {
  // 16 zero bytes; value checked against Python's hashlib/base64.
  const std::optional<std::string> zeros = ComputeAcceptKey("AAAAAAAAAAAAAAAAAAAAAA==");
  ASSERT_TRUE(zeros.has_value());
  EXPECT_EQ(zeros->size(), 28u);
  EXPECT_EQ(*zeros, "ICX+Yqv66kxgM0FcWaLWlFLwTAI=");
  EXPECT_TRUE(ComputeAcceptKey("+/+/+/+/+/+/+/+/+/+/+w==").has_value());
}

TEST(HandshakeTest, AcceptKeyRejectsInvalidKeys) {
  const std::string_view bad[] = {
      "",
      "dGhlIHNhbXBsZSBub25jZQ",        // missing padding
      "dGhlIHNhbXBsZSBub25jZQ=",       // 23 chars
      "dGhlIHNhbXBsZSBub25jZQ===",     // 25 chars
      "dGhlIHNhbXBsZSBub25jZQ=A",      // padding in the wrong place
      "dGhlIHNhbXBsZSBub25jZ===",      // 15 bytes
      "dGhlIHNhbXBsZSBub25jZQ-_",      // url-safe alphabet is not base64
      "dGhlIHNhbXBs ZSBub25jZQ==",     // space inside
      "dGhlIHNhbXBsZSBub2*jZQ==",      // bad character
      "dGhlIHNhbXBsZSBub25jZSBhIGI=",  // 20 bytes
  };
  for (std::string_view key : bad) {
    EXPECT_FALSE(ComputeAcceptKey(key).has_value()) << key;
  }
}

TEST(HandshakeTest, ValidUpgradeRequest) {
  Parsed p;
  Parse(RequestSpec{}, &p);
  const UpgradeCheck check = ValidateUpgrade(p.req);
  EXPECT_EQ(check.status, 0) << check.reason;
  EXPECT_TRUE(IsUpgradeRequest(p.req));
}

TEST(HandshakeTest, ValidUpgradeWithTokenListsAndCase) {
  RequestSpec spec;
  spec.upgrade = "upgrade: WebSocket";
  spec.connection = "connection: keep-alive, upgrade";
  spec.key = "sec-websocket-key:   dGhlIHNhbXBsZSBub25jZQ==  ";
  EXPECT_EQ(Check(spec).status, 0);
}

TEST(HandshakeTest, WrongMethodIs405) {
  RequestSpec spec;
  spec.request_line = "POST /ws HTTP/1.1";
  EXPECT_EQ(Check(spec).status, 405);
  spec.request_line = "get /ws HTTP/1.1";  // methods are case-sensitive
  EXPECT_EQ(Check(spec).status, 405);
}

TEST(HandshakeTest, Http10Is400) {
  RequestSpec spec;
  spec.request_line = "GET /ws HTTP/1.0";
  EXPECT_EQ(Check(spec).status, 400);
}

TEST(HandshakeTest, MissingOrWrongUpgradeIs400) {
  RequestSpec spec;
  spec.upgrade = "";
  EXPECT_EQ(Check(spec).status, 400);
  spec.upgrade = "Upgrade: h2c";
  EXPECT_EQ(Check(spec).status, 400);
}

TEST(HandshakeTest, MissingConnectionUpgradeIs400) {
  RequestSpec spec;
  spec.connection = "";
  EXPECT_EQ(Check(spec).status, 400);
  spec.connection = "Connection: keep-alive";
  EXPECT_EQ(Check(spec).status, 400);
}

TEST(HandshakeTest, VersionChecks) {
  RequestSpec spec;
  spec.version = "";
  EXPECT_EQ(Check(spec).status, 400);
  spec.version = "Sec-WebSocket-Version: 8";
  EXPECT_EQ(Check(spec).status, 426);
  spec.version = "Sec-WebSocket-Version: 13, 8";
  EXPECT_EQ(Check(spec).status, 426);
  spec.version = "Sec-WebSocket-Version: 13";
  spec.extra = "Sec-WebSocket-Version: 13\r\n";
  EXPECT_EQ(Check(spec).status, 426);
}

TEST(HandshakeTest, KeyChecks) {
  RequestSpec spec;
  spec.key = "";
  EXPECT_EQ(Check(spec).status, 400);
  spec.key = "Sec-WebSocket-Key: short==";
  EXPECT_EQ(Check(spec).status, 400);
  spec.key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
  spec.extra = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  EXPECT_EQ(Check(spec).status, 400);
}

TEST(HandshakeTest, HostChecks) {
  RequestSpec spec;
  spec.host = "";
  EXPECT_EQ(Check(spec).status, 400);
  spec.host = "Host:";
  EXPECT_EQ(Check(spec).status, 400);
  spec.host = "Host: a";
  spec.extra = "Host: b\r\n";
  EXPECT_EQ(Check(spec).status, 400);
}

TEST(HandshakeTest, FailuresCarryReasons) {
  RequestSpec spec;
  spec.request_line = "PUT /ws HTTP/1.1";
  EXPECT_FALSE(Check(spec).reason.empty());
  EXPECT_TRUE(Check(RequestSpec{}).reason.empty());
}

TEST(HandshakeTest, PlainRequestIsNotUpgrade) {
  HttpRequest req;
  ASSERT_EQ(ParseHttpHead("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n", 8192, &req).status,
            HttpParseStatus::kComplete);
  EXPECT_FALSE(IsUpgradeRequest(req));
  ASSERT_EQ(ParseHttpHead("GET / HTTP/1.1\r\nUpgrade: h2c, WebSocket\r\n\r\n", 8192, &req).status,
            HttpParseStatus::kComplete);
  EXPECT_TRUE(IsUpgradeRequest(req));
}

TEST(HandshakeTest, UpgradeResponseFormat) {
  EXPECT_EQ(BuildUpgradeResponse(kRfcAccept),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(HandshakeTest, HttpErrorFormat) {
  EXPECT_EQ(BuildHttpError(400, "missing Upgrade: websocket"),
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 27\r\n"
            "Connection: close\r\n"
            "\r\n"
            "missing Upgrade: websocket\n");
}

TEST(HandshakeTest, HttpError426CarriesVersion) {
  const std::string out = BuildHttpError(426, "unsupported Sec-WebSocket-Version");
  EXPECT_EQ(out.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0), 0u);
  EXPECT_NE(out.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_EQ(BuildHttpError(401, "x").find("Sec-WebSocket-Version"), std::string::npos);
}

TEST(HandshakeTest, HttpErrorIsParseableAndLengthMatchesBody) {
  for (int status : {400, 401, 403, 404, 405, 408, 413, 426, 429, 431, 500, 503}) {
    const std::string out = BuildHttpError(status, "some reason");
    const size_t blank = out.find("\r\n\r\n");
    ASSERT_NE(blank, std::string::npos);
    EXPECT_EQ(out.substr(blank + 4), "some reason\n");
    EXPECT_NE(out.find("Content-Length: 12\r\n"), std::string::npos);
    // Built with append: g++ 12 misreports -Wrestrict on operator+ chains at -O3.
    std::string status_line_end = " ";
    status_line_end.append(StatusText(status)).append("\r\n");
    EXPECT_NE(out.find(status_line_end), std::string::npos);
  }
}

TEST(HandshakeTest, StatusText) {
  EXPECT_EQ(StatusText(101), "Switching Protocols");
  EXPECT_EQ(StatusText(200), "OK");
  EXPECT_EQ(StatusText(400), "Bad Request");
  EXPECT_EQ(StatusText(401), "Unauthorized");
  EXPECT_EQ(StatusText(403), "Forbidden");
  EXPECT_EQ(StatusText(404), "Not Found");
  EXPECT_EQ(StatusText(405), "Method Not Allowed");
  EXPECT_EQ(StatusText(408), "Request Timeout");
  EXPECT_EQ(StatusText(413), "Content Too Large");
  EXPECT_EQ(StatusText(426), "Upgrade Required");
  EXPECT_EQ(StatusText(429), "Too Many Requests");
  EXPECT_EQ(StatusText(431), "Request Header Fields Too Large");
  EXPECT_EQ(StatusText(500), "Internal Server Error");
  EXPECT_EQ(StatusText(503), "Service Unavailable");
  EXPECT_EQ(StatusText(418), "Unknown");
}

TEST(HandshakeTest, QueryParamDecoding) {
  EXPECT_EQ(QueryParam("user=bob%20smith", "user"), "bob smith");
  EXPECT_EQ(QueryParam("user=bob+smith", "user"), "bob smith");
  EXPECT_EQ(QueryParam("user=a%2Bb%2fc", "user"), "a+b/c");
  EXPECT_EQ(QueryParam("token=abc&user=bob", "user"), "bob");
  EXPECT_EQ(QueryParam("token=abc&user=bob", "token"), "abc");
  EXPECT_EQ(QueryParam("x=%E2%9C%93", "x"), "\xE2\x9C\x93");
  EXPECT_EQ(QueryParam("a=1=2", "a"), "1=2");
}

TEST(HandshakeTest, QueryParamMissingAndEmpty) {
  EXPECT_EQ(QueryParam("", "user"), std::nullopt);
  EXPECT_EQ(QueryParam("token=abc", "user"), std::nullopt);
  EXPECT_EQ(QueryParam("username=bob", "user"), std::nullopt);
  EXPECT_EQ(QueryParam("user=", "user"), "");
  EXPECT_EQ(QueryParam("user", "user"), "");
  EXPECT_EQ(QueryParam("a=1&user&b=2", "user"), "");
  EXPECT_EQ(QueryParam("&&user=x&&", "user"), "x");
}

TEST(HandshakeTest, QueryParamMalformedEscape) {
  EXPECT_EQ(QueryParam("user=%zz", "user"), std::nullopt);
  EXPECT_EQ(QueryParam("user=abc%", "user"), std::nullopt);
  EXPECT_EQ(QueryParam("user=abc%2", "user"), std::nullopt);
  EXPECT_EQ(QueryParam("user=%g1", "user"), std::nullopt);
  // A malformed escape in another parameter does not matter.
  EXPECT_EQ(QueryParam("junk=%zz&user=bob", "user"), "bob");
  EXPECT_EQ(QueryParam("%zz=1&user=bob", "user"), "bob");
}

TEST(HandshakeTest, QueryParamRepeatedNameTakesFirst) {
  EXPECT_EQ(QueryParam("user=first&user=second", "user"), "first");
  EXPECT_EQ(QueryParam("user=%zz&user=second", "user"), std::nullopt);
}

TEST(HandshakeTest, QueryParamDecodesNames) {
  EXPECT_EQ(QueryParam("us%65r=bob", "user"), "bob");
  EXPECT_EQ(QueryParam("my+name=v", "my name"), "v");
}

}  // namespace
}  // namespace ringcast::net
