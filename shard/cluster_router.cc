#include "shard/cluster_router.h"

#include <cstring>

#include "core/check.h"

namespace ringcast::shard {

namespace {

bool SameEndpoint(const net::RedisAddress& a, const net::RedisAddress& b) {
  if (a == b) return true;
  return a.IsResolved() && b.IsResolved() && a.addr_len == b.addr_len &&
         std::memcmp(&a.addr, &b.addr, a.addr_len) == 0;
}

}  // namespace

ClusterRouter::ClusterRouter(std::vector<net::RedisAddress> seeds)
    : addresses_(std::move(seeds)), sent_(addresses_.size()) {
  RC_CHECK(!addresses_.empty() && addresses_.size() <= kMaxInstances);
}

size_t ClusterRouter::InstanceOfSlot(int slot) const {
  const int node = map_.NodeOf(slot);
  if (node < 0 || static_cast<size_t>(node) >= instance_of_node_.size()) return 0;
  const int inst = instance_of_node_[static_cast<size_t>(node)];
  return inst < 0 ? 0 : static_cast<size_t>(inst);
}

bool ClusterRouter::Apply(const redisReply* reply, size_t from) {
  std::optional<SlotMap> map = SlotMap::FromClusterSlots(reply);
  if (!map) return false;
  map_ = std::move(*map);
  has_map_ = true;
  instance_of_node_.clear();
  RebuildInstances(from);
  return true;
}

std::optional<size_t> ClusterRouter::Moved(const Redirect& r, size_t from) {
  std::optional<size_t> inst = InstanceOf(r.to, from);
  if (!inst) return std::nullopt;
  net::RedisAddress to = r.to;
  if (to.host.empty()) to.host = addresses_[from].host;
  map_.Move(r.slot, to);
  RebuildInstances(from);
  return inst;
}

void ClusterRouter::RebuildInstances(size_t from) {
  // Nodes keep their indices in a SlotMap: only new ones need a look-up.
  for (size_t n = instance_of_node_.size(); n < map_.nodes().size(); ++n) {
    std::optional<size_t> inst = InstanceOf(map_.nodes()[n], from);
    instance_of_node_.push_back(inst ? static_cast<int>(*inst) : -1);
  }
  Recount();
}

std::optional<size_t> ClusterRouter::InstanceOf(const net::RedisAddress& address, size_t from) {
  RC_CHECK(from < addresses_.size());
  net::RedisAddress a = address;
  if (a.host.empty()) a.host = addresses_[from].host;
  for (size_t i = 0; i < addresses_.size(); ++i) {
    if (addresses_[i] == a) return i;
  }
  if (!a.Resolve(true).empty()) return std::nullopt;
  for (size_t i = 0; i < addresses_.size(); ++i) {
    if (SameEndpoint(addresses_[i], a)) return i;
  }
  if (addresses_.size() >= kMaxInstances) return std::nullopt;
  addresses_.push_back(std::move(a));
  sent_.emplace_back();
  return addresses_.size() - 1;
}

void ClusterRouter::Recount() {
  serves_.assign(addresses_.size(), false);
  slots_covered_ = 0;
  for (int slot = 0; slot < core::kRedisSlots; ++slot) {
    const int node = map_.NodeOf(slot);
    if (node < 0 || instance_of_node_[static_cast<size_t>(node)] < 0) continue;
    serves_[static_cast<size_t>(instance_of_node_[static_cast<size_t>(node)])] = true;
    ++slots_covered_;
  }
  masters_ = 0;
  for (bool serves : serves_) masters_ += serves ? 1 : 0;
}

void ClusterRouter::Record(size_t instance, Sent sent) {
  RC_CHECK(instance < sent_.size());
  sent_[instance].push_back(std::move(sent));
}

ClusterRouter::Sent ClusterRouter::Pop(size_t instance) {
  RC_CHECK(instance < sent_.size() && !sent_[instance].empty());
  Sent out = std::move(sent_[instance].front());
  sent_[instance].pop_front();
  return out;
}

}  // namespace ringcast::shard
