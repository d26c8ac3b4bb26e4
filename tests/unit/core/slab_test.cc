#include "core/slab.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringcast::core {
namespace {

// Counts constructions and destructions so tests can see exactly when the slab runs them.
struct Counted {
  static inline int constructed = 0;
  static inline int destroyed = 0;
  static void Reset() { constructed = destroyed = 0; }

  Counted() { ++constructed; }
  ~Counted() { ++destroyed; }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;

  uint64_t value = 7;
};

SlabHandle MustAlloc(Slab<uint64_t>& slab) {
  std::optional<SlabHandle> h = slab.Alloc();
  EXPECT_TRUE(h.has_value());
  return h.value_or(SlabHandle{kInvalidSlot, 0});
}

TEST(SlabTest, AllocGivesDefaultConstructedElement) {
  Slab<std::string> slab(16);
  std::optional<SlabHandle> h = slab.Alloc();
  ASSERT_TRUE(h.has_value());
  std::string* s = slab.Get(*h);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->empty());
  s->assign("room:lobby");
  EXPECT_EQ(*slab.Get(*h), "room:lobby");
  EXPECT_EQ(slab.size(), 1u);
  EXPECT_TRUE(slab.IsLive(h->slot));
}

TEST(SlabTest, StaleHandleAfterFreeReturnsNull) {
  Slab<uint64_t> slab(16);
  const SlabHandle h = MustAlloc(slab);
  slab.Free(h);
  EXPECT_EQ(slab.Get(h), nullptr);
  EXPECT_FALSE(slab.IsLive(h.slot));
  EXPECT_EQ(slab.size(), 0u);
}

TEST(SlabTest, StaleHandleNeverReachesReusedSlot) {
  Slab<uint64_t> slab(16);
  const SlabHandle old_handle = MustAlloc(slab);
  *slab.Get(old_handle) = 1;
  slab.Free(old_handle);
  const SlabHandle new_handle = MustAlloc(slab);
  ASSERT_EQ(new_handle.slot, old_handle.slot);  // The free list hands the slot back.
  EXPECT_NE(new_handle.gen, old_handle.gen);
  EXPECT_FALSE(new_handle == old_handle);
  EXPECT_EQ(slab.Get(old_handle), nullptr);
  ASSERT_NE(slab.Get(new_handle), nullptr);
  EXPECT_EQ(*slab.Get(new_handle), 0u);  // Fresh element, not the old value.
}

TEST(SlabTest, GenerationIncrementsOnEveryFree) {
  Slab<uint64_t> slab(4);
  for (uint32_t round = 0; round < 100; ++round) {
    const SlabHandle h = MustAlloc(slab);
    EXPECT_EQ(h.slot, 0u);
    EXPECT_EQ(h.gen, round);
    EXPECT_EQ(slab.HandleOf(h.slot), h);
    slab.Free(h);
  }
}

TEST(SlabTest, GetRejectsUnknownSlots) {
  Slab<uint64_t> slab(4);
  EXPECT_EQ(slab.Get(SlabHandle{0, 0}), nullptr);
  EXPECT_EQ(slab.Get(SlabHandle{kInvalidSlot, 0}), nullptr);
  const SlabHandle h = MustAlloc(slab);
  EXPECT_EQ(slab.Get(SlabHandle{h.slot, h.gen + 1}), nullptr);
  EXPECT_EQ(slab.Get(SlabHandle{h.slot + 1, h.gen}), nullptr);
}

TEST(SlabTest, GrowthAcrossChunksKeepsPointersStable) {
  constexpr uint32_t kCount = 3 * Slab<uint64_t>::kChunkSlots + 17;
  Slab<uint64_t> slab(kCount);
  std::vector<SlabHandle> handles;
  std::vector<uint64_t*> pointers;
  for (uint32_t i = 0; i < kCount; ++i) {
    handles.push_back(MustAlloc(slab));
    uint64_t* p = slab.Get(handles.back());
    ASSERT_NE(p, nullptr);
    *p = i * 3 + 1;
    pointers.push_back(p);
  }
  EXPECT_EQ(slab.size(), kCount);
  EXPECT_EQ(slab.capacity(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(slab.Get(handles[i]), pointers[i]) << "element " << i << " moved";
    ASSERT_EQ(*pointers[i], i * 3 + 1);
    ASSERT_EQ(&slab.At(handles[i].slot), pointers[i]);
  }
}

TEST(SlabTest, MaxSlotsLimitsLiveElements) {
  Slab<uint64_t> slab(5);
  std::vector<SlabHandle> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(MustAlloc(slab));
  EXPECT_FALSE(slab.Alloc().has_value());
  EXPECT_EQ(slab.size(), 5u);
  slab.Free(handles[2]);
  std::optional<SlabHandle> again = slab.Alloc();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->slot, handles[2].slot);
  EXPECT_FALSE(slab.Alloc().has_value());
  EXPECT_EQ(slab.capacity(), 5u);
}

TEST(SlabTest, ConstructsOnlyAllocatedSlotsAndDestroysOnFree) {
  Counted::Reset();
  {
    Slab<Counted> slab(4096);
    std::optional<SlabHandle> a = slab.Alloc();
    std::optional<SlabHandle> b = slab.Alloc();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(Counted::constructed, 2);  // Not a whole chunk of 1024.
    EXPECT_EQ(slab.Get(*a)->value, 7u);
    slab.Free(*a);
    EXPECT_EQ(Counted::destroyed, 1);
  }
  // The slab's destructor destroys what is still live, and only that.
  EXPECT_EQ(Counted::destroyed, 2);
}

TEST(SlabTest, ForEachVisitsLiveSlotsAndAllowsFree) {
  Slab<uint64_t> slab(64);
  std::vector<SlabHandle> handles;
  for (uint64_t i = 0; i < 10; ++i) {
    handles.push_back(MustAlloc(slab));
    *slab.Get(handles.back()) = i;
  }
  slab.Free(handles[3]);
  slab.Free(handles[7]);
  std::vector<uint32_t> visited;
  slab.ForEach([&](uint32_t slot, uint64_t& value) {
    visited.push_back(slot);
    EXPECT_EQ(value, slot);
    if (value % 2 == 0) slab.Free(slab.HandleOf(slot));
  });
  EXPECT_EQ(visited, (std::vector<uint32_t>{0, 1, 2, 4, 5, 6, 8, 9}));
  EXPECT_EQ(slab.size(), 3u);  // 1, 5, 9 remain.
  EXPECT_NE(slab.Get(handles[5]), nullptr);
  EXPECT_EQ(slab.Get(handles[4]), nullptr);
}

TEST(SlabDeathTest, FreeingStaleHandleCrashes) {
  Slab<uint64_t> slab(4);
  const SlabHandle h = MustAlloc(slab);
  slab.Free(h);
  EXPECT_DEATH(slab.Free(h), "check failed");
}

}  // namespace
}  // namespace ringcast::core
