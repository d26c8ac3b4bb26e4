#include "shard/outbox.h"

#include <algorithm>
#include <atomic>
#include <bit>

#include "core/check.h"

namespace ringcast::shard {

Outbox::Outbox(Mesh* mesh, unsigned self, OutboxLimits limits)
    : mesh_(mesh), self_(self), limits_(limits), overflow_(mesh->shards()) {
  RC_CHECK(limits.per_target > 0 && limits.total >= limits.per_target);
}

Outbox::~Outbox() {
  for (auto& q : overflow_) {
    for (const BusSlot& s : q) BusMessage dropped = Decode(s);  // frees the payload
  }
}

bool Outbox::Admits(unsigned to) const {
  if (total_ >= limits_.total) return false;
  return to == self_ || overflow_[to].size() < limits_.per_target;
}

void Outbox::Post(unsigned to, BusMessage msg) {
  RC_DCHECK(to != self_ && to < overflow_.size());
  BusSlot slot = Encode(std::move(msg));
  if (overflow_[to].empty() && mesh_->Ring(self_, to).TryPush(slot)) {
    doorbells_due_ |= uint64_t{1} << to;
    return;
  }
  overflow_[to].push_back(slot);  // in order behind what already waits
  ++total_;
  ++overflowed_;
}

void Outbox::Flush() {
  if (total_ == 0) return;
  for (unsigned to = 0; to < overflow_.size(); ++to) {
    auto& q = overflow_[to];
    while (!q.empty() && mesh_->Ring(self_, to).TryPush(q.front())) {
      q.pop_front();
      --total_;
      doorbells_due_ |= uint64_t{1} << to;
    }
  }
}

size_t Outbox::BacklogToward(unsigned to) const {
  return to == self_ ? 0 : mesh_->Ring(self_, to).SizeApprox() + overflow_[to].size();
}

size_t Outbox::Backlog() const {
  size_t max = 0;
  for (unsigned to = 0; to < overflow_.size(); ++to) max = std::max(max, BacklogToward(to));
  return max;
}

bool Outbox::WaitForRoom(std::optional<size_t> drain_to) {
  uint64_t flagged = 0;
  for (unsigned to = 0; to < overflow_.size(); ++to) {
    if (to == self_) continue;
    if (!overflow_[to].empty() || (drain_to && BacklogToward(to) > *drain_to)) {
      mesh_->SetWaitingForRoom(self_, to);
      flagged |= uint64_t{1} << to;
    }
  }
  // Pairs with the consumer's fence between its pop and TakeWaitingForRoom:
  // either it sees the flag or this sees the room it made.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (; flagged != 0; flagged &= flagged - 1) {
    auto to = static_cast<unsigned>(std::countr_zero(flagged));
    auto& ring = mesh_->Ring(self_, to);
    size_t in_ring = ring.SizeApprox();
    if (!overflow_[to].empty() ? in_ring < ring.capacity() : in_ring <= *drain_to) return false;
  }
  return true;
}

}  // namespace ringcast::shard
