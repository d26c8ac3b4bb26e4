#include "shard/access.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "proto/jwt.h"

namespace ringcast::shard {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // seconds
constexpr char kSecret[] = "jwt-secret";
constexpr char kKey[] = "k3y";

// A parsed request head; the views in `req` point into `raw`, so it stays put.
struct Head {
  std::string raw;
  net::HttpRequest req;
};

std::unique_ptr<Head> Request(const std::string& target,
                              const std::vector<std::string>& headers = {}) {
  auto h = std::make_unique<Head>();
  h->raw = "GET " + target + " HTTP/1.1\r\nHost: example.test\r\n";
  for (const std::string& line : headers) h->raw += line + "\r\n";
  h->raw += "\r\n";
  net::HttpParseResult r = net::ParseHttpHead(h->raw, 8192, &h->req);
  EXPECT_EQ(r.status, net::HttpParseStatus::kComplete) << r.error << " in " << h->raw;
  return h;
}

// One shard's Access over its options and namespaces.
struct Fixture {
  explicit Fixture(ServerOptions o, unsigned shard = 0)
      : options(std::move(o)),
        namespaces(options.namespaces),
        access(options, namespaces, "node1", shard) {}
  ServerOptions options;
  Namespaces namespaces;
  Access access;

  // The identity, or the refusal's status (0 on success).
  int Auth(const Head& h, Identity* id, Refusal* refusal = nullptr) {
    Refusal local;
    if (refusal == nullptr) refusal = &local;
    bool ok = access.Authenticate(h.req, kNow, id, refusal);
    EXPECT_EQ(ok, refusal->status == 0);
    return ok ? 0 : refusal->status;
  }
};

ServerOptions WithKey() {
  ServerOptions o;
  o.api_key = kKey;
  return o;
}

ServerOptions WithJwt() {
  ServerOptions o;
  o.jwt_secret = kSecret;
  o.api_key = kKey;
  return o;
}

TEST(AccessTest, ApiKeyInHeaderOrQueryMakesTheServer) {
  Fixture f(WithKey());
  for (const auto& h : {Request("/ws", {"Authorization: apikey k3y"}),
                        Request("/ws", {"Authorization: ApiKey   k3y"}), Request("/ws?apikey=k3y"),
                        Request("/ws?x=1&apikey=k3y")}) {
    SCOPED_TRACE(h->raw);
    Identity id;
    EXPECT_EQ(f.Auth(*h, &id), 0);
    EXPECT_TRUE(id.is_server);
    EXPECT_EQ(id.user, "$server");
    EXPECT_TRUE(f.access.HasApiKey(h->req));
  }
}

TEST(AccessTest, WrongApiKeyIsRefusedWith401) {
  Fixture f(WithKey());
  for (const auto& h : {Request("/ws", {"Authorization: apikey nope"}), Request("/ws?apikey=nope"),
                        Request("/ws?apikey=k3"), Request("/ws?apikey=k3yy"),
                        Request("/ws?apikey="), Request("/ws?user=alice&apikey=K3Y")}) {
    SCOPED_TRACE(h->raw);
    Identity id;
    Refusal refusal;
    EXPECT_EQ(f.Auth(*h, &id, &refusal), 401);
    EXPECT_FALSE(refusal.reason.empty());
    EXPECT_FALSE(id.is_server);
    EXPECT_FALSE(f.access.HasApiKey(h->req));
  }
}

TEST(AccessTest, ApiKeyPresentedWithoutOneConfiguredIsRefused) {
  Fixture f(ServerOptions{});
  auto h = Request("/ws?apikey=");
  Identity id;
  EXPECT_EQ(f.Auth(*h, &id), 401);
  EXPECT_FALSE(f.access.HasApiKey(Request("/ws?apikey=x")->req));
}

TEST(AccessTest, ApiKeyWinsOverJwtRequirement) {
  Fixture f(WithJwt());
  Identity id;
  EXPECT_EQ(f.Auth(*Request("/ws?apikey=k3y"), &id), 0);
  EXPECT_TRUE(id.is_server);
}

TEST(AccessTest, JwtInQueryOrBearerGivesUserGrantsAndExpiry) {
  Fixture f(WithJwt());
  std::string token = proto::SignJwtHs256(
      R"({"sub":"alice","exp":1800000600,"rooms":["chat:*"],"pub":["chat:lobby"],"info":{"n":"A"}})",
      kSecret);
  for (const auto& h :
       {Request("/ws?token=" + token), Request("/ws", {"Authorization: Bearer " + token}),
        Request("/ws?user=mallory&token=" + token)}) {
    SCOPED_TRACE(h->raw);
    Identity id;
    ASSERT_EQ(f.Auth(*h, &id), 0);
    EXPECT_EQ(id.user, "alice");
    EXPECT_FALSE(id.is_server);
    ASSERT_NE(id.grants, nullptr);
    ASSERT_TRUE(id.grants->rooms.has_value());
    EXPECT_EQ(*id.grants->rooms, std::vector<std::string>{"chat:*"});
    ASSERT_TRUE(id.grants->pub.has_value());
    EXPECT_EQ(*id.grants->pub, std::vector<std::string>{"chat:lobby"});
    EXPECT_EQ(id.grants->info_json, R"({"n":"A"})");
    EXPECT_EQ(id.expires_unix_s, 1800000600);
  }
}

TEST(AccessTest, JwtWithoutClaimsGivesNoGrants) {
  Fixture f(WithJwt());
  Identity id;
  ASSERT_EQ(f.Auth(*Request("/ws?token=" + proto::SignJwtHs256(R"({"sub":"bob"})", kSecret)), &id),
            0);
  EXPECT_EQ(id.user, "bob");
  EXPECT_EQ(id.grants, nullptr);
  EXPECT_FALSE(id.expires_unix_s.has_value());
}

TEST(AccessTest, BadOrMissingJwtIsRefusedWith401) {
  Fixture f(WithJwt());
  struct Case {
    std::string target;
    std::vector<std::string> headers;
    std::string reason;
  };
  const Case cases[] = {
      {"/ws", {}, "missing token"},
      {"/ws?token=", {}, "missing token"},
      {"/ws?user=alice", {}, "missing token"},  // no falling back to anonymous
      {"/ws", {"Authorization: Bearer"}, "missing token"},
      {"/ws?token=" + proto::SignJwtHs256(R"({"sub":"a","exp":1800000000})", kSecret),
       {},
       "token expired"},
      {"/ws?token=" + proto::SignJwtHs256(R"({"sub":"a"})", "other-secret"),
       {},
       "invalid token signature"},
      {"/ws?token=" + proto::SignJwtHs256(R"({"exp":1900000000})", kSecret),
       {},
       "token has no subject"},
      {"/ws?token=" + proto::SignJwtHs256(R"({"sub":")" + std::string(129, 'u') + R"("})", kSecret),
       {},
       "token subject must be 1-128 bytes"},
      {"/ws?token=" + proto::SignJwtHs256(R"({"sub":"a\u0001b"})", kSecret),
       {},
       "token subject must be 1-128 bytes"},
      {"/ws?token=not.a.jwt", {}, "malformed token"},
  };
  for (const Case& c : cases) {
    auto h = Request(c.target, c.headers);
    SCOPED_TRACE(h->raw);
    Identity id;
    Refusal refusal;
    EXPECT_EQ(f.Auth(*h, &id, &refusal), 401);
    EXPECT_EQ(refusal.reason.substr(0, c.reason.size()), c.reason);
    EXPECT_TRUE(id.user.empty());
  }
}

TEST(AccessTest, SubjectOf128BytesIsAccepted) {
  Fixture f(WithJwt());
  std::string sub(128, 's');
  Identity id;
  EXPECT_EQ(
      f.Auth(*Request("/ws?token=" + proto::SignJwtHs256(R"({"sub":")" + sub + R"("})", kSecret)),
             &id),
      0);
  EXPECT_EQ(id.user, sub);
}

TEST(AccessTest, AnonymousUserParamIsCheckedAndTaken) {
  Fixture f(ServerOptions{});
  Identity id;
  EXPECT_EQ(f.Auth(*Request("/ws?user=alice%20smith"), &id), 0);
  EXPECT_EQ(id.user, "alice smith");
  EXPECT_FALSE(id.is_server);
  EXPECT_EQ(id.grants, nullptr);
  Identity longest;
  EXPECT_EQ(f.Auth(*Request("/ws?user=" + std::string(128, 'u')), &longest), 0);
  EXPECT_EQ(longest.user.size(), 128u);

  for (const std::string& bad : std::vector<std::string>{
           "/ws?user=", "/ws?user", "/ws?user=%24server", "/ws?user=$x", "/ws?user=a%01b",
           "/ws?user=a%7Fb", "/ws?user=" + std::string(129, 'u')}) {
    SCOPED_TRACE(bad);
    Identity refused;
    Refusal refusal;
    EXPECT_EQ(f.Auth(*Request(bad), &refused, &refusal), 400);
    EXPECT_TRUE(refused.user.empty());
  }
}

TEST(AccessTest, GeneratedAnonymousIdsAreUniqueAcrossConnectionsAndShards) {
  ServerOptions o;
  Fixture shard0(o, 0);
  Fixture shard1(o, 1);
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    for (Fixture* f : {&shard0, &shard1}) {
      Identity id;
      ASSERT_EQ(f->Auth(*Request("/ws"), &id), 0);
      EXPECT_EQ(id.user.rfind("anon-", 0), 0u) << id.user;
      EXPECT_NE(id.user.find("node1"), std::string::npos) << id.user;
      EXPECT_FALSE(id.is_server);
      EXPECT_TRUE(seen.insert(id.user).second) << "duplicate " << id.user;
      if (i == 10) {  // node, shard, then the shard's count in hex
        EXPECT_EQ(id.user, f == &shard0 ? "anon-node1-0-b" : "anon-node1-1-b");
      }
    }
  }
}

