// HttpApi's route table on simulated shards (shard_harness.h): methods,
// unknown paths, access with and without api.key, publish, healthz while
// draining, refused bodies, and pipelined keep-alive requests in order.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/unit/shard/shard_harness.h"

namespace ringcast::shard {
namespace {

using harness::Client;
using harness::Cluster;
using harness::HttpRequest;
using harness::HttpResponse;
using harness::JsonField;
using harness::Msg;
using harness::Sub;
using Texts = std::vector<std::string>;

constexpr std::string_view kKey = "k3y";
constexpr std::string_view kAuth = "Authorization: apikey k3y\r\n";

struct RouteCase {
  std::string path;
  std::string method;  // the right one
  std::string body;    // a valid body for POST routes
};

// Every route of HttpApi::Dispatch, with a request it serves.
std::vector<RouteCase> Routes() {
  return {
      {"/healthz", "GET", ""},
      {"/metrics", "GET", ""},
      {"/api/stats", "GET", ""},
      {"/dashboard", "GET", ""},
      {"/api/presence?room=lobby", "GET", ""},
      {"/api/publish", "POST", R"({"room":"lobby","data":1})"},
      {"/api/send", "POST", R"({"to":"nobody","data":1})"},
      {"/api/disconnect", "POST", R"({"user":"nobody"})"},
  };
}

ServerOptions WithKey() {
  ServerOptions o;
  o.api_key = std::string(kKey);
  return o;
}

std::string ErrorBody(std::string_view code, std::string_view reason) {
  return R"({"error":")" + std::string(code) + R"(","reason":")" + std::string(reason) + R"("})";
}

// Sends `request` on a fresh connection to `shard`, settles, returns the answers.
std::vector<HttpResponse> Call(Cluster& cluster, unsigned shard, const std::string& request) {
  Client c = cluster.Open(shard);
  c.Write(request);
  cluster.Settle();
  return c.Responses();
}

// One answer expected; returns it (or an empty one).
HttpResponse CallOne(Cluster& cluster, unsigned shard, const std::string& request) {
  std::vector<HttpResponse> r = Call(cluster, shard, request);
  EXPECT_EQ(r.size(), 1u) << request;
  return r.empty() ? HttpResponse{} : r[0];
}

TEST(HttpApiRoutesTest, EveryRouteWithTheWrongMethodGets405) {
  Cluster cluster(WithKey());
  for (const RouteCase& route : Routes()) {
    std::vector<std::string> wrong = route.method == "GET"
                                         ? std::vector<std::string>{"POST", "PUT", "DELETE"}
                                         : std::vector<std::string>{"GET", "PUT", "PATCH"};
    for (const std::string& method : wrong) {
      SCOPED_TRACE(method + " " + route.path);
      std::string body = method == "GET" ? "" : route.body;
      HttpResponse r = CallOne(cluster, 0, HttpRequest(method, route.path, body, kAuth));
      EXPECT_EQ(r.status, 405);
      EXPECT_EQ(r.body, ErrorBody("bad_command", route.method == "GET" ? "use GET" : "use POST"));
      EXPECT_EQ(r.Header("connection"), "keep-alive");
    }
    // ...and with the right one it is served.
    SCOPED_TRACE(route.method + " " + route.path);
    HttpResponse ok = CallOne(cluster, 0, HttpRequest(route.method, route.path, route.body, kAuth));
    EXPECT_EQ(ok.status, 200) << ok.body;
  }
}

TEST(HttpApiRoutesTest, UnknownPathGets426EvenWithoutAKey) {
  Cluster cluster(WithKey());
  const std::string body =
      ErrorBody("bad_command", "not an API path: WebSocket clients must send an Upgrade request");
  for (std::string path : {"/", "/ws", "/nope", "/api", "/api/stats/", "/API/stats", "/healthz/x",
                           "/api/publishx", "/metrics.txt"}) {
    SCOPED_TRACE(path);
    HttpResponse with_key = CallOne(cluster, 0, HttpRequest("GET", path, "", kAuth));
    EXPECT_EQ(with_key.status, 426);
    EXPECT_EQ(with_key.body, body);
    HttpResponse without = CallOne(cluster, 1, HttpRequest("POST", path, "{}"));
    EXPECT_EQ(without.status, 426) << "the path is checked before access";
  }
}

// Without api.key only loopback peers are served. A fake fd is no socket:
// getpeername fails, and the code treats that as not loopback (403).
TEST(HttpApiAccessTest, WithoutAKeyAPeerThatIsNotLoopbackGets403) {
  Cluster cluster(ServerOptions{});
  const std::string body =
      ErrorBody("not_allowed", "the API answers loopback clients only when no key is set");
  for (const RouteCase& route : Routes()) {
    SCOPED_TRACE(route.path);
    Client c = cluster.Open(0);
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int rc = getpeername(c.fd(), reinterpret_cast<sockaddr*>(&peer), &len);
    int err = errno;
    ASSERT_EQ(rc, -1);
    EXPECT_EQ(err, EBADF);
    // Presenting a key when none is configured changes nothing.
    c.Write(HttpRequest(route.method, route.path, route.body, kAuth));
    cluster.Settle();
    std::vector<HttpResponse> r = c.Responses();
    ASSERT_EQ(r.size(), 1u);
    if (route.path == "/healthz") {
      EXPECT_EQ(r[0].status, 200);
    } else {
      EXPECT_EQ(r[0].status, 403);
      EXPECT_EQ(r[0].body, body);
    }
  }
}

// The other side of that: a real loopback TCP peer is served without a key.
TEST(HttpApiAccessTest, WithoutAKeyALoopbackPeerIsServed) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int peer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(connect(peer, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  {
    Cluster cluster(ServerOptions{});
    Client c = cluster.OpenWithFd(0, accepted);  // the shard never writes to it: SessionIo is fake
    c.Write(HttpRequest("GET", "/api/stats"));
    cluster.Settle();
    std::vector<HttpResponse> r = c.Responses();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200) << r[0].body;
    EXPECT_EQ(JsonField(r[0].body, "shards"), "2");
  }
  close(accepted);
  close(peer);
  close(listener);
}

TEST(HttpApiAccessTest, WithAKeySetAMissingOrWrongKeyGets401) {
  Cluster cluster(WithKey());
  const std::string body =
      ErrorBody("not_allowed", "missing or wrong API key (Authorization: apikey <key>)");
  for (const RouteCase& route : Routes()) {
    if (route.path == "/healthz") continue;
    SCOPED_TRACE(route.path);
    for (std::string_view auth :
         {std::string_view(""), std::string_view("Authorization: apikey k3\r\n"),
          std::string_view("Authorization: apikey k3yy\r\n"),
          std::string_view("Authorization: Bearer k3y\r\n"),
          std::string_view("X-Api-Key: k3y\r\n")}) {
      HttpResponse r = CallOne(cluster, 0, HttpRequest(route.method, route.path, route.body, auth));
      EXPECT_EQ(r.status, 401) << auth;
      EXPECT_EQ(r.body, body);
    }
    // The key as a query parameter, and the scheme in any case, are accepted.
    std::string target = route.path + (route.path.find('?') == std::string::npos ? "?" : "&") +
                         "apikey=" + std::string(kKey);
    EXPECT_EQ(CallOne(cluster, 0, HttpRequest(route.method, target, route.body)).status, 200);
    EXPECT_EQ(
        CallOne(cluster, 0,
                HttpRequest(route.method, route.path, route.body, "Authorization: APIKEY k3y\r\n"))
            .status,
        200);
  }
  EXPECT_EQ(CallOne(cluster, 0, HttpRequest("GET", "/healthz")).status, 200) << "needs no key";
}

// ---------------------------------------------------------------------------

TEST(HttpApiPublishTest, PublishAnswersSeqInAHistoryRoomAndDelivers) {
  ServerOptions o = WithKey();
  o.namespaces["hist"] = NamespaceOptions{10, 0, true, true};
  o.namespaces["ro"] = NamespaceOptions{0, 0, true, /*client_publish=*/false};
  Cluster cluster(o);
  const std::string hist = cluster.RoomOwnedBy(1, "hist:r");
  const std::string plain = cluster.RoomOwnedBy(1, "ro:r");
  Client s = cluster.ConnectUser(0, "s");
  s.Text(Sub(hist, 1));
  s.Text(Sub(plain, 2));
  cluster.Settle();
  EXPECT_EQ(s.Texts().size(), 2u);

  Client api = cluster.Open(0);
  api.Write(
      HttpRequest("POST", "/api/publish", R"({"room":")" + hist + R"(","data":{"a":1}})", kAuth));
  api.Write(
      HttpRequest("POST", "/api/publish", R"({"room":")" + hist + R"(","data":{"a":2}})", kAuth));
  api.Write(HttpRequest("POST", "/api/publish", R"({"room":")" + plain + R"(","data":3})", kAuth));
  cluster.Settle();
  std::vector<HttpResponse> r = api.Responses();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].Header("content-type"), "application/json");
  EXPECT_EQ(r[0].body, R"({"seq":1})");
  EXPECT_EQ(r[1].body, R"({"seq":2})");
  EXPECT_EQ(r[2].status, 200);
  EXPECT_EQ(r[2].body, "{}");  // no history, no seq; client_publish=false does not bind the API
  EXPECT_EQ(
      s.Texts(),
      (Texts{R"({"op":"msg","room":")" + hist + R"(","seq":1,"from":"$server","data":{"a":1}})",
             R"({"op":"msg","room":")" + hist + R"(","seq":2,"from":"$server","data":{"a":2}})",
             Msg(plain, "$server", "3")}));

