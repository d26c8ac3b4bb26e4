// GET /dashboard on the real binary (ChildServer): the page comes as
// text/html with a Content-Security-Policy that admits its one inline
// script and one inline style by hash (recomputed here from the body that
// was served, so an edit of the page that the policy does not follow
// fails) and nothing else but same-origin fetches; and the HTTP API's
// guard applies to it exactly as to /api/stats: Host (421), Origin (403),
// the key (401), the method (405). That the page works in a browser under
// that policy is tests/interop/dashboard_test.js.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

#ifndef RINGCAST_BINARY
#error "RINGCAST_BINARY must name the built ringcast executable"
#endif

namespace ringcast::testing {
namespace {

constexpr char kKey[] = "dashboard-key";

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower case; last one wins
  int header_count = 0;
  std::string body;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One request (Connection: close) on a fresh connection, its response parsed.
Response Call(uint16_t port, const std::string& method, const std::string& target,
              const std::string& headers) {
  WsClient c;
  if (!c.ConnectTcp(port)) return {};
  std::string raw = c.RawHttp(
      method + " " + target + " HTTP/1.1\r\n" + headers + "Connection: close\r\n\r\n", 5000);
  Response r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.body = raw.substr(end + 4);
  size_t line = raw.find("\r\n") + 2;
  while (line < end) {
    const size_t next = raw.find("\r\n", line);
    const std::string h = raw.substr(line, next - line);
    const size_t colon = h.find(": ");
    if (colon != std::string::npos) {
      r.headers[Lower(h.substr(0, colon))] = h.substr(colon + 2);
      ++r.header_count;
    }
    line = next + 2;
  }
  return r;
}

std::string HostOf(uint16_t port) { return "Host: 127.0.0.1:" + std::to_string(port) + "\r\n"; }

// The text between <tag> and </tag>, which must occur once.
std::string Inline(const std::string& html, const std::string& tag) {
  const size_t open = html.find("<" + tag + ">");
  const size_t close = html.find("</" + tag + ">");
  EXPECT_NE(open, std::string::npos) << tag;
  EXPECT_NE(close, std::string::npos) << tag;
  if (open == std::string::npos || close == std::string::npos) return "";
  EXPECT_EQ(html.find("<" + tag, open + 1), std::string::npos) << "a second " << tag;
  const size_t body = open + tag.size() + 2;
  return html.substr(body, close - body);
}

std::string Sha256Base64(const std::string& text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  std::array<unsigned char, 64> b64;
  const int n = EVP_EncodeBlock(b64.data(), digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<const char*>(b64.data()), n);
}

// Directive name -> its sources, from a policy "a x y; b z".
std::map<std::string, std::string> Directives(const std::string& csp) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at < csp.size()) {
    size_t end = csp.find(';', at);
    if (end == std::string::npos) end = csp.size();
    std::string d = csp.substr(at, end - at);
    while (!d.empty() && d.front() == ' ') d.erase(0, 1);
    const size_t space = d.find(' ');
    EXPECT_TRUE(
        out.emplace(d.substr(0, space), space == std::string::npos ? "" : d.substr(space + 1))
            .second)
        << "repeated directive in " << csp;
    at = end + 1;
  }
  return out;
}

class DashboardTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& args) {
    ASSERT_TRUE(child_.StartListening(args)) << child_.Stderr();
    port_ = child_.port();
  }

  ChildServer child_{RINGCAST_BINARY};
  uint16_t port_ = 0;
};

