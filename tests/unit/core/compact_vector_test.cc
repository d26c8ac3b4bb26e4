#include "core/compact_vector.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace ringcast::core {
namespace {

struct Pair {
  uint64_t a;
  uint32_t b;
};

TEST(CompactVectorTest, FirstElementIsInlineAndTheSecondMovesToTheHeap) {
  CompactVector<Pair> v;
  EXPECT_EQ(sizeof(v), sizeof(std::vector<Pair>));
  EXPECT_TRUE(v.empty());
  EXPECT_FALSE(v.on_heap());
  v.push_back({1, 10});
  EXPECT_FALSE(v.on_heap());
  EXPECT_EQ(v.data(), reinterpret_cast<Pair*>(&v));  // inside the object
  v.push_back({2, 20});
  EXPECT_TRUE(v.on_heap());
  EXPECT_EQ(v.capacity(), 2u);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].a, 1u);
  EXPECT_EQ(v[1].b, 20u);
}

// Against std::vector through growth, swap-removes and regrowth.
TEST(CompactVectorTest, BehavesLikeAVectorThroughPushesAndPops) {
  CompactVector<Pair> v;
  std::vector<Pair> model;
  uint64_t next = 0;
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 5 + round * 7; ++i) {
      v.push_back({next, static_cast<uint32_t>(next * 3)});
      model.push_back({next, static_cast<uint32_t>(next * 3)});
      ++next;
    }
    while (model.size() > static_cast<size_t>(round)) {  // swap-remove the front, then pop
      v[0] = v.back();
      v.pop_back();
      model[0] = model.back();
      model.pop_back();
    }
    ASSERT_EQ(v.size(), model.size());
    size_t i = 0;
    for (const Pair& p : v) {
      EXPECT_EQ(p.a, model[i].a);
      EXPECT_EQ(p.b, model[i].b);
      ++i;
    }
    EXPECT_GE(v.capacity(), v.size());
  }
}

TEST(CompactVectorTest, MovesTakeTheElementsAndLeaveTheSourceEmpty) {
  CompactVector<Pair> inline_one;
  inline_one.push_back({7, 70});
  CompactVector<Pair> a(std::move(inline_one));
  EXPECT_TRUE(inline_one.empty());  // NOLINT(bugprone-use-after-move): moves leave it empty
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].a, 7u);

  CompactVector<Pair> heap;
  for (uint64_t i = 0; i < 9; ++i) heap.push_back({i, 0});
  const Pair* block = heap.data();
  a = std::move(heap);
  EXPECT_TRUE(heap.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(heap.on_heap());
  EXPECT_EQ(a.data(), block);  // the block changed hands, no copy
  ASSERT_EQ(a.size(), 9u);
  EXPECT_EQ(a.back().a, 8u);
  heap.push_back({42, 0});  // the source is usable again
  EXPECT_EQ(heap[0].a, 42u);
}

}  // namespace
}  // namespace ringcast::core
