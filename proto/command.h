// Client command parsing (docs/protocol.md, "Client commands"). A text message
// holds one or more commands, one JSON object per line; ForEachCommandLine
// splits it and CommandParser::Parse turns one line into a Command or a
// ParseError that maps straight onto an `error` reply.
//
// Invariants: a successful Parse has validated the *whole* input as JSON (every
// field, known or not, down to the last byte; nesting at most kMaxJsonDepth
// including the command object) and type-checked every known field, whatever
// the op. Command views (room, data, to, rid, since.epoch) and ParseError
// reasons point into the parser's own buffers and stay valid until the next
// Parse call; `data` is the verbatim JSON text of the value, so it can be framed
// without re-serializing. Duplicate keys: the last occurrence wins. The parser
// reuses its buffers, so parsing allocates only while they grow.
// Thread: one CommandParser per shard thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/wire.h"

namespace ringcast::proto {

enum class Op : uint8_t { kSub, kUnsub, kPub, kSend, kReq, kRes, kPresence, kPing };

// The wire name of `op` ("sub", "unsub", ...).
std::string_view OpName(Op op);

constexpr size_t kMaxRoomBytes = 256;           // longer room names are bad_command
constexpr size_t kMaxSendTargets = 100;         // more targets in `to` is wire::ErrorCode::kLimit
constexpr size_t kMaxCommandBytes = 16u << 20;  // larger input is wire::ErrorCode::kTooLarge
constexpr size_t kMaxJsonDepth = 64;            // deeper nesting is wire::ErrorCode::kBadJson

struct SinceMark {
  uint64_t seq = 0;
  std::string_view epoch;
};

struct Command {
  Op op{};
  std::optional<uint64_t> id;
  std::string_view room;               // unescaped; sub/unsub/pub/presence
  std::string_view data;               // raw JSON text of "data", verbatim, trimmed
  bool echo = true;                    // pub
  bool presence = false;               // sub
  std::optional<SinceMark> since;      // sub
  std::vector<std::string_view> to;    // send: 1..kMaxSendTargets user ids; req: exactly one
  std::string_view rid;                // res
  std::optional<uint64_t> timeout_ms;  // req
  std::string_view user;               // the HTTP API's disconnect
};

struct ParseError {
  wire::ErrorCode code;
  std::string_view reason;
  // The command's id when it could be read, so the `error` reply can carry it.
  std::optional<uint64_t> id;
};

class CommandParser {
 public:
  CommandParser();
  ~CommandParser();
  CommandParser(const CommandParser&) = delete;
  CommandParser& operator=(const CommandParser&) = delete;

  // Parses one command (one JSON object). Returns nullopt on success. On error
  // *out holds unspecified partial results. `json` need not outlive the call.
  [[nodiscard]] std::optional<ParseError> Parse(std::string_view json, Command* out);
  // The same for an HTTP API body: `op` may be left out and is then `op`.
  [[nodiscard]] std::optional<ParseError> ParseAs(Op op, std::string_view json, Command* out);

 private:
  struct Impl;  // keeps simdjson.h out of every includer
  std::unique_ptr<Impl> impl_;
};

namespace detail {
inline bool IsBlankLine(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}
}  // namespace detail

// Calls f(std::string_view line) for each non-blank '\n'-separated line of a
// text message, with one trailing '\r' stripped. If f returns bool, returning
// false stops the iteration (e.g. when a per-message command budget runs out).
template <class F>
void ForEachCommandLine(std::string_view message, F f) {
  size_t pos = 0;
  while (true) {
    const size_t nl = message.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? message.size() : nl;
    std::string_view line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!detail::IsBlankLine(line)) {
      if constexpr (std::is_same_v<std::invoke_result_t<F&, std::string_view>, bool>) {
        if (!f(line)) return;
      } else {
        f(line);
      }
    }
    if (nl == std::string_view::npos) return;
    pos = nl + 1;
  }
}

}  // namespace ringcast::proto
