// The pieces of ringcast-sol (bench/sol/sol_server.cc) that are plain data: a publication's
// frame shared by the queues, a connection, a room member, a sendmsg block, and the string
// matching that stands in for JSON parsing of the `sub`/`pub` commands ringcast-load sends.
// Single-threaded, like the server.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/shared_frame.h"
#include "net/frame_reader.h"

namespace ringcast::sol {

constexpr size_t kMaxIov = 256;  // frames per sendmsg, as ringcast's shard

// A SharedFrame wrapped once per publication: `refs` counts the queues that still hold it
// (plus one while the fan-out loop runs), so no atomic operation is paid per subscriber.
struct Local {
  core::SharedFrame* frame;
  uint32_t refs;
};

inline void Unref(Local* l) {
  if (--l->refs == 0) {
    l->frame->Unref();
    delete l;
  }
}

struct Conn {
  int fd = -1;
  uint32_t gen = 0;
  bool live = false;
  bool open = false;  // past the handshake
  bool dead = false;  // shut down; freed once the kernel gave its operations back
  bool recv_armed = false;
  bool send_in_flight = false;
  bool dirty = false;
  bool paused = false;
  std::string head;  // the request head while it arrives
  net::WsReadState ws;
  std::vector<Local*> out;  // queued frames from out_head on
  size_t out_head = 0;
  uint32_t head_offset = 0;  // bytes of out[out_head] already sent
  uint64_t queued = 0;
  size_t in_flight = 0;  // frames the send in flight covers
};

struct Member {
  uint32_t slot;
  uint32_t gen;
};

struct SendBlock {
  msghdr msg;
  iovec iov[kMaxIov];
};

// The room, publication data and id of a `sub`/`pub` command, found by string matching.
inline std::string_view StringAfter(std::string_view text, std::string_view key) {
  size_t at = text.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  size_t end = text.find('"', at);
  return end == std::string_view::npos ? std::string_view{} : text.substr(at, end - at);
}

inline std::string_view IdAfter(std::string_view text) {
  size_t at = text.find("\"id\":");
  if (at == std::string_view::npos) return {};
  at += 5;
  size_t end = at;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  return text.substr(at, end - at);
}

// The raw JSON value of "data": everything after it up to the object's closing brace.
inline std::string_view DataAfter(std::string_view text) {
  size_t at = text.find("\"data\":");
  size_t close = text.rfind('}');
  if (at == std::string_view::npos || close == std::string_view::npos || close < at + 7) return {};
  return text.substr(at + 7, close - at - 7);
}

}  // namespace ringcast::sol
