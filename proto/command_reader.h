// CommandReader: the inside of the command parser (proto/command.h). It
// collects the fields of one command object as they stream by from
// simdjson On-Demand (in any order), then judges the result. Problems with a
// field's type are remembered per field and the walk goes on, so the whole
// input is still validated and `id` is found wherever it is. One per parse;
// any thread.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/wire.h"
#include "proto/command.h"

namespace ringcast::proto {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Known fields, in the order their problems are reported.
enum Field : uint8_t {
  kFieldOp,
  kFieldId,
  kFieldRoom,
  kFieldData,
  kFieldEcho,
  kFieldPresence,
  kFieldSince,
  kFieldTo,
  kFieldRid,
  kFieldTimeoutMs,
  kFieldUser,
  kFieldCount,
};

struct Issue {
  wire::ErrorCode code = wire::ErrorCode::kBadCommand;
  const char* reason = nullptr;  // nullptr: no problem
};

class CommandReader {
 public:
  CommandReader(Command* out, std::optional<Op> implied) : out_(out), implied_(implied) {}

  error_code ReadField(std::string_view key, od::value& v);
  std::optional<ParseError> Finish(std::string* reason_buf);

 private:
  error_code ReadOp(od::value& v);
  error_code ReadSince(od::value& v);
  error_code ReadTo(od::value& v);
  void SetIssue(Field f, const char* reason, wire::ErrorCode code = wire::ErrorCode::kBadCommand) {
    issues_[f] = Issue{code, reason};
  }
  std::optional<ParseError> CheckRequired() const;
  ParseError Error(wire::ErrorCode code, std::string_view reason) const {
    return ParseError{code, reason, out_->id};
  }

  Command* out_;
  std::array<Issue, kFieldCount> issues_{};
  bool has_op_ = false;
  std::optional<Op> op_;
  std::optional<Op> implied_;  // the HTTP API's op, taken when the body names none
  std::string_view op_text_;
  size_t to_count_ = 0;
};

// Validates one JSON value of any type, nested at most kMaxJsonDepth deep.
error_code Validate(od::value& v, size_t depth);
// Clears a Command for the next parse, keeping its vectors' memory.
void ResetCommand(Command* out);

}  // namespace ringcast::proto
