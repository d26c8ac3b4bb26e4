#include "shard/cluster_slot_map.h"

#include "core/check.h"
#include "shard/cluster_reply.h"

namespace ringcast::shard {

SlotMap::SlotMap() : owner_(core::kRedisSlots, -1) {}

std::optional<SlotMap> SlotMap::FromClusterSlots(const redisReply* r) {
  if (!reply::IsArray(r)) return std::nullopt;
  SlotMap map;
  for (size_t i = 0; i < reply::Size(r); ++i) {
    const redisReply* range = reply::At(r, i);
    auto first = reply::Integer(reply::At(range, 0));
    auto last = reply::Integer(reply::At(range, 1));
    const redisReply* master = reply::At(range, 2);
    auto port = reply::Integer(reply::At(master, 1));
    if (!first || !last || *first < 0 || *first > *last || *last >= core::kRedisSlots || !port ||
        *port < 1 || *port > 65535) {
      return std::nullopt;
    }
    // The host is a string, or nil when the node's endpoint is unknown.
    const redisReply* host_reply = reply::At(master, 0);
    std::string host;
    if (auto h = reply::String(host_reply)) {
      host = *h == "?" ? std::string() : std::string(*h);
    } else if (host_reply == nullptr || host_reply->type != REDIS_REPLY_NIL) {
      return std::nullopt;
    }
    const int node = map.IndexOf(RedisAddress{std::move(host), static_cast<uint16_t>(*port)});
    for (int64_t slot = *first; slot <= *last; ++slot) {
      map.owner_[static_cast<size_t>(slot)] = static_cast<int16_t>(node);
    }
  }
  return map;
}

const RedisAddress* SlotMap::AddressOf(int slot) const {
  const int node = NodeOf(slot);
  return node < 0 ? nullptr : &nodes_[static_cast<size_t>(node)];
}

bool SlotMap::complete() const {
  for (int16_t node : owner_) {
    if (node < 0) return false;
  }
  return true;
}

void SlotMap::Move(int slot, const RedisAddress& to) {
  RC_CHECK(slot >= 0 && slot < core::kRedisSlots);
  owner_[static_cast<size_t>(slot)] = static_cast<int16_t>(IndexOf(to));
}

int SlotMap::IndexOf(const RedisAddress& address) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i] == address) return static_cast<int>(i);
  }
  // At most one node per slot; more would mean a corrupt reply.
  RC_CHECK(nodes_.size() < static_cast<size_t>(core::kRedisSlots));
  nodes_.push_back(address);
  return static_cast<int>(nodes_.size() - 1);
}

}  // namespace ringcast::shard
