// Namespaces: which per-namespace settings apply to a room. The part of a
// room name before its first ':' names its namespace ("chat:lobby" uses
// [namespaces.chat]); a room without one, or whose namespace has no table,
// uses [namespaces.default]. Personal rooms ("@user") carry direct messages:
// no history and no presence, whatever the configuration. Immutable after
// construction: any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "shard/server.h"

namespace ringcast::shard {

class Namespaces {
 public:
  explicit Namespaces(const std::map<std::string, NamespaceOptions>& tables) : tables_(tables) {
    auto it = tables_.find("default");
    if (it != tables_.end()) default_ = it->second;
  }

  const NamespaceOptions& Of(std::string_view room) const {
    if (!room.empty() && room.front() == '@') return kPersonal;
    size_t colon = room.find(':');
    if (colon != std::string_view::npos) {
      auto it = tables_.find(std::string(room.substr(0, colon)));
      if (it != tables_.end()) return it->second;
    }
    return default_;
  }
  bool KeepsHistory(std::string_view room) const { return Of(room).history_size > 0; }

 private:
  static constexpr NamespaceOptions kPersonal{0, 0, false, false};
  std::map<std::string, NamespaceOptions> tables_;
  NamespaceOptions default_;
};

}  // namespace ringcast::shard
