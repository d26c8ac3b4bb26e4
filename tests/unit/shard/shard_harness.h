// An in-memory cluster of shards for unit tests: the real Sessions,
// LocalRooms, RoomOwner, Users, Commands and HttpApi of N shards, wired
// together the way shard/shard.cc wires them, with the io_uring parts
// replaced by a fake kernel and the SPSC mesh by per-pair FIFO queues, all
// in one thread and driven one loop round at a time.
//
//   SimShard  one shard: BusPort + SessionIo + SessionEvents, like Shard.
//             Round() is Shard::Round without the ring: completions, inbound
//             bus messages, timers, the owner's tick, drain, flush.
//   Cluster   the shards, one ManualClock, one Metrics, the bus queues and
//             the fake sockets. Settle() runs rounds until nothing is left.
//   Client    the peer of one fake socket: writes request heads and masked
//             frames into it and decodes what the server sent to it.
//
// The fake kernel: a connection is "accepted" by a completion handled in the
// next round (as a multishot accept's CQE would be); bytes a client writes
// wait in its socket until a receive is armed and arrive in the next round;
// every SendMsg copies the gathered bytes into the socket and completes
// (fully) in the next round; CancelRecv and shutdown(SHUT_RD/RDWR) end an
// armed receive in the next round (-ECANCELED / EOF). File descriptors are
// numbers that are not open in this process (getpeername fails: the HTTP API
// sees a non-loopback peer), unless a test adopts a real socket.
//
// Bus: Post(to, msg) to the shard itself runs in place (as Shard::Post);
// otherwise the message waits in the (from, to) queue, FIFO like the SPSC
// ring, until shard `to` drains it in its next round. Test thread only.
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
// The fake kernel's view of one socket.

struct FakeSocket {
  int fd = -1;
  unsigned shard = 0;
  core::SlabHandle handle{};
  bool accepted = false;      // the accept completion was handled
  bool recv_armed = false;    // a multishot receive is armed
  bool eof = false;           // the peer closed, or the server shut the read side
  bool shut_wr = false;       // the server shut its write side
  bool closed = false;        // the server closed the fd
  std::string input;          // written by the client, not yet received
  std::string output;         // everything the server sent
  std::vector<size_t> sends;  // bytes of each sendmsg
};

class Cluster;

class SimShard final : public BusPort, public SessionIo {
 public:
  // As Shard (shard/shard.h): the real ShardParts over a simulated ring and bus.
  SimShard(Cluster* cluster, unsigned id, unsigned count, const ServerOptions& options,
           const Metrics* metrics, const core::Clock* clock)
      : cluster_(cluster),
        id_(id),
        count_(count),
        options_(options),
        clock_(clock),
        parts_(id, options_, this, this, &stats_, metrics, clock),
        sessions_(parts_.sessions()) {}
  ~SimShard() override { sessions_.CloseAll(); }
  SimShard(const SimShard&) = delete;
  SimShard& operator=(const SimShard&) = delete;

  // One round of Shard::Round (defined after Cluster).
  void Round();
  // Whether a round would find something to do (completions, input, bus).
  bool HasWork() const;
  // Shard::Round's reaction to the stop flag, at the next round.
  void RequestStop() { stop_ = true; }

  // BusPort.
  unsigned shard_id() const override { return id_; }
  unsigned shard_count() const override { return count_; }
  bool Admits(unsigned /*to*/) const override { return admits_; }
  void Post(unsigned to, BusMessage msg) override;

  // SessionIo.
  void ArmRecv(int fd, core::SlabHandle h) override;
  void CancelRecv(core::SlabHandle h) override;
  iovec* SendVector(size_t* max_iov) override {
    *max_iov = kMaxIov;
    return iov_;
  }
  void SendMsg(int fd, core::SlabHandle h, size_t iov_count) override;
  void Shutdown(int fd, int how) override;
  void Close(int fd) override;
  uint64_t PeerPressure() const override { return 0; }

  // For tests.
  Sessions& sessions() { return sessions_; }
  RoomOwner& owner() { return parts_.owner(); }
  LocalRooms& rooms() { return parts_.rooms(); }
  Users& users() { return parts_.users(); }
  ShardStats& stats() { return stats_; }
  core::TimerWheel& timers() { return parts_.timers(); }
  // Admits(): false makes new work toward any shard be refused.
  void set_admits(bool admits) { admits_ = admits; }

 private:
  friend class Cluster;
  static constexpr size_t kMaxIov = 64;  // as Shard

  struct Completion {
    enum Kind : uint8_t { kAccept, kRecv, kSent } kind;
    int fd;
    core::SlabHandle handle;
    int res;
    bool more;
    std::string bytes;
  };

  void Dispatch(unsigned from, BusMessage msg);
  void Handle(const Completion& done);

  Cluster* const cluster_;
  const unsigned id_;
  const unsigned count_;
  const ServerOptions options_;
  const core::Clock* const clock_;

  ShardStats stats_;
  ShardParts parts_;
  Sessions& sessions_;

