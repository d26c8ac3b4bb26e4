// Reading the TOML file. The only file that includes toml++: its types stay
// out of config_table.h so the dependency stays inside ringcast_config.
#include <toml++/toml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "proto/command.h"
#include "shard/config_table.h"

namespace ringcast::shard::config_internal {
namespace {

// A config file is a page of settings; anything this large is a wrong path.
constexpr size_t kMaxFileBytes = 1 << 20;

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// A TOML value. Returns "" or the end of an error line ("must be ... (got ...)").
std::string SetFromToml(const Option& o, const toml::node& node, ServerOptions* s) {
  bool ok = false;
  std::string got = TypeName(node);
  if (const auto* i = node.as_integer()) {
    got = std::to_string(i->get());
    ok = i->get() >= 0 && SetUint(o, static_cast<uint64_t>(i->get()), s);
  } else if (const auto* b = node.as_boolean()) {
    got = b->get() ? "true" : "false";
    ok = SetBool(o, b->get(), s);
  } else if (const auto* str = node.as_string()) {
    bool wants_string = o.kind != Kind::kUint && o.kind != Kind::kBool;
    if (o.kind != Kind::kSecret) got = (wants_string ? "" : "a string ") + Quote(str->get());
    ok = SetText(o, str->get(), s);
  } else if (const auto* arr = node.as_array();
             arr &&
             (o.kind == Kind::kOrigins || o.kind == Kind::kHosts || o.kind == Kind::kRedis)) {
    std::vector<std::string_view> list;
    ok = true;
    for (const toml::node& item : *arr) {
      const auto* item_str = item.as_string();
      ok = ok && item_str != nullptr;
      if (item_str != nullptr) list.push_back(item_str->get());
    }
    got = "an array";
    ok = ok && SetList(o, list, s);
  }
  return ok ? "" : MustBe(o) + " (got " + got + ")";
}

std::string ReadFile(const std::string& path, std::string* text) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return path + ": cannot read: " + std::strerror(errno);
  char buf[16384];
  size_t n = 0;
  text->clear();
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0 && text->size() <= kMaxFileBytes) {
    text->append(buf, n);
  }
  int error = std::ferror(f) ? errno : 0;  // a directory fails here with EISDIR
  std::fclose(f);
  if (error != 0) return path + ": cannot read: " + std::strerror(error);
  if (text->size() > kMaxFileBytes) return path + ": larger than 1 MiB, not a config file";
  return "";
}

std::vector<std::string> KnownKeys() {
  std::vector<std::string> keys;
  for (const Option& o : Options()) {
    keys.emplace_back(o.key);
    size_t dot = o.key.find('.');
    if (dot != std::string_view::npos) keys.emplace_back(o.key.substr(0, dot));
  }
  keys.emplace_back("namespaces");
  return keys;
}

std::string LoadNamespace(const std::string& path, const std::string& name, const toml::node& node,
                          NamespaceOptions* ns) {
  std::string subject = path + ": namespaces." + TomlKey(name);
  const toml::table* table = node.as_table();
  if (table == nullptr) return subject + " must be a table ([namespaces." + TomlKey(name) + "])";
  for (auto&& [key, value] : *table) {
    std::string_view k = key.str();
    const NamespaceKey* spec = nullptr;
    std::vector<std::string> known;
    for (const NamespaceKey& nk : NamespaceKeys()) {
      if (nk.key == k) spec = &nk;
      known.push_back("namespaces." + TomlKey(name) + "." + std::string(nk.key));
    }
    std::string full = "namespaces." + TomlKey(name) + "." + std::string(k);
    if (spec == nullptr) return UnknownKey(path, full, known);
    if (auto* f = std::get_if<bool NamespaceOptions::*>(&spec->field)) {
      const auto* b = value.as_boolean();
      if (b == nullptr) {
        return path + ": " + full + " must be true or false (got " + TypeName(value) + ")";
      }
      ns->*(*f) = b->get();
      continue;
    }
    const auto* i = value.as_integer();
    if (i == nullptr || i->get() < 0 || static_cast<uint64_t>(i->get()) > spec->max) {
      std::string got = i ? std::to_string(i->get()) : TypeName(value);
      return path + ": " + full + " must be an integer from 0 to " + std::to_string(spec->max) +
             " (got " + got + ")";
    }
    ns->*std::get<uint32_t NamespaceOptions::*>(spec->field) = static_cast<uint32_t>(i->get());
  }
  return "";
}

std::string LoadNamespaces(const std::string& path, const toml::node& node, ServerOptions* s) {
  const toml::table* table = node.as_table();
  if (table == nullptr) return path + ": namespaces must be tables [namespaces.NAME]";
  for (auto&& [key, value] : *table) {
    std::string name(key.str());
    if (name.empty() || name.find(':') != std::string::npos || name.size() > proto::kMaxRoomBytes ||
        !IsCleanText(name)) {
      return path + ": namespace name " + Quote(name) +
             " must be a non-empty room prefix without ':' (rooms without one use "
             "[namespaces.default])";
    }
    NamespaceOptions ns;
    if (std::string error = LoadNamespace(path, name, value, &ns); !error.empty()) return error;
    s->namespaces[name] = ns;
  }
  return "";
}

std::string ApplyTomlOption(const std::string& path, const Option& o, const toml::node& node,
                            ServerOptions* s, Sources* sources) {
  if (std::string problem = SetFromToml(o, node, s); !problem.empty()) {
    return path + ": " + std::string(o.key) + " " + problem;
  }
  sources->FromFile(o, path);
  return "";
}

}  // namespace

std::string LoadFile(const std::string& path, ServerOptions* s, Sources* sources) {
  std::string text;
  if (std::string error = ReadFile(path, &text); !error.empty()) return error;
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    return path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
           OneLine(e.description());
  }
  for (auto&& [key, node] : root) {
    std::string k(key.str());
    std::string error;
    if (k == "namespaces") {
      error = LoadNamespaces(path, node, s);
    } else if (const Option* o = FindByKey(k)) {
      error = ApplyTomlOption(path, *o, node, s, sources);
    } else if (!IsSection(k)) {
      error = UnknownKey(path, k, KnownKeys());
    } else if (const toml::table* section = node.as_table(); section == nullptr) {
      error = path + ": " + k + " must be a table ([" + k + "])";
    } else {
      for (auto&& [sub_key, sub_node] : *section) {
        std::string full = k + "." + std::string(sub_key.str());
        const Option* sub = FindByKey(full);
        error = sub ? ApplyTomlOption(path, *sub, sub_node, s, sources)
                    : UnknownKey(path, full, KnownKeys());
        if (!error.empty()) break;
      }
    }
    if (!error.empty()) return error;
  }
  return "";
}

}  // namespace ringcast::shard::config_internal
