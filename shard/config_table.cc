// The option table and the conversions between one setting and its text.
#include "shard/config_table.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <type_traits>

#include "net/listener.h"
#include "proto/command.h"

namespace ringcast::shard::config_internal {
namespace {

static_assert(std::is_same_v<unsigned, uint32_t>, "ServerOptions::shards is set as a uint32_t");

constexpr uint64_t kHourMs = 3'600'000;
constexpr uint64_t kDayMs = 24 * kHourMs;
constexpr size_t kMaxSecretBytes = 4096;
constexpr size_t kMaxNodeIdBytes = 32;

// Top-level keys first, then each [section] contiguously (config_table.h).
const Option kOptions[] = {
    {"listen", "--listen", Kind::kListen, Field{}, 0, 0, "HOST:PORT",
     "numeric IPv4 or [IPv6] address and port; port 0 picks a free one"},
    {"shards", "--shards", Kind::kUint, &ServerOptions::shards, 0, 64, "N",
     "shard threads, one per core; 0 = one per online CPU"},
    {"node_id", "--node-id", Kind::kNodeId, &ServerOptions::node_id, 0, 0, "ID",
     "node id in `welcome`, up to 32 of A-Z a-z 0-9 . _ -; empty = random"},
    {"pin_threads", "--pin-threads", Kind::kBool, &ServerOptions::pin_threads, 0, 0, "true|false",
     "pin each shard thread to its own core (--no-pin = false)"},
    {"origins", "--origins", Kind::kOrigins, Field{}, 0, 0, "LIST",
     "allowed Origin headers, comma-separated (https://a.example,https://b.example); "
     "empty = any"},
    {"limits.max_message_bytes", "--max-message-bytes", Kind::kUint,
     &ServerOptions::max_message_bytes, 16, 1ull << 30, "BYTES",
     "largest client message; larger closes the connection with 1009"},
    {"limits.max_queued_bytes", "--max-queued-bytes", Kind::kUint, &ServerOptions::max_queued_bytes,
     1024, 1ull << 40, "BYTES",
     "queued outbound bytes past which a connection is closed with 4000"},
    {"limits.max_head_bytes", "--max-head-bytes", Kind::kUint, &ServerOptions::max_head_bytes, 256,
     1 << 20, "BYTES", "largest HTTP request head; larger gets 431"},
    {"limits.max_connections_per_shard", "--max-connections", Kind::kUint,
     &ServerOptions::max_connections_per_shard, 0, 1u << 27, "N",
     "WebSocket connections per shard, past it upgrades get 503; 0 = as many as the open-file "
     "limit holds, at most 262144"},
    {"limits.http_reserve_per_shard", "--http-reserve", Kind::kUint,
     &ServerOptions::http_reserve_per_shard, 0, 65536, "N",
     "connections per shard beyond max_connections for HTTP (/healthz, the API, 503 answers)"},
    {"limits.max_subscriptions_per_connection", "--max-subscriptions-per-connection", Kind::kUint,
     &ServerOptions::max_subscriptions_per_connection, 1, 1u << 20, "N",
     "rooms one connection may be subscribed to; more get error `limit`"},
    {"limits.commands_per_second", "--commands-per-second", Kind::kUint,
     &ServerOptions::commands_per_second, 0, 1'000'000, "N",
     "commands per connection per second (rate limit refill); 0 = unlimited"},
    {"limits.command_burst", "--command-burst", Kind::kUint, &ServerOptions::command_burst, 1,
     1'000'000, "N", "commands a connection may send at once (rate limit bucket size)"},
    {"limits.rate_limit_grace_ms", "--rate-limit-grace-ms", Kind::kUint,
     &ServerOptions::rate_limit_grace_ms, 0, kHourMs, "MS",
     "a connection over its rate limit this long is closed with 1008"},
    {"limits.max_body_bytes", "--max-body-bytes", Kind::kUint, &ServerOptions::max_body_bytes, 256,
     1ull << 30, "BYTES", "largest HTTP API request body"},
    {"limits.max_idle_history_rooms", "--max-idle-history-rooms", Kind::kUint,
     &ServerOptions::max_idle_history_rooms, 1, 1u << 27, "N",
     "rooms kept per shard only for their history; past it the least recently published goes"},
    {"limits.max_history_bytes", "--max-history-bytes", Kind::kUint,
     &ServerOptions::max_history_bytes, 65536, size_t{1} << 40, "BYTES",
     "history bytes per shard; past it idle rooms go, then the oldest messages"},
    {"limits.max_presence_users", "--max-presence-users", Kind::kUint,
     &ServerOptions::max_presence_users, 1, 1'000'000, "N",
     "users listed in one presence answer; `count` still counts all, `truncated` says so"},
    {"limits.max_pending_requests_per_connection", "--max-pending-requests-per-connection",
     Kind::kUint, &ServerOptions::max_pending_requests_per_connection, 1, 1u << 20, "N",
     "unanswered `req`s one connection may have; more get error `limit`"},
    {"limits.max_pending_requests_per_user", "--max-pending-requests-per-user", Kind::kUint,
     &ServerOptions::max_pending_requests_per_user, 1, 1u << 20, "N",
     "unanswered `req`s of one user's connections on one shard; more get error `limit`"},
    {"limits.max_pending_sends_per_connection", "--max-pending-sends-per-connection", Kind::kUint,
     &ServerOptions::max_pending_sends_per_connection, 1, 1u << 20, "N",
     "`send`s (and POST /api/send) one connection may have in flight; more get `rate_limited`"},
    {"keepalive.ping_interval_ms", "--ping-interval-ms", Kind::kUint,
     &ServerOptions::ping_interval_ms, 0, kHourMs, "MS",
     "ping a connection silent this long; 0 = never ping"},
    {"keepalive.idle_timeout_ms", "--idle-timeout-ms", Kind::kUint, &ServerOptions::idle_timeout_ms,
     0, kDayMs, "MS", "close a connection silent (not even a pong) this long; 0 = never"},
    {"keepalive.handshake_timeout_ms", "--handshake-timeout-ms", Kind::kUint,
     &ServerOptions::handshake_timeout_ms, 1, kHourMs, "MS",
     "connections that do not finish the HTTP upgrade in time get 408"},
    {"shutdown.drain_ms", "--drain-ms", Kind::kUint, &ServerOptions::drain_timeout_ms, 0, kHourMs,
     "MS", "on SIGINT/SIGTERM, time to send `bye` + close 1001 and flush before exit"},
    {"auth.jwt_secret", "--jwt-secret", Kind::kSecret, &ServerOptions::jwt_secret, 0, 0, "SECRET",
     "HS256 secret of client JWTs; empty = no JWT"},
    {"auth.allow_anonymous_user_param", "--allow-anonymous-user-param", Kind::kBool,
     &ServerOptions::allow_anonymous_user_param, 0, 0, "true|false",
     "without a JWT secret, take the user id from the `user` query parameter"},
    {"api.key", "--api-key", Kind::kSecret, &ServerOptions::api_key, 0, 0, "KEY",
     "key the HTTP API requires (Authorization: apikey KEY); empty = loopback only"},
    {"api.hosts", "--api-hosts", Kind::kHosts, Field{}, 0, 0, "LIST",
     "Host headers the HTTP API answers (name[:port], comma-separated); empty = with no "
     "api.key localhost, 127.0.0.1, [::1] and the listen address, with a key any"},
    {"events.room", "--events-room", Kind::kRoom, &ServerOptions::events_room, 0, 0, "ROOM",
     "room for connection status events, e.g. $events; empty = none"},
    {"presence.leave_delay_ms", "--presence-leave-delay-ms", Kind::kUint,
     &ServerOptions::presence_leave_delay_ms, 0, kHourMs, "MS",
     "send `leave` once a user's last connection has been gone this long"},
    {"cluster.redis", "--redis", Kind::kRedis, Field{}, 0, 0, "URL",
     "cluster mode: redis://HOST:PORT of a Redis instance; repeat (or comma-separate) for "
     "several, rooms spread over them; empty = a single node"},
    {"cluster.redis_cluster", "--redis-cluster", Kind::kBool, &ServerOptions::redis_cluster, 0, 0,
     "true|false",
     "the cluster.redis addresses are seeds of one Redis Cluster: sharded pub/sub, rooms "
     "spread over its masters by hash slot, MOVED/ASK followed"},
    {"cluster.max_pending_commands", "--redis-max-pending", Kind::kUint,
     &ServerOptions::redis_max_pending, 16, 1u << 24, "N",
     "commands waiting for Redis per connection; past it commands needing Redis get "
     "`unavailable`"},
    {"cluster.probe_interval_ms", "--redis-probe-ms", Kind::kUint,
     &ServerOptions::redis_probe_interval_ms, 10, 60000, "MS",
     "PING a Redis connection that has been silent this long"},
    {"cluster.reply_timeout_ms", "--redis-reply-timeout-ms", Kind::kUint,
     &ServerOptions::redis_reply_timeout_ms, 50, 600000, "MS",
     "a Redis connection with a command or PING unanswered this long is restarted"},
    {"cluster.presence_ttl_ms", "--redis-presence-ttl-ms", Kind::kUint,
     &ServerOptions::redis_presence_ttl_ms, 300, kHourMs, "MS",
     "a node's presence entries in Redis expire unless refreshed (every third of this): a "
     "crashed node's users leave after it"},
};

const NamespaceKey kNamespaceKeys[] = {
    {"history_size", &NamespaceOptions::history_size, 1'000'000,
     "messages kept per room for `since`; 0 = no history"},
    {"history_ttl_s", &NamespaceOptions::history_ttl_s, 7 * 86'400,
     "seconds a message stays in history; 0 = until pushed out"},
    {"presence", &NamespaceOptions::presence, 0, "clients may ask for presence"},
    {"client_publish", &NamespaceOptions::client_publish, 0,
     "clients (not only the HTTP API) may publish"},
};

uint64_t GetUint(const Option& o, const ServerOptions& s) {
  if (auto* f = std::get_if<size_t ServerOptions::*>(&o.field)) return s.**f;
  return s.*std::get<uint32_t ServerOptions::*>(o.field);
}

std::string FormatListen(const ServerOptions& s) {
  bool v6 = s.listen_host.find(':') != std::string::npos;
  return (v6 ? "[" + s.listen_host + "]" : s.listen_host) + ":" + std::to_string(s.port);
}

// Numeric only, as net::OpenListener takes it: no name lookups at startup.
bool SetListen(std::string_view v, ServerOptions* s) {
  std::string host;
  uint16_t port = 0;
  unsigned char addr[sizeof(in6_addr)];
  if (!net::SplitHostPort(v, &host, &port)) return false;
  if (inet_pton(AF_INET, host.c_str(), addr) != 1 && inet_pton(AF_INET6, host.c_str(), addr) != 1) {
    return false;
  }
  s->listen_host = std::move(host);
  s->port = port;
  return true;
}

// The flag form: one string, comma-separated, blanks around items ignored.
bool SetCommaList(const Option& o, std::string_view v, ServerOptions* s) {
  std::vector<std::string_view> list;
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view item = Trim(v.substr(0, comma));
    if (!item.empty()) list.push_back(item);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
  }
  return SetList(o, list, s);
}

std::string TomlList(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + Quote(list[i]);
  return out + "]";
}

}  // namespace

