// Mesh: the cross-shard bus's shared state. One bounded SPSC ring for each
// ordered pair of shards, a "may be asleep" flag per shard for doorbells,
// each shard's ring fd, each shard's queued-bytes pressure and its bus
// backlog (the longest queue of messages it has waiting toward one shard).
//
// A producer pushes, then (after a full fence) reads the consumer's sleeping
// flag; a consumer sets its flag, fences, then re-checks its rings before it
// blocks in io_uring. So a message is never left unnoticed while its consumer
// sleeps, and a busy consumer is never rung. A full ring is backpressure: the
// producer keeps the message in its Outbox, and rather than spin until the
// consumer makes room (the two may share a core), it raises a "waiting for
// room" flag for that ring, fences, re-checks the ring and sleeps; a consumer
// that pops from the ring fences, then takes the flag and rings the producer.
// A producer whose publishers are paused on a backlogged ring (Backpressure)
// waits on the same flag for the ring to drain. Everything here is
// touched by several threads; rings are SPSC (one producer shard, one consumer shard).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/check.h"
#include "core/spsc_ring.h"
#include "shard/bus_message.h"

namespace ringcast::shard {

constexpr unsigned kMaxShards = 64;

class Mesh {
 public:
  Mesh(unsigned shards, size_t ring_capacity);

  // Slots per ring for a mesh of `shards`: 2^17 over the rings into one shard
  // (3 MiB of 24-byte slots), rounded down to a power of two and kept within
  // 16384..131072: 131072 with two shards, 65536 with three, 32768 with four
  // or five, 16384 from six. A ring is also the bus's pause mark (Backpressure,
  // never below 32768) and a consumer's budget per ring per round, so the
  // fewer the shards, the larger each one's rounds, and the more frames go
  // out in each send, when the bus paces the publishers: two shards held to
  // 0.6 core delivered 1.7-1.9M/s with 16384-slot rings, a 32768 mark and a
  // 16384 budget, 2.1-2.2M/s with 131072 (bench/history.md).
  static size_t RingCapacityFor(unsigned shards);

  unsigned shards() const { return shards_; }
  // The rings' slots (the capacity asked for, rounded up to a power of two).
  size_t ring_capacity() const { return ring_capacity_; }
  core::SpscRing<BusSlot>& Ring(unsigned from, unsigned to) { return *rings_[from * shards_ + to]; }

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
  // The busiest shard but `self`, whose own figure is a round old: a shard
  // asks for the others' and adds its current one (Backpressure::Pressure).
  uint64_t MaxPressureOfOthers(unsigned self) const {
    uint64_t max = 0;
    for (unsigned i = 0; i < shards_; ++i) {
      if (i != self) max = std::max(max, pressure_[i].value.load(std::memory_order_relaxed));
    }
    return max;
  }

  // Messages a shard has waiting toward its most backlogged target (in the
  // ring and behind it, Outbox::Backlog), published once per loop round, so
  // any shard can hold back publishers while the bus anywhere is behind.
  void SetBusBacklog(unsigned shard, uint64_t messages) {
    bus_backlog_[shard].value.store(messages, std::memory_order_relaxed);
  }
  // The most backlogged shard but `self`, as of its last round.
  uint64_t MaxBusBacklogOfOthers(unsigned self) const {
    uint64_t max = 0;
    for (unsigned i = 0; i < shards_; ++i) {
      if (i != self) max = std::max(max, bus_backlog_[i].value.load(std::memory_order_relaxed));
    }
    return max;
  }

  // The producer of ring (from, to) waits for room in it (see above).
  void SetWaitingForRoom(unsigned from, unsigned to) {
    waiting_room_[from * shards_ + to].value.store(true, std::memory_order_seq_cst);
  }
  // Consumer side, after popping from (from, to) and a full fence: whether
  // the producer waited for room (and must be rung); clears the flag.
  bool TakeWaitingForRoom(unsigned from, unsigned to) {
    Flag& f = waiting_room_[from * shards_ + to];
    return f.value.load(std::memory_order_relaxed) &&
           f.value.exchange(false, std::memory_order_seq_cst);
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
  size_t ring_capacity_;
  std::vector<std::unique_ptr<core::SpscRing<BusSlot>>> rings_;
  std::unique_ptr<Flag[]> sleeping_;
  std::unique_ptr<Flag[]> waiting_room_;  // one per ring, indexed as rings_
  std::unique_ptr<Fd[]> ring_fds_;
  std::unique_ptr<Counter[]> pressure_;
  std::unique_ptr<Counter[]> bus_backlog_;
};

}  // namespace ringcast::shard