TEST(AccessTest, UserParamIgnoredWhenNotAllowed) {
  ServerOptions o;
  o.allow_anonymous_user_param = false;
  Fixture f(o);
  Identity id;
  EXPECT_EQ(f.Auth(*Request("/ws?user=alice"), &id), 0);
  EXPECT_NE(id.user, "alice");
  EXPECT_EQ(id.user.rfind("anon-", 0), 0u);
  Identity bad;  // an invalid value is not even looked at
  EXPECT_EQ(f.Auth(*Request("/ws?user=$x"), &bad), 0);
}

TEST(AccessTest, OriginsOutsideTheAllowListAreRefusedWith403) {
  ServerOptions o = WithKey();
  o.origins = {"https://app.example", "http://localhost:3000"};
  Fixture f(o);
  Identity id;
  EXPECT_EQ(f.Auth(*Request("/ws", {"Origin: https://app.example"}), &id), 0);
  EXPECT_EQ(f.Auth(*Request("/ws", {"Origin: HTTPS://APP.EXAMPLE"}), &id), 0);
  EXPECT_EQ(f.Auth(*Request("/ws", {"Origin: http://localhost:3000"}), &id), 0);
  for (const auto& h : {Request("/ws", {"Origin: https://evil.example"}),
                        Request("/ws", {"Origin: https://app.example.evil"}),
                        Request("/ws", {"Origin: http://app.example"}), Request("/ws"),
                        Request("/ws?apikey=k3y", {"Origin: https://evil.example"})}) {
    SCOPED_TRACE(h->raw);
    Identity refused;
    EXPECT_EQ(f.Auth(*h, &refused), 403);
    EXPECT_FALSE(f.access.OriginAllowed(h->req));
  }
  Fixture any(ServerOptions{});
  EXPECT_TRUE(any.access.OriginAllowed(Request("/ws", {"Origin: https://evil.example"})->req));
}

