// Redirect: a Redis Cluster error that names another master. "MOVED <slot>
// <host:port>" means the slot lives there now: update the SlotMap (and
// reload it soon, since a MOVED rarely comes alone) and resend there. "ASK
// <slot> <host:port>" means the slot is being migrated and this one key is
// already on the target: resend there once, preceded by ASKING, without
// changing the map. Parsed from the error text Redis sends, which comes from
// the network: malformed text gives nullopt, never a crash (fuzzed in
// tests/fuzz/cluster_fuzz.cc). Pure functions: any thread.
#pragma once

#include <hiredis/hiredis.h>

#include <optional>
#include <string_view>

#include "shard/cluster_slot_map.h"

namespace ringcast::shard {

struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  RedisAddress to;

  [[nodiscard]] static std::optional<Redirect> Parse(std::string_view error);
  // An error reply holding a redirection; nullopt for any other reply.
  [[nodiscard]] static std::optional<Redirect> FromReply(const redisReply* reply);
};

}  // namespace ringcast::shard
