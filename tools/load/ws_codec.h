// The client side of RFC 6455 for the load generator: the upgrade request and the check of the
// server's answer, masked client frames, and a parser for the server's unmasked frames.
//
// net/frame_reader.h is the server's reader and rejects unmasked frames, so the generator has
// its own. ServerFrameParser accepts 7/16/64-bit lengths, control frames between fragments and
// frames split anywhere across receive buffers; complete frames are handed out straight from
// the caller's buffer and only an incomplete tail is copied (at most max_message_bytes).
// One parser per connection; owner thread only. Pure otherwise.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/wire.h"

namespace ringcast::load {

inline constexpr uint8_t kWsText = wire::OpcodeValue(wire::Opcode::kText);
inline constexpr uint8_t kWsBinary = wire::OpcodeValue(wire::Opcode::kBinary);
inline constexpr uint8_t kWsClose = wire::OpcodeValue(wire::Opcode::kClose);
inline constexpr uint8_t kWsPing = wire::OpcodeValue(wire::Opcode::kPing);
inline constexpr uint8_t kWsPong = wire::OpcodeValue(wire::Opcode::kPong);

// "GET <path> HTTP/1.1" with Host, Upgrade, Connection, Sec-WebSocket-Key (derived from `nonce`)
// and Sec-WebSocket-Version: 13. *expected_accept receives the Sec-WebSocket-Accept to expect.
std::string BuildUpgradeRequest(std::string_view host, std::string_view path, uint64_t nonce,
                                std::string* expected_accept);

enum class UpgradeStatus : uint8_t { kIncomplete, kAccepted, kRefused };

// Looks at the bytes received so far. kAccepted once a complete head with status 101 and the
// expected Sec-WebSocket-Accept arrived (*head_bytes = its length, frames may follow);
// kRefused for any other complete head (or one over 16 KiB); otherwise kIncomplete.
UpgradeStatus CheckUpgradeResponse(std::string_view received, std::string_view expected_accept,
                                   size_t* head_bytes);

// Appends one masked client frame (FIN set) with `payload` to *out.
void AppendClientFrame(std::string* out, uint8_t opcode, std::string_view payload,
                       uint32_t mask_key);

// Appends a text frame whose payload is the concatenation of the parts, masking in place, so a
// command can be framed without building it in a temporary first.
void AppendClientText(std::string* out, std::initializer_list<std::string_view> parts,
                      uint32_t mask_key);

class ServerFrameParser {
 public:
  enum class Result : uint8_t { kOk, kProtocolError, kTooLarge };

  ServerFrameParser() = default;
  explicit ServerFrameParser(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Feeds received bytes; calls on_message(opcode, payload) for every complete message (text,
  // binary, or a control frame). Stops at the first error.
  template <class F>
  Result Feed(std::string_view data, F&& on_message);

  void Reset() {
    carry_.clear();
    message_.clear();
    fragment_opcode_ = 0;
  }
  size_t buffered_bytes() const { return carry_.size() + message_.size(); }

 private:
  struct Header {
    uint8_t opcode;
    bool fin;
    size_t header_bytes;
    uint64_t payload_bytes;
  };
  // 1 = header parsed, 0 = need more bytes, -1 = protocol error.
  static int ParseHeader(std::string_view data, Header* h);

  template <class F>
  Result OnFrame(const Header& h, std::string_view payload, F& on_message);

  size_t max_message_bytes_ = size_t{1} << 20;
  std::string carry_;    // an incomplete frame from the previous Feed
  std::string message_;  // fragments of a message so far
  uint8_t fragment_opcode_ = 0;
};

template <class F>
ServerFrameParser::Result ServerFrameParser::Feed(std::string_view data, F&& on_message) {
  if (!carry_.empty()) {
    // Complete the carried frame first, taking only the bytes it still needs: one at a time
    // until its header parses, then the rest of its payload.
    Header h;
    for (;;) {
      int rc = ParseHeader(carry_, &h);
      if (rc < 0) return Result::kProtocolError;
      if (rc > 0 && h.payload_bytes > max_message_bytes_) return Result::kTooLarge;
      size_t need = rc == 0 ? carry_.size() + 1 : h.header_bytes + h.payload_bytes;
      if (carry_.size() >= need) break;
      size_t take = std::min(data.size(), need - carry_.size());
      if (take == 0) return Result::kOk;
      carry_.append(data.data(), take);
      data.remove_prefix(take);
    }
    std::string frame = std::move(carry_);
    carry_.clear();
    Result r =
        OnFrame(h, std::string_view(frame).substr(h.header_bytes, h.payload_bytes), on_message);
    if (r != Result::kOk) return r;
  }
  while (!data.empty()) {
    Header h;
    int rc = ParseHeader(data, &h);
    if (rc < 0) return Result::kProtocolError;
    if (rc > 0 && h.payload_bytes > max_message_bytes_) return Result::kTooLarge;
    if (rc == 0 || data.size() < h.header_bytes + h.payload_bytes) {
      carry_.assign(data.data(), data.size());
      return Result::kOk;
    }
    Result r = OnFrame(h, data.substr(h.header_bytes, h.payload_bytes), on_message);
    if (r != Result::kOk) return r;
    data.remove_prefix(h.header_bytes + h.payload_bytes);
  }
  return Result::kOk;
}

template <class F>
ServerFrameParser::Result ServerFrameParser::OnFrame(const Header& h, std::string_view payload,
                                                     F& on_message) {
  if (wire::IsControl(h.opcode)) {  // control frames may interleave with fragments
    on_message(h.opcode, payload);
    return Result::kOk;
  }
  if (h.opcode == 0) {
    if (fragment_opcode_ == 0) return Result::kProtocolError;
    if (message_.size() + payload.size() > max_message_bytes_) return Result::kTooLarge;
    message_.append(payload);
    if (h.fin) {
      on_message(fragment_opcode_, std::string_view(message_));
      message_.clear();
      fragment_opcode_ = 0;
    }
    return Result::kOk;
  }
  if (fragment_opcode_ != 0) return Result::kProtocolError;
  if (h.fin) {
    on_message(h.opcode, payload);
  } else {
    fragment_opcode_ = h.opcode;
    message_.assign(payload);
  }
  return Result::kOk;
}

}  // namespace ringcast::load
