// ApiGuard: which Host, Origin and Content-Type headers an HTTP API request
// may carry, with and without api.key and api.hosts.
#include "shard/api_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace ringcast::shard {
namespace {

struct Parsed {
  std::string raw;
  net::HttpRequest req;
};

// Parses a POST whose head holds `headers` (each ending in \r\n).
void Parse(const std::string& headers, Parsed* out) {
  out->raw = "POST /api/publish HTTP/1.1\r\n" + headers + "\r\n";
  ASSERT_EQ(net::ParseHttpHead(out->raw, 8192, &out->req).status, net::HttpParseStatus::kComplete)
      << out->raw;
}

// The status CheckSite refuses `headers` with, 0 when it lets them through.
int SiteStatus(const ServerOptions& options, const std::string& headers) {
  ApiGuard guard(options);
  Parsed p;
  Parse(headers, &p);
  std::optional<ApiGuard::Refusal> refusal = guard.CheckSite(p.req);
  return refusal ? refusal->status : 0;
}

int BodyStatus(const std::string& headers) {
  Parsed p;
  Parse(headers, &p);
  std::optional<ApiGuard::Refusal> refusal = ApiGuard::CheckBody(p.req);
  return refusal ? refusal->status : 0;
}

TEST(ApiGuardTest, WithoutAKeyOnlyLoopbackNamesAndTheListenAddress) {
  ServerOptions o;
  o.listen_host = "10.0.0.5";
  for (std::string host : {"localhost", "LocalHost:8080", "127.0.0.1", "127.0.0.1:1", "[::1]",
                           "[::1]:8080", "10.0.0.5:8080"}) {
    EXPECT_EQ(SiteStatus(o, "Host: " + host + "\r\n"), 0) << host;
  }
  for (std::string host : {"evil.example", "localhost.evil.example", "127.0.0.2", "10.0.0.6",
                           "[::2]", "localhost:x", ""}) {
    EXPECT_EQ(SiteStatus(o, "Host: " + host + "\r\n"), 421) << host;
  }
  EXPECT_EQ(SiteStatus(o, ""), 421) << "no Host";
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\nHost: localhost\r\n"), 421) << "two Hosts";
  o.listen_host = "0.0.0.0";
  EXPECT_EQ(SiteStatus(o, "Host: 0.0.0.0\r\n"), 421) << "the wildcard address is no name";
  o.listen_host = "::";
  EXPECT_EQ(SiteStatus(o, "Host: [::]\r\n"), 421);
  o.listen_host = "fd00::1";
  EXPECT_EQ(SiteStatus(o, "Host: [fd00::1]:8080\r\n"), 0);
}

TEST(ApiGuardTest, ApiHostsReplaceTheDefaultAndPinPortsWhenGiven) {
  ServerOptions o;
  o.api_hosts = {"api.example.com", "internal:9000"};
  EXPECT_EQ(SiteStatus(o, "Host: API.example.com:443\r\n"), 0);
  EXPECT_EQ(SiteStatus(o, "Host: internal:9000\r\n"), 0);
  EXPECT_EQ(SiteStatus(o, "Host: internal:9001\r\n"), 421);
  EXPECT_EQ(SiteStatus(o, "Host: internal\r\n"), 421);
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\n"), 421);
  o.api_key = "k";  // set explicitly, the list holds with a key too
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\n"), 421);
}

TEST(ApiGuardTest, WithAKeyAnyHostAndOrigin) {
  ServerOptions o;
  o.api_key = "k";
  EXPECT_EQ(SiteStatus(o, "Host: 203.0.113.9:8080\r\nOrigin: https://evil.example\r\n"), 0);
  EXPECT_EQ(SiteStatus(o, ""), 0);
}

TEST(ApiGuardTest, WithoutAKeyAnOriginIsRefusedUnlessListed) {
  ServerOptions o;
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\nOrigin: http://localhost:8080\r\n"), 403)
      << "no origins configured: every Origin is a browser's";
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\nOrigin: null\r\n"), 403);
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\nOrigin: \r\n"), 403) << "present though empty";
  o.origins = {"https://app.example"};
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\nOrigin: HTTPS://APP.example\r\n"), 0);
  EXPECT_EQ(SiteStatus(o, "Host: localhost\r\nOrigin: https://app.example.evil\r\n"), 403);
  EXPECT_EQ(SiteStatus(o,
                       "Host: localhost\r\nOrigin: https://app.example\r\n"
                       "Origin: https://evil.example\r\n"),
            403);
}

TEST(ApiGuardTest, BodiesMustBeJson) {
  EXPECT_EQ(BodyStatus("Content-Type: application/json\r\n"), 0);
  EXPECT_EQ(BodyStatus("content-type: Application/JSON ; charset=utf-8\r\n"), 0);
  EXPECT_EQ(BodyStatus("Content-Type: text/plain\r\n"), 415);
  EXPECT_EQ(BodyStatus("Content-Type: application/x-www-form-urlencoded\r\n"), 415);
  EXPECT_EQ(BodyStatus("Content-Type: multipart/form-data; boundary=x\r\n"), 415);
  EXPECT_EQ(BodyStatus("Content-Type: application/jsonp\r\n"), 415);
  EXPECT_EQ(BodyStatus(""), 415);
  EXPECT_EQ(BodyStatus("Content-Type: application/json\r\nContent-Type: text/plain\r\n"), 415);
}

}  // namespace
}  // namespace ringcast::shard
