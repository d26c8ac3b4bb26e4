// An in-memory cluster of shards for unit tests: the simulated cluster of
// tests/support/sim_cluster.h (the real ShardParts of N shards over a fake
// kernel and bus, driven one loop round at a time), with its checks of the
// fake kernel reported as test failures, and a client to drive it:
//
//   SimShard  one shard, like Shard (sim_cluster.h).
//   Cluster   the shards, one ManualClock, the bus queues and the fake
//             sockets (sim_cluster.h), plus clients: Open, Connect.
//   Client    the peer of one fake socket: writes request heads and masked
//             frames into it and decodes what the server sent to it.
//
// The fake kernel and the bus are described in sim_cluster.h. Test thread
// only.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/hash.h"
#include "core/timer_wheel.h"
#include "core/wire.h"
#include "net/frame_writer.h"
#include "shard/access.h"
#include "shard/bus_port.h"
#include "shard/commands.h"
#include "shard/http_api.h"
#include "shard/local_rooms.h"
#include "shard/metrics.h"
#include "shard/namespaces.h"
#include "shard/room_owner.h"
#include "shard/sessions.h"
#include "shard/shard_parts.h"
#include "shard/shard_stats.h"
#include "shard/users.h"
#include "tests/support/sim_cluster.h"

namespace ringcast::shard::harness {

// ---------------------------------------------------------------------------
// Client-side bytes.

inline constexpr std::string_view kWsKey = "dGhlIHNhbXBsZSBub25jZQ==";

// A valid RFC 6455 upgrade request for `target`, plus `extra` header lines
// (each ending in \r\n).
inline std::string UpgradeRequest(std::string_view target = "/ws", std::string_view extra = "") {
  std::string out = "GET ";
  out.append(target).append(
      " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
  out.append(kWsKey).append("\r\n").append(extra).append("\r\n");
  return out;
}

// One masked client frame (FIN set), as tests/support/ws_client.cc builds them.
inline std::string MaskedFrame(uint8_t opcode, std::string_view payload,
                               uint32_t mask_key = 0x5a17c3e9) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>((n >> 8) & 0xff));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((uint64_t{n} >> (8 * i)) & 0xff));
  }
  uint8_t mask[4] = {static_cast<uint8_t>(mask_key >> 24), static_cast<uint8_t>(mask_key >> 16),
                     static_cast<uint8_t>(mask_key >> 8), static_cast<uint8_t>(mask_key)};
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < n; ++i) {
    f.push_back(static_cast<char>(static_cast<uint8_t>(payload[i]) ^ mask[i % 4]));
  }
  return f;
}

inline std::string TextFrame(std::string_view text) {
  return MaskedFrame(wire::OpcodeValue(wire::Opcode::kText), text);
}

// ---------------------------------------------------------------------------
// Decoding what the server sent.

struct ServerFrame {
  uint8_t opcode = 0;
  std::string payload;
};

// One unmasked server frame at *pos; false (and *pos unchanged) when incomplete.
inline bool DecodeServerFrame(std::string_view bytes, size_t* pos, ServerFrame* out) {
  size_t p = *pos;
  if (bytes.size() - p < 2) return false;
  auto b0 = static_cast<uint8_t>(bytes[p]);
  auto b1 = static_cast<uint8_t>(bytes[p + 1]);
  EXPECT_EQ(b0 & 0x80, 0x80) << "server frames are never fragmented";
  EXPECT_EQ(b1 & 0x80, 0) << "server frames are never masked";
  p += 2;
  uint64_t len = b1 & 0x7f;
  if (len >= 126) {
    size_t ext = len == 126 ? 2 : 8;
    if (bytes.size() - p < ext) return false;
    len = 0;
    for (size_t i = 0; i < ext; ++i) len = (len << 8) | static_cast<uint8_t>(bytes[p + i]);
    p += ext;
  }
  if (bytes.size() - p < len) return false;
  out->opcode = b0 & 0x0f;
  out->payload.assign(bytes.substr(p, static_cast<size_t>(len)));
  *pos = p + static_cast<size_t>(len);
  return true;
}

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// One HTTP response at *pos (its body by Content-Length); false when incomplete.
inline bool DecodeHttpResponse(std::string_view bytes, size_t* pos, HttpResponse* out) {
  std::string_view rest = bytes.substr(*pos);
  size_t end = rest.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  std::string_view head = rest.substr(0, end);
  HttpResponse r;
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  EXPECT_EQ(status_line.substr(0, 9), "HTTP/1.1 ") << status_line;
  r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  while (line_end != std::string_view::npos) {
    size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    std::string_view line = head.substr(
        start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers[Lower(line.substr(0, colon))] = std::string(value);
  }
  size_t body_bytes = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    body_bytes = static_cast<size_t>(std::stoull(it->second));
  }
  if (rest.size() < end + 4 + body_bytes) return false;
  r.body.assign(rest.substr(end + 4, body_bytes));
  *pos += end + 4 + body_bytes;
  *out = std::move(r);
  return true;
}

