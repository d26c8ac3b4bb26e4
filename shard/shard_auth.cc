// Who a connection is (PROTOCOL.md, Connecting) and what it may do.
#include <openssl/crypto.h>

#include <ctime>

#include "core/glob.h"
#include "net/handshake.h"
#include "net/http_head.h"
#include "proto/jwt.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {

constexpr size_t kMaxUserBytes = 128;

bool IsValidUserId(std::string_view user) {
  if (user.empty() || user.size() > kMaxUserBytes) return false;
  for (unsigned char ch : user) {
    if (ch < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

bool SecretEquals(std::string_view given, std::string_view secret) {
  return given.size() == secret.size() && CRYPTO_memcmp(given.data(), secret.data(), given.size()) == 0;
}

// "Authorization: <scheme> <credentials>", scheme compared without case.
std::optional<std::string_view> AuthorizationValue(const net::HttpRequest& req,
                                                   std::string_view scheme) {
  std::string_view value = req.Header("Authorization");
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return std::nullopt;
  if (!net::EqualsIgnoreCase(value.substr(0, scheme.size()), scheme)) return std::nullopt;
  value.remove_prefix(scheme.size() + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

}  // namespace

bool Shard::OriginAllowed(const net::HttpRequest& req) const {
  if (options_.origins.empty()) return true;
  std::string_view origin = req.Header("Origin");
  for (const std::string& allowed : options_.origins) {
    if (net::EqualsIgnoreCase(origin, allowed)) return true;
  }
  return false;
}

bool Shard::HasApiKey(const net::HttpRequest& req) const {
  if (options_.api_key.empty()) return false;
  if (auto v = AuthorizationValue(req, "apikey")) return SecretEquals(*v, options_.api_key);
  std::optional<std::string> q = net::QueryParam(req.query, "apikey");
  return q && SecretEquals(*q, options_.api_key);
}

// Fills the connection's identity from the handshake; returns 0 or the HTTP
// status to refuse with (and *reason, one line).
int Shard::Authenticate(const net::HttpRequest& req, Connection& c, uint32_t slot,
                        std::string* reason) {
  if (!OriginAllowed(req)) {
    *reason = "origin not allowed";
    return 403;
  }
  bool presented_key = AuthorizationValue(req, "apikey").has_value() ||
                       net::QueryParam(req.query, "apikey").has_value();
  if (presented_key) {
    if (!HasApiKey(req)) {
      *reason = "invalid API key";
      return 401;
    }
    c.is_server = true;
    c.user = "$server";
    return 0;
  }
  if (!options_.jwt_secret.empty()) {
    std::optional<std::string> token = net::QueryParam(req.query, "token");
    if (!token) {
      if (auto bearer = AuthorizationValue(req, "Bearer")) token = std::string(*bearer);
    }
    if (!token || token->empty()) {
      *reason = "missing token: pass ?token= or Authorization: Bearer";
      return 401;
    }
    int64_t now_s = static_cast<int64_t>(std::time(nullptr));
    proto::JwtResult r = proto::VerifyJwtHs256(*token, options_.jwt_secret, now_s);
    if (!r.claims) {
      *reason = std::string(proto::JwtErrorReason(r.error));
      return 401;
    }
    if (!IsValidUserId(r.claims->sub)) {
      *reason = "token subject must be 1-128 bytes without control characters";
      return 401;
    }
    c.user = std::move(r.claims->sub);
    if (r.claims->rooms || r.claims->pub || !r.claims->info_json.empty()) {
      c.grants = std::make_unique<Grants>();
      c.grants->rooms = std::move(r.claims->rooms);
      c.grants->pub = std::move(r.claims->pub);
      c.grants->info_json = std::move(r.claims->info_json);
    }
    if (r.claims->exp) {
      // A connection does not outlive its token: close 1008 when it expires.
      uint64_t left_ms = static_cast<uint64_t>(std::max<int64_t>(*r.claims->exp - now_s, 0)) * 1000;
      timers_.Add(now_ms_, left_ms, TimerKey(TimerKind::kTokenExpiry, conns_.HandleOf(slot)));
    }
    return 0;
  }
  std::optional<std::string> user;
  if (options_.allow_anonymous_user_param) user = net::QueryParam(req.query, "user");
  if (user) {
    if (!IsValidUserId(*user) || user->front() == '$') {
      *reason = "user must be 1-128 bytes without control characters, not starting with '$'";
      return 400;
    }
    c.user = std::move(*user);
  } else {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "anon-%s-%u-%llx", node_id_.c_str(), id_,
                  static_cast<unsigned long long>(++anon_counter_));
    c.user = buf;
  }
  return 0;
}

// Rooms starting with '@' are users' personal rooms and the events room is
// for backends: only the server (API key) subscribes or publishes there.
bool Shard::IsServerRoom(std::string_view room) const {
  return (!room.empty() && room.front() == '@') ||
         (!options_.events_room.empty() && room == options_.events_room);
}

bool Shard::MaySubscribe(const Connection& c, std::string_view room) const {
  if (c.is_server) return true;
  if (IsServerRoom(room)) return false;
  return !c.grants || !c.grants->rooms || core::MatchesAny(*c.grants->rooms, room);
}

bool Shard::MayPublish(const Connection& c, std::string_view room) const {
  if (c.is_server) return true;
  if (IsServerRoom(room) || !NamespaceOf(room).client_publish) return false;
  return !c.grants || !c.grants->pub || core::MatchesAny(*c.grants->pub, room);
}

}  // namespace ringcast::shard
