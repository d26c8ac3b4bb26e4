#include "tests/support/ws_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/tcp_diag.h"

namespace ringcast::testing {
namespace {

constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr int kConnectTimeoutMs = 5000;
constexpr int kHandshakeTimeoutMs = 5000;
constexpr int kSendTimeoutMs = 10000;

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string AcceptFor(const std::string& key) {
  std::string in = key + std::string(kWsGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(in.data(), in.size(), digest, &digest_len, EVP_sha1(), nullptr);
  return Base64(digest, digest_len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// Value of header `name` (lower case) in an HTTP head, or nullopt.
std::optional<std::string> HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(start, end - start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && Lower(Trim(line.substr(0, colon))) == name) {
      return Trim(line.substr(colon + 1));
    }
    pos = end;
  }
  return std::nullopt;
}

bool SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

int RemainingMs(int64_t deadline_ms) {
  int64_t left = deadline_ms - NowMs();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool WaitUntil(const std::function<bool()>& done, int timeout_ms, int step_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    if (done()) return true;
    const int64_t left = deadline - NowMs();
    if (left <= 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(step_ms, left)));
  }
}

WsClient::WsClient() : rng_(std::random_device{}()) {}

WsClient::~WsClient() { Close(); }

WsClient::WsClient(WsClient&& other) noexcept { *this = std::move(other); }

WsClient& WsClient::operator=(WsClient&& other) noexcept {
  if (this == &other) return *this;
  Close();
  fd_ = std::exchange(other.fd_, -1);
  port_ = other.port_;
  recv_buffer_bytes_ = other.recv_buffer_bytes_;
  in_ = std::move(other.in_);
  in_pos_ = other.in_pos_;
  eof_ = other.eof_;
  send_failed_ = other.send_failed_;
  close_sent_ = other.close_sent_;
  bytes_sent_ = other.bytes_sent_;
  close_code_ = other.close_code_;
  close_reason_ = std::move(other.close_reason_);
  user_ = std::move(other.user_);
  sid_ = std::move(other.sid_);
  last_error_ = std::move(other.last_error_);
  rng_ = other.rng_;
  return *this;
}

void WsClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void WsClient::Fail(std::string reason) {
  last_error_ = std::move(reason);
  Close();
}

bool WsClient::ConnectTcp(uint16_t port, const std::string& src_ip, const std::string& dst_ip) {
  Close();
  in_.clear();
  in_pos_ = 0;
  eof_ = send_failed_ = close_sent_ = false;
  bytes_sent_ = 0;
  close_code_.reset();
  close_reason_.clear();
  port_ = port;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    last_error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (recv_buffer_bytes_ > 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &recv_buffer_bytes_, sizeof(recv_buffer_bytes_));
  }
  if (!src_ip.empty()) {
    // Let connect() pick the port, so many sources share the ephemeral range
    // per 4-tuple instead of per address.
    setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (inet_pton(AF_INET, src_ip.c_str(), &src.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      Fail("bind " + src_ip + ": " + std::strerror(errno));
      return false;
    }
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  if (inet_pton(AF_INET, dst_ip.c_str(), &dst.sin_addr) != 1) {
    Fail("bad address " + dst_ip);
    return false;
  }
  if (!SetNonBlocking(fd_)) {
    Fail("fcntl");
    return false;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0) {
    if (errno != EINPROGRESS) {
      Fail(std::string("connect: ") + std::strerror(errno));
      return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, kConnectTimeoutMs) != 1) {
      Fail("connect timeout");
      return false;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Fail(std::string("connect: ") + std::strerror(err));
      return false;
    }
  }
  return true;
}

bool WsClient::Connect(uint16_t port, std::string path, std::string src_ip, std::string dst_ip) {
  if (!ConnectTcp(port, src_ip, dst_ip)) return false;
  return Handshake(path, dst_ip + ":" + std::to_string(port));
}

bool WsClient::ConnectPipelined(uint16_t port, std::string_view first_text) {
  if (!ConnectTcp(port)) return false;
  return Handshake("/ws", "127.0.0.1:" + std::to_string(port), first_text);
}

bool WsClient::Handshake(const std::string& path, const std::string& host,
                         std::string_view early_text) {
  unsigned char raw_key[16];
  for (auto& b : raw_key) b = static_cast<unsigned char>(rng_());
  std::string key = Base64(raw_key, sizeof(raw_key));
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: " +
                        key + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (!early_text.empty()) {
    capture_ = &request;
    SendFrame(kOpText, early_text);
    capture_ = nullptr;
  }
  SendRaw(request);
  if (send_failed_) {
    Fail("handshake send failed");
    return false;
  }
  int64_t deadline = NowMs() + kHandshakeTimeoutMs;
  size_t head_end;
  while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) {
      Fail("no handshake response; got: " + in_);
      return false;
    }
  }
  std::string head = in_.substr(0, head_end + 2);
  in_.erase(0, head_end + 4);  // bytes after the head are frames
  if (head.rfind("HTTP/1.1 101", 0) != 0) {
    Fail("handshake status: " + head.substr(0, head.find("\r\n")));
    return false;
  }
  auto upgrade = HeaderValue(head, "upgrade");
  auto connection = HeaderValue(head, "connection");
  auto accept = HeaderValue(head, "sec-websocket-accept");
  if (!upgrade || Lower(*upgrade) != "websocket") {
    Fail("bad Upgrade header in: " + head);
    return false;
  }
  if (!connection || Lower(*connection).find("upgrade") == std::string::npos) {
    Fail("bad Connection header in: " + head);
    return false;
  }
  if (!accept || *accept != AcceptFor(key)) {
    Fail("bad Sec-WebSocket-Accept in: " + head);
    return false;
  }
  return true;
}

