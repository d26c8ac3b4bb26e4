// FrameReader: turns received bytes into WebSocket messages through wslay's
// frame layer (wslay_frame_recv), for one shard.
//
// A wslay frame context is ~4.2 KB (it embeds a 4 KB input buffer), far more
// than an idle connection may cost, so contexts live in a per-shard pool and a
// connection borrows one only while it has a partially received frame. We
// read the 2-14 header bytes ourselves first (to validate them before any
// payload is buffered and to learn the frame's length), then feed wslay
// exactly that frame's bytes and no more; at the frame's end the context is
// clean and goes back to the pool. wslay unmasks the payload; messages split
// over frames or chunks are assembled in a per-connection buffer that exists
// only while such a message is in flight. Text is checked with simdjson's
// validate_utf8. Violations map to close codes (docs/protocol.md, Closing): 1002 protocol,
// 1003 binary, 1007 bad UTF-8, 1009 too big. Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::net {

// Receives complete messages. Each returns false to stop reading this
// connection (for example after it started closing).
class FrameSink {
 public:
  virtual bool OnText(std::string_view message) = 0;
  virtual bool OnPing(std::string_view payload) = 0;
  // code is 1005 when the close frame carried none.
  virtual bool OnClose(uint16_t code, std::string_view reason) = 0;

 protected:
  ~FrameSink() = default;
};

struct FrameContext;

// Per-connection reader state: two words, no allocation while idle. A text
// message split over frames is in progress exactly while `message` exists
// (made at the end of its first frame, even an empty one); binary messages
// are refused, so the message's opcode is always text.
struct WsReadState {
  FrameContext* ctx = nullptr;           // borrowed while a frame is partial
  std::unique_ptr<std::string> message;  // while a message is partial

  bool InMessage() const { return message != nullptr; }
};

enum class FeedResult : uint8_t { kOk, kStopped, kError };

class FrameReader {
 public:
  explicit FrameReader(size_t max_message_bytes);
  ~FrameReader();
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Consumes all of bytes (unless stopped or failed). On kError, *close_code
  // says which close code to send; the connection must then be closed.
  [[nodiscard]] FeedResult Feed(WsReadState* state, std::string_view bytes, FrameSink* sink,
                                uint16_t* close_code);
  // Gives back whatever the connection borrowed (on close).
  void Release(WsReadState* state);

  size_t pooled() const { return pool_.size(); }
  size_t borrowed() const { return borrowed_; }

 private:
  FrameContext* Borrow();
  void Return(FrameContext* ctx);
  uint16_t ValidateHeader(const WsReadState& state, FrameContext* c) const;
  FeedResult FinishFrame(WsReadState* state, FrameContext* c, FrameSink* sink,
                         uint16_t* close_code);

  size_t max_message_bytes_;
  std::vector<std::unique_ptr<FrameContext>> all_;  // every context ever made
  std::vector<FrameContext*> pool_;                 // the ones not borrowed
  size_t borrowed_ = 0;
};

}  // namespace ringcast::net
