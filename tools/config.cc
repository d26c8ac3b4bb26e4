#include "tools/config.h"

#include <arpa/inet.h>
#include <mimalloc.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "net/listener.h"
#include "proto/command.h"

namespace ringcast::tools {
namespace {

using shard::NamespaceOptions;
using shard::ServerOptions;

static_assert(std::is_same_v<unsigned, uint32_t>, "ServerOptions::shards is set as a uint32_t");

constexpr char kVersion[] = "0.1.0";
constexpr std::string_view kRedacted = "<redacted>";
constexpr uint64_t kHourMs = 3'600'000;
constexpr uint64_t kDayMs = 24 * kHourMs;
constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxSecretBytes = 4096;
constexpr size_t kMaxNodeIdBytes = 32;
constexpr int kUsageExitCode = 2;

enum class Kind : uint8_t { kUint, kBool, kSecret, kNodeId, kRoom, kListen, kOrigins };

// Where a setting lives in ServerOptions; kListen and kOrigins have their own code.
using Field = std::variant<std::monostate, size_t ServerOptions::*, uint32_t ServerOptions::*,
                           bool ServerOptions::*, std::string ServerOptions::*>;

struct Option {
  std::string_view key;   // TOML key, dotted: "limits.max_message_bytes"
  std::string_view flag;  // "--max-message-bytes"
  Kind kind;
  Field field;
  uint64_t min;  // kUint: allowed range
  uint64_t max;
  std::string_view value_name;  // for --help: "BYTES", "MS", "HOST:PORT"
  std::string_view help;        // one line
};

// Top-level keys first, then each [section] contiguously: FormatConfig relies on it.
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
     &ServerOptions::max_connections_per_shard, 1, 1u << 30, "N",
     "connections per shard; more are refused"},
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
    {"events.room", "--events-room", Kind::kRoom, &ServerOptions::events_room, 0, 0, "ROOM",
     "room for connection status events, e.g. $events; empty = none"},
    {"presence.leave_delay_ms", "--presence-leave-delay-ms", Kind::kUint,
     &ServerOptions::presence_leave_delay_ms, 0, kHourMs, "MS",
     "send `leave` once a user's last connection has been gone this long"},
};
constexpr size_t kOptionCount = std::size(kOptions);

struct NamespaceKey {
  std::string_view key;
  std::variant<uint32_t NamespaceOptions::*, bool NamespaceOptions::*> field;
  uint64_t max;  // integers: 0..max
  std::string_view help;
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

// ---- small helpers ------------------------------------------------------------------

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

// Printable UTF-8: no control characters.
bool IsCleanText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return simdjson::validate_utf8(s.data(), s.size());
}

bool IsNodeIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// scheme://host[:port], as browsers send it: no path, no trailing slash.
bool IsOrigin(std::string_view s) {
  size_t sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0 || sep + 3 == s.size()) return false;
  if (s.substr(sep + 3).find('/') != std::string_view::npos) return false;
  return IsCleanText(s) && s.find_first_of(" ,") == std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// A TOML key: bare when it can be, quoted otherwise.
std::string TomlKey(std::string_view s) {
  bool bare = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(s) : Quote(s);
}

