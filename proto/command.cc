#include "proto/command.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "core/check.h"
#include "proto/json_walk.h"

namespace ringcast::proto {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

constexpr size_t kInitialCapacity = 4096;
constexpr size_t kMaxEchoedOpBytes = 32;  // "unknown op '...'" quotes at most this much
constexpr size_t kTopFieldDepth = 2;      // a field value of the command object

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

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "op", "id", "room", "data", "echo", "presence", "since", "to", "rid", "timeout_ms", "user"};

constexpr std::array<std::string_view, 8> kOpNames = {"sub", "unsub", "pub",      "send",
                                                      "req", "res",   "presence", "ping"};

constexpr const char* kUnknownOpReason = "unknown op";  // Finish() quotes the name

struct Issue {
  wire::ErrorCode code = wire::ErrorCode::kBadCommand;
  const char* reason = nullptr;  // nullptr: no problem
};

std::optional<Field> FindField(std::string_view key) {
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (kFieldNames[i] == key) return static_cast<Field>(i);
  }
  return std::nullopt;
}

std::optional<Op> FindOp(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

using json::ForEachElement;
using json::ForEachField;
using json::TrimRight;
using json::ValidateNumber;

error_code Validate(od::value& v, size_t depth) {
  return json::ValidateJson(v, depth, kMaxJsonDepth);
}

// Reads a value known to be a string. Like keys, a string without escapes is
// its own raw bytes and skips the unescaping copy.
simdjson_inline error_code StringValue(od::value& v, std::string_view* s) {
  const char* begin = v.raw_json_token().data() + 1;  // past the opening quote
  const char* end = begin;
  while (*end != '"' && *end != '\\') ++end;  // stage 1 guarantees a closing quote
  if (*end != '"') return v.get_string().get(*s);
  od::raw_json_string consumed;
  if (auto err = v.get_raw_json_string().get(consumed)) return err;
  *s = std::string_view(begin, static_cast<size_t>(end - begin));
  return simdjson::SUCCESS;
}

// Typed readers: a value of another type is still validated as JSON, and
// reported through *ok = false rather than as an error (that is bad_command,
// not bad_json).
error_code ReadString(od::value& v, size_t depth, std::string_view* s, bool* ok) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  *ok = type == od::json_type::string;
  if (!*ok) return Validate(v, depth);
  return StringValue(v, s);
}

error_code ReadUint(od::value& v, size_t depth, uint64_t* n, bool* ok) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  *ok = false;
  if (type != od::json_type::number) return Validate(v, depth);
  if (v.get_uint64().get(*n) == simdjson::SUCCESS) {
    *ok = true;
    return simdjson::SUCCESS;
  }
  // Negative, fractional or too big is a typing problem; not a number at all is bad JSON.
  return ValidateNumber(v.raw_json_token());
}

error_code ReadBool(od::value& v, size_t depth, bool* b, bool* ok) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  *ok = type == od::json_type::boolean;
  if (!*ok) return Validate(v, depth);
  return v.get_bool().get(*b);
}

// Reads the verbatim text of one JSON value after validating it.
error_code ReadRaw(od::value& v, size_t depth, std::string_view* raw) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  const std::string_view token = v.raw_json_token();
  const char* start = token.data();
  if (auto err = Validate(v, depth)) return err;
  if (type != od::json_type::object && type != od::json_type::array) {
    *raw = TrimRight(token);  // a scalar is exactly one token
    return simdjson::SUCCESS;
  }
  // A consumed container leaves the iterator on the next structural (',' or '}').
  const char* end = nullptr;
  if (v.current_location().get(end) != simdjson::SUCCESS) {
    return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;  // the input ended inside the command object
  }
  RC_DCHECK(end > start);
  *raw = TrimRight(std::string_view(start, static_cast<size_t>(end - start)));
  return simdjson::SUCCESS;
}

// Collects the fields of one command object as they stream by (in any order),
// then judges the result. Problems with a field's type are remembered per field
// and the walk goes on, so the whole input is still validated and `id` is found
// wherever it is.
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

