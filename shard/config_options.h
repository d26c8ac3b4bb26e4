// Configuration of the ringcast binary: argv and a TOML file -> ServerOptions
// (shard/server.h). Settings come from three layers, each overriding the one
// before: ServerOptions{} defaults, the TOML file named by `--config FILE`
// (loaded first wherever it appears on the command line), then the other flags
// in command-line order. One table (config_table.h) names every setting once,
// and flag parsing, file loading, --help and --print-config all read it, so
// they cannot disagree; a unit test holds README.md's flag table to it too.
//
// Strict on purpose: an unknown flag, an unknown TOML key (a typo), a wrong
// type or an out-of-range value is an error of one line naming the flag, or
// the file and the key. Nothing here exits; main prints and returns.
// Main thread only, before the shards start. Lives in its own library,
// ringcast_config, so that only it links toml++, never ringcast_shard.
#pragma once

#include <string>

#include "shard/server.h"

namespace ringcast::shard {

struct ConfigResult {
  bool ok = true;         // false: `error` says why; exit with exit_code
  bool exit_now = false;  // --help, --version, --print-config, or an error
  int exit_code = 0;
  std::string error;   // one line, no "ringcast: " prefix, no newline
  std::string output;  // help, version or printed config, for stdout
};

// Parses argv (`--flag value` and `--flag=value`). On success without
// exit_now, *out holds the effective options; on an error *out is untouched.
// With --print-config, *out also holds them and `output` is TOML that,
// given back with --config, reproduces them -- except that non-empty secrets
// (auth.jwt_secret, api.key) print as "<redacted>", which is refused when read
// back, so a printed file can never run a server with a guessable secret.
[[nodiscard]] ConfigResult BuildOptions(int argc, char** argv, ServerOptions* out);

// The --print-config text for `options` (secrets redacted).
[[nodiscard]] std::string FormatConfig(const ServerOptions& options);

// The --help text: every flag with its TOML key, default and range.
[[nodiscard]] std::string HelpText();

}  // namespace ringcast::shard
