// What the server's end of a loopback TCP connection has done with the bytes a test sent,
// read from the kernel through sock_diag (the interface `ss -ti` uses). A test that must know
// the server has read a partial frame or head before it sends the next piece asks this
// instead of sleeping: the server answers nothing until the piece is complete, but its socket
// shows the bytes taken.
#pragma once

#include <cstdint>
#include <optional>

namespace ringcast::testing {

struct PeerSocketState {
  uint64_t bytes_received = 0;  // payload bytes the peer's socket has received, in order
  uint32_t unread = 0;          // of those, bytes the peer's process has not read yet
};

// The state of the socket at the other end of the connected TCP socket `fd` (both ends on
// this host), or nullopt if the kernel does not know it (closed, or not a local peer).
std::optional<PeerSocketState> PeerSocket(int fd);

}  // namespace ringcast::testing
