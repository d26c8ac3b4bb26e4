// RedisAddress: where one Redis endpoint listens. The one address type of
// cluster mode: a `--redis` URL ("redis://HOST:PORT", or "HOST:PORT"; port
// 6379 when left out, ParseRedisUrl), and a Redis Cluster endpoint as CLUSTER
// SLOTS and MOVED/ASK name it ("host:port", Parse). Equality is by host and
// port as written, which is how a Redis Cluster names its nodes.
//
// A Redis Cluster answers an empty host (or "?") when it does not know a
// node's preferred endpoint: the client is to use the host it asked, so the
// host stays empty and the caller fills it in before resolving.
//
// Resolution: a `--redis` host is resolved once, by getaddrinfo on the main
// thread at start-up, so a bad name fails Start() with one clear line. A
// shard resolves only numeric hosts (Resolve with numeric_only), which never
// blocks on DNS: Redis Cluster names its nodes by IP unless configured
// otherwise. Passwords, database numbers and TLS (rediss://) are refused
// with a reason rather than silently ignored. Pure values: any thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast::net {

struct RedisAddress {
  std::string host;  // empty: the host of the node that named it
  uint16_t port = 0;
  sockaddr_storage addr{};  // valid once resolved (addr_len > 0)
  socklen_t addr_len = 0;

  // "host:port", "[v6]:port" or "v6:port" (split at the last ':'); port
  // 1..65535; "?" or no host leaves host empty. Not resolved.
  [[nodiscard]] static std::optional<RedisAddress> Parse(std::string_view text);
  // "host:port", "[v6]:port" for an IPv6 host: for logs, /healthz and Parse.
  std::string ToString() const;
  // Fills addr; numeric_only never asks DNS. Empty on success, else the reason.
  [[nodiscard]] std::string Resolve(bool numeric_only);
  bool IsResolved() const { return addr_len > 0; }
  bool operator==(const RedisAddress& o) const { return host == o.host && port == o.port; }
};

struct RedisAddressResult {
  RedisAddress address;
  std::string error;  // non-empty on failure: "bad Redis URL ...: reason"
};

// Parses and resolves (DNS allowed: start-up only).
[[nodiscard]] RedisAddressResult ParseRedisUrl(std::string_view url);

}  // namespace ringcast::net