std::string WsClient::RawHttp(const std::string& request, int timeout_ms) {
  if (fd_ < 0 && !ConnectTcp(port_)) return "";
  SendRaw(request);
  int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    size_t head_end = in_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string head = in_.substr(0, head_end + 2);
      size_t body = 0;
      if (auto len = HeaderValue(head, "content-length"))
        body = std::strtoull(len->c_str(), nullptr, 10);
      if (in_.size() >= head_end + 4 + body) return in_.substr(0, head_end + 4 + body);
    }
    if (!Fill(deadline)) return in_;
  }
}

std::optional<std::string> WsClient::ReadWelcome(int timeout_ms) {
  auto msg = ReadMessage(timeout_ms);
  if (!msg || JsonString(*msg, "op") != "welcome") return std::nullopt;
  user_ = JsonString(*msg, "user");
  sid_ = JsonString(*msg, "sid");
  return msg;
}

void WsClient::SendFrame(uint8_t opcode, std::string_view payload, bool fin, bool mask,
                         uint8_t rsv) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0F)));
  uint8_t mask_bit = mask ? 0x80 : 0;
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  if (mask) {
    uint8_t key[4];
    uint64_t r = rng_();
    for (int i = 0; i < 4; ++i) key[i] = static_cast<uint8_t>(r >> (8 * i));
    out.append(reinterpret_cast<const char*>(key), 4);
    for (size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  } else {
    out.append(payload);
  }
  if (opcode == kOpClose) close_sent_ = true;
  SendRaw(out);
}

void WsClient::SendClose(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  SendFrame(kOpClose, payload);
}

void WsClient::SendRaw(std::string_view bytes) {
  if (capture_ != nullptr) {
    capture_->append(bytes);
    return;
  }
  if (fd_ < 0) {
    send_failed_ = true;
    return;
  }
  int64_t deadline = NowMs() + kSendTimeoutMs;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      bytes_sent_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) == 1) continue;
    }
    send_failed_ = true;
    return;
  }
}

bool WsClient::Fill(int64_t deadline_ms) {
  if (fd_ < 0 || eof_) return false;
  if (in_pos_ > 0) {  // compact once per read, not once per frame
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      eof_ = true;  // reset counts as the peer going away
      reset_ = errno == ECONNRESET;
      return false;
    }
    int wait_ms = RemainingMs(deadline_ms);
    if (wait_ms == 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r == 0) return false;
    if (r < 0 && errno != EINTR) return false;
  }
}

std::optional<Frame> WsClient::TakeFrame() {
  std::string_view in = std::string_view(in_).substr(in_pos_);
  if (in.size() < 2) return std::nullopt;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
  size_t header = 2;
  uint64_t len = byte(1) & 0x7F;
  if (len == 126) {
    header = 4;
    if (in.size() < header) return std::nullopt;
    len = (uint64_t{byte(2)} << 8) | byte(3);
  } else if (len == 127) {
    header = 10;
    if (in.size() < header) return std::nullopt;
    len = 0;
    for (size_t i = 2; i < 10; ++i) len = (len << 8) | byte(i);
  }
  bool masked = (byte(1) & 0x80) != 0;
  if (masked) header += 4;
  if (in.size() < header || in.size() - header < len) return std::nullopt;
  EXPECT_FALSE(masked) << "server sent a masked frame (RFC 6455 5.1)";
  EXPECT_EQ(byte(0) & 0x70, 0) << "server set reserved bits without an extension";
  Frame frame;
  frame.fin = (byte(0) & 0x80) != 0;
  frame.opcode = byte(0) & 0x0F;
  frame.payload = std::string(in.substr(header, len));
  if (masked) {
    for (size_t i = 0; i < frame.payload.size(); ++i) {
      frame.payload[i] = static_cast<char>(frame.payload[i] ^ in[header - 4 + i % 4]);
    }
  }
  in_pos_ += header + len;
  return frame;
}

