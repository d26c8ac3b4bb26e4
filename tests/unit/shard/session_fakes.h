// Fakes for driving Sessions without a ring or sockets: a SessionIo that
// records what would reach the kernel, a SessionEvents that records what
// would reach the protocol layer, a client-side codec (masked frames out,
// server frames in) written here from RFC 6455 so it shares no code with the
// server's, and a harness that runs rounds the way Shard::Round does:
// BeginRound, completions, timers, EndRound.
//
// The harness models the kernel just enough: a send submitted by SendMsg is
// pending until the test completes it (CompleteSend/AckAll), and only the
// bytes a completion reports are appended to what the peer "received"
// (wire(fd)); an armed receive stays armed until a test delivers a
// completion without `more`. Everything is deterministic: time moves only
// through Advance/Step.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base64url.h"
#include "core/timer_wheel.h"
#include "net/frame_writer.h"
#include "shard/access.h"
#include "shard/namespaces.h"
#include "shard/server.h"
#include "shard/sessions.h"
#include "shard/shard_stats.h"

namespace ringcast::shard::fakes {

// ---------------------------------------------------------------- client codec

// A masked client frame (RFC 6455 5.2), with a fixed, non-trivial mask key.
inline std::string ClientFrame(uint8_t opcode, std::string_view payload, bool fin = true) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0f)));
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (uint8_t k : key) out.push_back(static_cast<char>(k));
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  return out;
}
inline std::string ClientText(std::string_view text) { return ClientFrame(0x1, text); }
inline std::string ClientClose(uint16_t code, std::string_view reason = "") {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  payload.append(reason);
  return ClientFrame(0x8, payload);
}

struct ServerFrame {
  uint8_t opcode = 0;
  bool fin = true;
  bool masked = false;
  std::string payload;
  bool IsText() const { return opcode == 0x1; }
  bool IsClose() const { return opcode == 0x8; }
  bool IsPing() const { return opcode == 0x9; }
  bool IsPong() const { return opcode == 0xa; }
  uint16_t close_code() const {
    if (payload.size() < 2) return 1005;
    return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                 static_cast<uint8_t>(payload[1]));
  }
  std::string close_reason() const { return payload.size() < 2 ? "" : payload.substr(2); }
};

// Parses complete server frames from the start of `bytes`; *rest (if given)
// gets the number of trailing bytes that do not form a complete frame.
inline std::vector<ServerFrame> ParseServerFrames(std::string_view bytes, size_t* rest = nullptr) {
  std::vector<ServerFrame> frames;
  size_t pos = 0;
  while (bytes.size() - pos >= 2) {
    auto b0 = static_cast<uint8_t>(bytes[pos]);
    auto b1 = static_cast<uint8_t>(bytes[pos + 1]);
    size_t header = 2;
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
      if (bytes.size() - pos < 4) break;
      len = (uint64_t{static_cast<uint8_t>(bytes[pos + 2])} << 8) |
            static_cast<uint8_t>(bytes[pos + 3]);
      header = 4;
    } else if (len == 127) {
      if (bytes.size() - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(bytes[pos + 2 + i]);
      header = 10;
    }
    bool masked = (b1 & 0x80) != 0;
    if (masked) header += 4;
    if (bytes.size() - pos < header + len) break;
    ServerFrame f;
    f.opcode = b0 & 0x0f;
    f.fin = (b0 & 0x80) != 0;
    f.masked = masked;
    f.payload = std::string(bytes.substr(pos + header, len));
    frames.push_back(std::move(f));
    pos += header + len;
  }
  if (rest != nullptr) *rest = bytes.size() - pos;
  return frames;
}

// What a client reading `wire` sees: an optional HTTP head, then frames.
struct ClientView {
  std::string http_head;  // "" when the stream does not start with HTTP/
  std::vector<ServerFrame> frames;
  size_t partial = 0;  // trailing bytes of an incomplete frame
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const ServerFrame& f : frames) {
      if (f.IsText()) out.push_back(f.payload);
    }
    return out;
  }
  // By value: a view is usually a temporary.
  std::optional<ServerFrame> FirstClose() const {
    for (const ServerFrame& f : frames) {
      if (f.IsClose()) return f;
    }
    return std::nullopt;
  }
  size_t Count(uint8_t opcode) const {
    size_t n = 0;
    for (const ServerFrame& f : frames) n += f.opcode == opcode;
    return n;
  }
};

