// RedisAddress: where one Redis instance listens, from a `--redis` URL
// ("redis://HOST:PORT", or "HOST:PORT"; port 6379 when left out). The host is
// resolved once, by getaddrinfo on the main thread at start-up, so a shard
// never blocks on DNS and a bad name fails Start() with one clear line.
// Passwords, database numbers and TLS (rediss://) are refused with a reason
// rather than silently ignored. Pure values: any thread.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace ringcast::net {

struct RedisAddress {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string text;  // "HOST:PORT" as given, for logs and /healthz
};

struct RedisAddressResult {
  RedisAddress address;
  std::string error;  // non-empty on failure: "bad --redis URL ...: reason"
};

[[nodiscard]] RedisAddressResult ParseRedisUrl(std::string_view url);

}  // namespace ringcast::net
