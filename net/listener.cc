#include "net/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace ringcast::net {

namespace {

std::string Describe(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

struct FreeAddrInfo {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};
using AddrInfo = std::unique_ptr<addrinfo, FreeAddrInfo>;

// The address to bind for a numeric host; null with *error set otherwise.
AddrInfo ResolveNumeric(const std::string& host, uint16_t port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* info = nullptr;
  std::string port_text = std::to_string(port);
  if (getaddrinfo(host.c_str(), port_text.c_str(), &hints, &info) != 0 || info == nullptr) {
    *error = "cannot listen on " + Describe(host, port) + ": not a numeric IP address";
    return nullptr;
  }
  return AddrInfo(info);
}

}  // namespace

ListenResult OpenListener(const std::string& host, uint16_t port, int backlog) {
  ListenResult result;
  AddrInfo info = ResolveNumeric(host, port, &result.error);
  if (!info) return result;
  int fd = socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = "cannot create socket: " + std::string(std::strerror(errno));
    return result;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  // Accepted sockets inherit it: our corking happens in user space, and one
  // setsockopt here saves one per connection.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // A connection reaches accept with its first bytes (the HTTP head): the
  // shard is not woken for the bare handshake, and the receive it arms on
  // accept finds the head already there. One that stays silent waits in the
  // kernel's SYN queue and is handed over after about a second, as if it had
  // connected then (handshake_timeout_ms runs from there).
  int defer_s = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof(defer_s));
  if (bind(fd, info->ai_addr, info->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
    result.error = "cannot listen on " + Describe(host, port) + ": " + std::strerror(errno);
    close(fd);
    return result;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  if (bound.ss_family == AF_INET) {
    result.port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  } else {
    result.port = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  }
  result.fd = fd;
  return result;
}

std::string CheckNotServed(const std::string& host, uint16_t port) {
  if (port == 0) return "";
  std::string error;
  AddrInfo info = ResolveNumeric(host, port, &error);
  if (!info) return error;
  // A process killed a moment ago can still hold its listener: the kernel
  // releases a dead process's io_uring (and the accept armed on it) after the
  // exit, from a worker. A supervisor restarting at once would otherwise be
  // told the port is taken, so "in use" must last kInUseGraceMs to count.
  constexpr int kInUseGraceMs = 2000;
  constexpr int kStepMs = 50;
  for (int waited = 0;; waited += kStepMs) {
    int fd = socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return "cannot create socket: " + std::string(std::strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const int rc = bind(fd, info->ai_addr, info->ai_addrlen);
    const int err = errno;
    close(fd);
    if (rc == 0) return "";
    if (err != EADDRINUSE) {
      return "cannot listen on " + Describe(host, port) + ": " + std::strerror(err);
    }
    if (waited >= kInUseGraceMs) {
      return Describe(host, port) + ": address already in use (another process is listening there)";
    }
    usleep(kStepMs * 1000);
  }
}

bool SplitHostPort(std::string_view text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = text.substr(0, colon);
  std::string_view p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535) return false;
  *host = std::string(h);
  *port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace ringcast::net