  // A bad body is 400 with the command's error code.
  HttpResponse bad =
      CallOne(cluster, 0, HttpRequest("POST", "/api/publish", R"({"room":"x"})", kAuth));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(JsonField(bad.body, "error"), "bad_command");
}

TEST(HttpApiHealthTest, HealthzIs200AndThen503WhileDraining) {
  Cluster cluster(ServerOptions{});
  HttpResponse up = CallOne(cluster, 0, HttpRequest("GET", "/healthz"));
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(up.body, "ok\n");
  EXPECT_EQ(up.Header("content-type"), "text/plain");
  EXPECT_EQ(up.Header("connection"), "keep-alive");

  cluster.shard(0).RequestStop();
  cluster.Settle();
  ASSERT_TRUE(cluster.shard(0).sessions().draining());
  Client c = cluster.Open(0);
  c.Write(HttpRequest("GET", "/healthz"));
  cluster.Settle();
  std::vector<HttpResponse> down = c.Responses();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].status, 503);
  EXPECT_EQ(down[0].body, "draining\n");
  EXPECT_EQ(down[0].Header("connection"), "close");
  EXPECT_TRUE(c.shut_wr());
  // The other shard is not draining.
  EXPECT_EQ(CallOne(cluster, 1, HttpRequest("GET", "/healthz")).status, 200);
}

