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

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/shared_frame.h"
#include "core/slab.h"
#include "core/spsc_ring.h"

namespace ringcast::shard {

constexpr unsigned kMaxShards = 64;

enum class BusKind : uint8_t {
  kPublish,  // origin -> owner: ptr = PubRequest*
  kDeliver,  // owner -> subscriber shard: ptr = SharedFrame* (one atomic ref)
  kJoin,     // subscriber shard -> owner: ptr = JoinRequest*, ticket = local join epoch
  kJoinAck,  // owner -> subscriber shard: the same JoinRequest, answered
  kLeave,    // subscriber shard -> owner: ptr = std::string* room
  kPubAck,   // owner -> origin: ticket of the pending reply; flags bit 0 = rejected,
             // bit 1 = `value` carries the seq; for direct messages (send), ticket is
             // the send's id and `value` the connections reached
  kDisconnect,  // any shard -> every shard: ptr = std::string* user, close its connections
  kRes,         // responder's shard -> requester's shard: ptr = ResAnswer*
  kPresence,    // subscriber shard -> owner: ptr = PresenceDelta*
  kPresenceQuery,   // asking shard -> owner: ptr = PresenceQuery*
  kPresenceAnswer,  // owner -> asking shard: the same PresenceQuery, answered
};

struct BusMessage {
  BusKind kind;
  uint8_t src;      // sending shard
  uint8_t origin;   // kDeliver: shard of the connection not to echo to
  uint8_t flags;    // kDeliver: bit 0 = skip conn, bit 1 = presence subscribers only;
                    // kPubAck: bit 0 = rejected
  uint32_t ticket;  // reply ticket (kPubAck) or join epoch (kJoin/kJoinAck)
  core::SlabHandle conn;
  union {
    void* ptr;       // owned payload, by kind
    uint64_t value;  // kPubAck: the publication's seq
  };
};
static_assert(sizeof(BusMessage) == 24);

// A subscribing shard asks the owner to record it (room_join, when it is the
// room's first local subscriber) and/or, for rooms with history, to answer
// one subscriber with the room's seq and epoch and replay what it missed.
struct JoinRequest {
  std::string room;
  bool room_join = false;
  bool counts_conn = false;  // a personal room: the owner counts connections
  bool presence = false;     // the subscriber asked for join/leave events
  bool has_conn = false;  // answer for `conn`
  core::SlabHandle conn{};
  uint32_t ticket = 0;    // its reply ticket, 0 = no reply wanted
  std::optional<uint64_t> since_seq;
  std::string since_epoch;
  // Filled by the owner.
  uint64_t seq = 0;
  std::string epoch;
  bool recovered = false;
  std::vector<core::SharedFrame*> replay;  // one reference each, in seq order

  JoinRequest() = default;
  JoinRequest(const JoinRequest&) = delete;
  JoinRequest& operator=(const JoinRequest&) = delete;
  ~JoinRequest() {
    for (core::SharedFrame* f : replay) f->Unref();
  }
};

// Frees whatever a message that will never be handled owns.
void FreeBusPayload(const BusMessage& msg);

// A publication travelling from the shard that received it to the room's owner.
struct PubRequest {
  std::string room;
  std::string from;
  std::string data;
  core::SlabHandle conn{};
  uint32_t ticket = 0;  // 0 = no reply wanted
  uint8_t origin = 0;
  bool echo = true;
  bool direct = false;  // `send` to a user's personal room: framed without the room
  uint32_t send_id = 0; // direct: the origin's SendTracker entry (0 = none)
  std::string rid;      // direct `req`: framed as {"op":"req",...,"rid":rid}
};

// One connection of `user` entered (+1) or left (-1) `room`.
struct PresenceDelta {
  std::string room;
  std::string user;
  std::string info_json;
  int delta = 0;
};

struct PresenceQuery {
  std::string room;
  core::SlabHandle conn{};
  uint32_t ticket = 0;
  std::string users_json;  // filled by the owner: [{"user":..,"info":..,"conns":n},...]
  uint64_t count = 0;
};

// The first answer to a `req`, on its way to the requester's shard.
struct ResAnswer {
  uint32_t request = 0;  // the requester shard's request number
  std::string from;
  std::string data;
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
  // Bytes queued to a shard's connections, published once per loop round, so
  // any shard can hold back publishers while subscribers anywhere are behind.
  void SetPressure(unsigned shard, uint64_t queued_bytes) {
    pressure_[shard].value.store(queued_bytes, std::memory_order_relaxed);
  }
  uint64_t MaxPressure() const {
    uint64_t max = 0;
    for (unsigned i = 0; i < shards_; ++i) {
      max = std::max(max, pressure_[i].value.load(std::memory_order_relaxed));
    }
    return max;
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
  struct alignas(64) Counter {
    std::atomic<uint64_t> value{0};
  };
  unsigned shards_;
  std::vector<std::unique_ptr<core::SpscRing<BusMessage>>> rings_;
  std::unique_ptr<Flag[]> sleeping_;
  std::unique_ptr<Fd[]> ring_fds_;
  std::unique_ptr<Counter[]> pressure_;
};

}  // namespace ringcast::shard
