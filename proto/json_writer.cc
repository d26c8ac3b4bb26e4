#include "proto/json_writer.h"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <cstring>

#include "core/check.h"

namespace ringcast::proto {
namespace {

// For each byte: 0 = copy as is, 'u' = \u00XX, any other = the letter after '\'.
constexpr std::array<char, 256> MakeEscapeTable() {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = 'u';
  table['\b'] = 'b';
  table['\f'] = 'f';
  table['\n'] = 'n';
  table['\r'] = 'r';
  table['\t'] = 't';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}

constexpr std::array<char, 256> kEscape = MakeEscapeTable();
constexpr char kHex[] = "0123456789abcdef";

}  // namespace

bool IsValidUtf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

JsonWriter::JsonWriter(std::string* out) : out_(out) { RC_CHECK(out != nullptr); }

void JsonWriter::Flush() {
  if (staged_ == 0) return;
  out_->append(stage_, staged_);
  staged_ = 0;
}

inline void JsonWriter::Put(char c) {
  if (staged_ == kStageBytes) Flush();
  stage_[staged_++] = c;
}

inline void JsonWriter::Put(std::string_view s) {
  if (s.size() > kStageBytes - staged_) {
    Flush();
    if (s.size() > kStageBytes / 2) {  // big pieces (payloads) skip the stage
      out_->append(s);
      return;
    }
  }
  std::memcpy(stage_ + staged_, s.data(), s.size());
  staged_ += s.size();
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const uint32_t bit = 1u << (depth_ - 1);
  RC_CHECK((is_object_bits_ & bit) == 0);  // a value inside an object needs Key() first
  if (has_items_bits_ & bit) Put(',');
  has_items_bits_ |= bit;
}

void JsonWriter::Open(char bracket, bool is_object) {
  RC_CHECK(depth_ < kMaxDepth);
  BeforeValue();
  Put(bracket);
  const uint32_t bit = 1u << depth_;
  ++depth_;
  has_items_bits_ &= ~bit;
  if (is_object) {
    is_object_bits_ |= bit;
  } else {
    is_object_bits_ &= ~bit;
  }
}

void JsonWriter::Close(char bracket, bool is_object) {
  RC_CHECK(depth_ > 0);
  RC_CHECK(!after_key_);  // a key without its value
  const uint32_t bit = 1u << (depth_ - 1);
  RC_CHECK(((is_object_bits_ & bit) != 0) == is_object);
  --depth_;
  Put(bracket);
  AfterValue();
}

void JsonWriter::BeginObject() { Open('{', true); }
void JsonWriter::EndObject() { Close('}', true); }
void JsonWriter::BeginArray() { Open('[', false); }
void JsonWriter::EndArray() { Close(']', false); }

void JsonWriter::Key(std::string_view key) {
  RC_CHECK(depth_ > 0);
  RC_CHECK(!after_key_);
  const uint32_t bit = 1u << (depth_ - 1);
  RC_CHECK((is_object_bits_ & bit) != 0);
  if (has_items_bits_ & bit) Put(',');
  has_items_bits_ |= bit;
  PutEscaped(key);
  Put(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  PutEscaped(value);
  AfterValue();
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  RC_DCHECK(ec == std::errc());
  Put(std::string_view(buf, static_cast<size_t>(end - buf)));
  AfterValue();
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  RC_DCHECK(ec == std::errc());
  Put(std::string_view(buf, static_cast<size_t>(end - buf)));
  AfterValue();
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  Put(value ? std::string_view("true") : std::string_view("false"));
  AfterValue();
}

void JsonWriter::Null() {
  BeforeValue();
  Put(std::string_view("null"));
  AfterValue();
}

void JsonWriter::Raw(std::string_view json) {
  RC_DCHECK(!json.empty());
  BeforeValue();
  Put(json);
  AfterValue();
}

void JsonWriter::PutEscaped(std::string_view s) {
  Put('"');
  size_t i = 0;
  while (true) {
    // Copy the run up to the next byte that needs escaping. (An early-exit scan;
    // a loop the compiler vectorizes costs more on the short strings written here.)
    const size_t run_start = i;
    while (i < s.size() && kEscape[static_cast<unsigned char>(s[i])] == 0) ++i;
    Put(s.substr(run_start, i - run_start));
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i++]);
    const char esc = kEscape[c];
    if (esc == 'u') {
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      Put(std::string_view(u, sizeof(u)));
    } else {
      const char two[2] = {'\\', esc};
      Put(std::string_view(two, sizeof(two)));
    }
  }
  Put('"');
}

}  // namespace ringcast::proto
