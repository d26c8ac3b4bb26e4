// Walking JSON with simdjson On-Demand (3.0.1) through error codes only,
// shared by the command parser and the JWT verifier. On-Demand checks only
// what is read, so ValidateJson walks everything else: atoms, numbers (by the
// RFC 8259 grammar: 3.0.1 refuses valid numbers it cannot represent, such as
// 1e400, and `data` is forwarded verbatim), escapes, keys and nesting depth.
// Header-only: the callers' hot loops inline it. Any thread; no state.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string_view>

namespace ringcast::proto::json {

namespace od = simdjson::ondemand;
using error_code = simdjson::error_code;

inline bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

inline bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const auto is_digit = [&s](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  const auto skip_digits = [&](size_t k) {
    while (is_digit(k)) ++k;
    return k;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!is_digit(i)) return false;
  i = s[i] == '0' ? i + 1 : skip_digits(i);
  if (i < s.size() && s[i] == '.') {
    if (!is_digit(++i)) return false;
    i = skip_digits(i);
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!is_digit(i)) return false;
    i = skip_digits(i);
  }
  return i == s.size();
}

// A number token is checked in place and left unconsumed (as get_number() in
// 3.0.1 does too); the enclosing object or array iterator steps over it.
inline error_code ValidateNumber(std::string_view token) {
  return IsJsonNumber(TrimRight(token)) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
}

// The key of a streamed object field. A key without escapes is its own raw
// bytes (stage 1 has already checked UTF-8 and control characters), so only
// keys with a backslash pay for unescaping, which also validates their escapes.
simdjson_inline error_code FieldKey(od::field& field, std::string_view* key) {
  const char* begin = field.key().raw();
  const char* end = begin;
  while (*end != '"' && *end != '\\') ++end;  // stage 1 guarantees a closing quote
  if (*end == '"') {
    *key = std::string_view(begin, static_cast<size_t>(end - begin));
    return simdjson::SUCCESS;
  }
  return field.unescaped_key().get(*key);
}

// Iterates the fields of `obj`, calling f(key, value&) until it returns an error.
// The field is used in place: copying On-Demand values costs store-forwarding stalls.
template <class F>
simdjson_inline error_code ForEachField(od::object& obj, F f) {
  for (auto result : obj) {
    if (auto err = result.error()) return err;
    od::field&& field = std::move(result).value_unsafe();
    std::string_view key;
    if (auto err = FieldKey(field, &key)) return err;
    if (auto err = f(key, field.value())) return err;
  }
  return simdjson::SUCCESS;
}

// Iterates the elements of `arr`, calling f(value&) until it returns an error.
template <class F>
simdjson_inline error_code ForEachElement(od::array& arr, F f) {
  for (auto result : arr) {
    if (auto err = result.error()) return err;
    od::value&& element = std::move(result).value_unsafe();
    if (auto err = f(element)) return err;
  }
  return simdjson::SUCCESS;
}

// Walks a value to its end. `depth` is the nesting level a container `v`
// would open (the enclosing document's object is 1); deeper than max_depth is
// DEPTH_ERROR.
inline error_code ValidateJson(od::value& v, size_t depth, size_t max_depth) {
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  switch (type) {
    case od::json_type::object: {
      if (depth > max_depth) return simdjson::DEPTH_ERROR;
      od::object obj;
      if (auto err = v.get_object().get(obj)) return err;
      return ForEachField(obj, [depth, max_depth](std::string_view, od::value& child) {
        return ValidateJson(child, depth + 1, max_depth);
      });
    }
    case od::json_type::array: {
      if (depth > max_depth) return simdjson::DEPTH_ERROR;
      od::array arr;
      if (auto err = v.get_array().get(arr)) return err;
      return ForEachElement(arr, [depth, max_depth](od::value& element) {
        return ValidateJson(element, depth + 1, max_depth);
      });
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number:
      return ValidateNumber(v.raw_json_token());
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = v.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

}  // namespace ringcast::proto::json