TEST_F(DashboardTest, ServesTheEmbeddedPageUnderAStrictPolicyThatAdmitsItsOwnScript) {
  Start({"--shards", "2"});
  Response r = Call(port_, "GET", "/dashboard", HostOf(port_));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(r.headers["referrer-policy"], "no-referrer");
  EXPECT_EQ(r.body.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(r.body.find("fetch('/api/stats'"), std::string::npos) << "the page reads the API";

  const std::string csp = r.headers["content-security-policy"];
  std::map<std::string, std::string> d = Directives(csp);
  EXPECT_EQ(d["default-src"], "'none'");
  EXPECT_EQ(d["script-src"], "'sha256-" + Sha256Base64(Inline(r.body, "script")) + "'");
  EXPECT_EQ(d["style-src"], "'sha256-" + Sha256Base64(Inline(r.body, "style")) + "'");
  EXPECT_EQ(d["connect-src"], "'self'");
  EXPECT_EQ(d["frame-ancestors"], "'none'");
  EXPECT_EQ(d["base-uri"], "'none'");
  EXPECT_EQ(d["form-action"], "'none'");
  for (const char* loose : {"unsafe-inline", "unsafe-eval", "*", "http:", "https:", "nonce-"}) {
    EXPECT_EQ(csp.find(loose), std::string::npos) << loose << " in " << csp;
  }
  // Nothing the policy would refuse is in the page: no script from
  // elsewhere, no inline handler or style attribute.
  for (const char* banned :
       {"<script src", " onclick=", " onload=", " style=\"", "http://", "https://"}) {
    EXPECT_EQ(r.body.find(banned), std::string::npos) << banned;
  }

  Response head = Call(port_, "HEAD", "/dashboard", HostOf(port_));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["content-length"], std::to_string(r.body.size()));
  EXPECT_EQ(head.headers["content-security-policy"], csp);
}

// Without a key, as /api/stats: a loopback client naming this server and
// sending no foreign Origin gets it; a DNS-rebinding Host or a page of
// another site does not.
TEST_F(DashboardTest, WithoutAKeyTheApiGuardAppliesAsToTheApi) {
  Start({"--shards", "1"});
  struct Case {
    std::string method;
    std::string headers;
    int status;
  };
  const std::vector<Case> cases = {
      {"GET", HostOf(port_), 200},
      {"GET", "Host: localhost\r\n", 200},
      {"GET", "Host: attacker.example:" + std::to_string(port_) + "\r\n", 421},
      {"GET", "", 421},  // no Host at all
      {"GET", HostOf(port_) + "Origin: http://attacker.example\r\n", 403},
      {"POST", HostOf(port_) + "Content-Length: 0\r\n", 405},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.headers);
    Response page = Call(port_, c.method, "/dashboard", c.headers);
    Response api = Call(port_, c.method, "/api/stats", c.headers);
    EXPECT_EQ(page.status, c.status) << page.body;
    EXPECT_EQ(api.status, c.status) << "as for the API";
    if (c.status != 200) {
      EXPECT_EQ(page.body, api.body) << "the same refusal";
      EXPECT_EQ(page.headers.count("content-security-policy"), 0u);
    }
  }
}

// With api.key the page is the key holder's, like the API: the header or
// the apikey query parameter (what a browser link can carry) opens it.
TEST_F(DashboardTest, WithAKeyThePageNeedsIt) {
  Start({"--shards", "1", "--api-key", kKey});
  const std::string host = HostOf(port_);
  const std::string auth = std::string("Authorization: apikey ") + kKey + "\r\n";
  struct Case {
    std::string query;
    std::string headers;
    int status;
  };
  const std::vector<Case> cases = {
      {"", host, 401},
      {"", host + "Authorization: apikey wrong\r\n", 401},
      {"?apikey=wrong", host, 401},
      {"", host + auth, 200},
      {std::string("?apikey=") + kKey, host, 200},
      // The key authenticates; Origin and Host are not checked then (no api.hosts).
      {std::string("?apikey=") + kKey, "Host: dashboard.example\r\nOrigin: https://x.example\r\n",
       200},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query + " " + c.headers);
    Response page = Call(port_, "GET", "/dashboard" + c.query, c.headers);
    Response api = Call(port_, "GET", "/api/stats" + c.query, c.headers);
    EXPECT_EQ(page.status, c.status) << page.body;
    EXPECT_EQ(api.status, c.status) << "as for the API";
    if (c.status == 200) {
      EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
    } else {
      EXPECT_EQ(page.body, api.body);
    }
  }
}

// With a key and api.hosts, the Host check comes back for the page too.
TEST_F(DashboardTest, WithAKeyAndApiHostsAnotherHostGets421) {
  Start({"--shards", "1", "--api-key", kKey, "--api-hosts", "dash.example"});
  const std::string auth = std::string("Authorization: apikey ") + kKey + "\r\n";
  EXPECT_EQ(Call(port_, "GET", "/dashboard", "Host: dash.example\r\n" + auth).status, 200);
  EXPECT_EQ(Call(port_, "GET", "/dashboard", HostOf(port_) + auth).status, 421);
}

}  // namespace
}  // namespace ringcast::testing
