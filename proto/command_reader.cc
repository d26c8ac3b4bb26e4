#include "proto/command_reader.h"

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

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "op", "id", "room", "data", "echo", "presence", "since", "to", "rid", "timeout_ms", "user"};

constexpr std::array<std::string_view, 8> kOpNames = {"sub", "unsub", "pub",      "send",
                                                      "req", "res",   "presence", "ping"};

constexpr const char* kUnknownOpReason = "unknown op";  // Finish() quotes the name

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

}  // namespace

error_code Validate(od::value& v, size_t depth) {
  return json::ValidateJson(v, depth, kMaxJsonDepth);
}

namespace {

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

}  // namespace

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

std::string_view OpName(Op op) {
  const auto i = static_cast<size_t>(op);
  RC_CHECK(i < kOpNames.size());
  return kOpNames[i];
}

}  // namespace ringcast::proto