// JSON helpers over simdjson's DOM: the value of a field of a message, as
// text (strings without quotes, other values minified), or "<missing>".
inline std::string JsonField(std::string_view json, std::string_view path) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) return "<bad json>";
  simdjson::dom::element v;
  std::string pointer = "/" + std::string(path);
  if (doc.at_pointer(pointer).get(v) != simdjson::SUCCESS) return "<missing>";
  if (v.is_string()) return std::string(std::string_view(v));
  return simdjson::minify(v);
}

inline bool HasField(std::string_view json, std::string_view path) {
  return JsonField(json, path) != "<missing>";
}

// Commands and the server's answers, as exact JSON text (the server writes
// fields in a fixed order: docs/protocol.md).
inline std::string Sub(std::string_view room, uint64_t id) {
  return R"({"op":"sub","room":")" + std::string(room) + R"(","id":)" + std::to_string(id) + "}";
}
inline std::string Unsub(std::string_view room, uint64_t id) {
  return R"({"op":"unsub","room":")" + std::string(room) + R"(","id":)" + std::to_string(id) + "}";
}
inline std::string Pub(std::string_view room, std::string_view data_json, uint64_t id) {
  return R"({"op":"pub","room":")" + std::string(room) + R"(","data":)" + std::string(data_json) +
         R"(,"id":)" + std::to_string(id) + "}";
}
inline std::string Ok(uint64_t id) { return R"({"op":"ok","id":)" + std::to_string(id) + "}"; }
inline std::string Pong(uint64_t id) { return R"({"op":"pong","id":)" + std::to_string(id) + "}"; }
inline std::string Error(std::optional<uint64_t> id, std::string_view code,
                         std::string_view reason) {
  std::string out = R"({"op":"error",)";
  if (id) out += R"("id":)" + std::to_string(*id) + ",";
  return out + R"("code":")" + std::string(code) + R"(","reason":")" + std::string(reason) +
         R"("})";
}
inline std::string Msg(std::string_view room, std::string_view from, std::string_view data_json) {
  return R"({"op":"msg","room":")" + std::string(room) + R"(","from":")" + std::string(from) +
         R"(","data":)" + std::string(data_json) + "}";
}
inline std::string DirectMsg(std::string_view from, std::string_view data_json) {
  return R"({"op":"msg","from":")" + std::string(from) + R"(","data":)" + std::string(data_json) +
         "}";
}