TEST(AccessTest, ApiNeedsTheKeyWhenSetElseLoopback) {
  Fixture keyed(WithKey());
  int status = 0;
  EXPECT_TRUE(keyed.access.ApiAllowed(Request("/api/publish?apikey=k3y")->req, false, &status));
  EXPECT_TRUE(keyed.access.ApiAllowed(Request("/api/publish", {"Authorization: apikey k3y"})->req,
                                      false, &status));
  EXPECT_FALSE(keyed.access.ApiAllowed(Request("/api/publish")->req, true, &status));
  EXPECT_EQ(status, 401);  // loopback is no substitute for the key
  EXPECT_FALSE(keyed.access.ApiAllowed(Request("/api/publish?apikey=bad")->req, false, &status));
  EXPECT_EQ(status, 401);

  Fixture open(ServerOptions{});
  EXPECT_TRUE(open.access.ApiAllowed(Request("/api/publish")->req, true, &status));
  EXPECT_FALSE(open.access.ApiAllowed(Request("/api/publish")->req, false, &status));
  EXPECT_EQ(status, 403);
  EXPECT_FALSE(open.access.ApiAllowed(Request("/api/publish?apikey=x")->req, false, &status));
  EXPECT_EQ(status, 403);
}

Connection Client(std::unique_ptr<Grants> grants = nullptr) {
  Connection c;
  c.user = core::BoxedString("alice");
  c.grants = std::move(grants);
  return c;
}

ServerOptions WithRooms() {
  ServerOptions o;
  o.events_room = "$events";
  o.namespaces["announce"] = NamespaceOptions{0, 0, true, false};
  o.namespaces["quiet"] = NamespaceOptions{0, 0, false, true};
  return o;
}