std::string OneLine(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "unknown key 'limits.max_mesage_bytes' (did you mean limits.max_message_bytes?)"
std::string UnknownKey(const std::string& path, const std::string& key,
                       const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = 4;  // suggest only near misses
  for (const std::string& k : known) {
    size_t d = EditDistance(key, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  std::string line = path + ": unknown key '" + key + "'";
  return best.empty() ? line : line + " (did you mean " + best + "?)";
}

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// ---- reading and writing one setting ------------------------------------------------

uint64_t GetUint(const Option& o, const ServerOptions& s) {
  if (auto* f = std::get_if<size_t ServerOptions::*>(&o.field)) return s.**f;
  return s.*std::get<uint32_t ServerOptions::*>(o.field);
}

std::string FormatListen(const ServerOptions& s) {
  bool v6 = s.listen_host.find(':') != std::string::npos;
  return (v6 ? "[" + s.listen_host + "]" : s.listen_host) + ":" + std::to_string(s.port);
}

// The value as TOML; secrets redacted unless empty.
std::string TomlValue(const Option& o, const ServerOptions& s) {
  switch (o.kind) {
    case Kind::kUint:
      return std::to_string(GetUint(o, s));
    case Kind::kBool:
      return s.*std::get<bool ServerOptions::*>(o.field) ? "true" : "false";
    case Kind::kListen:
      return Quote(FormatListen(s));
    case Kind::kOrigins: {
      std::string out = "[";
      for (size_t i = 0; i < s.origins.size(); ++i) out += (i ? ", " : "") + Quote(s.origins[i]);
      return out + "]";
    }
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

// What a valid value looks like, after "--flag " or "FILE: key ".
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
  }
  return "";
}

// Each Set* returns false when the value is not allowed (the caller reports MustBe).
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

// Strings of every kind; origins as one comma-separated string.
bool SetText(const Option& o, std::string_view v, ServerOptions* s) {
  switch (o.kind) {
    case Kind::kListen: {
      // Numeric only, as net::OpenListener takes it: no name lookups at startup.
      std::string host;
      uint16_t port = 0;
      unsigned char addr[sizeof(in6_addr)];
      if (!net::SplitHostPort(v, &host, &port)) return false;
      if (inet_pton(AF_INET, host.c_str(), addr) != 1 &&
          inet_pton(AF_INET6, host.c_str(), addr) != 1) {
        return false;
      }
      s->listen_host = std::move(host);
      s->port = port;
      return true;
    }
    case Kind::kOrigins: {
      std::vector<std::string_view> list;
      while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view item = Trim(v.substr(0, comma));
        if (!item.empty()) list.push_back(item);
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      }
      return SetOrigins(list, s);
    }
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

// A flag's text: numbers and booleans parsed, strings as given.
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

// A TOML value. Returns "" or the end of an error line ("must be ... (got ...)").
std::string SetFromToml(const Option& o, const toml::node& node, ServerOptions* s) {
  bool ok = false;
  std::string got = TypeName(node);
  if (const auto* i = node.as_integer()) {
    got = std::to_string(i->get());
    ok = i->get() >= 0 && SetUint(o, static_cast<uint64_t>(i->get()), s);
  } else if (const auto* b = node.as_boolean()) {
    got = b->get() ? "true" : "false";
    ok = SetBool(o, b->get(), s);
  } else if (const auto* str = node.as_string()) {
    bool wants_string = o.kind != Kind::kUint && o.kind != Kind::kBool;
    if (o.kind != Kind::kSecret) got = (wants_string ? "" : "a string ") + Quote(str->get());
    ok = SetText(o, str->get(), s);
  } else if (const auto* arr = node.as_array(); arr && o.kind == Kind::kOrigins) {
    std::vector<std::string_view> list;
    ok = true;
    for (const toml::node& item : *arr) {
      const auto* item_str = item.as_string();
      ok = ok && item_str != nullptr;
      if (item_str != nullptr) list.push_back(item_str->get());
    }
    got = "an array";
    ok = ok && SetOrigins(list, s);
  }
  return ok ? "" : MustBe(o) + " (got " + got + ")";
}

// ---- the TOML file ------------------------------------------------------------------

// Where each setting's value came from, for error lines: "" default, "--flag", or a file.
struct Sources {
  std::string from[kOptionCount];
  bool from_flag[kOptionCount] = {};

  // The subject of an error line: "--drain-ms" or "ringcast.toml: shutdown.drain_ms".
  std::string Subject(const Option& o) const {
    size_t i = IndexOf(o);
    if (from_flag[i]) return from[i];
    return from[i].empty() ? std::string(o.key) : from[i] + ": " + std::string(o.key);
  }
  // A setting and its value: "--drain-ms 5", "shutdown.drain_ms = 5 in FILE".
  std::string Mention(const Option& o, const std::string& value) const {
    size_t i = IndexOf(o);
    if (from_flag[i]) return from[i] + " " + value;
    std::string base = std::string(o.key) + " = " + value;
    return from[i].empty() ? base + " (default)" : base + " in " + from[i];
  }
};

std::string ReadFile(const std::string& path, std::string* text) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return path + ": cannot read: " + std::strerror(errno);
  char buf[16384];
  size_t n = 0;
  text->clear();
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0 && text->size() <= kMaxFileBytes) {
    text->append(buf, n);
  }
  int error = std::ferror(f) ? errno : 0;  // a directory fails here with EISDIR
  std::fclose(f);
  if (error != 0) return path + ": cannot read: " + std::strerror(error);
  if (text->size() > kMaxFileBytes) return path + ": larger than 1 MiB, not a config file";
  return "";
}

std::vector<std::string> KnownKeys() {
  std::vector<std::string> keys;
  for (const Option& o : kOptions) {
    keys.emplace_back(o.key);
    size_t dot = o.key.find('.');
    if (dot != std::string_view::npos) keys.emplace_back(o.key.substr(0, dot));
  }
  keys.emplace_back("namespaces");
  return keys;
}

std::string LoadNamespace(const std::string& path, const std::string& name, const toml::node& node,
                          NamespaceOptions* ns) {
  std::string subject = path + ": namespaces." + TomlKey(name);
  const toml::table* table = node.as_table();
  if (table == nullptr) return subject + " must be a table ([namespaces." + TomlKey(name) + "])";
  for (auto&& [key, value] : *table) {
    std::string_view k = key.str();
    const NamespaceKey* spec = nullptr;
    std::vector<std::string> known;
    for (const NamespaceKey& nk : kNamespaceKeys) {
      if (nk.key == k) spec = &nk;
      known.push_back("namespaces." + TomlKey(name) + "." + std::string(nk.key));
    }
    std::string full = "namespaces." + TomlKey(name) + "." + std::string(k);
    if (spec == nullptr) return UnknownKey(path, full, known);
    if (auto* f = std::get_if<bool NamespaceOptions::*>(&spec->field)) {
      const auto* b = value.as_boolean();
      if (b == nullptr) {
        return path + ": " + full + " must be true or false (got " + TypeName(value) + ")";
      }
      ns->*(*f) = b->get();
      continue;
    }
    const auto* i = value.as_integer();
    if (i == nullptr || i->get() < 0 || static_cast<uint64_t>(i->get()) > spec->max) {
      std::string got = i ? std::to_string(i->get()) : TypeName(value);
      return path + ": " + full + " must be an integer from 0 to " + std::to_string(spec->max) +
             " (got " + got + ")";
    }
    ns->*std::get<uint32_t NamespaceOptions::*>(spec->field) = static_cast<uint32_t>(i->get());
  }
  return "";
}

std::string LoadNamespaces(const std::string& path, const toml::node& node, ServerOptions* s) {
  const toml::table* table = node.as_table();
  if (table == nullptr) return path + ": namespaces must be tables [namespaces.NAME]";
  for (auto&& [key, value] : *table) {
    std::string name(key.str());
    if (name.empty() || name.find(':') != std::string::npos || name.size() > proto::kMaxRoomBytes ||
        !IsCleanText(name)) {
      return path + ": namespace name " + Quote(name) +
             " must be a non-empty room prefix without ':' (rooms without one use "
             "[namespaces.default])";
    }
    NamespaceOptions ns;
    if (std::string error = LoadNamespace(path, name, value, &ns); !error.empty()) return error;
    s->namespaces[name] = ns;
  }
  return "";
}

std::string ApplyTomlOption(const std::string& path, const Option& o, const toml::node& node,
                            ServerOptions* s, Sources* sources) {
  if (std::string problem = SetFromToml(o, node, s); !problem.empty()) {
    return path + ": " + std::string(o.key) + " " + problem;
  }
  sources->from[IndexOf(o)] = path;
  sources->from_flag[IndexOf(o)] = false;
  return "";
}

std::string LoadFile(const std::string& path, ServerOptions* s, Sources* sources) {
  std::string text;
  if (std::string error = ReadFile(path, &text); !error.empty()) return error;
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    return path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
           OneLine(e.description());
  }
  for (auto&& [key, node] : root) {
    std::string k(key.str());
    std::string error;
    if (k == "namespaces") {
      error = LoadNamespaces(path, node, s);
    } else if (const Option* o = FindByKey(k)) {
      error = ApplyTomlOption(path, *o, node, s, sources);
    } else if (!IsSection(k)) {
      error = UnknownKey(path, k, KnownKeys());
    } else if (const toml::table* section = node.as_table(); section == nullptr) {
      error = path + ": " + k + " must be a table ([" + k + "])";
    } else {
      for (auto&& [sub_key, sub_node] : *section) {
        std::string full = k + "." + std::string(sub_key.str());
        const Option* sub = FindByKey(full);
        error = sub ? ApplyTomlOption(path, *sub, sub_node, s, sources)
                    : UnknownKey(path, full, KnownKeys());
        if (!error.empty()) break;
      }
    }
    if (!error.empty()) return error;
  }
  return "";
}

// ---- after every layer --------------------------------------------------------------

std::string CheckCombination(const ServerOptions& s, const Sources& sources) {
  const Option& ping = *FindByKey("keepalive.ping_interval_ms");
  const Option& idle = *FindByKey("keepalive.idle_timeout_ms");
  if (s.ping_interval_ms > 0 && s.idle_timeout_ms > 0 && s.idle_timeout_ms <= s.ping_interval_ms) {
    return sources.Mention(idle, std::to_string(s.idle_timeout_ms)) + " must be greater than " +
           sources.Mention(ping, std::to_string(s.ping_interval_ms)) +
           " (or set either to 0): quiet clients would be closed before being pinged";
  }
  for (const Option& o : kOptions) {
    if (o.kind == Kind::kSecret &&
        s.*std::get<std::string ServerOptions::*>(o.field) == kRedacted) {
      return sources.Subject(o) + " is \"" + std::string(kRedacted) +
             "\", the placeholder --print-config prints: put the real secret back";
    }
  }
  return "";
}

ConfigResult Exit(std::string output) {
  ConfigResult r;
  r.exit_now = true;
  r.output = std::move(output);
  return r;
}

ConfigResult Error(std::string line) {
  ConfigResult r;
  r.ok = false;
  r.exit_now = true;
  r.exit_code = kUsageExitCode;
  r.error = OneLine(line);
  return r;
}

struct FlagValue {
  const Option* option;
  std::string flag;
  std::string value;
};

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + " ";
}

}  // namespace

