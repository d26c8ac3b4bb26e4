// Listening sockets for the shards: every shard opens its own socket on the
// same address with SO_REUSEPORT, so the kernel spreads new connections over
// the shards by 4-tuple hash and no accept is ever shared between threads.
// Plain syscalls, called from the main thread before the shards start, so
// that an unusable address fails Start() with one clear line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast::net {

struct ListenResult {
  int fd = -1;
  uint16_t port = 0;  // the bound port (the kernel's pick when 0 was asked)
  std::string error;  // non-empty on failure, e.g. "cannot listen on 1.2.3.4:80: ..."
};

// host is a numeric IPv4 or IPv6 address ("0.0.0.0", "::", "127.0.0.1").
// The socket has TCP_NODELAY, which every accepted socket inherits.
[[nodiscard]] ListenResult OpenListener(const std::string& host, uint16_t port, int backlog);

// SO_REUSEPORT lets any process of the same user join a port that is already
// served, and the kernel would then split new clients between the two, each
// with its own rooms. Before the shards bind, this binds a throwaway socket
// to host:port *without* SO_REUSEPORT (with SO_REUSEADDR, so connections in
// TIME_WAIT do not count): that fails while anything listens there, our kind
// included. Returns "" when the address is free, else one line like
// "127.0.0.1:8080: address already in use (another process is listening there)".
// "In use" must last 2 s to count: a process killed a moment ago can hold its
// listener until the kernel has released its io_uring, and a supervisor that
// restarts at once must not be refused for that.
// The socket is closed before returning, so it never stands in the way of
// our own listeners. Port 0 is not checked (the kernel picks a port that no
// listener holds).
[[nodiscard]] std::string CheckNotServed(const std::string& host, uint16_t port);

// Splits "HOST:PORT" or "[V6]:PORT" or ":PORT"; returns false on bad syntax.
[[nodiscard]] bool SplitHostPort(std::string_view text, std::string* host, uint16_t* port);

}  // namespace ringcast::net
