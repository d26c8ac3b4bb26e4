// Slab: a growable array of T slots named by {slot, generation} handles. Storage grows in
// fixed chunks of kChunkSlots, so an element never moves and a T* stays valid until its slot is
// freed. A slot's generation increments on every Free, so a handle kept past its object's
// lifetime (a late io_uring completion, a timer for a closed connection) resolves to nullptr
// instead of reaching whoever reuses the slot. Slots come back through a LIFO free list; an
// unused slot costs its raw bytes and no T construction, and every slot sizeof(T) + 8 bytes
// (generation and free-list link, which also marks it live). At most max_slots are live at once:
// Alloc() past that returns nullopt, which the caller turns into a refusal, never a crash.
// Not thread-safe: a slab belongs to one shard and only that shard's thread may touch it.
// A generation wraps after 2^32 frees of one slot; a handle would have to survive that long.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "core/check.h"

namespace ringcast::core {

constexpr uint32_t kInvalidSlot = UINT32_MAX;

struct SlabHandle {
  uint32_t slot;
  uint32_t gen;
  bool operator==(const SlabHandle&) const = default;
};

template <class T>
class Slab {
 public:
  static constexpr uint32_t kChunkSlots = 1024;

  explicit Slab(uint32_t max_slots) : max_slots_(max_slots) {
    RC_CHECK(max_slots > 0 && max_slots < kLiveMark);
    chunks_.reserve((max_slots + kChunkSlots - 1) / kChunkSlots);
  }

  ~Slab() {
    ForEach([](uint32_t, T& item) { item.~T(); });
  }

  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;

  // Default-constructs a T in a free slot. nullopt when max_slots are live.
  [[nodiscard]] std::optional<SlabHandle> Alloc() {
    uint32_t slot = free_head_;
    if (slot != kInvalidSlot) {
      free_head_ = MetaOf(slot).next_free;
    } else if (capacity_ < max_slots_) {
      slot = Grow();
    } else {
      return std::nullopt;
    }
    Meta& meta = MetaOf(slot);
    RC_DCHECK(!meta.live());
    ::new (static_cast<void*>(ItemPtr(slot))) T();
    meta.next_free = kLiveMark;
    ++size_;
    return SlabHandle{slot, meta.gen};
  }

  // The element named by h, or nullptr if its slot was freed (and maybe reused) since.
  T* Get(SlabHandle h) {
    if (h.slot >= capacity_) return nullptr;
    const Meta& meta = MetaOf(h.slot);
    if (!meta.live() || meta.gen != h.gen) return nullptr;
    return ItemPtr(h.slot);
  }

  // Direct access by slot for callers that already know it is live (e.g. inside ForEach).
  T& At(uint32_t slot) {
    RC_DCHECK(IsLive(slot));
    return *ItemPtr(slot);
  }

  SlabHandle HandleOf(uint32_t slot) const {
    RC_DCHECK(IsLive(slot));
    return SlabHandle{slot, MetaOf(slot).gen};
  }

  // Destroys the element. Freeing a stale or never-allocated handle is a programmer error.
  void Free(SlabHandle h) {
    RC_CHECK(Get(h) != nullptr);
    ItemPtr(h.slot)->~T();
    Meta& meta = MetaOf(h.slot);
    ++meta.gen;
    meta.next_free = free_head_;
    free_head_ = h.slot;
    --size_;
  }

  bool IsLive(uint32_t slot) const { return slot < capacity_ && MetaOf(slot).live(); }

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t max_slots() const { return max_slots_; }

  // Calls f(slot, T&) for every live slot in slot order. f may Free the slot it is given;
  // slots allocated during the walk may or may not be visited.
  template <class F>
  void ForEach(F f) {
    for (uint32_t slot = 0; slot < capacity_; ++slot) {
      if (MetaOf(slot).live()) f(slot, *ItemPtr(slot));
    }
  }

 private:
  // Eight bytes per slot: a live slot is marked by its free-list link.
  static constexpr uint32_t kLiveMark = kInvalidSlot - 1;
  struct Meta {
    uint32_t gen;
    uint32_t next_free;  // Next slot in the free list (kInvalidSlot ends it), or kLiveMark.
    bool live() const { return next_free == kLiveMark; }
  };
  static_assert(sizeof(Meta) == 8);
  struct alignas(T) ItemStorage {
    std::byte bytes[sizeof(T)];
  };
  // Raw storage: creating a chunk constructs no T.
  struct Chunk {
    ItemStorage items[kChunkSlots];
    Meta meta[kChunkSlots];
  };

  // Creates slot number capacity_, adding a chunk when the last one is full.
  uint32_t Grow() {
    const uint32_t slot = capacity_;
    if (slot % kChunkSlots == 0) chunks_.push_back(std::make_unique_for_overwrite<Chunk>());
    MetaOf(slot) = Meta{0, kInvalidSlot};
    ++capacity_;
    return slot;
  }

  Meta& MetaOf(uint32_t slot) { return chunks_[slot / kChunkSlots]->meta[slot % kChunkSlots]; }
  const Meta& MetaOf(uint32_t slot) const {
    return chunks_[slot / kChunkSlots]->meta[slot % kChunkSlots];
  }
  T* ItemPtr(uint32_t slot) {
    return std::launder(
        reinterpret_cast<T*>(chunks_[slot / kChunkSlots]->items[slot % kChunkSlots].bytes));
  }

  std::vector<std::unique_ptr<Chunk>> chunks_;
  uint32_t max_slots_;
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
  uint32_t free_head_ = kInvalidSlot;
};

}  // namespace ringcast::core