error_code CommandReader::ReadField(std::string_view key, od::value& v) {
  const std::optional<Field> field = FindField(key);
  if (!field.has_value()) return Validate(v, kTopFieldDepth);
  issues_[*field] = Issue{};
  bool ok = true;
  error_code err = simdjson::SUCCESS;
  switch (*field) {
    case kFieldOp:
      return ReadOp(v);
    case kFieldId: {
      uint64_t id = 0;
      err = ReadUint(v, kTopFieldDepth, &id, &ok);
      out_->id = ok ? std::optional<uint64_t>(id) : std::nullopt;
      if (!ok) SetIssue(kFieldId, "id must be an unsigned integer");
      return err;
    }
    case kFieldRoom:
      out_->room = {};
      err = ReadString(v, kTopFieldDepth, &out_->room, &ok);
      if (!ok || out_->room.empty()) {
        SetIssue(kFieldRoom, "room must be a non-empty string");
      } else if (out_->room.size() > kMaxRoomBytes) {
        SetIssue(kFieldRoom, "room name too long (max 256 bytes)");
      }
      return err;
    case kFieldData:
      return ReadRaw(v, kTopFieldDepth, &out_->data);
    case kFieldEcho:
      err = ReadBool(v, kTopFieldDepth, &out_->echo, &ok);
      if (!ok) SetIssue(kFieldEcho, "echo must be a boolean");
      return err;
    case kFieldPresence:
      err = ReadBool(v, kTopFieldDepth, &out_->presence, &ok);
      if (!ok) SetIssue(kFieldPresence, "presence must be a boolean");
      return err;
    case kFieldSince:
      return ReadSince(v);
    case kFieldTo:
      return ReadTo(v);
    case kFieldUser:
      out_->user = {};
      err = ReadString(v, kTopFieldDepth, &out_->user, &ok);
      if (!ok || out_->user.empty()) SetIssue(kFieldUser, "user must be a non-empty string");
      return err;
    case kFieldRid:
      out_->rid = {};
      err = ReadString(v, kTopFieldDepth, &out_->rid, &ok);
      if (!ok || out_->rid.empty()) SetIssue(kFieldRid, "rid must be a non-empty string");
      return err;
    case kFieldTimeoutMs: {
      uint64_t timeout_ms = 0;
      err = ReadUint(v, kTopFieldDepth, &timeout_ms, &ok);
      out_->timeout_ms = ok ? std::optional<uint64_t>(timeout_ms) : std::nullopt;
      if (!ok) SetIssue(kFieldTimeoutMs, "timeout_ms must be an unsigned integer");
      return err;
    }
    case kFieldCount:
      break;
  }
  RC_CHECK(false && "unhandled field");
  return simdjson::UNEXPECTED_ERROR;
}

error_code CommandReader::ReadOp(od::value& v) {
  has_op_ = true;
  op_ = std::nullopt;
  bool ok = false;
  if (auto err = ReadString(v, kTopFieldDepth, &op_text_, &ok)) return err;
  if (!ok) {
    SetIssue(kFieldOp, "op must be a string");
    return simdjson::SUCCESS;
  }
  op_ = FindOp(op_text_);
  if (!op_.has_value()) SetIssue(kFieldOp, kUnknownOpReason);
  return simdjson::SUCCESS;
}

error_code CommandReader::ReadSince(od::value& v) {
  static constexpr const char* kSinceReason =
      "since must be an object with seq (unsigned integer) and epoch (string)";
  out_->since = std::nullopt;
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type != od::json_type::object) {
    SetIssue(kFieldSince, kSinceReason);
    return Validate(v, kTopFieldDepth);
  }
  od::object obj;
  if (auto err = v.get_object().get(obj)) return err;
  SinceMark mark;
  bool has_seq = false;
  bool has_epoch = false;
  auto err = ForEachField(obj, [&](std::string_view key, od::value& child) {
    if (key == "seq") return ReadUint(child, kTopFieldDepth + 1, &mark.seq, &has_seq);
    if (key == "epoch") return ReadString(child, kTopFieldDepth + 1, &mark.epoch, &has_epoch);
    return Validate(child, kTopFieldDepth + 1);
  });
  if (err) return err;
  if (has_seq && has_epoch) {
    out_->since = mark;
  } else {
    SetIssue(kFieldSince, kSinceReason);
  }
  return simdjson::SUCCESS;
}