std::span<const Option> Options() { return kOptions; }
std::span<const NamespaceKey> NamespaceKeys() { return kNamespaceKeys; }

size_t IndexOf(const Option& o) { return static_cast<size_t>(&o - kOptions); }

const Option* FindByKey(std::string_view key) {
  for (const Option& o : kOptions) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

const Option* FindByFlag(std::string_view flag) {
  for (const Option& o : kOptions) {
    if (o.flag == flag) return &o;
  }
  return nullptr;
}

bool IsSection(std::string_view name) {
  for (const Option& o : kOptions) {
    size_t dot = o.key.find('.');
    if (dot != std::string_view::npos && o.key.substr(0, dot) == name) return true;
  }
  return false;
}

std::string TomlValue(const Option& o, const ServerOptions& s) {
  switch (o.kind) {
    case Kind::kUint:
      return std::to_string(GetUint(o, s));
    case Kind::kBool:
      return s.*std::get<bool ServerOptions::*>(o.field) ? "true" : "false";
    case Kind::kListen:
      return Quote(FormatListen(s));
    case Kind::kOrigins:
      return TomlList(s.origins);
    case Kind::kHosts:
      return TomlList(s.api_hosts);
    case Kind::kRedis:
      return TomlList(s.redis);
    case Kind::kSecret: {
      const std::string& v = s.*std::get<std::string ServerOptions::*>(o.field);
      return Quote(v.empty() ? v : kRedacted);
    }
    case Kind::kNodeId:
    case Kind::kRoom:
      return Quote(s.*std::get<std::string ServerOptions::*>(o.field));
  }
  return "";
}

std::string TomlValue(const NamespaceKey& k, const NamespaceOptions& ns) {
  if (auto* f = std::get_if<bool NamespaceOptions::*>(&k.field)) return ns.**f ? "true" : "false";
  return std::to_string(ns.*std::get<uint32_t NamespaceOptions::*>(k.field));
}

std::string MustBe(const Option& o) {
  switch (o.kind) {
    case Kind::kUint:
      return "must be an integer from " + std::to_string(o.min) + " to " + std::to_string(o.max);
    case Kind::kBool:
      return "must be true or false";
    case Kind::kSecret:
      return "must be at most " + std::to_string(kMaxSecretBytes) +
             " bytes of UTF-8 without control characters";
    case Kind::kNodeId:
      return "must be up to 32 characters of A-Z a-z 0-9 . _ - (empty = random)";
    case Kind::kRoom:
      return "must be a room name of up to " + std::to_string(proto::kMaxRoomBytes) +
             " bytes of UTF-8 without control characters";
    case Kind::kListen:
      return "must be HOST:PORT with a numeric address, e.g. 0.0.0.0:8080 or [::]:8080";
    case Kind::kOrigins:
      return "must be origins like https://app.example.com (scheme://host[:port], no path), "
             "comma-separated or a TOML array of strings";
    case Kind::kRedis:
      return "must be Redis URLs like redis://127.0.0.1:6379, comma-separated or a TOML array of "
             "strings";
    case Kind::kHosts:
      return "must be host names as in a Host header, like api.example.com, 127.0.0.1:8080 or "
             "[::1] (name[:port], no scheme), comma-separated or a TOML array of strings";
  }
  return "";
}

bool SetUint(const Option& o, uint64_t v, ServerOptions* s) {
  if (o.kind != Kind::kUint || v < o.min || v > o.max) return false;
  if (auto* f = std::get_if<size_t ServerOptions::*>(&o.field)) {
    s->** f = v;
  } else {
    s->*std::get<uint32_t ServerOptions::*>(o.field) = static_cast<uint32_t>(v);
  }
  return true;
}

bool SetBool(const Option& o, bool v, ServerOptions* s) {
  if (o.kind != Kind::kBool) return false;
  s->*std::get<bool ServerOptions::*>(o.field) = v;
  return true;
}

bool SetOrigins(const std::vector<std::string_view>& list, ServerOptions* s) {
  std::vector<std::string> origins;
  for (std::string_view origin : list) {
    if (!IsOrigin(origin)) return false;
    origins.emplace_back(origin);
  }
  s->origins = std::move(origins);
  return true;
}

bool SetHosts(const std::vector<std::string_view>& list, ServerOptions* s) {
  std::vector<std::string> hosts;
  for (std::string_view host : list) {
    if (!IsHost(host)) return false;
    hosts.emplace_back(host);
  }
  s->api_hosts = std::move(hosts);
  return true;
}

static bool SetRedis(const std::vector<std::string_view>& list, ServerOptions* s) {
  std::vector<std::string> urls;
  for (std::string_view url : list) {
    // Syntax only: the server resolves and checks each when it starts.
    if (url.empty() || !IsCleanText(url) || url.find(' ') != std::string_view::npos) return false;
    urls.emplace_back(url);
  }
  s->redis = std::move(urls);
  return true;
}

bool SetList(const Option& o, const std::vector<std::string_view>& list, ServerOptions* s) {
  if (o.kind == Kind::kOrigins) return SetOrigins(list, s);
  if (o.kind == Kind::kRedis) return SetRedis(list, s);
  if (o.kind == Kind::kHosts) return SetHosts(list, s);
  return false;
}

bool SetText(const Option& o, std::string_view v, ServerOptions* s) {
  switch (o.kind) {
    case Kind::kListen:
      return SetListen(v, s);
    case Kind::kOrigins:
    case Kind::kHosts:
    case Kind::kRedis:
      return SetCommaList(o, v, s);
    case Kind::kSecret:
      if (v.size() > kMaxSecretBytes || !IsCleanText(v)) return false;
      break;
    case Kind::kNodeId:
      if (v.size() > kMaxNodeIdBytes || !std::all_of(v.begin(), v.end(), IsNodeIdChar))
        return false;
      break;
    case Kind::kRoom:
      if (v.size() > proto::kMaxRoomBytes || !IsCleanText(v)) return false;
      break;
    case Kind::kUint:
    case Kind::kBool:
      return false;
  }
  s->*std::get<std::string ServerOptions::*>(o.field) = std::string(v);
  return true;
}

bool SetFromText(const Option& o, std::string_view text, ServerOptions* s) {
  if (o.kind == Kind::kUint) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size() &&
           SetUint(o, v, s);
  }
  if (o.kind == Kind::kBool) {
    if (text != "true" && text != "false") return false;
    return SetBool(o, text == "true", s);
  }
  return SetText(o, text, s);
}

void Sources::FromFlag(const Option& o, std::string flag) {
  from_[IndexOf(o)] = std::move(flag);
  from_flag_[IndexOf(o)] = true;
}

void Sources::FromFile(const Option& o, std::string path) {
  from_[IndexOf(o)] = std::move(path);
  from_flag_[IndexOf(o)] = false;
}

std::string Sources::Subject(const Option& o) const {
  size_t i = IndexOf(o);
  if (from_flag_[i]) return from_[i];
  return from_[i].empty() ? std::string(o.key) : from_[i] + ": " + std::string(o.key);
}

std::string Sources::Mention(const Option& o, const std::string& value) const {
  size_t i = IndexOf(o);
  if (from_flag_[i]) return from_[i] + " " + value;
  std::string base = std::string(o.key) + " = " + value;
  return from_[i].empty() ? base + " (default)" : base + " in " + from_[i];
}

}  // namespace ringcast::shard::config_internal
