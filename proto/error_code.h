// Protocol failure codes. ErrorCode is what an `error` reply carries in its
// `code` field: one value per name in docs/protocol.md (Error codes), nothing
// else, so the wire names come from one table (ErrorCodeName). CloseCode is
// the WebSocket close status the server sends (RFC 6455 values plus
// ringcast's 4000 for slow consumers).
// Plain values and pure functions: safe on any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace ringcast::proto {

enum class ErrorCode : uint8_t {
  kBadJson,
  kBadCommand,
  kNotAllowed,
  kTooLarge,
  kRateLimited,
  kNoSuchUser,
  kTimeout,
  kLimit,
  kInternal,
};

// The wire name of `code` ("bad_json", "bad_command", ...).
std::string_view ErrorCodeName(ErrorCode code);

enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kInvalidPayload = 1007,
  kPolicy = 1008,
  kTooBig = 1009,
  kSlowConsumer = 4000,
};

}  // namespace ringcast::proto