TEST(HttpApiBodyTest, TransferEncodingGets411AndEndsTheConnection) {
  Cluster cluster(WithKey());
  Client c = cluster.Open(0);
  c.Write(
      "POST /api/publish HTTP/1.1\r\nHost: test\r\nAuthorization: apikey k3y\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"
      "1b\r\n{\"room\":\"lobby\",\"data\":1}\r\n0\r\n\r\n" +
      HttpRequest("GET", "/healthz"));
  cluster.Settle();
  std::vector<HttpResponse> r = c.Responses();
  ASSERT_EQ(r.size(), 1u) << "nothing after the refusal is served";
  EXPECT_EQ(r[0].status, 411);
  EXPECT_EQ(r[0].body, ErrorBody("bad_command",
                                 "Transfer-Encoding is not supported: send the body with "
                                 "Content-Length"));
  EXPECT_EQ(r[0].Header("connection"), "close");
  EXPECT_TRUE(c.shut_wr());
  EXPECT_EQ(cluster.shard(cluster.OwnerOf("lobby")).stats().publications.load(), 0u);
}

TEST(HttpApiBodyTest, ABodyOverMaxBodyBytesGets413BeforeItArrives) {
  ServerOptions o = WithKey();
  o.max_body_bytes = 64;
  Cluster cluster(o);
  // Exactly the limit is served.
  std::string body = R"({"room":"lobby","data":")";
  body += std::string(64 - body.size() - 2, 'x') + "\"}";
  ASSERT_EQ(body.size(), 64u);
  EXPECT_EQ(CallOne(cluster, 0, HttpRequest("POST", "/api/publish", body, kAuth)).status, 200);

  // One byte more is refused as soon as the head says so.
  Client c = cluster.Open(0);
  c.Write(
      "POST /api/publish HTTP/1.1\r\nHost: test\r\nAuthorization: apikey k3y\r\n"
      "Content-Length: 65\r\n\r\n");
  cluster.Settle();
  std::vector<HttpResponse> r = c.Responses();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 413);
  EXPECT_EQ(r[0].body, ErrorBody("too_large", "body larger than 64 bytes"));
  EXPECT_EQ(r[0].Header("connection"), "close");
  EXPECT_TRUE(c.shut_wr());
}

