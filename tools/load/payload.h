// The load generator's payload codec: what a publisher puts in `data` so every subscriber can
// tell who sent a message, its place in that publisher's sequence, when it was sent and whether
// it belongs to the measured window, without a JSON parser.
//
// Layout (fixed width, lowercase hex, 46 bytes, then 'x' padding up to the requested size):
//   rcl1:PPPPPPPP:SSSSSSSSSSSS:TTTTTTTTTTTTTTTT:F:xxxx...
//   P publisher id (32 bit), S sequence (48 bit, first is 1), T send time (CLOCK_MONOTONIC ns,
//   valid for one-way latency because generator and subscribers share the host's clock),
//   F 'm' (sent inside the measured window) or 'w' (warmup).
// Every byte is printable ASCII without '"' or '\\', so the payload is a JSON string's content
// as is. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast::load {

inline constexpr std::string_view kPayloadMagic = "rcl1:";
inline constexpr size_t kMinPayloadBytes = 46;
inline constexpr uint64_t kMaxPayloadSeq = (uint64_t{1} << 48) - 1;

struct PayloadFields {
  uint32_t publisher = 0;
  uint64_t seq = 0;  // <= kMaxPayloadSeq
  uint64_t send_ns = 0;
  bool measured = false;

  bool operator==(const PayloadFields&) const = default;
};

// Bytes EncodePayload writes for a requested size: max(size, kMinPayloadBytes).
constexpr size_t PayloadBytes(size_t size) {
  return size < kMinPayloadBytes ? kMinPayloadBytes : size;
}

// Writes exactly PayloadBytes(size) bytes at out; returns that count.
size_t EncodePayload(const PayloadFields& fields, size_t size, char* out);
std::string EncodePayload(const PayloadFields& fields, size_t size);

// Decodes a payload that starts at text[0] (padding after the fixed part is not inspected).
// nullopt unless the magic, separators, hex digits and flag are all exactly as encoded.
[[nodiscard]] std::optional<PayloadFields> DecodePayload(std::string_view text);

// Where the payload starts inside a whole server frame (just after the quote of `"rcl1:`), or
// npos. Payloads hold no '"', so when the payload is the frame's last string value (as in
// every server measured) its opening quote is the second-last quote: two reverse scans instead
// of a forward search that stops at every quote.
[[nodiscard]] size_t LocatePayload(std::string_view frame_text);

// Finds the payload inside a whole server frame and decodes it.
[[nodiscard]] std::optional<PayloadFields> FindPayload(std::string_view frame_text);

}  // namespace ringcast::load
