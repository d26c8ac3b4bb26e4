// ObjectPool: a free-list allocator for one type, so hot objects (frame references, wslay
// contexts, pending requests) are recycled instead of going through malloc. Memory comes in
// chunks of kChunkObjects slots and is only returned when the pool is destroyed; addresses are
// stable. A freed slot holds the free-list link in its own bytes, so an idle slot costs
// max(sizeof(T), sizeof(void*)) and nothing else. The pool does not track which objects are
// live: destroying the pool frees the memory without running the destructors of objects still
// live, so owners Delete what they created first. Not thread-safe: one shard's thread only, and
// an object must be deleted through the pool that created it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "core/check.h"

namespace ringcast::core {

template <class T>
class ObjectPool {
 public:
  static constexpr size_t kChunkObjects = 256;

  ObjectPool() = default;
  ~ObjectPool() = default;
  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;

  // Constructs a T from args in a free slot, growing by one chunk when none is free.
  template <class... A>
  T* New(A&&... args) {
    if (free_ == nullptr) Grow();
    FreeNode* node = free_;
    free_ = node->next;
    // The node is trivially destructible; its storage is simply reused for the T.
    T* object = ::new (static_cast<void*>(node)) T(std::forward<A>(args)...);
    ++live_;
    return object;
  }

  // Destroys *object and returns its slot to the free list. Deleting nullptr does nothing.
  void Delete(T* object) {
    if (object == nullptr) return;
    RC_DCHECK(live_ > 0);
    object->~T();
    free_ = ::new (static_cast<void*>(object)) FreeNode{free_};
    --live_;
  }

  size_t live() const { return live_; }
  // Slots ever created (live + free).
  size_t capacity() const { return chunks_.size() * kChunkObjects; }

 private:
  struct FreeNode {
    FreeNode* next;
  };
  struct alignas(std::max(alignof(T), alignof(FreeNode))) Slot {
    std::byte bytes[std::max(sizeof(T), sizeof(FreeNode))];
  };

  // Adds a chunk and threads its slots onto the free list so they are handed out in address
  // order.
  void Grow() {
    chunks_.push_back(std::make_unique_for_overwrite<Slot[]>(kChunkObjects));
    Slot* chunk = chunks_.back().get();
    for (size_t i = kChunkObjects; i-- > 0;) {
      free_ = ::new (static_cast<void*>(&chunk[i])) FreeNode{free_};
    }
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  FreeNode* free_ = nullptr;
  size_t live_ = 0;
};

}  // namespace ringcast::core
