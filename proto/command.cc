#include "proto/command.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "core/check.h"
#include "proto/command_reader.h"
#include "proto/json_walk.h"

namespace ringcast::proto {
namespace {

constexpr size_t kInitialCapacity = 4096;

using json::ForEachElement;
using json::ForEachField;
using json::TrimRight;
using json::ValidateNumber;

}  // namespace

struct CommandParser::Impl {
  od::parser parser{kMaxCommandBytes};
  // Padded copy of the input: simdjson reads up to SIMDJSON_PADDING bytes past the end.
  std::unique_ptr<char[]> buf;
  size_t capacity = 0;  // usable bytes in buf, not counting the padding
  std::string reason;   // formatted error reasons

  Impl() { Reserve(kInitialCapacity); }

  void Reserve(size_t len) {
    if (len <= capacity) return;
    const size_t new_capacity = std::min(std::max(len, 2 * capacity), kMaxCommandBytes);
    buf = std::make_unique_for_overwrite<char[]>(new_capacity + simdjson::SIMDJSON_PADDING);
    capacity = new_capacity;
    // On-Demand does not enforce max_depth (Validate() does); simdjson's own depth
    // counter starts one level above ours and its debug checks index one past the
    // deepest level, hence the margin. Allocation failure is out of memory, which
    // ringcast does not survive anyway.
    RC_CHECK(parser.allocate(capacity, kMaxJsonDepth + 2) == simdjson::SUCCESS);
  }

  ParseError BadJson(error_code err, std::optional<uint64_t> id) {
    reason.assign("invalid JSON: ");
    reason.append(err == simdjson::DEPTH_ERROR ? "nesting deeper than 64"
                                               : simdjson::error_message(err));
    return ParseError{wire::ErrorCode::kBadJson, reason, id};
  }

  std::optional<ParseError> Parse(std::string_view json, Command* out, std::optional<Op> implied);
  std::optional<ParseError> RejectNonObject(od::document& doc, od::json_type type,
                                            std::string_view input);
};

std::optional<ParseError> CommandParser::Impl::Parse(std::string_view json, Command* out,
                                                     std::optional<Op> implied) {
  ResetCommand(out);
  if (json.size() > kMaxCommandBytes) {
    return ParseError{wire::ErrorCode::kTooLarge, "command larger than 16 MiB", std::nullopt};
  }
  Reserve(json.size());
  if (!json.empty()) std::memcpy(buf.get(), json.data(), json.size());
  std::memset(buf.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);

  od::document doc;
  if (auto err =
          parser.iterate(buf.get(), json.size(), capacity + simdjson::SIMDJSON_PADDING).get(doc)) {
    return BadJson(err, std::nullopt);
  }
  od::json_type type;
  if (auto err = doc.type().get(type)) return BadJson(err, std::nullopt);
  if (type != od::json_type::object) {
    return RejectNonObject(doc, type, std::string_view(buf.get(), json.size()));
  }

  od::object obj;
  if (auto err = doc.get_object().get(obj)) return BadJson(err, std::nullopt);
  CommandReader reader(out, implied);
  auto err = ForEachField(obj, [&reader](std::string_view key, od::value& value) {
    return reader.ReadField(key, value);
  });
  if (err) return BadJson(err, out->id);
  // On-Demand stops where we stop reading: anything after the object is ours to reject.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
    reason.assign("invalid JSON: trailing characters after the object");
    return ParseError{wire::ErrorCode::kBadJson, reason, out->id};
  }
  return reader.Finish(&reason);
}

// A top level that is not an object: bad_json unless it is valid JSON, then bad_command.
std::optional<ParseError> CommandParser::Impl::RejectNonObject(od::document& doc,
                                                               od::json_type type,
                                                               std::string_view input) {
  static constexpr const char* kNotObjectReason = "a command must be a JSON object";
  error_code err = simdjson::SUCCESS;
  switch (type) {
    case od::json_type::array: {
      od::array arr;
      err = doc.get_array().get(arr);
      if (!err) err = ForEachElement(arr, [](od::value& element) { return Validate(element, 2); });
      break;
    }
    case od::json_type::string: {
      std::string_view s;
      err = doc.get_string().get(s);
      break;
    }
    case od::json_type::number: {
      // Numbers are not consumed (see ValidateNumber): only blanks may follow the token.
      const std::string_view token = TrimRight(doc.raw_json_token());
      err = ValidateNumber(token);
      const size_t token_end = static_cast<size_t>(token.data() + token.size() - input.data());
      if (!err && !TrimRight(input.substr(token_end)).empty()) err = simdjson::TRAILING_CONTENT;
      if (err) return BadJson(err, std::nullopt);
      return ParseError{wire::ErrorCode::kBadCommand, kNotObjectReason, std::nullopt};
    }
    case od::json_type::boolean: {
      bool b;
      err = doc.get_bool().get(b);
      break;
    }
    case od::json_type::null: {
      bool is_null = false;
      err = doc.is_null().get(is_null);
      if (!err && !is_null) err = simdjson::N_ATOM_ERROR;
      break;
    }
    case od::json_type::object:
      RC_CHECK(false && "objects are not rejected");
  }
  if (err) return BadJson(err, std::nullopt);
  const char* rest = nullptr;
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
    return BadJson(simdjson::TRAILING_CONTENT, std::nullopt);
  }
  return ParseError{wire::ErrorCode::kBadCommand, kNotObjectReason, std::nullopt};
}

CommandParser::CommandParser() : impl_(std::make_unique<Impl>()) {}
CommandParser::~CommandParser() = default;

std::optional<ParseError> CommandParser::Parse(std::string_view json, Command* out) {
  RC_DCHECK(out != nullptr);
  return impl_->Parse(json, out, std::nullopt);
}

std::optional<ParseError> CommandParser::ParseAs(Op op, std::string_view json, Command* out) {
  RC_DCHECK(out != nullptr);
  return impl_->Parse(json, out, op);
}

}  // namespace ringcast::proto
