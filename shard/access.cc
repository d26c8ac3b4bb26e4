#include "shard/access.h"

#include <openssl/crypto.h>

#include <charconv>
#include <iterator>

#include "core/glob.h"
#include "net/handshake.h"
#include "proto/json_writer.h"
#include "proto/jwt.h"

namespace ringcast::shard {

namespace {

constexpr size_t kMaxUserBytes = 128;

bool IsValidUserId(std::string_view user) {
  if (user.empty() || user.size() > kMaxUserBytes) return false;
  for (unsigned char ch : user) {
    if (ch < 0x20 || ch == 0x7f) return false;
  }
  // Echoed in `from`, `user`, presence and status events: invalid UTF-8 there
  // would make every receiving client close with 1007.
  return proto::IsValidUtf8(user);
}

bool SecretEquals(std::string_view given, std::string_view secret) {
  return given.size() == secret.size() &&
         CRYPTO_memcmp(given.data(), secret.data(), given.size()) == 0;
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

bool Refuse(Refusal* refusal, int status, std::string reason) {
  refusal->status = status;
  refusal->reason = std::move(reason);
  return false;
}

}  // namespace

Access::Access(const ServerOptions& options, const Namespaces& namespaces, std::string node_id,
               unsigned shard_id)
    : options_(options),
      namespaces_(namespaces),
      node_id_(std::move(node_id)),
      shard_id_(shard_id) {}

bool Access::OriginAllowed(const net::HttpRequest& req) const {
  if (options_.origins.empty()) return true;
  std::string_view origin = req.Header("Origin");
  for (const std::string& allowed : options_.origins) {
    if (net::EqualsIgnoreCase(origin, allowed)) return true;
  }
  return false;
}

bool Access::HasApiKey(const net::HttpRequest& req) const {
  if (options_.api_key.empty()) return false;
  if (auto v = AuthorizationValue(req, "apikey")) return SecretEquals(*v, options_.api_key);
  std::optional<std::string> q = net::QueryParam(req.query, "apikey");
  return q && SecretEquals(*q, options_.api_key);
}

bool Access::Authenticate(const net::HttpRequest& req, int64_t now_unix_s, Identity* id,
                          Refusal* refusal) {
  if (!OriginAllowed(req)) return Refuse(refusal, 403, "origin not allowed");
  bool presented_key = AuthorizationValue(req, "apikey").has_value() ||
                       net::QueryParam(req.query, "apikey").has_value();
  if (presented_key) {
    if (!HasApiKey(req)) return Refuse(refusal, 401, "invalid API key");
    id->is_server = true;
    id->user = "$server";
    return true;
  }
  if (!options_.jwt_secret.empty()) return AuthenticateToken(req, now_unix_s, id, refusal);
  return AuthenticateAnonymous(req, id, refusal);
}

bool Access::AuthenticateToken(const net::HttpRequest& req, int64_t now_unix_s, Identity* id,
                               Refusal* refusal) const {
  std::optional<std::string> token = net::QueryParam(req.query, "token");
  if (!token) {
    if (auto bearer = AuthorizationValue(req, "Bearer")) token = std::string(*bearer);
  }
  if (!token || token->empty()) {
    return Refuse(refusal, 401, "missing token: pass ?token= or Authorization: Bearer");
  }
  proto::JwtResult r = proto::VerifyJwtHs256(*token, options_.jwt_secret, now_unix_s);
  if (!r.claims) return Refuse(refusal, 401, std::string(proto::JwtErrorReason(r.error)));
  if (!IsValidUserId(r.claims->sub)) {
    return Refuse(refusal, 401,
                  "token subject must be 1-128 bytes of UTF-8 without control characters");
  }
  id->user = std::move(r.claims->sub);
  if (r.claims->rooms || r.claims->pub || !r.claims->info_json.empty()) {
    id->grants = std::make_unique<Grants>();
    id->grants->rooms = std::move(r.claims->rooms);
    id->grants->pub = std::move(r.claims->pub);
    id->grants->info_json = std::move(r.claims->info_json);
  }
  id->expires_unix_s = r.claims->exp;
  return true;
}

bool Access::AuthenticateAnonymous(const net::HttpRequest& req, Identity* id, Refusal* refusal) {
  std::optional<std::string> user;
  if (options_.allow_anonymous_user_param) user = net::QueryParam(req.query, "user");
  if (user) {
    if (!IsValidUserId(*user) || user->front() == '$') {
      return Refuse(
          refusal, 400,
          "user must be 1-128 bytes of UTF-8 without control characters, not starting with '$'");
    }
    id->user = std::move(*user);
    return true;
  }
  // anon-NODE-SHARD-COUNTER (hex), without snprintf: once per connection.
  char hex[16];
  char* hex_end = std::to_chars(hex, std::end(hex), ++anon_counter_, 16).ptr;
  id->user.assign("anon-").append(node_id_).append("-").append(std::to_string(shard_id_));
  id->user.append("-").append(hex, hex_end);
  return true;
}

bool Access::ApiAllowed(const net::HttpRequest& req, bool loopback_peer, int* status) const {
  if (!options_.api_key.empty()) {
    *status = 401;
    return HasApiKey(req);
  }
  *status = 403;
  return loopback_peer;
}

bool Access::IsServerRoom(std::string_view room) const {
  return (!room.empty() && room.front() == '@') ||
         (!options_.events_room.empty() && room == options_.events_room);
}

bool Access::MaySubscribe(const Connection& c, std::string_view room) const {
  if (c.is_server) return true;
  if (IsServerRoom(room)) return false;
  return !c.grants || !c.grants->rooms || core::MatchesAny(*c.grants->rooms, room);
}

bool Access::MayPublish(const Connection& c, std::string_view room) const {
  if (c.is_server) return true;
  if (IsServerRoom(room) || !namespaces_.Of(room).client_publish) return false;
  return !c.grants || !c.grants->pub || core::MatchesAny(*c.grants->pub, room);
}

bool Access::TracksPresence(std::string_view room) const {
  return namespaces_.Of(room).presence && !IsServerRoom(room);
}

}  // namespace ringcast::shard
