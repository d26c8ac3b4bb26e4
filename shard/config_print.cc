// What the configuration prints: --help, generated from the option table so a
// new setting documents itself, and --print-config, TOML that --config reads
// back to the same ServerOptions.
#include <string>

#include "shard/config_options.h"
#include "shard/config_table.h"

namespace ringcast::shard {
namespace {

using config_internal::Kind;
using config_internal::NamespaceKey;
using config_internal::Option;

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + " ";
}

// Two lines per setting: flag, key and default, then the help with its range.
std::string OptionHelp(const Option& o, const ServerOptions& defaults) {
  std::string out = "  " + Pad(std::string(o.flag) + " " + std::string(o.value_name), 39) +
                    std::string(o.key) + " = " + config_internal::TomlValue(o, defaults) + "\n";
  out += "        " + std::string(o.help);
  if (o.kind == Kind::kUint) {
    out += " (" + std::to_string(o.min) + ".." + std::to_string(o.max) + ")";
  }
  return out + "\n";
}

std::string NamespaceHelp(const NamespaceKey& k, const NamespaceOptions& defaults) {
  std::string out = "  " +
                    Pad(std::string(k.key) + " = " + config_internal::TomlValue(k, defaults), 22) +
                    std::string(k.help);
  if (std::holds_alternative<uint32_t NamespaceOptions::*>(k.field)) {
    out += " (0.." + std::to_string(k.max) + ")";
  }
  return out + "\n";
}

}  // namespace

std::string HelpText() {
  std::string out =
      "usage: ringcast [--config FILE] [flags]\n"
      "\n"
      "A WebSocket pub/sub broker: one io_uring shard per core. Clients connect to\n"
      "ws://HOST:PORT/ws (see docs/protocol.md).\n"
      "\n"
      "Settings come from the defaults, then the TOML file given with --config, then\n"
      "flags: a flag overrides the file. Flags take `--flag VALUE` or `--flag=VALUE`.\n"
      "Each flag below shows its TOML key and default, then what it does.\n"
      "\n"
      "  --config FILE                           read settings from a TOML file\n"
      "  --print-config                          print the effective settings as TOML and exit\n"
      "                                          (secrets print as \"<redacted>\")\n"
      "  --help                                  show this text\n"
      "  --version                               print the version\n"
      "\n";
  const ServerOptions defaults;
  for (const Option& o : config_internal::Options()) out += OptionHelp(o, defaults);
  out +=
      "  --no-pin                                same as --pin-threads false\n"
      "\n"
      "Namespaces (file only): a room \"NAME:rest\" uses the table [namespaces.NAME], a\n"
      "room without a prefix uses [namespaces.default]. Keys, with their defaults:\n";
  const NamespaceOptions ns;
  for (const NamespaceKey& k : config_internal::NamespaceKeys()) out += NamespaceHelp(k, ns);
  return out;
}

std::string FormatConfig(const ServerOptions& options) {
  std::string out =
      "# ringcast effective configuration (ringcast --print-config). Use it with\n"
      "# --config FILE. Secrets print as \"<redacted>\", which ringcast refuses to\n"
      "# start with: put the real values back, or pass --jwt-secret / --api-key.\n";
  std::string_view section;
  for (const Option& o : config_internal::Options()) {
    size_t dot = o.key.find('.');
    std::string_view name = o.key;
    if (dot != std::string_view::npos) {
      if (o.key.substr(0, dot) != section) {
        section = o.key.substr(0, dot);
        out += "\n[" + std::string(section) + "]\n";
      }
      name = o.key.substr(dot + 1);
    }
    out += std::string(name) + " = " + config_internal::TomlValue(o, options) + "\n";
  }
  for (const auto& [name, ns] : options.namespaces) {
    out += "\n[namespaces." + config_internal::TomlKey(name) + "]\n";
    for (const NamespaceKey& k : config_internal::NamespaceKeys()) {
      out += std::string(k.key) + " = " + config_internal::TomlValue(k, ns) + "\n";
    }
  }
  return out;
}

}  // namespace ringcast::shard
