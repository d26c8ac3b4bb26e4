// Outbox: one shard's sending side of the bus.
//
// Post() pushes a message onto the ring toward its target; when that ring is
// full the message waits, in order, in a per-target overflow queue that
// Flush() retries every round, so nothing is ever dropped or reordered.
// Targets that got messages are remembered for the round's doorbells.
//
// Bound (this class's invariant): new work, a publication, a direct message
// or a disconnect entering the bus, is admitted by Admits() only while the overflow
// toward its target holds fewer than limits.per_target messages and the
// whole outbox fewer than limits.total. Everything else (deliveries, answers,
// joins and leaves) follows from work already admitted or from a
// subscriber's command, and is always queued: refusing it would lose a
// message or leak a subscription. Admission therefore keeps the overflow
// within the bound plus what admitted work produces. Long before that bound,
// Backlog() (ring and overflow toward the most backlogged target) makes
// Backpressure stop reading publishers, so the bound and its refusals are
// met only by work nothing can pause (API-key connections, many publishers
// at once). Shard thread only; the destructor frees what never left.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "shard/bus_message.h"
#include "shard/mesh.h"

namespace ringcast::shard {

struct OutboxLimits {
  size_t per_target = size_t{1} << 16;
  size_t total = size_t{1} << 17;
  // For rings of ring_capacity slots: two rings toward one target (65536 at
  // least), twice that in all. The pause mark is a ring (Backpressure), and a
  // consumer drains up to a ring a round, whose answers and deliveries can
  // come back as fast, so the backlog passes the mark by up to a round's
  // work before the pause holds it; with an overflow bound of one ring, runs
  // at 65536-slot rings met it and refused publications.
  static OutboxLimits For(size_t ring_capacity) {
    size_t per = std::max(size_t{1} << 16, 2 * ring_capacity);
    return {per, 2 * per};
  }
};

class Outbox {
 public:
  Outbox(Mesh* mesh, unsigned self, OutboxLimits limits = {});
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Whether new work toward `to` may enter the bus now.
  [[nodiscard]] bool Admits(unsigned to) const;
  // Queues msg for shard `to` (never this shard): the ring, or the overflow.
  void Post(unsigned to, BusMessage msg);
  // Moves what waits in the overflow onto rings with room, in order.
  void Flush();
  // Targets that got messages since the last call, one bit each.
  uint64_t TakeDoorbells() {
    uint64_t due = doorbells_due_;
    doorbells_due_ = 0;
    return due;
  }
  bool HasOverflow() const { return total_ > 0; }
  // Messages waiting toward the most backlogged target: in its ring, as far
  // as its consumer has got, and in the overflow behind it.
  size_t Backlog() const;
  size_t BacklogToward(unsigned to) const;
  // Before sleeping with overflow, or with publishers paused until the bus
  // drains to `drain_to` messages (Backpressure): raises the "waiting for
  // room" flag (Mesh) of every ring toward a target with overflow and, with
  // drain_to, of every ring holding more than that; then re-checks them. True
  // when each ring with overflow is still full and each other flagged ring
  // still holds more than drain_to: the shard may sleep, and the first
  // consumer to pop from a flagged ring rings it. False when one has room or
  // has drained already.
  [[nodiscard]] bool WaitForRoom(std::optional<size_t> drain_to = std::nullopt);
  size_t overflow_total() const { return total_; }
  size_t overflow_toward(unsigned to) const { return overflow_[to].size(); }
  // Messages that had to wait for a full ring, ever.
  uint64_t overflowed() const { return overflowed_; }

 private:
  Mesh* const mesh_;
  const unsigned self_;
  const OutboxLimits limits_;
  std::vector<std::deque<BusSlot>> overflow_;
  size_t total_ = 0;
  uint64_t doorbells_due_ = 0;
  uint64_t overflowed_ = 0;
};

}  // namespace ringcast::shard
