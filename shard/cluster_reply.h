// Readers for hiredis reply trees (hiredis 0.14: RESP2 types only), shared by
// the parsers of cluster mode's script and cluster replies. Each returns
// nullopt when the reply is missing or not of the expected shape, so a parser
// turns any surprise from Redis into one "unexpected reply" result instead of
// reading a wrong field. Pure functions: any thread.
#pragma once

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringcast::shard::reply {

// A bulk or status string.
inline std::optional<std::string_view> String(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) {
    return std::nullopt;
  }
  return std::string_view(r->str, r->len);
}

// The text of an error reply.
inline std::optional<std::string_view> Error(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ERROR) return std::nullopt;
  return std::string_view(r->str, r->len);
}

// A decimal in text, nothing else around it.
inline std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// An integer reply, or a string holding a decimal (Lua numbers sometimes
// travel as strings).
inline std::optional<int64_t> Integer(const redisReply* r) {
  if (r != nullptr && r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (auto s = String(r)) return ParseInt(*s);
  return std::nullopt;
}

// Element i of an array reply, or null when r is not an array that long.
inline const redisReply* At(const redisReply* r, size_t i) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || i >= r->elements) return nullptr;
  return r->element[i];
}

inline size_t Size(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

inline bool IsArray(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ARRAY; }

}  // namespace ringcast::shard::reply
