// Wire constants: the numbers and names that cross the network, in one place
// for the server, the load generator and the tests. WebSocket opcodes and
// close codes are RFC 6455's, plus ringcast's own 4000 (slow consumer); error
// codes are the `code` field of an `error` reply (docs/protocol.md, Error
// codes), each with exactly one wire name. Plain values: any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringcast::wire {

// WebSocket frame opcodes (RFC 6455 5.2).
enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xa,
};

constexpr uint8_t OpcodeValue(Opcode op) { return static_cast<uint8_t>(op); }
constexpr bool IsControl(uint8_t opcode) { return (opcode & 0x8) != 0; }

// WebSocket close codes the server sends or interprets (RFC 6455 7.4.1).
enum class CloseCode : uint16_t {
  kNormal = 1000,           // also: idle timeout
  kGoingAway = 1001,        // server shutting down (`bye` with reconnect:true)
  kProtocolError = 1002,    // unmasked frame, bad opcode, bad continuation
  kUnsupportedData = 1003,  // binary frame from a client
  kNoStatus = 1005,         // never sent: a close frame without a code
  kInvalidPayload = 1007,   // invalid UTF-8 in a text frame
  kPolicy = 1008,           // token expired, rate-limit abuse, disconnected by the API
  kTooBig = 1009,           // message larger than limits.max_message_bytes
  kSlowConsumer = 4000,     // queued bytes passed limits.max_queued_bytes
};

constexpr uint16_t CloseValue(CloseCode code) { return static_cast<uint16_t>(code); }

// The reason the server puts in its close frame for a protocol violation.
constexpr std::string_view CloseReason(uint16_t code) {
  switch (code) {
    case CloseValue(CloseCode::kProtocolError):
      return "protocol error";
    case CloseValue(CloseCode::kUnsupportedData):
      return "binary frames are not accepted";
    case CloseValue(CloseCode::kInvalidPayload):
      return "invalid UTF-8 in text frame";
    case CloseValue(CloseCode::kTooBig):
      return "message too big";
    default:
      return "";
  }
}

// Codes a peer may put in a close frame (RFC 6455 7.4.1-7.4.2).
constexpr bool IsValidCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011);
}

// The `code` of an `error` reply.
enum class ErrorCode : uint8_t {
  kBadJson,
  kBadCommand,
  kNotAllowed,
  kTooLarge,
  kRateLimited,
  kNoSuchUser,
  kTimeout,
  kLimit,
  kUnavailable,
  kInternal,
};

constexpr std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadJson:
      return "bad_json";
    case ErrorCode::kBadCommand:
      return "bad_command";
    case ErrorCode::kNotAllowed:
      return "not_allowed";
    case ErrorCode::kTooLarge:
      return "too_large";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kNoSuchUser:
      return "no_such_user";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kLimit:
      return "limit";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace ringcast::wire