std::string HelpText() {
  const ServerOptions defaults;
  std::string out =
      "usage: ringcast [--config FILE] [flags]\n"
      "\n"
      "A WebSocket pub/sub broker: one io_uring shard per core. Clients connect to\n"
      "ws://HOST:PORT/ws (see PROTOCOL.md in the project).\n"
      "\n"
      "Settings come from the defaults, then the TOML file given with --config, then\n"
      "flags: a flag overrides the file. Flags take `--flag VALUE` or `--flag=VALUE`.\n"
      "Each flag below shows its TOML key and default, then what it does.\n"
      "\n"
      "  --config FILE                           read settings from a TOML file\n"
      "  --print-config                          print the effective settings as TOML and exit\n"
      "                                          (secrets print as \"<redacted>\")\n"
      "  --help                                  show this text\n"
      "  --version                               print the version\n"
      "\n";
  for (const Option& o : kOptions) {
    out += "  " + Pad(std::string(o.flag) + " " + std::string(o.value_name), 39) +
           std::string(o.key) + " = " + TomlValue(o, defaults) + "\n";
    out += "        " + std::string(o.help);
    if (o.kind == Kind::kUint)
      out += " (" + std::to_string(o.min) + ".." + std::to_string(o.max) + ")";
    out += "\n";
  }
  out +=
      "  --no-pin                                same as --pin-threads false\n"
      "\n"
      "Namespaces (file only): a room \"NAME:rest\" uses the table [namespaces.NAME], a\n"
      "room without a prefix uses [namespaces.default]. Keys, with their defaults:\n";
  const NamespaceOptions ns;
  for (const NamespaceKey& k : kNamespaceKeys) {
    std::string value = std::visit(
        [&](auto field) -> std::string {
          if constexpr (std::is_same_v<decltype(field), bool NamespaceOptions::*>) {
            return ns.*field ? "true" : "false";
          } else {
            return std::to_string(ns.*field);
          }
        },
        k.field);
    out += "  " + Pad(std::string(k.key) + " = " + value, 22) + std::string(k.help);
    if (std::holds_alternative<uint32_t NamespaceOptions::*>(k.field)) {
      out += " (0.." + std::to_string(k.max) + ")";
    }
    out += "\n";
  }
  return out;
}