std::optional<Frame> WsClient::ReadFrame(int timeout_ms) {
  int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    if (auto frame = TakeFrame()) return frame;
    if (!Fill(deadline)) return std::nullopt;
  }
}

std::optional<std::string> WsClient::ReadMessage(int timeout_ms) {
  int64_t deadline = NowMs() + timeout_ms;
  std::string message;
  bool in_message = false;
  while (true) {
    auto frame = ReadFrame(RemainingMs(deadline));
    if (!frame) return std::nullopt;
    switch (frame->opcode) {
      case kOpPing:
        SendFrame(kOpPong, frame->payload);
        break;
      case kOpPong:
        break;
      case kOpClose: {
        const std::string& p = frame->payload;
        close_code_ = p.size() >= 2 ? static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) |
                                                            static_cast<uint8_t>(p[1]))
                                    : kCloseNoStatus;
        close_reason_ = p.size() > 2 ? p.substr(2) : "";
        if (!close_sent_) SendClose(*close_code_ == kCloseNoStatus ? 1000 : *close_code_);
        return std::nullopt;
      }
      case kOpText:
        EXPECT_FALSE(in_message) << "server started a message inside a fragmented one";
        in_message = true;
        message = std::move(frame->payload);
        if (frame->fin) return message;
        break;
      case kOpContinuation:
        EXPECT_TRUE(in_message) << "server sent a continuation without a start";
        message += frame->payload;
        if (frame->fin) return message;
        break;
      default:
        ADD_FAILURE() << "unexpected opcode from server: " << int{frame->opcode};
        break;
    }
  }
}

std::optional<uint16_t> WsClient::WaitClose(int timeout_ms) {
  int64_t deadline = NowMs() + timeout_ms;
  while (!close_code_) {
    // Messages before the close are discarded; nullopt means close, EOF or timeout.
    if (!ReadMessage(RemainingMs(deadline))) break;
  }
  return close_code_;
}

bool WsClient::ReadRaw(int timeout_ms) { return Fill(NowMs() + timeout_ms); }

bool WsClient::WaitServerRead(int timeout_ms) {
  if (fd_ < 0) return false;
  return WaitUntil(
      [&] {
        auto peer = PeerSocket(fd_);
        return peer && peer->bytes_received == bytes_sent_ && peer->unread == 0;
      },
      timeout_ms, 1);
}

bool WsClient::WaitEof(int timeout_ms) {
  int64_t deadline = NowMs() + timeout_ms;
  while (!eof_ && Fill(deadline)) {
  }
  return eof_;
}

// --- JSON helpers ------------------------------------------------------------

namespace {

bool ParseObject(simdjson::dom::parser& parser, std::string_view json, simdjson::dom::object& obj) {
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return false;
  return root.get_object().get(obj) == simdjson::SUCCESS;
}

}  // namespace

std::string JsonField(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (!ParseObject(parser, json, obj)) return "";
  simdjson::dom::element value;
  if (obj.at_key(key).get(value) != simdjson::SUCCESS) return "";
  return simdjson::minify(value);
}

std::string JsonString(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (!ParseObject(parser, json, obj)) return "";
  std::string_view value;
  if (obj.at_key(key).get_string().get(value) != simdjson::SUCCESS) return "";
  return std::string(value);
}

std::optional<uint64_t> JsonUint(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (!ParseObject(parser, json, obj)) return std::nullopt;
  uint64_t value = 0;
  if (obj.at_key(key).get_uint64().get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

std::optional<bool> JsonBool(std::string_view json, std::string_view key) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (!ParseObject(parser, json, obj)) return std::nullopt;
  bool value = false;
  if (obj.at_key(key).get_bool().get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

std::string JsonKeys(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (!ParseObject(parser, json, obj)) return "";
  std::vector<std::string> keys;
  for (auto field : obj) keys.emplace_back(field.key);
  std::sort(keys.begin(), keys.end());
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ",") + k;
  return out;
}

std::string JsonMinify(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return "";
  return simdjson::minify(root);
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace ringcast::testing