TEST(AccessTest, ServerRoomsAreForTheServerOnly) {
  Fixture f(WithRooms());
  Connection client = Client();
  Connection server;
  server.is_server = true;
  for (const char* room : {"@alice", "@bob", "$events"}) {
    SCOPED_TRACE(room);
    EXPECT_TRUE(f.access.IsServerRoom(room));
    EXPECT_FALSE(f.access.MaySubscribe(client, room));
    EXPECT_FALSE(f.access.MayPublish(client, room));
    EXPECT_TRUE(f.access.MaySubscribe(server, room));
    EXPECT_TRUE(f.access.MayPublish(server, room));
  }
  EXPECT_FALSE(f.access.IsServerRoom("lobby"));
  EXPECT_FALSE(f.access.IsServerRoom("$events2"));
  EXPECT_TRUE(f.access.MaySubscribe(client, "lobby"));
  EXPECT_TRUE(f.access.MayPublish(client, "lobby"));
  // Without an events room, no plain room is the server's.
  Fixture none(ServerOptions{});
  EXPECT_FALSE(none.access.IsServerRoom("$events"));
  EXPECT_FALSE(none.access.IsServerRoom(""));
}

TEST(AccessTest, NamespaceWithoutClientPublishRefusesClientsOnly) {
  Fixture f(WithRooms());
  Connection client = Client();
  Connection server;
  server.is_server = true;
  EXPECT_FALSE(f.access.MayPublish(client, "announce:news"));
  EXPECT_TRUE(f.access.MaySubscribe(client, "announce:news"));
  EXPECT_TRUE(f.access.MayPublish(server, "announce:news"));
  auto grants = std::make_unique<Grants>();
  grants->pub = std::vector<std::string>{"*"};
  Connection granted = Client(std::move(grants));
  EXPECT_FALSE(f.access.MayPublish(granted, "announce:news"));  // a grant does not override it
}

TEST(AccessTest, GrantsGlobsLimitSubscribeAndPublish) {
  Fixture f(WithRooms());
  auto grants = std::make_unique<Grants>();
  grants->rooms = std::vector<std::string>{"chat:*", "news"};
  grants->pub = std::vector<std::string>{"chat:lobby", "chat:team-?"};
  Connection c = Client(std::move(grants));
  EXPECT_TRUE(f.access.MaySubscribe(c, "chat:lobby"));
  EXPECT_TRUE(f.access.MaySubscribe(c, "chat:"));
  EXPECT_TRUE(f.access.MaySubscribe(c, "news"));
  EXPECT_FALSE(f.access.MaySubscribe(c, "newsroom"));
  EXPECT_FALSE(f.access.MaySubscribe(c, "other"));
  EXPECT_TRUE(f.access.MayPublish(c, "chat:lobby"));
  EXPECT_TRUE(f.access.MayPublish(c, "chat:team-a"));
  EXPECT_FALSE(f.access.MayPublish(c, "chat:team-ab"));
  EXPECT_FALSE(f.access.MayPublish(c, "chat:other"));
  EXPECT_FALSE(f.access.MayPublish(c, "news"));

  auto sub_only = std::make_unique<Grants>();  // pub absent: anything
  sub_only->rooms = std::vector<std::string>{"x"};
  Connection s = Client(std::move(sub_only));
  EXPECT_FALSE(f.access.MaySubscribe(s, "y"));
  EXPECT_TRUE(f.access.MayPublish(s, "y"));

  auto none = std::make_unique<Grants>();  // empty lists allow nothing
  none->rooms = std::vector<std::string>{};
  none->pub = std::vector<std::string>{};
  Connection n = Client(std::move(none));
  EXPECT_FALSE(f.access.MaySubscribe(n, "lobby"));
  EXPECT_FALSE(f.access.MayPublish(n, "lobby"));

  auto info_only = std::make_unique<Grants>();  // only info: no limits
  info_only->info_json = "{}";
  Connection i = Client(std::move(info_only));
  EXPECT_TRUE(f.access.MaySubscribe(i, "anything"));
  EXPECT_TRUE(f.access.MayPublish(i, "anything"));
}

TEST(AccessTest, PresenceIsTrackedWhereTheNamespaceAllowsAndNeverInServerRooms) {
  Fixture f(WithRooms());
  EXPECT_TRUE(f.access.TracksPresence("lobby"));
  EXPECT_TRUE(f.access.TracksPresence("announce:x"));
  EXPECT_FALSE(f.access.TracksPresence("quiet:x"));
  EXPECT_FALSE(f.access.TracksPresence("@alice"));
  EXPECT_FALSE(f.access.TracksPresence("$events"));
}

}  // namespace
}  // namespace ringcast::shard
