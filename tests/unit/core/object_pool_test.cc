#include "core/object_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace ringcast::core {
namespace {

struct Tracked {
  static inline int destroyed = 0;
  Tracked(std::string n, int v) : name(std::move(n)), value(v) {}
  ~Tracked() { ++destroyed; }
  std::string name;
  int value;
};

TEST(ObjectPoolTest, NewForwardsArgumentsAndDeleteDestroys) {
  ObjectPool<Tracked> pool;
  Tracked::destroyed = 0;
  Tracked* t = pool.New("frame", 42);
  EXPECT_EQ(t->name, "frame");
  EXPECT_EQ(t->value, 42);
  EXPECT_EQ(pool.live(), 1u);
  pool.Delete(t);
  EXPECT_EQ(Tracked::destroyed, 1);
  EXPECT_EQ(pool.live(), 0u);
  pool.Delete(nullptr);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(ObjectPoolTest, ReusesFreedMemory) {
  ObjectPool<uint64_t> pool;
  uint64_t* a = pool.New(1u);
  pool.Delete(a);
  uint64_t* b = pool.New(2u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(*b, 2u);
  EXPECT_EQ(pool.capacity(), ObjectPool<uint64_t>::kChunkObjects);
  pool.Delete(b);
}

TEST(ObjectPoolTest, GrowsAcrossChunksWithDistinctStableObjects) {
  ObjectPool<Tracked> pool;
  constexpr int kCount = 1000;  // Four chunks of 256.
  std::vector<Tracked*> objects;
  for (int i = 0; i < kCount; ++i) objects.push_back(pool.New(std::to_string(i), i));
  EXPECT_EQ(pool.live(), static_cast<size_t>(kCount));
  EXPECT_EQ(std::set<Tracked*>(objects.begin(), objects.end()).size(), objects.size());
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(objects[i]->value, i);
    ASSERT_EQ(objects[i]->name, std::to_string(i));
  }
  // Deleting and re-creating does not grow the pool.
  const size_t capacity = pool.capacity();
  for (int i = 0; i < kCount; i += 2) pool.Delete(objects[i]);
  for (int i = 0; i < kCount; i += 2) objects[i] = pool.New("again", -i);
  EXPECT_EQ(pool.capacity(), capacity);
  for (int i = 1; i < kCount; i += 2) ASSERT_EQ(objects[i]->value, i);
  for (Tracked* t : objects) pool.Delete(t);
  EXPECT_EQ(pool.live(), 0u);
}

TEST(ObjectPoolTest, HonoursAlignmentAndTinyTypes) {
  struct alignas(64) CacheLine {
    char bytes[64];
  };
  ObjectPool<CacheLine> lines;
  ObjectPool<char> chars;  // Smaller than the free-list link it shares storage with.
  std::vector<CacheLine*> allocated;
  std::vector<char*> small;
  for (int i = 0; i < 300; ++i) {
    allocated.push_back(lines.New());
    ASSERT_EQ(reinterpret_cast<uintptr_t>(allocated.back()) % 64, 0u);
    small.push_back(chars.New(static_cast<char>('a' + i % 26)));
  }
  for (int i = 0; i < 300; ++i) ASSERT_EQ(*small[i], static_cast<char>('a' + i % 26));
  for (CacheLine* p : allocated) lines.Delete(p);
  for (char* p : small) chars.Delete(p);
}

TEST(ObjectPoolTest, DestroyingPoolWithLiveObjectsFreesMemory) {
  // ASan's leak checker fails the run if the chunks are not released.
  ObjectPool<std::vector<int>> pool;
  std::vector<int>* v = pool.New(3, 1);
  EXPECT_EQ(v->size(), 3u);
  v->clear();
  v->shrink_to_fit();  // The pool will not run ~vector, so give its buffer back first.
}

}  // namespace
}  // namespace ringcast::core
