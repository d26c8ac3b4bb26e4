#include "shard/outbox.h"

#include <atomic>

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

bool Outbox::WaitForRoom() {
  for (unsigned to = 0; to < overflow_.size(); ++to) {
    if (!overflow_[to].empty()) mesh_->SetWaitingForRoom(self_, to);
  }
  // Pairs with the consumer's fence between its pop and TakeWaitingForRoom:
  // either it sees the flag or this sees the room it made.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (unsigned to = 0; to < overflow_.size(); ++to) {
    if (overflow_[to].empty()) continue;
    auto& ring = mesh_->Ring(self_, to);
    if (ring.SizeApprox() < ring.capacity()) return false;
  }
  return true;
}

}  // namespace ringcast::shard
