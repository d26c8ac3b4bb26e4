// The HTTP side of the port under attack: cross-site requests from a browser
// on the same host (a page's simple POST, a DNS-rebinding page), ambiguous
// request framing (Transfer-Encoding, repeated or malformed Content-Length,
// obs-fold), and keep-alive connections held open by trickling bytes.
// Against the real binary (ChildServer) except where time must be moved by
// the test (InProcessServer with a ManualClock).
#include <gtest/gtest.h>

#include <string>

#include "core/clock.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

#ifndef RINGCAST_BINARY
#error "RINGCAST_BINARY must name the built ringcast executable"
#endif

namespace ringcast::testing {
namespace {

constexpr char kKey[] = "hardening-key";

struct Response {
  int status = 0;
  std::string head;
  std::string body;
};

// Reads the next response on a raw connection, from *pos on: its head and
// Content-Length bytes of body. status 0 when none came (EOF or timeout).
Response NextResponse(WsClient& c, size_t* pos) {
  while (true) {
    std::string_view in = c.raw_input().substr(*pos);
    size_t end = in.find("\r\n\r\n");
    if (end != std::string_view::npos) {
      Response r;
      r.head = std::string(in.substr(0, end + 2));
      size_t body = 0;
      size_t at = r.head.find("Content-Length: ");
      if (at != std::string::npos) body = std::stoul(r.head.substr(at + 16));
      if (in.size() >= end + 4 + body) {
        r.status = std::stoi(r.head.substr(9, 3));
        r.body = std::string(in.substr(end + 4, body));
        *pos += end + 4 + body;
        return r;
      }
    }
    if (!c.ReadRaw(kReadTimeoutMs)) return {};
  }
}

// One request on a fresh connection; its one response.
Response Call(uint16_t port, const std::string& request) {
  WsClient c;
  if (!c.ConnectTcp(port)) return {};
  c.SendRaw(request);
  size_t pos = 0;
  return NextResponse(c, &pos);
}

std::string Post(const std::string& path, const std::string& body, const std::string& headers) {
  return "POST " + path + " HTTP/1.1\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string HostOf(uint16_t port) { return "Host: 127.0.0.1:" + std::to_string(port) + "\r\n"; }

constexpr char kJson[] = "Content-Type: application/json\r\n";

// A WebSocket subscriber to `room`, to see whether a publication went through.
void Subscribed(WsClient& sub, uint16_t port, const std::string& room) {
  ASSERT_TRUE(ConnectWelcomed(sub, port));
  ASSERT_TRUE(Subscribe(sub, room, 1));
}

// The data of the next publication `sub` receives.
std::string NextData(WsClient& sub) {
  auto msg = sub.ReadMessage(kReadTimeoutMs);
  return msg ? JsonField(*msg, "data") : "<none>";
}

// ---- cross-site requests (no api.key: the API trusts loopback peers) --------------

class CrossSiteTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--shards", "1"});
    ASSERT_TRUE(child_.StartListening(args)) << child_.Stderr();
    port_ = child_.port();
  }
  ChildServer child_{RINGCAST_BINARY};
  uint16_t port_ = 0;
};

// What a page in a browser on the same host can send without a preflight:
// a text/plain POST. Refused, and nothing is published.
TEST_F(CrossSiteTest, TextPlainPostFromAPageIsRefusedWith415) {
  Start();
  WsClient sub;
  Subscribed(sub, port_, "news");
  Response r = Call(port_, Post("/api/publish", R"({"room":"news","data":"forged"})",
                                HostOf(port_) + "Content-Type: text/plain\r\n"));
  EXPECT_EQ(r.status, 415) << r.head;
  EXPECT_EQ(JsonString(r.body, "error"), "bad_command") << r.body;
  r = Call(port_, Post("/api/publish", R"({"room":"news","data":"no type"})", HostOf(port_)));
  EXPECT_EQ(r.status, 415) << "a POST without Content-Type";
  // application/json with parameters is JSON.
  r = Call(port_, Post("/api/publish", R"({"room":"news","data":"real"})",
                       HostOf(port_) + "Content-Type: application/json; charset=utf-8\r\n"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(NextData(sub), R"("real")") << "the refused publications went out";
}

// A page's cross-site POST carries its Origin: refused, the user stays.
TEST_F(CrossSiteTest, RequestWithAnOriginIsRefusedWith403) {
  Start();
  WsClient alice;
  ASSERT_TRUE(alice.Connect(port_, "/ws?user=alice"));
  ASSERT_TRUE(alice.ReadWelcome());
  const std::string from_page = HostOf(port_) + kJson + "Origin: https://evil.example\r\n";
  Response r = Call(port_, Post("/api/disconnect", R"({"user":"alice"})", from_page));
  EXPECT_EQ(r.status, 403) << r.head;
  EXPECT_EQ(JsonString(r.body, "error"), "not_allowed") << r.body;
  r = Call(port_, "GET /api/stats HTTP/1.1\r\n" + HostOf(port_) + "Origin: null\r\n\r\n");
  EXPECT_EQ(r.status, 403) << "Origin: null (a sandboxed page) is an origin too";
  alice.SendText(R"({"op":"ping","id":5})");
  auto pong = alice.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(pong.has_value()) << "alice was disconnected by a cross-site request";
  EXPECT_EQ(JsonString(*pong, "op"), "pong");
  // A backend (no Origin) is served.
  r = Call(port_, Post("/api/disconnect", R"({"user":"alice"})", HostOf(port_) + kJson));
  EXPECT_EQ(r.status, 200) << r.body;
}

// A DNS-rebinding page reaches 127.0.0.1 under its own name, and same-origin
// for the browser, so it sends no Origin: its Host gives it away.
TEST_F(CrossSiteTest, ForeignHostIsRefusedWith421AndLoopbackNamesAreServed) {
  Start();
  WsClient sub;
  Subscribed(sub, port_, "news");
  const std::string rebound = "Host: rebind.evil.example:" + std::to_string(port_) + "\r\n";
  Response r =
      Call(port_, Post("/api/publish", R"({"room":"news","data":"forged"})", rebound + kJson));
  EXPECT_EQ(r.status, 421) << r.head;
  EXPECT_EQ(JsonString(r.body, "error"), "not_allowed") << r.body;
  r = Call(port_, "GET /api/stats HTTP/1.1\r\n" + rebound + "\r\n");
  EXPECT_EQ(r.status, 421) << "reading stats through a rebound name";
  r = Call(port_, "GET /metrics HTTP/1.1\r\n" + rebound + "\r\n");
  EXPECT_EQ(r.status, 421);
  r = Call(port_, "GET /api/stats HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 421) << "no Host at all";
  for (std::string host : {"localhost", "LOCALHOST:1", "127.0.0.1", "[::1]:8080"}) {
    r = Call(port_, "GET /api/stats HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    EXPECT_EQ(r.status, 200) << host;
  }
  // Load balancers probe /healthz by any name, from anywhere.
  r = Call(port_, "GET /healthz HTTP/1.1\r\n" + rebound + "Origin: https://lb.example\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  r = Call(port_, Post("/api/publish", R"({"room":"news","data":"real"})", HostOf(port_) + kJson));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(NextData(sub), R"("real")") << "the refused publication went out";
}

// Behind a reverse proxy: api.hosts names the public host, the key does
// the authenticating; Origin is not looked at with a key.
TEST_F(CrossSiteTest, ApiHostsAndKeyForAReverseProxy) {
  Start({"--api-key", kKey, "--api-hosts", "api.example.com,internal:9000"});
  const std::string auth = std::string("Authorization: apikey ") + kKey + "\r\n";
  Response r = Call(port_, "GET /api/stats HTTP/1.1\r\nHost: api.example.com\r\n" + auth + "\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call(port_, "GET /api/stats HTTP/1.1\r\nHost: internal:9000\r\n" + auth + "\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call(port_, "GET /api/stats HTTP/1.1\r\nHost: internal:9001\r\n" + auth + "\r\n");
  EXPECT_EQ(r.status, 421) << "a listed name with another port";
  r = Call(port_, "GET /api/stats HTTP/1.1\r\nHost: localhost\r\n" + auth + "\r\n");
  EXPECT_EQ(r.status, 421) << "api.hosts replaces the loopback names";
  r = Call(port_,
           Post("/api/publish", R"({"room":"r","data":1})",
                "Host: api.example.com\r\n" + auth + kJson + "Origin: https://a.example\r\n"));
  EXPECT_EQ(r.status, 200) << "with a key, Origin is not checked: " << r.body;
  r = Call(port_, Post("/api/publish", R"({"room":"r","data":1})",
                       "Host: api.example.com\r\n" + auth + "Content-Type: text/plain\r\n"));
  EXPECT_EQ(r.status, 415) << "bodies are JSON with a key too";
}

TEST_F(CrossSiteTest, WithAKeyAndNoApiHostsAnyHostIsServed) {
  Start({"--api-key", kKey});
  Response r =
      Call(port_, "GET /api/stats HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nAuthorization: apikey " +
                      std::string(kKey) + "\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
}

// The allowed origins of WebSocket upgrades are the API's too; the upgrade's
// own Origin check is as before.
TEST_F(CrossSiteTest, OriginsListAppliesToUpgradesAsBeforeAndAdmitsApiCallers) {
  Start({"--origins", "https://app.example"});
  const std::string upgrade =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  EXPECT_EQ(Call(port_, upgrade + "Origin: https://app.example\r\n\r\n").status, 101);
  EXPECT_EQ(Call(port_, upgrade + "Origin: https://evil.example\r\n\r\n").status, 403);
  Response r = Call(
      port_, "GET /api/stats HTTP/1.1\r\n" + HostOf(port_) + "Origin: https://app.example\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call(port_,
           "GET /api/stats HTTP/1.1\r\n" + HostOf(port_) + "Origin: https://evil.example\r\n\r\n");
  EXPECT_EQ(r.status, 403) << r.body;
}

// ---- request framing ---------------------------------------------------------------

class HttpFramingTest : public CrossSiteTest {
 protected:
  // Sends `request` followed by a valid publication of "smuggled" on one
  // connection: expects one answer `status`, the connection closed after it,
  // and nothing published.
  void ExpectRefusedAndClosed(const std::string& request, int status) {
    WsClient sub;
    Subscribed(sub, port_, "news");
    WsClient c;
    ASSERT_TRUE(c.ConnectTcp(port_));
    c.SendRaw(request +
              Post("/api/publish", R"({"room":"news","data":"smuggled"})", HostOf(port_) + kJson));
    size_t pos = 0;
    Response r = NextResponse(c, &pos);
    EXPECT_EQ(r.status, status) << r.head << r.body;
    EXPECT_NE(r.head.find("Connection: close"), std::string::npos) << r.head;
    EXPECT_TRUE(c.WaitEof(kReadTimeoutMs)) << "the connection stayed open";
    EXPECT_EQ(c.raw_input().size(), pos) << "a second answer came: " << c.raw_input().substr(pos);
    // Nothing from that connection was published: the next publication seen is this one.
    Response ok = Call(
        port_, Post("/api/publish", R"({"room":"news","data":"after"})", HostOf(port_) + kJson));
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(NextData(sub), R"("after")");
  }
  std::string Head(const std::string& extra) {
    return "POST /api/publish HTTP/1.1\r\n" + HostOf(port_) + kJson + extra + "\r\n";
  }
  static constexpr char kBody[] = R"({"room":"news","data":"body!"})";
  static_assert(sizeof(kBody) - 1 == 30, "the heads below say Content-Length: 30");
};

TEST_F(HttpFramingTest, EmptyTransferEncodingIsRefused) {
  Start();
  ExpectRefusedAndClosed(Head("Transfer-Encoding: \r\nContent-Length: 30\r\n") + kBody, 411);
}

TEST_F(HttpFramingTest, TransferEncodingWithContentLengthIsRefusedWhateverItsCase) {
  Start();
  ExpectRefusedAndClosed(Head("Content-Length: 30\r\ntransfer-ENCODING: chunked\r\n") + "1e\r\n" +
                             kBody + "\r\n0\r\n\r\n",
                         411);
}

TEST_F(HttpFramingTest, ConflictingContentLengthsAreRefused) {
  Start();
  ExpectRefusedAndClosed(Head("Content-Length: 30\r\ncontent-length: 0\r\n") + kBody, 400);
}

TEST_F(HttpFramingTest, RepeatedEqualContentLengthsAreRefused) {
  Start();
  ExpectRefusedAndClosed(Head("Content-Length: 30\r\nContent-Length: 30\r\n") + kBody, 400);
}

TEST_F(HttpFramingTest, EmptyOrMalformedContentLengthIsRefused) {
  Start();
  ExpectRefusedAndClosed(Head("Content-Length: \r\n") + kBody, 400);
}

TEST_F(HttpFramingTest, ContentLengthThatOverflowsIsRefused) {
  Start();
  ExpectRefusedAndClosed(Head("Content-Length: 18446744073709551646\r\n") + kBody, 400);
}

TEST_F(HttpFramingTest, SignedOrListContentLengthIsRefused) {
  Start();
  ExpectRefusedAndClosed(Head("Content-Length: 30, 30\r\n") + kBody, 400);
}

TEST_F(HttpFramingTest, ObsFoldIsRefused) {
  Start();
  ExpectRefusedAndClosed(Head("X-A: 1\r\n Content-Length: 30\r\n") + kBody, 400);
}

// Bytes behind an upgrade's head are WebSocket frames; a body would make them
// something else to a proxy.
TEST_F(HttpFramingTest, UpgradeWithABodyOrTransferEncodingIsRefused) {
  Start();
  const std::string upgrade =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  EXPECT_EQ(Call(port_, upgrade + "Content-Length: 4\r\n\r\nabcd").status, 400);
  EXPECT_EQ(Call(port_, upgrade + "Transfer-Encoding: chunked\r\n\r\n").status, 411);
  EXPECT_EQ(Call(port_, upgrade + "Content-Length: 0\r\n\r\n").status, 101);
}

TEST_F(HttpFramingTest, HeadIsAnsweredWithoutABodyAndTheConnectionGoesOn) {
  Start();
  WsClient c;
  ASSERT_TRUE(c.ConnectTcp(port_));
  c.SendRaw("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  size_t pos = 0;
  // Read as GET-less: the HEAD answer has Content-Length 3 but no body, so the
  // next bytes must be the second response's status line.
  ASSERT_TRUE(WaitUntil(
      [&] {
        c.ReadRaw(50);
        return c.raw_input().find("ok\n") != std::string_view::npos;
      },
      kReadTimeoutMs));
  std::string_view in = c.raw_input();
  size_t first_end = in.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string_view::npos);
  EXPECT_EQ(in.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(in.substr(0, first_end).find("Content-Length: 3"), std::string_view::npos);
  EXPECT_EQ(in.substr(first_end + 4, 15), "HTTP/1.1 200 OK") << in;
  pos = first_end + 4;
  Response second = NextResponse(c, &pos);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "ok\n");
}

// ---- keep-alive connections held open by trickling --------------------------------

class TrickleTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kTimeoutMs = 1000;
  void SetUp() override {
    shard::ServerOptions options = TestServerOptions(1);
    options.handshake_timeout_ms = kTimeoutMs;
    server_ = std::make_unique<InProcessServer>(options, &clock_);
    ASSERT_FALSE(server_->Start().has_value());
  }
  // A keep-alive connection that has been served one request.
  void Served(WsClient& c, size_t* pos) {
    ASSERT_TRUE(c.ConnectTcp(server_->port()));
    c.SendRaw("GET /api/stats HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ASSERT_EQ(NextResponse(c, pos).status, 200);
  }
  // Sends `bytes` one at a time, each read by the server on its own, moving
  // the clock `step_ms` after each, until the clock has moved past the
  // deadline by one step: a client that is never idle for long.
  void TrickleToTheDeadline(WsClient& c, const std::string& bytes, uint64_t step_ms) {
    ASSERT_GT(bytes.size() * step_ms, kTimeoutMs + step_ms) << "too few bytes to trickle";
    for (uint64_t moved = 0; moved <= kTimeoutMs; moved += step_ms) {
      c.SendRaw(std::string_view(&bytes[moved / step_ms], 1));
      ASSERT_TRUE(c.WaitServerRead(kReadTimeoutMs)) << "byte " << moved / step_ms;
      clock_.Advance(step_ms);
    }
  }
  core::ManualClock clock_;
  std::unique_ptr<InProcessServer> server_;
};

// Before, each byte restarted the idle time: one byte every 900 ms kept a
// connection for ever. Now the request must be complete 1000 ms after the
// previous one.
TEST_F(TrickleTest, HeadTrickledAfterARequestIsCutOffAtTheDeadline) {
  WsClient c;
  size_t pos = 0;
  Served(c, &pos);
  TrickleToTheDeadline(c, "GET /api/stats HTTP/1.1\r\nHost: localhost\r\n\r\n", 300);
  Response r = NextResponse(c, &pos);
  EXPECT_EQ(r.status, 408) << r.head << r.body;
  EXPECT_NE(r.body.find("request not completed in time"), std::string::npos) << r.body;
  EXPECT_TRUE(c.WaitEof(kReadTimeoutMs));
}

TEST_F(TrickleTest, BodyTrickledAfterARequestIsCutOffAtTheDeadline) {
  WsClient c;
  size_t pos = 0;
  Served(c, &pos);
  const std::string body = R"({"room":"news","data":"a slow body ........................"})";
  c.SendRaw(
      "POST /api/publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  TrickleToTheDeadline(c, body, 300);
  Response r = NextResponse(c, &pos);
  EXPECT_EQ(r.status, 408) << r.head << r.body;
  EXPECT_TRUE(c.WaitEof(kReadTimeoutMs));
}

TEST_F(TrickleTest, IdleKeepAliveConnectionIsClosedAndABusyOneIsNot) {
  WsClient idle, busy;
  size_t idle_pos = 0, busy_pos = 0;
  Served(idle, &idle_pos);
  Served(busy, &busy_pos);
  // busy sends a whole request every 600 ms; each one gives it a new 1000 ms.
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(600);
    busy.SendRaw("GET /api/stats HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ASSERT_EQ(NextResponse(busy, &busy_pos).status, 200) << "request " << i;
  }
  Response r = NextResponse(idle, &idle_pos);
  EXPECT_EQ(r.status, 408) << r.head;
  EXPECT_NE(r.body.find("keep-alive connection idle too long"), std::string::npos) << r.body;
  EXPECT_TRUE(idle.WaitEof(kReadTimeoutMs));
}

}  // namespace
}  // namespace ringcast::testing
