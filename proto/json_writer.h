// JsonWriter appends compact JSON to a caller-owned std::string. The caller
// keeps one scratch string per shard (or per frame) and reuses it, so in steady
// state writing an envelope allocates nothing. Commas and colons are inserted
// automatically from a fixed-depth nesting stack (at most kMaxDepth open
// containers, RC_CHECKed); at depth 0 several values may follow each other with
// nothing between them. Strings are escaped ('"', '\\', control characters) and
// otherwise copied byte for byte: the caller passes valid UTF-8. Raw() inserts
// text the caller guarantees is already one valid JSON value.
//
// Small pieces are staged in a buffer inside the writer and appended to *out in
// batches (one std::string append per piece costs more than writing the piece).
// *out is up to date whenever a top-level value is complete (the outermost
// container closed, or a top-level scalar written), after Flush(), and when
// the writer is destroyed; do not read it in between.
// Not thread-safe; a writer lives for one short sequence of calls on one thread.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast::proto {

// True when `text` is valid UTF-8: what a string from outside (a query
// parameter, a token claim) must be before any JsonWriter may echo it.
[[nodiscard]] bool IsValidUtf8(std::string_view text);

class JsonWriter {
 public:
  static constexpr int kMaxDepth = 32;

  explicit JsonWriter(std::string* out);
  ~JsonWriter() { Flush(); }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);

  void String(std::string_view value);
  void Uint(uint64_t value);
  void Int(int64_t value);
  void Bool(bool value);
  void Null();
  void Raw(std::string_view json);

  // Key(key) followed by the value. Integral types pick Bool/Int/Uint by type, so
  // Field("n", 5) and Field("ok", true) do what they say; string literals are
  // strings, never bools.
  void Field(std::string_view key, std::string_view value) {
    Key(key);
    String(value);
  }
  void Field(std::string_view key, const char* value) { Field(key, std::string_view(value)); }
  template <std::integral T>
  void Field(std::string_view key, T value) {
    Key(key);
    if constexpr (std::same_as<T, bool>) {
      Bool(value);
    } else if constexpr (std::signed_integral<T>) {
      Int(static_cast<int64_t>(value));
    } else {
      Uint(static_cast<uint64_t>(value));
    }
  }
  void RawField(std::string_view key, std::string_view json) {
    Key(key);
    Raw(json);
  }

  // Moves staged bytes to *out.
  void Flush();

  int depth() const { return depth_; }
  // True when every opened container has been closed and no key awaits a value.
  bool IsComplete() const { return depth_ == 0 && !after_key_; }

 private:
  static constexpr size_t kStageBytes = 256;

  // Updates the nesting state for a new value and writes the ',' it needs.
  void BeforeValue();
  // Called after each value: a complete top-level value goes out to *out.
  void AfterValue() {
    if (depth_ == 0) Flush();
  }
  void Open(char bracket, bool is_object);
  void Close(char bracket, bool is_object);
  void Put(char c);
  void Put(std::string_view s);
  void PutEscaped(std::string_view s);

  std::string* out_;
  int depth_ = 0;
  // Bit i describes the container at depth i+1.
  uint32_t is_object_bits_ = 0;
  uint32_t has_items_bits_ = 0;
  bool after_key_ = false;
  size_t staged_ = 0;
  char stage_[kStageBytes];
};

}  // namespace ringcast::proto
