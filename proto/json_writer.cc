#include "proto/json_writer.h"

#include <array>
#include <charconv>

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

JsonWriter::JsonWriter(std::string* out) : out_(out) { RC_CHECK(out != nullptr); }

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const uint32_t bit = 1u << (depth_ - 1);
  RC_CHECK((is_object_bits_ & bit) == 0);  // a value inside an object needs Key() first
  if (has_items_bits_ & bit) out_->push_back(',');
  has_items_bits_ |= bit;
}

void JsonWriter::Open(char bracket, bool is_object) {
  RC_CHECK(depth_ < kMaxDepth);
  BeforeValue();
  out_->push_back(bracket);
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
  RC_CHECK(!after_key_);
  const uint32_t bit = 1u << (depth_ - 1);
  RC_CHECK(((is_object_bits_ & bit) != 0) == is_object);
  --depth_;
  out_->push_back(bracket);
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
  if (has_items_bits_ & bit) out_->push_back(',');
  has_items_bits_ |= bit;
  AppendEscaped(key);
  out_->push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendEscaped(value);
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  RC_DCHECK(ec == std::errc());
  out_->append(buf, end);
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  RC_DCHECK(ec == std::errc());
  out_->append(buf, end);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_->append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
}

void JsonWriter::Raw(std::string_view json) {
  RC_DCHECK(!json.empty());
  BeforeValue();
  out_->append(json);
}

void JsonWriter::AppendEscaped(std::string_view s) {
  out_->push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char esc = kEscape[static_cast<unsigned char>(s[i])];
    if (esc == 0) continue;
    out_->append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    if (esc == 'u') {
      const auto c = static_cast<unsigned char>(s[i]);
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out_->append(u, sizeof(u));
    } else {
      const char two[2] = {'\\', esc};
      out_->append(two, sizeof(two));
    }
  }
  out_->append(s.data() + run_start, s.size() - run_start);
  out_->push_back('"');
}

}  // namespace ringcast::proto