  uint64_t now_ms_ = 0;
  bool admits_ = true;
  bool stop_ = false;
  iovec iov_[kMaxIov];
  std::deque<Completion> completions_;  // for the next round, in order
};

class Client;

class Cluster {
 public:
  explicit Cluster(ServerOptions options, unsigned shards = 2)
      : options_(WithNodeId(std::move(options))),
        metrics_(options_.node_id),
        queues_(shards * shards) {
    std::vector<const ShardStats*> stats;
    for (unsigned i = 0; i < shards; ++i) {
      shards_.push_back(std::make_unique<SimShard>(this, i, shards, options_, &metrics_, &clock_));
      stats.push_back(&shards_.back()->stats());
    }
    metrics_.SetShards(std::move(stats));
  }
  ~Cluster() {
    // Bus messages own their payloads: free them before the shards go.
    for (auto& q : queues_) q.clear();
    shards_.clear();
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  SimShard& shard(unsigned i) { return *shards_.at(i); }
  core::ManualClock& clock() { return clock_; }
  const Metrics& metrics() const { return metrics_; }
  const ServerOptions& options() const { return options_; }

  // The bus: messages from `from` waiting for `to`.
  std::deque<BusMessage>& Queue(unsigned from, unsigned to) {
    return queues_.at(from * size() + to);
  }
  size_t QueuedFor(unsigned to) {
    size_t n = 0;
    for (unsigned from = 0; from < size(); ++from) n += Queue(from, to).size();
    return n;
  }
  template <class T>
  size_t CountQueued(unsigned from, unsigned to) {
    size_t n = 0;
    for (const BusMessage& m : Queue(from, to)) n += std::holds_alternative<T>(m) ? 1 : 0;
    return n;
  }

  // One round of every shard, in shard order.
  void RoundAll() {
    for (auto& s : shards_) s->Round();
  }
  // Rounds of every shard until none has anything left to do (at least one).
  void Settle(int max_rounds = 200) {
    for (int i = 0; i < max_rounds; ++i) {
      RoundAll();
      bool busy = false;
      for (auto& s : shards_) busy = busy || s->HasWork();
      if (!busy) return;
    }
    ADD_FAILURE() << "the cluster did not settle within " << max_rounds << " rounds";
  }
  // Moves time on, then settles (timers due by then fire).
  void Advance(uint64_t ms) {
    clock_.Advance(ms);
    Settle();
  }

  // A room name starting with `prefix` that shard `owner` owns.
  std::string RoomOwnedBy(unsigned owner, std::string_view prefix = "room") const {
    for (int i = 0;; ++i) {
      std::string name = std::string(prefix) + std::to_string(i);
      if (core::HashBytes(name) % shards_.size() == owner) return name;
    }
  }
  unsigned OwnerOf(std::string_view room) const {
    return static_cast<unsigned>(core::HashBytes(room) % shards_.size());
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

  FakeSocket& Socket(int fd) { return sockets_.at(fd); }
  bool HasSocket(int fd) const { return sockets_.count(fd) != 0; }

 private:
  friend class SimShard;
  static ServerOptions WithNodeId(ServerOptions o) {
    if (o.node_id.empty()) o.node_id = "n1";
    return o;
  }

  const ServerOptions options_;
  core::ManualClock clock_;
  Metrics metrics_;
  std::vector<std::deque<BusMessage>> queues_;
  std::vector<std::unique_ptr<SimShard>> shards_;
  std::map<int, FakeSocket> sockets_;
  int next_fd_ = 40000;  // far above anything this process has open
};

// The client end of one fake socket.
class Client {
 public:
  Client() = default;
  Client(Cluster* cluster, int fd) : cluster_(cluster), fd_(fd) {}

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
  Cluster* cluster_ = nullptr;
  int fd_ = -1;
  size_t read_ = 0;
  bool upgraded_ = false;
};

// ---------------------------------------------------------------------------
// SimShard, after Cluster.

inline void SimShard::Post(unsigned to, BusMessage msg) {
  EXPECT_LT(to, count_);
  if (to == id_) {
    Dispatch(id_, std::move(msg));  // as Shard::Post: in place
  } else {
    cluster_->Queue(id_, to).push_back(std::move(msg));
  }
}

// Shard::Dispatch, with the owner's own backlog check replaced by Admits().
inline void SimShard::Dispatch(unsigned from, BusMessage msg) {
  parts_.Dispatch(from, std::move(msg), !admits_, now_ms_);
}

inline void SimShard::ArmRecv(int fd, core::SlabHandle h) {
  FakeSocket& s = cluster_->Socket(fd);
  EXPECT_FALSE(s.recv_armed) << "fd " << fd << ": a second receive armed";
  s.handle = h;
  s.recv_armed = true;
}

inline void SimShard::CancelRecv(core::SlabHandle h) {
  for (auto& [fd, s] : cluster_->sockets_) {
    if (s.shard == id_ && s.handle == h && s.recv_armed && !s.closed) {
      s.recv_armed = false;
      completions_.push_back(Completion{Completion::kRecv, fd, h, -ECANCELED, false, {}});
    }
  }
}

inline void SimShard::SendMsg(int fd, core::SlabHandle h, size_t iov_count) {
  EXPECT_LE(iov_count, kMaxIov);
  FakeSocket& s = cluster_->Socket(fd);
  EXPECT_FALSE(s.closed);
  size_t total = 0;
  for (size_t i = 0; i < iov_count; ++i) {
    s.output.append(static_cast<const char*>(iov_[i].iov_base), iov_[i].iov_len);
    total += iov_[i].iov_len;
  }
  s.sends.push_back(total);
  completions_.push_back(Completion{Completion::kSent, fd, h, static_cast<int>(total), false, {}});
}

inline void SimShard::Shutdown(int fd, int how) {
  FakeSocket& s = cluster_->Socket(fd);
  if (how == SHUT_WR || how == SHUT_RDWR) s.shut_wr = true;
  if (how == SHUT_RD || how == SHUT_RDWR) s.eof = true;  // an armed receive ends with 0
}

inline void SimShard::Close(int fd) {
  FakeSocket& s = cluster_->Socket(fd);
  EXPECT_FALSE(s.closed) << "fd " << fd << " closed twice";
  s.closed = true;
}

inline bool SimShard::HasWork() const {
  if (!completions_.empty()) return true;
  for (const auto& [fd, s] : cluster_->sockets_) {
    if (s.shard == id_ && s.recv_armed && !s.closed && (!s.input.empty() || s.eof)) return true;
  }
  for (unsigned from = 0; from < count_; ++from) {
    if (!cluster_->Queue(from, id_).empty()) return true;
  }
  return false;
}

inline void SimShard::Handle(const Completion& done) {
  switch (done.kind) {
    case Completion::kAccept: {
      FakeSocket& s = cluster_->Socket(done.fd);
      std::optional<core::SlabHandle> h = sessions_.Accept(done.fd);
      EXPECT_TRUE(h.has_value()) << "shard full";
      s.accepted = true;
      if (h) s.handle = *h;
      return;
    }
    case Completion::kRecv:
      EXPECT_TRUE(sessions_.IsLive(done.handle.slot));
      EXPECT_EQ(sessions_.HandleOf(done.handle.slot).gen, done.handle.gen);
      sessions_.OnReceived(done.handle.slot, done.res, done.more, done.bytes);
      return;
    case Completion::kSent:
      EXPECT_TRUE(sessions_.IsLive(done.handle.slot));
      EXPECT_EQ(sessions_.HandleOf(done.handle.slot).gen, done.handle.gen);
      sessions_.OnSent(done.handle.slot, done.res);
      return;
  }
}

// Shard::Round, without the ring: completions (the previous round's sends,
// cancels and accepts, then receives of what clients wrote), the inbound bus
// in sender order, timers, the owner's tick, the drain, the round's output.
inline void SimShard::Round() {
  now_ms_ = clock_->MonotonicMs();
  sessions_.BeginRound(now_ms_, clock_->UnixMs() / 1000);
  std::deque<Completion> ready;
  ready.swap(completions_);
  for (auto& [fd, s] : cluster_->sockets_) {
    if (s.shard != id_ || !s.recv_armed || s.closed) continue;
    if (!s.input.empty()) {
      ready.push_back(Completion{Completion::kRecv, fd, s.handle, static_cast<int>(s.input.size()),
                                 true, std::move(s.input)});
      s.input.clear();
    } else if (s.eof) {
      s.recv_armed = false;  // EOF ends the multishot receive
      ready.push_back(Completion{Completion::kRecv, fd, s.handle, 0, false, {}});
    }
  }
  for (const Completion& done : ready) Handle(done);
  for (unsigned from = 0; from < count_; ++from) {
    if (from == id_) continue;
    std::deque<BusMessage>& q = cluster_->Queue(from, id_);
    while (!q.empty()) {
      BusMessage msg = std::move(q.front());
      q.pop_front();
      Dispatch(from, std::move(msg));
    }
  }
  parts_.timers().Advance(now_ms_, [this](uint64_t key) { parts_.OnTimer(key); });
  parts_.owner().Tick(now_ms_);
  if (!sessions_.draining() && stop_) sessions_.BeginDrain();
  sessions_.EndRound();
}

// ---------------------------------------------------------------------------
// Cluster's clients.

inline Client Cluster::Open(unsigned shard) {
  int fd = next_fd_++;
  FakeSocket& s = sockets_[fd];
  s.fd = fd;
  s.shard = shard;
  shards_.at(shard)->completions_.push_back(
      SimShard::Completion{SimShard::Completion::kAccept, fd, {}, fd, true, {}});
  return Client(this, fd);
}

inline Client Cluster::OpenWithFd(unsigned shard, int fd) {
  EXPECT_EQ(sockets_.count(fd), 0u);
  FakeSocket& s = sockets_[fd];
  s.fd = fd;
  s.shard = shard;
  shards_.at(shard)->completions_.push_back(
      SimShard::Completion{SimShard::Completion::kAccept, fd, {}, fd, true, {}});
  return Client(this, fd);
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
