// WsClient: a small blocking RFC 6455 client for end-to-end tests, written
// from scratch so that it shares no code (and no bugs) with the server's
// codec. One client owns one TCP socket; every read takes a timeout and is
// built on poll(), so a misbehaving server makes a test fail, never hang.
// Client frames are masked unless a test asks otherwise; a masked frame from
// the server is reported as a test failure. Not thread-safe: one client is
// driven by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/wire.h"

namespace ringcast::testing {

// WebSocket opcodes and codes as bytes on the wire (core/wire.h).
inline constexpr uint8_t kOpContinuation = wire::OpcodeValue(wire::Opcode::kContinuation);
inline constexpr uint8_t kOpText = wire::OpcodeValue(wire::Opcode::kText);
inline constexpr uint8_t kOpBinary = wire::OpcodeValue(wire::Opcode::kBinary);
inline constexpr uint8_t kOpClose = wire::OpcodeValue(wire::Opcode::kClose);
inline constexpr uint8_t kOpPing = wire::OpcodeValue(wire::Opcode::kPing);
inline constexpr uint8_t kOpPong = wire::OpcodeValue(wire::Opcode::kPong);

// Close code reported for a close frame with an empty payload (RFC 6455 7.4.1).
inline constexpr uint16_t kCloseNoStatus = wire::CloseValue(wire::CloseCode::kNoStatus);

struct Frame {
  uint8_t opcode = 0;
  std::string payload;
  bool fin = true;
};

class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;
  WsClient(WsClient&& other) noexcept;
  WsClient& operator=(WsClient&& other) noexcept;

  // SO_RCVBUF for the next connection (applied before connect, so the TCP
  // window stays small). Used to build slow consumers.
  void SetRecvBuffer(int bytes) { recv_buffer_bytes_ = bytes; }

  // TCP connect (binding src_ip when non-empty), then the WebSocket handshake
  // with a random key; checks 101, Upgrade, Connection and Sec-WebSocket-Accept.
  // Returns false (with the reason in last_error()) on any failure.
  [[nodiscard]] bool Connect(uint16_t port, std::string path = "/ws",
                             std::string src_ip = "127.0.0.1", std::string dst_ip = "127.0.0.1");
  // Like Connect, but a masked text frame holding `first_text` goes out in the
  // same write as the request head (a client that does not wait for 101).
  [[nodiscard]] bool ConnectPipelined(uint16_t port, std::string_view first_text);
  // TCP connect only, for raw HTTP tests.
  [[nodiscard]] bool ConnectTcp(uint16_t port, const std::string& src_ip = "127.0.0.1",
                                const std::string& dst_ip = "127.0.0.1");
  // Sends `request` on a TCP connection (opens one to the last port if none is
  // open) and returns what the server answers: the head plus Content-Length
  // bytes of body, or everything until EOF / reset / timeout.
  std::string RawHttp(const std::string& request, int timeout_ms = 3000);

  // Reads the first frame and checks it is a welcome; remembers sid and user.
  // Returns the raw welcome JSON or nullopt.
  std::optional<std::string> ReadWelcome(int timeout_ms = 5000);

  void SendText(std::string_view text) { SendFrame(kOpText, text); }
  void SendFrame(uint8_t opcode, std::string_view payload, bool fin = true, bool mask = true,
                 uint8_t rsv = 0);
  void SendClose(uint16_t code, std::string_view reason = "");
  // Sends bytes as they are. Failures (peer gone) are remembered, not fatal:
  // tests of close codes send into connections the server is closing.
  void SendRaw(std::string_view bytes);