inline ClientView ParseClientView(std::string_view wire) {
  ClientView v;
  if (wire.substr(0, 5) == "HTTP/") {
    size_t end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      v.http_head = std::string(wire);
      return v;
    }
    v.http_head = std::string(wire.substr(0, end + 4));
    wire.remove_prefix(end + 4);
  }
  v.frames = ParseServerFrames(wire, &v.partial);
  return v;
}

// ------------------------------------------------------------------ HTTP heads

inline constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 1.3
inline constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

inline std::string UpgradeHead(std::string_view target = "/ws", std::string_view extra = "") {
  std::string h = "GET " + std::string(target) + " HTTP/1.1\r\n";
  h += "Host: example.test\r\n";
  h += "Upgrade: websocket\r\n";
  h += "Connection: Upgrade\r\n";
  h += "Sec-WebSocket-Version: 13\r\n";
  h += "Sec-WebSocket-Key: " + std::string(kKey) + "\r\n";
  h += extra;
  h += "\r\n";
  return h;
}

// An HS256 JWT signed here with OpenSSL's HMAC (not the server's signer).
inline std::string SignJwt(std::string_view payload_json, std::string_view secret) {
  std::string input = core::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      core::Base64UrlEncode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  return input + "." +
         core::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

// ------------------------------------------------------------------ fake I/O

struct SendCall {
  int fd = -1;
  core::SlabHandle handle{};
  size_t iov_count = 0;
  std::string bytes;  // every iovec's bytes, concatenated, copied at SendMsg
  bool fin_follows = false;
};

class FakeIo final : public SessionIo {
 public:
  void ArmRecv(int fd, core::SlabHandle h) override {
    arms.push_back({fd, h});
    ++arm_count[fd];
  }
  void CancelRecv(core::SlabHandle h) override { cancels.push_back(h); }
  iovec* SendVector(size_t* max_iov) override {
    iov_.resize(max_iov_);
    *max_iov = max_iov_;
    return iov_.data();
  }
  void SendMsg(int fd, core::SlabHandle h, size_t iov_count, bool fin_follows) override {
    EXPECT_LE(iov_count, max_iov_);
    SendCall call{fd, h, iov_count, {}, fin_follows};
    for (size_t i = 0; i < iov_count; ++i) {
      call.bytes.append(static_cast<const char*>(iov_[i].iov_base), iov_[i].iov_len);
    }
    EXPECT_EQ(pending.count(h.slot), 0u) << "two sends in flight for slot " << h.slot;
    pending[h.slot] = sends.size();
    sends.push_back(std::move(call));
  }
  void Shutdown(int fd, int how) override { shutdowns.push_back({fd, how}); }
  void Close(int fd) override { closes.push_back(fd); }
  uint64_t PeerPressure() const override { return peer_pressure; }
  uint64_t BusBacklog() const override { return bus_backlog; }
  size_t BusRingCapacity() const override { return kBusRingCapacity; }

  void set_max_iov(size_t n) { max_iov_ = n; }
  size_t ShutdownCount(int fd, int how) const {
    size_t n = 0;
    for (auto& [f, h] : shutdowns) n += f == fd && h == how;
    return n;
  }
  size_t SendsTo(int fd) const {
    size_t n = 0;
    for (const SendCall& s : sends) n += s.fd == fd;
    return n;
  }

  struct Arm {
    int fd;
    core::SlabHandle h;
  };
  std::vector<Arm> arms;
  std::map<int, size_t> arm_count;
  std::vector<core::SlabHandle> cancels;
  std::vector<SendCall> sends;
  std::map<uint32_t, size_t> pending;  // slot -> index in sends of the send in flight
  std::vector<std::pair<int, int>> shutdowns;
  std::vector<int> closes;
  uint64_t peer_pressure = 0;
  uint64_t bus_backlog = 0;
  // Read once, when Sessions builds its Backpressure; a three-shard mesh's,
  // so the marks differ from both the floor and the two-shard figures.
  static constexpr size_t kBusRingCapacity = 65536;

 private:
  size_t max_iov_ = 256;  // as Shard's kMaxIov
  std::vector<iovec> iov_;
};

// ------------------------------------------------------------------ fake events

class FakeEvents final : public SessionEvents {
 public:
  struct Text {
    uint32_t slot;
    std::string message;
  };
  bool OnText(Connection& c, uint32_t slot, std::string_view message) override {
    texts.push_back({slot, std::string(message)});
    if (mark_pub_published && message.substr(0, 3) == "pub") c.published = true;
    if (on_text) return on_text(c, slot, message);
    return c.state == ConnState::kOpen;
  }
  size_t OnHttpRequest(Connection& c, uint32_t slot, const net::HttpRequest& req,
                       std::string_view input) override {
    http_paths.push_back(std::string(req.path));
    if (on_http) return on_http(c, slot, req, input);
    return req.head_bytes;
  }
  void OnOpen(Connection& c, uint32_t slot) override {
    EXPECT_EQ(c.state, ConnState::kOpen);
    opened.push_back(slot);
  }
  void OnFree(Connection& c, uint32_t slot) override {
    EXPECT_EQ(c.state, ConnState::kDead);
    EXPECT_FALSE(c.recv_armed);
    EXPECT_FALSE(c.send_in_flight);
    freed.push_back(slot);
    freed_fds.push_back(c.fd);
  }

  std::vector<std::string> TextsOf(uint32_t slot) const {
    std::vector<std::string> out;
    for (const Text& t : texts) {
      if (t.slot == slot) out.push_back(t.message);
    }
    return out;
  }
  size_t FreedCount(int fd) const {
    size_t n = 0;
    for (int f : freed_fds) n += f == fd;
    return n;
  }

  bool mark_pub_published = true;  // a text starting "pub" marks c.published
  std::function<bool(Connection&, uint32_t, std::string_view)> on_text;
  std::function<size_t(Connection&, uint32_t, const net::HttpRequest&, std::string_view)> on_http;
  std::vector<Text> texts;
  std::vector<std::string> http_paths;
  std::vector<uint32_t> opened;
  std::vector<uint32_t> freed;
  std::vector<int> freed_fds;
};

// ------------------------------------------------------------------ harness

// Options with limits small enough for a test to reach.
inline ServerOptions SmallOptions() {
  ServerOptions o;
  o.node_id = "n1";
  o.max_message_bytes = 4096;
  o.max_queued_bytes = 4096;
  o.max_head_bytes = 1024;
  o.max_connections_per_shard = 16;
  o.commands_per_second = 0;
  o.ping_interval_ms = 0;  // keepalive off unless a test turns it on
  o.idle_timeout_ms = 0;
  o.handshake_timeout_ms = 500;
  o.drain_timeout_ms = 400;
  return o;
}

class Harness {
 public:
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  static constexpr uint64_t kStartMs = 1'000'000;  // a multiple of the 20 ms tick
  static constexpr int64_t kStartUnixS = 1'800'000'000;

  explicit Harness(ServerOptions options = SmallOptions())
      : options_(std::move(options)),
        namespaces_(options_.namespaces),
        access_(options_, namespaces_, options_.node_id, 0),
        timers_(20, 64) {
    sessions_ = std::make_unique<Sessions>(0, options_, options_.node_id, &access_, &writer_,
                                           &timers_, &stats_, &io_, &events_);
  }

  ~Harness() {
    // Nothing parked in the drain's `bye` or a queue outlives the test.
    sessions_.reset();
  }

  Sessions& sessions() { return *sessions_; }
  FakeIo& io() { return io_; }
  FakeEvents& events() { return events_; }
  ShardStats& stats() { return stats_; }
  net::FrameWriter& writer() { return writer_; }
  core::TimerWheel& timers() { return timers_; }
  const ServerOptions& options() const { return options_; }
  uint64_t now_ms() const { return now_ms_; }
  int64_t now_unix_s() const {
    return kStartUnixS + static_cast<int64_t>((now_ms_ - kStartMs) / 1000);
  }

  // One loop round at the current time: completions run inside it.
  void Round(const std::function<void()>& completions = {}) {
    sessions_->BeginRound(now_ms_, now_unix_s());
    in_round_ = true;
    if (completions) completions();
    timers_.Advance(now_ms_, [&](uint64_t key) { sessions_->OnTimer(key); });
    sessions_->EndRound();
    in_round_ = false;
  }
  // Moves the clock, then runs one round.
  void Step(uint64_t ms, const std::function<void()>& completions = {}) {
    now_ms_ += ms;
    Round(completions);
  }
  // Moves the clock in rounds of `every` ms, acknowledging every send as it
  // goes when `ack` (a reading peer), until `ms` have passed; then, when
  // `ack`, one more round at the same time so what the last round sent is
  // on the wire.
  void Run(uint64_t ms, uint64_t every = 20, bool ack = true) {
    for (uint64_t t = 0; t < ms; t += every) {
      Step(every, [&] {
        if (ack) AckAll();
      });
    }
    if (ack) Sync();
  }
  // A round at the same time that completes every send in flight.
  void Sync() {
    Round([&] { AckAll(); });
  }

  // --- completions (call inside Round) ---
  std::optional<uint32_t> Accept(int fd) {
    EXPECT_TRUE(in_round_);
    std::optional<core::SlabHandle> h = sessions_->Accept(fd);
    if (!h) return std::nullopt;
    fds_[h->slot] = fd;
    return h->slot;
  }
  void Receive(uint32_t slot, std::string_view bytes, bool more = true) {
    EXPECT_TRUE(in_round_);
    sessions_->OnReceived(slot, static_cast<int>(bytes.size()), more, bytes);
  }
  void ReceiveResult(uint32_t slot, int res, bool more = false) {
    EXPECT_TRUE(in_round_);
    sessions_->OnReceived(slot, res, more, {});
  }
  bool HasPendingSend(uint32_t slot) const { return io_.pending.count(slot) != 0; }
  // The bytes of the send in flight for slot.
  const std::string& PendingBytes(uint32_t slot) const {
    return io_.sends.at(io_.pending.at(slot)).bytes;
  }
  // Completes slot's send in flight with res (default: everything).
  void CompleteSend(uint32_t slot, std::optional<int> res = std::nullopt) {
    EXPECT_TRUE(in_round_);
    auto it = io_.pending.find(slot);
    ASSERT_NE(it, io_.pending.end()) << "no send in flight for slot " << slot;
    const SendCall& call = io_.sends[it->second];
    int r = res.value_or(static_cast<int>(call.bytes.size()));
    if (r > 0) wire_[call.fd].append(call.bytes, 0, static_cast<size_t>(r));
    io_.pending.erase(it);
    sessions_->OnSent(slot, r);
  }
  // Completes every send in flight in full.
  void AckAll() {
    std::vector<uint32_t> slots;
    for (auto& [slot, index] : io_.pending) slots.push_back(slot);
    for (uint32_t slot : slots) CompleteSend(slot);
  }

  // --- composite steps ---
  // Accepts fd and upgrades it (a round each), acknowledging the 101 and the
  // welcome. Returns the slot.
  uint32_t OpenSession(int fd, std::string_view head = {}) {
    std::optional<uint32_t> slot;
    Round([&] { slot = Accept(fd); });
    EXPECT_TRUE(slot.has_value());
    std::string h = head.empty() ? UpgradeHead() : std::string(head);
    Round([&] { Receive(*slot, h); });
    // Until the 101 and the welcome are out (several sends with little iovec room).
    for (int i = 0; i < 8 && HasPendingSend(*slot); ++i) Round([&] { AckAll(); });
    EXPECT_EQ(sessions_->At(*slot).state, ConnState::kOpen);
    return *slot;
  }

  // What the peer on fd has received so far (only completed bytes).
  const std::string& wire(int fd) { return wire_[fd]; }
  ClientView View(int fd) { return ParseClientView(wire_[fd]); }
  int fd_of(uint32_t slot) const { return fds_.at(slot); }

  // Frames built by tests to enqueue directly.
  core::SharedFrame* Text(std::string_view payload) {
    return writer_.Build(wire::Opcode::kText, payload);
  }

 private:
  ServerOptions options_;
  Namespaces namespaces_;
  Access access_;
  net::FrameWriter writer_;
  core::TimerWheel timers_;
  ShardStats stats_;
  FakeIo io_;
  FakeEvents events_;
  std::unique_ptr<Sessions> sessions_;
  uint64_t now_ms_ = kStartMs;
  bool in_round_ = false;
  std::map<int, std::string> wire_;
  std::map<uint32_t, int> fds_;
};

}  // namespace ringcast::shard::fakes
