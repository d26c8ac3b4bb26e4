// BusPort: how a shard's parts reach other shards. Post() delivers a message
// to shard `to`, running its handler in place when `to` is this shard, so
// callers never choose between a local call and a send. Admits() says
// whether new work toward a shard may enter the bus (Outbox's bound). The
// Shard implements it; unit tests use a recording fake. Shard thread only.
#pragma once

#include <string_view>

#include "core/hash.h"
#include "shard/bus_message.h"

namespace ringcast::shard {

class BusPort {
 public:
  virtual ~BusPort() = default;
  virtual unsigned shard_id() const = 0;
  virtual unsigned shard_count() const = 0;
  [[nodiscard]] virtual bool Admits(unsigned to) const = 0;
  virtual void Post(unsigned to, BusMessage msg) = 0;

  // Room R is owned by shard hash(R) % N (users by their personal room "@U").
  unsigned OwnerOf(std::string_view room) const {
    return static_cast<unsigned>(core::HashBytes(room) % shard_count());
  }
};

}  // namespace ringcast::shard