  // One server frame, or nullopt on timeout, EOF or reset.
  std::optional<Frame> ReadFrame(int timeout_ms);
  // The next text message (fragments reassembled). Pings are answered with
  // pongs and pongs skipped; a close frame ends the read with nullopt and sets
  // close_code(). A binary message from the server is a test failure.
  std::optional<std::string> ReadMessage(int timeout_ms);
  // Reads (and discards messages) until a close frame or EOF. Returns the
  // close code, or nullopt on EOF/reset/timeout (see eof()).
  std::optional<uint16_t> WaitClose(int timeout_ms);
  // Raw mode (HTTP tests): reads and keeps bytes until EOF/reset. True on EOF,
  // false on timeout. The bytes read are in raw_input().
  bool WaitEof(int timeout_ms);
  // Raw mode: reads what arrives next into raw_input(). False on timeout, EOF or reset.
  bool ReadRaw(int timeout_ms);
  std::string_view raw_input() const { return std::string_view(in_).substr(in_pos_); }
  // True once the server has read every byte this connection has sent so far: its socket
  // has received them all and holds none unread (asked of the kernel, see tcp_diag.h). For
  // tests that send a frame or a head in pieces and need each piece to be a read of its own.
  bool WaitServerRead(int timeout_ms);
  // Doing nothing is how a client stops reading; named for test readability.
  void StopReading() {}

  void Close();  // closes the socket without a close frame

  bool is_open() const { return fd_ >= 0; }
  bool eof() const { return eof_; }      // EOF or reset seen
  bool reset() const { return reset_; }  // the peer reset the connection (ECONNRESET)
  bool send_failed() const { return send_failed_; }
  std::optional<uint16_t> close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  const std::string& user() const { return user_; }
  const std::string& sid() const { return sid_; }
  const std::string& last_error() const { return last_error_; }
  int fd() const { return fd_; }

 private:
  bool Handshake(const std::string& path, const std::string& host,
                 std::string_view early_text = {});
  // Reads more bytes into in_ within the deadline; false on timeout/EOF/error.
  bool Fill(int64_t deadline_ms);
  // Parses one frame from in_ if complete.
  std::optional<Frame> TakeFrame();
  void Fail(std::string reason);

  int fd_ = -1;
  uint16_t port_ = 0;
  int recv_buffer_bytes_ = 0;
  std::string in_;
  std::string* capture_ = nullptr;  // when set, SendRaw appends here instead
  size_t in_pos_ = 0;               // frames before this offset are consumed
  bool eof_ = false;
  bool reset_ = false;
  bool send_failed_ = false;
  bool close_sent_ = false;
  uint64_t bytes_sent_ = 0;  // since the TCP connect
  std::optional<uint16_t> close_code_;
  std::string close_reason_;
  std::string user_;
  std::string sid_;
  std::string last_error_;
  std::mt19937_64 rng_;
};

// Milliseconds on a monotonic clock.
int64_t NowMs();

// Asks `done` until it answers true, every step_ms, for at most timeout_ms; returns its last
// answer. For what the server shows only when asked (a counter in /api/stats, a freed
// connection slot, a healthz status): waiting for that state with a deadline, not for time.
bool WaitUntil(const std::function<bool()>& done, int timeout_ms, int step_ms = 5);

// JSON helpers for assertions (simdjson DOM, error codes only).
// Raw (minified) JSON of a top-level field of an object, or "" when the text
// is not an object or has no such field.
std::string JsonField(std::string_view json, std::string_view key);
// The value of a top-level string field, or "" when absent or not a string.
std::string JsonString(std::string_view json, std::string_view key);
// The value of a top-level unsigned integer field.
std::optional<uint64_t> JsonUint(std::string_view json, std::string_view key);
// A top-level bool field.
std::optional<bool> JsonBool(std::string_view json, std::string_view key);
// Sorted, comma separated top-level keys ("data,from,op,room"), or "" if not an object.
std::string JsonKeys(std::string_view json);
// Minified form of a JSON text, or "" when it does not parse.
std::string JsonMinify(std::string_view json);
// JSON string literal for s (quotes and escapes).
std::string JsonQuote(std::string_view s);

}  // namespace ringcast::testing