// Requests pipelined on one keep-alive connection are answered in request
// order, though the first waits for another shard and later ones are ready
// at once; a request whose body is still arriving waits for it.
TEST(HttpApiPipelineTest, PipelinedKeepAliveRequestsAreAnsweredInOrder) {
  Cluster cluster(WithKey());
  const std::string remote = cluster.RoomOwnedBy(1);
  const std::string present = cluster.RoomOwnedBy(1, "present");
  Client alice = cluster.ConnectUser(1, "alice");
  alice.Text(Sub(present, 1));
  Client bob = cluster.ConnectUser(1, "bob");
  cluster.Settle();
  alice.Texts();

  Client api = cluster.Open(0);
  api.Write(HttpRequest("POST", "/api/publish", R"({"room":")" + remote + R"(","data":1})", kAuth) +
            HttpRequest("GET", "/healthz") +
            HttpRequest("GET", "/api/presence?room=" + present, "", kAuth) +
            HttpRequest("POST", "/api/send", R"({"to":"bob","data":2})", kAuth) +
            HttpRequest("GET", "/nope") + HttpRequest("GET", "/api/stats", "", kAuth) +
            HttpRequest("POST", "/api/publish", "{not json", kAuth));
  cluster.shard(0).Round();
  cluster.shard(0).Round();
  EXPECT_EQ(api.Responses().size(), 0u) << "everything waits behind the first";
  cluster.Settle();
  std::vector<HttpResponse> r = api.Responses();
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "{}");
  EXPECT_EQ(r[1].status, 200);
  EXPECT_EQ(r[1].body, "ok\n");
  EXPECT_EQ(r[2].status, 200);
  EXPECT_EQ(r[2].body, R"({"users":[{"user":"alice","info":null,"conns":1}],"count":1})");
  EXPECT_EQ(r[3].status, 200);
  EXPECT_EQ(r[3].body, R"({"delivered":1})");
  EXPECT_EQ(r[4].status, 426);
  EXPECT_EQ(r[5].status, 200);
  EXPECT_EQ(JsonField(r[5].body, "node"), "n1");
  EXPECT_EQ(r[6].status, 400);
  EXPECT_EQ(JsonField(r[6].body, "error"), "bad_json");
  for (const HttpResponse& each : r) EXPECT_EQ(each.Header("connection"), "keep-alive");
  EXPECT_EQ(bob.Texts(), Texts{harness::DirectMsg("$server", "2")});

  // A head now, its body later: answered once the body is complete.
  const std::string request =
      HttpRequest("POST", "/api/publish", R"({"room":")" + remote + R"(","data":3})", kAuth);
  const size_t split = request.size() - 5;
  api.Write(request.substr(0, split));
  cluster.Settle();
  EXPECT_EQ(api.Responses().size(), 0u);
  api.Write(request.substr(split));
  api.Write(HttpRequest("GET", "/healthz"));
  cluster.Settle();
  r = api.Responses();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].body, "{}");
  EXPECT_EQ(r[1].body, "ok\n");
  EXPECT_FALSE(api.shut_wr());
}

// RFC 9110 9.3.2: a response to HEAD carries no content. HttpApi serves HEAD
// as GET (http_api.cc, Dispatch: `get = method == "GET" || method == "HEAD"`)
// and Answer()/Error() always write the body, so a client (a load balancer's
// HEAD /healthz on a keep-alive connection) reads the body's bytes as the
// start of the next response.
TEST(HttpApiHealthTest, HeadIsAnsweredWithoutABody) {
  Cluster cluster(ServerOptions{});
  Client c = cluster.Open(0);
  c.Write(HttpRequest("HEAD", "/healthz") + HttpRequest("GET", "/healthz"));
  cluster.Settle();
  const std::string& out = c.socket().output;
  size_t head_end = out.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(out.compare(0, 15, "HTTP/1.1 200 OK"), 0) << out;
  // What follows the HEAD answer's head must be the next response.
  EXPECT_EQ(out.compare(head_end + 4, 12, "HTTP/1.1 200"), 0) << out;
}

}  // namespace
}  // namespace ringcast::shard
