#include "net/redis_address.h"

#include <netdb.h>

#include <charconv>
#include <cstring>

#include "net/listener.h"

namespace ringcast::net {

std::optional<RedisAddress> RedisAddress::Parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  uint32_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  for (char ch : host) {
    if (static_cast<unsigned char>(ch) <= ' ') return std::nullopt;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "?") host = {};
  RedisAddress out;
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(port);
  return out;
}

std::string RedisAddress::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + host + "]" : host;
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

std::string RedisAddress::Resolve(bool numeric_only) {
  if (host.empty()) return "no host";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
  addrinfo* res = nullptr;
  const std::string port_text = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) return std::string("cannot resolve: ") + gai_strerror(rc);
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return {};
}

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
  r.address.host = std::move(host);
  r.address.port = port;
  if (std::string error = r.address.Resolve(false); !error.empty()) return fail(error);
  return r;
}

}  // namespace ringcast::net
