// Identity at the handshake (JWT, user parameter, API key, Origin),
// authorization of sub/pub, and connection status events.
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "proto/jwt.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr char kSecret[] = "e2e-secret";
constexpr char kApiKey[] = "e2e-api-key";

std::string Token(const std::string& claims_without_exp, int64_t exp_in_s = 3600) {
  int64_t exp = static_cast<int64_t>(std::time(nullptr)) + exp_in_s;
  std::string payload = "{" + claims_without_exp + (claims_without_exp.empty() ? "" : ",") +
                        "\"exp\":" + std::to_string(exp) + "}";
  return proto::SignJwtHs256(payload, kSecret);
}

std::string StatusLine(uint16_t port, const std::string& path, const std::string& extra = "") {
  WsClient c;
  if (!c.ConnectTcp(port)) return "connect failed";
  std::string response = c.RawHttp("GET " + path +
                                   " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
                                   extra + "\r\n");
  return response.substr(0, response.find("\r\n"));
}

shard::ServerOptions AuthOptions() {
  auto options = TestServerOptions(2);
  options.jwt_secret = kSecret;
  options.api_key = kApiKey;
  options.events_room = "$events";
  return options;
}

TEST(AuthTest, ValidTokenNamesTheUser) {
  InProcessServer server(AuthOptions());
  ASSERT_FALSE(server.Start().has_value());
  WsClient c;
  ASSERT_TRUE(c.Connect(server.port(), "/ws?token=" + Token(R"("sub":"alice")")));
  ASSERT_TRUE(c.ReadWelcome());
  EXPECT_EQ(c.user(), "alice");
  WsClient bearer;  // the same through Authorization: Bearer
  std::string line =
      StatusLine(server.port(), "/ws", "Authorization: Bearer " + Token(R"("sub":"bob")") + "\r\n");
  EXPECT_EQ(line, "HTTP/1.1 101 Switching Protocols");
}

TEST(AuthTest, BadTokensGet401AndNeverUpgrade) {
  InProcessServer server(AuthOptions());
  ASSERT_FALSE(server.Start().has_value());
  uint16_t port = server.port();
  EXPECT_EQ(StatusLine(port, "/ws"), "HTTP/1.1 401 Unauthorized") << "no token";
  EXPECT_EQ(StatusLine(port, "/ws?token=" + Token(R"("sub":"a")", -60)),
            "HTTP/1.1 401 Unauthorized")
      << "expired";
  std::string forged = proto::SignJwtHs256(R"({"sub":"a"})", "another-secret");
  EXPECT_EQ(StatusLine(port, "/ws?token=" + forged), "HTTP/1.1 401 Unauthorized") << "bad sig";
  EXPECT_EQ(StatusLine(port, "/ws?token=not.a.jwt"), "HTTP/1.1 401 Unauthorized") << "malformed";
  EXPECT_EQ(StatusLine(port, "/ws?token=" + Token("")), "HTTP/1.1 401 Unauthorized") << "no sub";
  EXPECT_EQ(StatusLine(port, "/ws?user=mallory"), "HTTP/1.1 401 Unauthorized")
      << "the user parameter is not an identity when JWT is on";
  EXPECT_EQ(StatusLine(port, "/ws?apikey=wrong"), "HTTP/1.1 401 Unauthorized") << "bad API key";
}

TEST(AuthTest, ClaimsLimitWhereAUserMaySubscribeAndPublish) {
  InProcessServer server(AuthOptions());
  ASSERT_FALSE(server.Start().has_value());
  WsClient c;
  ASSERT_TRUE(c.Connect(
      server.port(),
      "/ws?token=" + Token(R"("sub":"carol","rooms":["chat:*","news"],"pub":["chat:*"])")));
  ASSERT_TRUE(c.ReadWelcome());
  EXPECT_TRUE(Subscribe(c, "chat:1", 1));
  EXPECT_TRUE(Subscribe(c, "news", 2));
  c.SendText(R"({"op":"sub","room":"secret","id":3})");
  EXPECT_TRUE(NextIsError(c, "not_allowed", 3));
  c.SendText(PubCommand("news", "1", 4));
  EXPECT_TRUE(NextIsError(c, "not_allowed", 4));
  c.SendText(PubCommand("chat:1", "\"hi\"", 5));
  bool ok = false, msg = false;
  for (int i = 0; i < 2; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    ok |= JsonString(*m, "op") == "ok";
    msg |= JsonString(*m, "op") == "msg";
  }
  EXPECT_TRUE(ok && msg);
  // Personal rooms and the events room belong to the server.
  c.SendText(R"({"op":"sub","room":"@dave","id":6})");
  EXPECT_TRUE(NextIsError(c, "not_allowed", 6));
  c.SendText(R"({"op":"sub","room":"$events","id":7})");
  EXPECT_TRUE(NextIsError(c, "not_allowed", 7));
}

TEST(AuthTest, OriginIsCheckedWhenConfigured) {
  auto options = TestServerOptions(1);
  options.origins = {"https://app.example"};
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  EXPECT_EQ(StatusLine(server.port(), "/ws", "Origin: https://evil.example\r\n"),
            "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(StatusLine(server.port(), "/ws", "Origin: https://app.example\r\n"),
            "HTTP/1.1 101 Switching Protocols");
}

TEST(AuthTest, BackendWithApiKeyFollowsStatusEvents) {
  InProcessServer server(AuthOptions());
  ASSERT_FALSE(server.Start().has_value());
  WsClient backend;
  ASSERT_TRUE(backend.Connect(server.port(), std::string("/ws?apikey=") + kApiKey));
  ASSERT_TRUE(backend.ReadWelcome());
  EXPECT_EQ(backend.user(), "$server");
  ASSERT_TRUE(Subscribe(backend, "$events", 1));
  std::string sid;
  {
    WsClient user;
    ASSERT_TRUE(user.Connect(server.port(), "/ws?token=" + Token(R"("sub":"erin")"), "127.0.0.2"));
    ASSERT_TRUE(user.ReadWelcome());
    sid = user.sid();
    auto up = backend.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(up);
    EXPECT_EQ(JsonString(*up, "room"), "$events");
    EXPECT_EQ(JsonString(*up, "from"), "$server");
    EXPECT_EQ(JsonMinify(JsonField(*up, "data")),
              R"({"status":1,"user":"erin","sid":")" + sid + R"("})");
  }  // the user disconnects
  auto down = backend.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(down);
  EXPECT_EQ(JsonMinify(JsonField(*down, "data")),
            R"({"status":0,"user":"erin","sid":")" + sid + R"("})");
  // The server may publish anywhere, also into a client-publish-free namespace.
  backend.SendText(PubCommand("@erin", "\"direct\"", 2));
  auto ok = backend.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(ok);
  EXPECT_EQ(JsonString(*ok, "op"), "ok");
}

TEST(AuthTest, NamespaceCanForbidClientPublishing) {
  auto options = TestServerOptions(1);
  options.namespaces["feed"].client_publish = false;
  options.namespaces["feed"].presence = false;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient c;
  ASSERT_TRUE(ConnectWelcomed(c, server.port()));
  EXPECT_TRUE(Subscribe(c, "feed:x", 1));
  c.SendText(PubCommand("feed:x", "1", 2));
  EXPECT_TRUE(NextIsError(c, "not_allowed", 2));
  c.SendText(R"({"op":"sub","room":"feed:y","presence":true,"id":3})");
  EXPECT_TRUE(NextIsError(c, "not_allowed", 3));
}

}  // namespace
}  // namespace ringcast::testing
