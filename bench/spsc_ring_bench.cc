// Micro-benchmarks for the core building blocks on the message path: the cross-shard SPSC ring,
// the connection slab and the name hash. Run a Release build; the cross-thread figure only
// means something when the two threads get two cores.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/hash.h"
#include "core/slab.h"
#include "core/spsc_ring.h"

namespace ringcast::core {
namespace {

// What the bus carries: a pointer-sized payload plus a little routing.
struct BusMessage {
  uint64_t room;
  const void* frame;
};

void BM_SpscRing_PushPop(benchmark::State& state) {
  SpscRing<BusMessage> ring(1024);
  BusMessage out{};
  uint64_t i = 0;
  for (auto _ : state) {
    const bool pushed = ring.TryPush(BusMessage{i++, &ring});
    const bool popped = ring.TryPop(&out);
    benchmark::DoNotOptimize(pushed);
    benchmark::DoNotOptimize(popped);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpscRing_PushPop);

// Spins briefly, then yields: on a shared machine with more runnable threads than cores, pure
// spinning burns whole timeslices while the other side is descheduled.
void BackOff(uint32_t* misses) {
  if (++*misses % 64 == 0) std::this_thread::yield();
}

// A producer thread pushes kItems sequential values while this thread pops them; a full ring
// makes the producer spin, as a shard would retry after draining its own inbound rings.
void BM_SpscRing_CrossThread(benchmark::State& state) {
  constexpr uint64_t kItems = 1'000'000;
  const size_t capacity = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    SpscRing<uint64_t> ring(capacity);
    std::thread producer([&ring] {
      uint32_t misses = 0;
      for (uint64_t i = 0; i < kItems;) {
        if (ring.TryPush(i)) {
          ++i;
        } else {
          BackOff(&misses);
        }
      }
    });
    uint32_t misses = 0;
    uint64_t received = 0;
    uint64_t sum = 0;
    uint64_t value = 0;
    while (received < kItems) {
      if (ring.TryPop(&value)) {
        sum += value;
        ++received;
      } else {
        BackOff(&misses);
      }
    }
    producer.join();
    benchmark::DoNotOptimize(sum);
    if (sum != kItems * (kItems - 1) / 2) state.SkipWithError("lost or duplicated items");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kItems));
}
BENCHMARK(BM_SpscRing_CrossThread)
    ->Arg(1024)
    ->Arg(65536)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Connection churn: a slot is taken, looked up through its handle, and given back.
void BM_Slab_AllocFree(benchmark::State& state) {
  struct Connection {
    uint64_t fd_and_state[8];
  };
  Slab<Connection> slab(1 << 16);
  // Keep some slots live so the free list is not trivially one element long.
  std::vector<SlabHandle> live;
  for (int i = 0; i < 4096; ++i) live.push_back(*slab.Alloc());
  for (auto _ : state) {
    const std::optional<SlabHandle> h = slab.Alloc();
    Connection* c = slab.Get(*h);
    benchmark::DoNotOptimize(c);
    slab.Free(*h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Slab_AllocFree);

void BM_HashBytes(benchmark::State& state) {
  const std::string key(static_cast<size_t>(state.range(0)), 'r');
  for (auto _ : state) {
    std::string_view view = key;
    benchmark::DoNotOptimize(view);  // Keeps the compiler from hashing a constant once.
    benchmark::DoNotOptimize(HashBytes(view));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HashBytes)->Arg(16)->Arg(64);

}  // namespace
}  // namespace ringcast::core