std::string FormatConfig(const ServerOptions& options) {
  std::string out =
      "# ringcast effective configuration (ringcast --print-config). Use it with\n"
      "# --config FILE. Secrets print as \"<redacted>\", which ringcast refuses to\n"
      "# start with: put the real values back, or pass --jwt-secret / --api-key.\n";
  std::string_view section;
  for (const Option& o : kOptions) {
    size_t dot = o.key.find('.');
    std::string_view name = o.key;
    if (dot != std::string_view::npos) {
      if (o.key.substr(0, dot) != section) {
        section = o.key.substr(0, dot);
        out += "\n[" + std::string(section) + "]\n";
      }
      name = o.key.substr(dot + 1);
    }
    out += std::string(name) + " = " + TomlValue(o, options) + "\n";
  }
  for (const auto& [name, ns] : options.namespaces) {
    out += "\n[namespaces." + TomlKey(name) + "]\n";
    out += "history_size = " + std::to_string(ns.history_size) + "\n";
    out += "history_ttl_s = " + std::to_string(ns.history_ttl_s) + "\n";
    out += std::string("presence = ") + (ns.presence ? "true" : "false") + "\n";
    out += std::string("client_publish = ") + (ns.client_publish ? "true" : "false") + "\n";
  }
  return out;
}

