// The cross-shard bus: one bounded SPSC ring per ordered pair of shards, plus
// a "may be asleep" flag per shard for doorbells.
//
// A producer pushes, then (after a full fence) reads the consumer's sleeping
// flag; a consumer sets its flag, fences, then re-checks its rings before it
// blocks in io_uring. So a message is never left unnoticed while its consumer
// sleeps, and a busy consumer is never rung. A full ring is backpressure: the
// producer keeps the message in its own bounded overflow queue (Shard) and
// retries next round; nothing is dropped. Messages are 24-byte PODs; any
// pointer in one transfers ownership to the consumer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/slab.h"
#include "core/spsc_ring.h"

namespace ringcast::shard {

constexpr unsigned kMaxShards = 64;

enum class BusKind : uint8_t {
  kPublish,  // origin -> owner: ptr = PubRequest*
  kDeliver,  // owner -> subscriber shard: ptr = SharedFrame* (one atomic ref)
  kJoin,     // subscriber shard -> owner: ptr = std::string* room, ticket = join epoch
  kJoinAck,  // owner -> subscriber shard: the same room pointer and epoch back
  kLeave,    // subscriber shard -> owner: ptr = std::string* room
  kPubAck,   // owner -> origin: ticket of the pending reply; flags bit 0 = rejected
};

struct BusMessage {
  BusKind kind;
  uint8_t src;      // sending shard
  uint8_t origin;   // kDeliver: shard of the connection not to echo to
  uint8_t flags;    // kDeliver: bit 0 = skip conn; kPubAck: bit 0 = rejected
  uint32_t ticket;  // reply ticket (kPubAck) or join epoch (kJoin/kJoinAck)
  core::SlabHandle conn;
  void* ptr;
};
static_assert(sizeof(BusMessage) == 24);

// A publication travelling from the shard that received it to the room's owner.
struct PubRequest {
  std::string room;
  std::string from;
  std::string data;
  core::SlabHandle conn{};
  uint32_t ticket = 0;  // 0 = no reply wanted
  uint8_t origin = 0;
  bool echo = true;
};

class Mesh {
 public:
  Mesh(unsigned shards, size_t ring_capacity);

  unsigned shards() const { return shards_; }
  core::SpscRing<BusMessage>& Ring(unsigned from, unsigned to) { return *rings_[from * shards_ + to]; }

  void SetSleeping(unsigned shard, bool value) {
    sleeping_[shard].value.store(value, std::memory_order_seq_cst);
  }
  bool MaySleep(unsigned shard) const {
    return sleeping_[shard].value.load(std::memory_order_seq_cst);
  }
  // Each shard publishes its ring fd for doorbells once its ring exists.
  void SetRingFd(unsigned shard, int fd) { ring_fds_[shard].value.store(fd); }
  int RingFd(unsigned shard) const { return ring_fds_[shard].value.load(); }
  bool HasInbound(unsigned shard) {
    for (unsigned from = 0; from < shards_; ++from) {
      if (from != shard && !Ring(from, shard).IsEmptyApprox()) return true;
    }
    return false;
  }

 private:
  struct alignas(64) Flag {
    std::atomic<bool> value{false};
  };
  struct alignas(64) Fd {
    std::atomic<int> value{-1};
  };
  unsigned shards_;
  std::vector<std::unique_ptr<core::SpscRing<BusMessage>>> rings_;
  std::unique_ptr<Flag[]> sleeping_;
  std::unique_ptr<Fd[]> ring_fds_;
};

}  // namespace ringcast::shard
