// The option table behind config_options.h, shared by the config_*.cc files
// (and the config unit tests) but by nothing else in the server. Each row
// names one ServerOptions setting once: its TOML key, its flag, the kind of
// value it takes and its range, so that parsing, printing and help cannot
// drift apart.
//
// Invariants: every key and every flag appears in one row only; top-level keys
// come first, then each [section]'s keys contiguously, because FormatConfig
// opens a section where the prefix changes. The tables are constant data; the
// functions here run on the main thread before the shards start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "shard/server.h"

namespace ringcast::shard::config_internal {

// What --print-config prints for a non-empty secret. Refused when read back,
// so a printed file cannot start a server with a secret anyone could guess.
inline constexpr std::string_view kRedacted = "<redacted>";

// Flags that act on the command line rather than on a setting, so they have no
// row and no TOML key. BuildOptions accepts each (and "-h" for --help).
inline constexpr std::string_view kCommandFlags[] = {"--config", "--print-config", "--help",
                                                     "--version", "--no-pin"};

enum class Kind : uint8_t {
  kUint,
  kBool,
  kSecret,
  kNodeId,
  kRoom,
  kListen,
  kOrigins,
  kHosts,
  kRedis
};

// Where a setting lives in ServerOptions. kListen fills two fields and kOrigins
// and kHosts a vector each, so they have their own code and no member pointer.
using Field = std::variant<std::monostate, size_t ServerOptions::*, uint32_t ServerOptions::*,
                           bool ServerOptions::*, std::string ServerOptions::*>;

struct Option {
  std::string_view key;   // TOML key, dotted: "limits.max_message_bytes"
  std::string_view flag;  // "--max-message-bytes"
  Kind kind;
  Field field;
  uint64_t min;  // kUint: allowed range
  uint64_t max;
  std::string_view value_name;  // for --help: "BYTES", "MS", "HOST:PORT"
  std::string_view help;        // one line
};

// The keys of a [namespaces.NAME] table: file only, so no flags.
struct NamespaceKey {
  std::string_view key;
  std::variant<uint32_t NamespaceOptions::*, bool NamespaceOptions::*> field;
  uint64_t max;  // integers: 0..max
  std::string_view help;
};

[[nodiscard]] std::span<const Option> Options();
[[nodiscard]] std::span<const NamespaceKey> NamespaceKeys();

[[nodiscard]] size_t IndexOf(const Option& o);
[[nodiscard]] const Option* FindByKey(std::string_view key);
[[nodiscard]] const Option* FindByFlag(std::string_view flag);
// True for "limits" when some key is "limits.*".
[[nodiscard]] bool IsSection(std::string_view name);

// The value of `o` in `s` as TOML; secrets redacted unless empty.
[[nodiscard]] std::string TomlValue(const Option& o, const ServerOptions& s);
// The value of namespace key `k` in `ns` as TOML.
[[nodiscard]] std::string TomlValue(const NamespaceKey& k, const NamespaceOptions& ns);
// What a valid value looks like, to follow "--flag " or "FILE: key ".
[[nodiscard]] std::string MustBe(const Option& o);

// Each Set* returns false when the value is not allowed (the caller reports MustBe)
// and then leaves `s` as it was.
[[nodiscard]] bool SetUint(const Option& o, uint64_t v, ServerOptions* s);
[[nodiscard]] bool SetBool(const Option& o, bool v, ServerOptions* s);
[[nodiscard]] bool SetOrigins(const std::vector<std::string_view>& list, ServerOptions* s);
[[nodiscard]] bool SetHosts(const std::vector<std::string_view>& list, ServerOptions* s);
// A list kind (kOrigins, kHosts) from a TOML array.
[[nodiscard]] bool SetList(const Option& o, const std::vector<std::string_view>& list,
                           ServerOptions* s);
// Strings of every kind; origins as one comma-separated string.
[[nodiscard]] bool SetText(const Option& o, std::string_view v, ServerOptions* s);
// A flag's text: numbers and booleans parsed, strings as given.
[[nodiscard]] bool SetFromText(const Option& o, std::string_view text, ServerOptions* s);

// Where each setting's value came from, so an error about a combination names
// what the user actually wrote: nothing (the default), a flag, or a file.
class Sources {
 public:
  void FromFlag(const Option& o, std::string flag);
  void FromFile(const Option& o, std::string path);
  // The subject of an error line: "--drain-ms" or "ringcast.toml: shutdown.drain_ms".
  [[nodiscard]] std::string Subject(const Option& o) const;
  // A setting and its value: "--drain-ms 5", "shutdown.drain_ms = 5 in FILE".
  [[nodiscard]] std::string Mention(const Option& o, const std::string& value) const;

 private:
  std::vector<std::string> from_ = std::vector<std::string>(Options().size());
  std::vector<bool> from_flag_ = std::vector<bool>(Options().size());
};

// Reads the TOML file at `path` into *s over what it holds. Returns "" or one
// error line naming the file (and the key, or line:column for a syntax error).
[[nodiscard]] std::string LoadFile(const std::string& path, ServerOptions* s, Sources* sources);

// ---- text (config_text.cc) ----------------------------------------------------------

// Printable UTF-8: no control characters.
[[nodiscard]] bool IsCleanText(std::string_view s);
// scheme://host[:port], as browsers send it: no path, no trailing slash.
[[nodiscard]] bool IsOrigin(std::string_view s);
// A Host header value: name, IPv4 or [IPv6], optional :port.
[[nodiscard]] bool IsHost(std::string_view s);
[[nodiscard]] bool IsNodeIdChar(char c);
[[nodiscard]] std::string_view Trim(std::string_view s);
// A TOML basic string: quotes and backslashes escaped, control characters as \uXXXX.
[[nodiscard]] std::string Quote(std::string_view s);
// A TOML key: bare when it can be, quoted otherwise.
[[nodiscard]] std::string TomlKey(std::string_view s);
// Error lines must stay one line even when a parser's message is not.
[[nodiscard]] std::string OneLine(std::string_view s);
// "FILE: unknown key 'limits.max_mesage_bytes' (did you mean limits.max_message_bytes?)"
[[nodiscard]] std::string UnknownKey(const std::string& path, const std::string& key,
                                     const std::vector<std::string>& known);

}  // namespace ringcast::shard::config_internal