ConfigResult BuildOptions(int argc, char** argv, ServerOptions* out) {
  std::vector<FlagValue> flags;
  std::optional<std::string> config_path;
  bool print_config = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    if (arg == "--help" || arg == "-h") return Exit(HelpText());
    if (arg == "--version") {
      return Exit("ringcast " + std::string(kVersion) + " (mimalloc " +
                  std::to_string(mi_version()) + ")\n");
    }
    if (arg == "--print-config" || arg == "--no-pin") {
      if (value) return Error(arg + " takes no value");
      if (arg == "--no-pin") flags.push_back({FindByKey("pin_threads"), arg, "false"});
      print_config = print_config || arg == "--print-config";
      continue;
    }
    const Option* option = FindByFlag(arg);
    if (option == nullptr && arg != "--config") {
      bool is_flag = arg.starts_with("-");
      return Error((is_flag ? "unknown flag '" : "unexpected argument '") + arg +
                   "' (see ringcast --help)");
    }
    if (!value) {
      // A value that looks like a flag is a forgotten value; `--flag=--x` passes one.
      if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--")) {
        return Error(arg + " needs a value (" + std::string(option ? option->value_name : "FILE") +
                     ")");
      }
      value = argv[++i];
    }
    if (option != nullptr) {
      flags.push_back({option, arg, *value});
    } else if (config_path) {
      return Error("--config given twice ('" + *config_path + "', '" + *value + "')");
    } else if (value->empty()) {
      return Error("--config needs a file name");
    } else {
      config_path = *value;
    }
  }

  ServerOptions options;
  Sources sources;
  if (config_path) {
    if (std::string error = LoadFile(*config_path, &options, &sources); !error.empty()) {
      return Error(error);
    }
  }
  for (const FlagValue& f : flags) {
    if (!SetFromText(*f.option, f.value, &options)) {
      bool echo = f.option->kind != Kind::kSecret;
      return Error(f.flag + " " + MustBe(*f.option) + (echo ? " (got '" + f.value + "')" : ""));
    }
    sources.from[IndexOf(*f.option)] = f.flag;
    sources.from_flag[IndexOf(*f.option)] = true;
  }
  if (std::string error = CheckCombination(options, sources); !error.empty()) return Error(error);

  *out = std::move(options);
  if (print_config) return Exit(FormatConfig(*out));
  return ConfigResult{};
}

}  // namespace ringcast::tools
