// Users, direct messages and the HTTP API for backends, across 2 shards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr char kApiKey[] = "api-test-key";

std::string Http(uint16_t port, const std::string& method, const std::string& path,
                 const std::string& body = "", const std::string& extra = "") {
  WsClient c;
  if (!c.ConnectTcp(port)) return "connect failed";
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra;
  if (!body.empty() || method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return c.RawHttp(req + "\r\n" + body);
}

std::string StatusOf(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}
std::string BodyOf(const std::string& response) {
  size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

TEST(ApiTest, BackendFollowsStatusAndSendsToBothConnectionsOfAUser) {
  auto options = TestServerOptions(2);
  options.api_key = kApiKey;
  options.events_room = "$events";
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient backend;
  ASSERT_TRUE(backend.Connect(server.port(), std::string("/ws?apikey=") + kApiKey));
  ASSERT_TRUE(backend.ReadWelcome());
  ASSERT_TRUE(Subscribe(backend, "$events", 1));
  std::vector<WsClient> alice = ConnectOnBothShards(server.port(), "alice");
  // The backend saw alice come online (once per connection that stayed or left).
  auto status = backend.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(status);
  EXPECT_EQ(JsonString(JsonField(*status, "data"), "user"), "alice");
  EXPECT_EQ(JsonUint(JsonField(*status, "data"), "status"), 1u);
  // Push to alice over HTTP: both connections get it, on both shards.
  std::string r = Http(server.port(), "POST", "/api/send", R"({"to":"alice","data":{"n":1}})",
                       std::string("Authorization: apikey ") + kApiKey + "\r\n");
  ASSERT_EQ(StatusOf(r), "HTTP/1.1 200 OK") << r;
  EXPECT_EQ(BodyOf(r), R"({"delivered":)" + std::to_string(alice.size()) + "}");
  for (auto& conn : alice) {
    auto m = conn.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    EXPECT_EQ(JsonMinify(*m), R"({"op":"msg","from":"$server","data":{"n":1}})");
  }
  // Nobody by that name: delivered 0. Without the key: 401.
  r = Http(server.port(), "POST", "/api/send", R"({"to":"nobody","data":1})",
           std::string("Authorization: apikey ") + kApiKey + "\r\n");
  EXPECT_EQ(BodyOf(r), R"({"delivered":0})");
  r = Http(server.port(), "POST", "/api/send", R"({"to":"alice","data":1})");
  EXPECT_EQ(StatusOf(r), "HTTP/1.1 401 Unauthorized");
  // Disconnect: every connection of alice gets bye and is closed.
  r = Http(server.port(), "POST", "/api/disconnect", R"({"user":"alice"})",
           std::string("Authorization: apikey ") + kApiKey + "\r\n");
  ASSERT_EQ(StatusOf(r), "HTTP/1.1 200 OK") << r;
  for (auto& conn : alice) {
    auto bye = conn.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(bye);
    EXPECT_EQ(JsonString(*bye, "op"), "bye");
    EXPECT_EQ(JsonBool(*bye, "reconnect"), false);
    auto code = conn.WaitClose(kReadTimeoutMs);
    ASSERT_TRUE(code);
    EXPECT_EQ(*code, 1008);
  }
}

TEST(ApiTest, SendBetweenUsersAndNoSuchUser) {
  InProcessServer server(TestServerOptions(2));
  ASSERT_FALSE(server.Start().has_value());
  std::vector<WsClient> bob = ConnectOnBothShards(server.port(), "bob");
  WsClient carol;
  ASSERT_TRUE(carol.Connect(server.port(), "/ws?user=carol", "127.0.0.200"));
  ASSERT_TRUE(carol.ReadWelcome());
  carol.SendText(R"({"op":"send","to":"bob","data":"hey","id":1})");
  EXPECT_TRUE(NextIsOk(carol, 1));
  for (auto& conn : bob) {
    auto m = conn.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    EXPECT_EQ(JsonMinify(*m), R"({"op":"msg","from":"carol","data":"hey"})");
  }
  carol.SendText(R"({"op":"send","to":["ghost","phantom"],"data":1,"id":2})");
  EXPECT_TRUE(NextIsError(carol, "no_such_user", 2));
  carol.SendText(R"({"op":"send","to":["ghost","bob"],"data":2,"id":3})");
  EXPECT_TRUE(NextIsOk(carol, 3)) << "reaching any of the users is a success";
  // A user's last connection gone: no such user any more, once the server has seen the
  // closes (each shard tells the owner of "@bob" on its own): ask until it answers so.
  for (auto& conn : bob) conn.Close();
  std::string reply;
  EXPECT_TRUE(WaitUntil(
      [&] {
        carol.SendText(R"({"op":"send","to":"bob","data":3,"id":4})");
        reply = carol.ReadMessage(kReadTimeoutMs).value_or("no reply");
        return JsonString(reply, "op") != "ok" || JsonUint(reply, "id") != 4u;
      },
      kReadTimeoutMs))
      << "bob is still reachable after closing every connection";
  EXPECT_EQ(JsonString(reply, "code"), "no_such_user") << reply;
  EXPECT_EQ(JsonUint(reply, "id"), 4u) << reply;
}

TEST(ApiTest, PublishStatsMetricsAndErrors) {
  auto options = TestServerOptions(2);
  options.namespaces["h"].history_size = 10;
  InProcessServer server(options);
  ASSERT_FALSE(server.Start().has_value());
  WsClient sub;
  ASSERT_TRUE(ConnectWelcomed(sub, server.port()));
  ASSERT_TRUE(Subscribe(sub, "news", 1));
  // No key configured: loopback clients may use the API.
  std::string r = Http(server.port(), "POST", "/api/publish", R"({"room":"news","data":[1,2]})");
  ASSERT_EQ(StatusOf(r), "HTTP/1.1 200 OK") << r;
  EXPECT_EQ(BodyOf(r), "{}");
  auto m = sub.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(m);
  EXPECT_EQ(JsonMinify(*m), R"({"op":"msg","room":"news","from":"$server","data":[1,2]})");
  r = Http(server.port(), "POST", "/api/publish", R"({"room":"h:x","data":1})");
  EXPECT_EQ(BodyOf(r), R"({"seq":1})") << "history rooms answer the seq";
  r = Http(server.port(), "POST", "/api/publish", R"({"data":1})");
  EXPECT_EQ(StatusOf(r), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(JsonString(BodyOf(r), "error"), "bad_command");
  r = Http(server.port(), "POST", "/api/publish", "{oops");
  EXPECT_EQ(JsonString(BodyOf(r), "error"), "bad_json");
  r = Http(server.port(), "GET", "/api/publish");
  EXPECT_EQ(StatusOf(r), "HTTP/1.1 405 Method Not Allowed");
  r = Http(server.port(), "POST", "/api/publish", std::string(2 << 20, 'x'));
  EXPECT_EQ(StatusOf(r), "HTTP/1.1 413 Content Too Large");
  r = Http(server.port(), "GET", "/api/stats");
  ASSERT_EQ(StatusOf(r), "HTTP/1.1 200 OK");
  // The WebSocket subscriber and this API client, at least.
  EXPECT_GE(JsonUint(JsonField(BodyOf(r), "total"), "connections").value_or(0), 2u) << BodyOf(r);
  EXPECT_GE(JsonUint(JsonField(BodyOf(r), "total"), "deliveries").value_or(0), 1u);
  r = Http(server.port(), "GET", "/metrics");
  ASSERT_EQ(StatusOf(r), "HTTP/1.1 200 OK");
  std::string body = BodyOf(r);
  EXPECT_NE(body.find("# TYPE ringcast_deliveries_total counter"), std::string::npos);
  EXPECT_NE(body.find("ringcast_connections{shard=\"all\"} "), std::string::npos) << body;
  EXPECT_NE(body.find("ringcast_bus_queue_depth{shard=\"0\"}"), std::string::npos);
  EXPECT_EQ(StatusOf(Http(server.port(), "GET", "/healthz")), "HTTP/1.1 200 OK");
}

TEST(ApiTest, KeepAliveAnswersPipelinedRequestsInOrder) {
  InProcessServer server(TestServerOptions(2));
  ASSERT_FALSE(server.Start().has_value());
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string two =
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /api/publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Content-Length: 25\r\n\r\n"
      R"({"room":"ka","data":true})"
      "GET /api/stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(fd, two.data(), two.size(), 0), static_cast<ssize_t>(two.size()));
  std::string got;
  char buf[8192];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;  // the server closed after the third, as asked
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t first = got.find("HTTP/1.1 200 OK");
  size_t second = got.find("HTTP/1.1 200 OK", first + 1);
  size_t third = got.find("HTTP/1.1 200 OK", second + 1);
  ASSERT_NE(third, std::string::npos) << got;
  EXPECT_NE(got.find("ok\n"), std::string::npos);
  EXPECT_LT(got.find("{}"), third) << "the publish answer comes second";
  EXPECT_NE(got.find("\"node\""), std::string::npos) << "stats last";
  EXPECT_NE(got.find("Connection: close"), std::string::npos);
}

}  // namespace
}  // namespace ringcast::testing