error_code CommandReader::ReadTo(od::value& v) {
  static constexpr const char* kToReason = "to must be a user id or an array of user ids";
  out_->to.clear();
  to_count_ = 0;
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  if (type == od::json_type::string) {
    std::string_view user;
    if (auto err = StringValue(v, &user)) return err;
    if (user.empty()) SetIssue(kFieldTo, kToReason);
    out_->to.push_back(user);
    to_count_ = 1;
    return simdjson::SUCCESS;
  }
  if (type != od::json_type::array) {
    SetIssue(kFieldTo, kToReason);
    return Validate(v, kTopFieldDepth);
  }
  od::array arr;
  if (auto err = v.get_array().get(arr)) return err;
  bool all_users = true;
  auto err = ForEachElement(arr, [&](od::value& element) {
    std::string_view user;
    bool is_string = false;
    if (auto read_err = ReadString(element, kTopFieldDepth + 1, &user, &is_string)) {
      return read_err;
    }
    all_users = all_users && is_string && !user.empty();
    // Keep walking past the limit: the rest must still be valid JSON.
    if (++to_count_ <= kMaxSendTargets) out_->to.push_back(user);
    return simdjson::SUCCESS;
  });
  if (err) return err;
  if (!all_users) {
    SetIssue(kFieldTo, kToReason);
  } else if (to_count_ == 0) {
    SetIssue(kFieldTo, "to must not be empty");
  } else if (to_count_ > kMaxSendTargets) {
    SetIssue(kFieldTo, "too many targets in to (max 100)", wire::ErrorCode::kLimit);
  }
  return simdjson::SUCCESS;
}

std::optional<ParseError> CommandReader::Finish(std::string* reason_buf) {
  if (!has_op_ && implied_) {
    has_op_ = true;
    op_ = implied_;
  }
  if (!has_op_) return Error(wire::ErrorCode::kBadCommand, "missing op");
  if (implied_ && op_ && *op_ != *implied_) {
    return Error(wire::ErrorCode::kBadCommand, "op does not match the endpoint");
  }
  if (issues_[kFieldOp].reason == kUnknownOpReason) {
    // Quote at most kMaxEchoedOpBytes, cut on a UTF-8 boundary so the reply stays valid UTF-8.
    size_t n = std::min(op_text_.size(), kMaxEchoedOpBytes);
    while (n < op_text_.size() && n > 0 &&
           (static_cast<unsigned char>(op_text_[n]) & 0xC0) == 0x80) {
      --n;
    }
    reason_buf->assign("unknown op '");
    reason_buf->append(op_text_.substr(0, n));
    if (n < op_text_.size()) reason_buf->append("...");
    reason_buf->push_back('\'');
    return Error(wire::ErrorCode::kBadCommand, *reason_buf);
  }
  for (const Issue& issue : issues_) {
    if (issue.reason != nullptr) return Error(issue.code, issue.reason);
  }
  out_->op = *op_;
  return CheckRequired();
}

std::optional<ParseError> CommandReader::CheckRequired() const {
  const Op op = out_->op;
  const bool needs_room =
      op == Op::kSub || op == Op::kUnsub || op == Op::kPub || op == Op::kPresence;
  const bool needs_data = op == Op::kPub || op == Op::kSend || op == Op::kReq || op == Op::kRes;
  if (needs_room && out_->room.empty()) return Error(wire::ErrorCode::kBadCommand, "missing room");
  if ((op == Op::kSend || op == Op::kReq) && to_count_ == 0) {
    return Error(wire::ErrorCode::kBadCommand, "missing to");
  }
  if (op == Op::kReq && to_count_ != 1) {
    return Error(wire::ErrorCode::kBadCommand, "req takes exactly one user in to");
  }
  if (op == Op::kRes && out_->rid.empty())
    return Error(wire::ErrorCode::kBadCommand, "missing rid");
  if (needs_data && out_->data.empty()) return Error(wire::ErrorCode::kBadCommand, "missing data");
  return std::nullopt;
}

void ResetCommand(Command* out) {
  out->op = Op{};
  out->id = std::nullopt;
  out->room = {};
  out->data = {};
  out->echo = true;
  out->presence = false;
  out->since = std::nullopt;
  out->to.clear();  // keeps its capacity for the next command
  out->rid = {};
  out->timeout_ms = std::nullopt;
  out->user = {};
}

}  // namespace

std::string_view OpName(Op op) {
  const auto i = static_cast<size_t>(op);
  RC_CHECK(i < kOpNames.size());
  return kOpNames[i];
}

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