// An HTTP/1.1 request to localhost with a JSON Content-Type and Content-Length
// (when there is a body) and `extra` header lines (each ending in \r\n).
inline std::string HttpRequest(std::string_view method, std::string_view target,
                               std::string_view body = "", std::string_view extra = "") {
  std::string out(method);
  out.append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n").append(extra);
  if (!body.empty() || method == "POST") {
    out.append("Content-Type: application/json\r\n");
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

// ---------------------------------------------------------------------------
// The simulated cluster (tests/support/sim_cluster.h), with its checks made
// test failures and gtest clients on top.

using sim::FakeSocket;
using sim::SimShard;

inline void ReportSimFailure(const char* file, int line, const std::string& message) {
  ADD_FAILURE_AT(file, line) << message;
}

class Client;

class Cluster : public sim::Cluster {
 public:
  explicit Cluster(ServerOptions options, unsigned shards = 2)
      : sim::Cluster(std::move(options), shards) {
    sim::failure_handler = &ReportSimFailure;
  }

  // A new socket accepted by `shard` (in its next round). Defined below.
  Client Open(unsigned shard);
  // A WebSocket client: opens, upgrades with `target`, settles, and checks
  // and consumes the welcome.
  Client Connect(unsigned shard, std::string_view target = "/ws",
                 std::string_view extra_headers = "");
  Client ConnectUser(unsigned shard, std::string_view user);
  // Adopts a real socket fd instead of a made-up number (for getpeername).
  Client OpenWithFd(unsigned shard, int fd);
};

// The client end of one fake socket.
class Client {
 public:
  Client() = default;
  Client(sim::Cluster* cluster, int fd) : cluster_(cluster), fd_(fd) {}

  int fd() const { return fd_; }
  unsigned shard() const { return socket().shard; }
  core::SlabHandle handle() const { return socket().handle; }
  const FakeSocket& socket() const { return cluster_->Socket(fd_); }

  // Raw bytes into the socket: the server receives them in a later round.
  void Write(std::string_view bytes) { cluster_->Socket(fd_).input.append(bytes); }
  // One masked text frame.
  void Text(std::string_view text) { Write(TextFrame(text)); }
  // The peer closes its side (EOF at the server).
  void PeerClose() { cluster_->Socket(fd_).eof = true; }

  // WebSocket: the frames the server sent since the last call (the 101 head
  // is skipped the first time).
  std::vector<ServerFrame> Frames() {
    const std::string& out = socket().output;
    std::vector<ServerFrame> frames;
    if (!upgraded_) {
      size_t end = out.find("\r\n\r\n", read_);
      if (end == std::string::npos) return frames;
      EXPECT_EQ(out.compare(read_, 12, "HTTP/1.1 101"), 0) << out.substr(read_, end - read_);
      read_ = end + 4;
      upgraded_ = true;
    }
    ServerFrame f;
    while (DecodeServerFrame(out, &read_, &f)) {
      if (f.opcode == wire::OpcodeValue(wire::Opcode::kClose)) {
        close_code = f.payload.size() >= 2
                         ? static_cast<uint16_t>((static_cast<uint8_t>(f.payload[0]) << 8) |
                                                 static_cast<uint8_t>(f.payload[1]))
                         : 1005;
        close_reason = f.payload.size() > 2 ? f.payload.substr(2) : "";
      }
      frames.push_back(std::move(f));
    }
    return frames;
  }
  // The text messages among them.
  std::vector<std::string> Texts() {
    std::vector<std::string> texts;
    for (ServerFrame& f : Frames()) {
      if (f.opcode == wire::OpcodeValue(wire::Opcode::kText)) texts.push_back(std::move(f.payload));
    }
    return texts;
  }
  // HTTP: the responses the server sent since the last call.
  std::vector<HttpResponse> Responses() {
    const std::string& out = socket().output;
    std::vector<HttpResponse> responses;
    HttpResponse r;
    while (DecodeHttpResponse(out, &read_, &r)) responses.push_back(std::move(r));
    return responses;
  }
  bool closed() const { return socket().closed; }
  bool shut_wr() const { return socket().shut_wr; }

  std::optional<uint16_t> close_code;  // from the close frame, once decoded
  std::string close_reason;

 private:
  sim::Cluster* cluster_ = nullptr;
  int fd_ = -1;
  size_t read_ = 0;
  bool upgraded_ = false;
};

// ---------------------------------------------------------------------------
// Cluster's clients.

inline Client Cluster::Open(unsigned shard) { return Client(this, OpenSocket(shard)); }

inline Client Cluster::OpenWithFd(unsigned shard, int fd) {
  return Client(this, OpenSocket(shard, fd));
}

inline Client Cluster::Connect(unsigned shard, std::string_view target,
                               std::string_view extra_headers) {
  Client c = Open(shard);
  c.Write(UpgradeRequest(target, extra_headers));
  Settle();
  std::vector<std::string> texts = c.Texts();
  EXPECT_EQ(texts.size(), 1u) << "expected only the welcome";
  if (!texts.empty()) {
    EXPECT_EQ(JsonField(texts[0], "op"), "welcome") << texts[0];
  }
  return c;
}

inline Client Cluster::ConnectUser(unsigned shard, std::string_view user) {
  return Connect(shard, "/ws?user=" + std::string(user));
}

}  // namespace ringcast::shard::harness
