// The command line: argv -> ServerOptions, over the defaults and the --config
// file. Flags are collected first and applied after the file, so a flag
// overrides the file wherever --config appears.
#include <mimalloc.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shard/config_options.h"
#include "shard/config_table.h"

namespace ringcast::shard {
namespace {

using config_internal::FindByKey;
using config_internal::Kind;
using config_internal::Option;
using config_internal::Sources;

constexpr char kVersion[] = "0.1.0";
constexpr int kUsageExitCode = 2;  // as getopt-style tools exit on a usage error

struct FlagValue {
  const Option* option;
  std::string flag;  // as written, for error lines
  std::string value;
};

struct CommandLine {
  std::vector<FlagValue> flags;  // in command-line order: later wins
  std::optional<std::string> config_path;
  bool print_config = false;
};

ConfigResult Exit(std::string output) {
  ConfigResult r;
  r.exit_now = true;
  r.output = std::move(output);
  return r;
}

ConfigResult Error(std::string line) {
  ConfigResult r;
  r.ok = false;
  r.exit_now = true;
  r.exit_code = kUsageExitCode;
  r.error = config_internal::OneLine(line);
  return r;
}

// Checks that need every layer applied: each setting alone was in range.
std::string CheckCombination(const ServerOptions& s, const Sources& sources) {
  const Option& ping = *FindByKey("keepalive.ping_interval_ms");
  const Option& idle = *FindByKey("keepalive.idle_timeout_ms");
  if (s.ping_interval_ms > 0 && s.idle_timeout_ms > 0 && s.idle_timeout_ms <= s.ping_interval_ms) {
    return sources.Mention(idle, std::to_string(s.idle_timeout_ms)) + " must be greater than " +
           sources.Mention(ping, std::to_string(s.ping_interval_ms)) +
           " (or set either to 0): quiet clients would be closed before being pinged";
  }
  if (s.redis_cluster && s.redis.empty()) {
    return sources.Subject(*FindByKey("cluster.redis_cluster")) +
           " needs the cluster's seed addresses in " + sources.Subject(*FindByKey("cluster.redis"));
  }
  for (const Option& o : config_internal::Options()) {
    if (o.kind == Kind::kSecret &&
        s.*std::get<std::string ServerOptions::*>(o.field) == config_internal::kRedacted) {
      return sources.Subject(o) + " is \"" + std::string(config_internal::kRedacted) +
             "\", the placeholder --print-config prints: put the real secret back";
    }
  }
  return "";
}

// Sorts argv into *cl without applying anything. Returns a result when the
// command line ends here: --help and --version, or a usage error.
std::optional<ConfigResult> ScanArgs(int argc, char** argv, CommandLine* cl) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    if (arg == "--help" || arg == "-h") return Exit(HelpText());
    if (arg == "--version") {
      return Exit("ringcast " + std::string(kVersion) + " (mimalloc " +
                  std::to_string(mi_version()) + ")\n");
    }
    if (arg == "--print-config" || arg == "--no-pin") {
      if (value) return Error(arg + " takes no value");
      if (arg == "--no-pin") cl->flags.push_back({FindByKey("pin_threads"), arg, "false"});
      cl->print_config = cl->print_config || arg == "--print-config";
      continue;
    }
    const Option* option = config_internal::FindByFlag(arg);
    if (option == nullptr && arg != "--config") {
      bool is_flag = arg.starts_with("-");
      return Error((is_flag ? "unknown flag '" : "unexpected argument '") + arg +
                   "' (see ringcast --help)");
    }
    if (!value) {
      // A value that looks like a flag is a forgotten value; `--flag=--x` passes one.
      if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--")) {
        return Error(arg + " needs a value (" + std::string(option ? option->value_name : "FILE") +
                     ")");
      }
      value = argv[++i];
    }
    if (option != nullptr && option->kind == Kind::kRedis) {
      // Repeatable: every --redis adds its instances to the list.
      auto same = std::find_if(cl->flags.begin(), cl->flags.end(),
                               [&](const FlagValue& f) { return f.option == option; });
      if (same != cl->flags.end()) {
        same->value += "," + *value;
        continue;
      }
    }
    if (option != nullptr) {
      cl->flags.push_back({option, arg, *value});
    } else if (cl->config_path) {
      return Error("--config given twice ('" + *cl->config_path + "', '" + *value + "')");
    } else if (value->empty()) {
      return Error("--config needs a file name");
    } else {
      cl->config_path = *value;
    }
  }
  return std::nullopt;
}

}  // namespace

ConfigResult BuildOptions(int argc, char** argv, ServerOptions* out) {
  CommandLine cl;
  if (std::optional<ConfigResult> done = ScanArgs(argc, argv, &cl)) return *std::move(done);

  ServerOptions options;
  Sources sources;
  if (cl.config_path) {
    std::string error = config_internal::LoadFile(*cl.config_path, &options, &sources);
    if (!error.empty()) return Error(error);
  }
  for (const FlagValue& f : cl.flags) {
    if (!config_internal::SetFromText(*f.option, f.value, &options)) {
      bool echo = f.option->kind != Kind::kSecret;  // never put a secret on stderr
      return Error(f.flag + " " + config_internal::MustBe(*f.option) +
                   (echo ? " (got '" + f.value + "')" : ""));
    }
    sources.FromFlag(*f.option, f.flag);
  }
  if (std::string error = CheckCombination(options, sources); !error.empty()) return Error(error);

  *out = std::move(options);
  if (cl.print_config) return Exit(FormatConfig(*out));
  return ConfigResult{};
}

}  // namespace ringcast::shard
