#include "net/redis_address.h"

#include <netdb.h>

#include <cstring>

#include "net/listener.h"

namespace ringcast::net {

RedisAddressResult ParseRedisUrl(std::string_view url) {
  RedisAddressResult r;
  auto fail = [&](std::string_view why) {
    r.error = "bad Redis URL '" + std::string(url) + "': " + std::string(why);
    return r;
  };
  std::string_view rest = url;
  if (rest.starts_with("rediss://")) return fail("TLS (rediss://) is not supported");
  if (rest.starts_with("redis://")) rest.remove_prefix(8);
  if (rest.find('@') != std::string_view::npos) return fail("passwords are not supported");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return fail("database numbers are not supported");
  if (rest.empty()) return fail("no host");
  std::string host;
  uint16_t port = 6379;
  bool bracketed = rest.front() == '[';
  size_t colon = rest.rfind(':');
  bool has_port = colon != std::string_view::npos &&
                  (bracketed ? rest.find(']') < colon : rest.find(':') == colon);
  if (has_port) {
    if (!SplitHostPort(rest, &host, &port) || port == 0) return fail("expected HOST:PORT");
  } else {
    host = bracketed ? std::string(rest.substr(1, rest.size() - 2)) : std::string(rest);
  }
  if (host.empty()) return fail("no host");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) return fail(std::string("cannot resolve: ") + gai_strerror(rc));
  std::memcpy(&r.address.addr, res->ai_addr, res->ai_addrlen);
  r.address.addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  r.address.text = host + ":" + port_text;
  return r;
}

}  // namespace ringcast::net
