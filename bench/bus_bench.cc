// Micro-benchmark of the cross-shard path as shard/shard.cc drives it: a producer thread posts
// bus::Deliver messages (each holding one reference to a shared frame) through a real Outbox
// into the real Mesh ring, flushes and rings doorbells once per round; a consumer thread drains
// the ring, decodes each 24-byte BusSlot back into a message and drops it, then goes to sleep
// when nothing is left, with the Mesh's sleeping-flag protocol. Run a Release build; the
// figures only mean something when the two threads get two cores.
//
// The doorbell: a shard rings a sleeping peer with an io_uring MSG_RING and sleeps in
// io_uring_enter. Wiring two rings here would measure io_uring setup more than the bus, so the
// consumer sleeps in a futex (std::atomic::wait) on a doorbell counter, and the producer bumps
// and notifies it exactly where Shard::RingDoorbells would submit a MSG_RING. The count of
// doorbells, the times the consumer was found asleep, is the same; their cost is a futex wake
// instead of an io_uring submission.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <variant>

#include "core/shared_frame.h"
#include "shard/bus_message.h"
#include "shard/mesh.h"
#include "shard/outbox.h"

namespace ringcast::shard {
namespace {

constexpr unsigned kProducer = 0;
constexpr unsigned kConsumer = 1;
// A two-shard server's rings (Mesh::RingCapacityFor), and Shard::DrainInbound's
// budget per ring per round: a ring.
const size_t kRingCapacity = Mesh::RingCapacityFor(2);
const size_t kInboundBudget = kRingCapacity;
constexpr uint64_t kMessages = uint64_t{1} << 18;  // per iteration

// Spins briefly, then yields, as in spsc_ring_bench.cc.
void BackOff(uint32_t* misses) {
  if (++*misses % 64 == 0) std::this_thread::yield();
}

// The consumer shard's side: Loop() and DrainInbound() with the rest of a round left out.
class Consumer {
 public:
  Consumer(Mesh* mesh, std::atomic<uint32_t>* doorbell) : mesh_(mesh), doorbell_(doorbell) {}

  // Runs rounds until `expected` messages arrived; false if one was out of order or wrong
  // (it keeps draining then, so the producer never waits on a consumer that gave up).
  bool Run(uint64_t expected, const core::SharedFrame* frame) {
    auto& ring = mesh_->Ring(kProducer, kConsumer);
    bool ok = true;
    while (received_ < expected) {
      BusSlot slot;
      size_t n = 0;
      for (; n < kInboundBudget && ring.TryPop(&slot); ++n) {
        BusMessage msg = Decode(slot);
        auto* deliver = std::get_if<bus::Deliver>(&msg);
        if (deliver == nullptr || deliver->frame.get() != frame ||
            deliver->publisher.slot != static_cast<uint32_t>(received_)) {
          ok = false;
        }
        ++received_;
      }  // msg drops its frame reference here, as a shard does after fanning it out
      if (n > 0) ++passes_;
      // Shard::SleepAllowed, then the wait Loop() does in io_uring_enter.
      const uint32_t seen = doorbell_->load(std::memory_order_acquire);
      mesh_->SetSleeping(kConsumer, true);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!mesh_->HasInbound(kConsumer) && received_ < expected) {
        doorbell_->wait(seen, std::memory_order_acquire);
        ++sleeps_;
      }
      mesh_->SetSleeping(kConsumer, false);
    }
    return ok;
  }
  uint64_t passes() const { return passes_; }
  uint64_t sleeps() const { return sleeps_; }

 private:
  Mesh* const mesh_;
  std::atomic<uint32_t>* const doorbell_;
  uint64_t received_ = 0;
  uint64_t passes_ = 0;  // drain passes that found at least one message
  uint64_t sleeps_ = 0;
};

// The producer shard's side: Post() per message, then the end of Round(): Flush() and
// RingDoorbells(). New work waits while the Outbox does not admit it, as a shard stops
// taking publications.
class Producer {
 public:
  Producer(Mesh* mesh, std::atomic<uint32_t>* doorbell)
      : mesh_(mesh),
        doorbell_(doorbell),
        outbox_(mesh, kProducer, OutboxLimits::For(kRingCapacity)) {}

  void Run(uint64_t messages, uint64_t batch, core::SharedFrame* frame) {
    uint32_t misses = 0;
    for (uint64_t sent = 0; sent < messages;) {
      if (!outbox_.Admits(kConsumer)) {
        EndRound();
        BackOff(&misses);
        continue;
      }
      for (uint64_t i = 0; i < batch && sent < messages; ++i, ++sent) {
        frame->Ref();  // one reference per delivering shard, as the owner takes
        outbox_.Post(kConsumer,
                     bus::Deliver{core::FrameRef(frame), Audience::kEveryone, Echo::kYes, kProducer,
                                  core::SlabHandle{static_cast<uint32_t>(sent), 0}});
      }
      peak_overflow_ = std::max(peak_overflow_, outbox_.overflow_total());
      EndRound();
    }
    while (outbox_.HasOverflow()) {
      EndRound();
      BackOff(&misses);
    }
  }
  uint64_t doorbells() const { return doorbells_; }
  uint64_t overflowed() const { return outbox_.overflowed(); }
  size_t peak_overflow() const { return peak_overflow_; }

 private:
  void EndRound() {
    outbox_.Flush();
    const uint64_t due = outbox_.TakeDoorbells();
    if (due == 0) return;
    std::atomic_thread_fence(std::memory_order_seq_cst);  // as in Shard::RingDoorbells
    if (!mesh_->MaySleep(kConsumer)) return;
    doorbell_->fetch_add(1, std::memory_order_release);  // stands in for the MSG_RING
    doorbell_->notify_one();
    ++doorbells_;
  }

  Mesh* const mesh_;
  std::atomic<uint32_t>* const doorbell_;
  Outbox outbox_;
  uint64_t doorbells_ = 0;
  size_t peak_overflow_ = 0;
};

// Arg: posts per round (per Flush and doorbell check) on the producer.
void BM_Bus_Deliver(benchmark::State& state) {
  const auto batch = static_cast<uint64_t>(state.range(0));
  constexpr char kPayload[] = R"({"op":"msg","room":"bench","data":"hello"})";
  core::SharedFrame* frame = core::SharedFrame::Create(sizeof(kPayload) - 1, "bench");
  std::memcpy(frame->payload(), kPayload, sizeof(kPayload) - 1);
  const uint8_t header[2] = {0x81, static_cast<uint8_t>(sizeof(kPayload) - 1)};
  frame->Seal(header, sizeof(header));

  uint64_t passes = 0;
  uint64_t sleeps = 0;
  uint64_t doorbells = 0;
  uint64_t overflowed = 0;
  size_t peak_overflow = 0;
  for (auto _ : state) {
    Mesh mesh(2, kRingCapacity);
    std::atomic<uint32_t> doorbell{0};
    Consumer consumer(&mesh, &doorbell);
    bool ok = true;
    std::thread consumer_thread([&] { ok = consumer.Run(kMessages, frame); });
    {
      Producer producer(&mesh, &doorbell);
      producer.Run(kMessages, batch, frame);
      consumer_thread.join();
      doorbells += producer.doorbells();
      overflowed += producer.overflowed();
      peak_overflow = std::max(peak_overflow, producer.peak_overflow());
    }
    passes += consumer.passes();
    sleeps += consumer.sleeps();
    if (!ok) {
      state.SkipWithError("a message arrived out of order or changed");
      break;
    }
  }
  if (frame->refs_approx() != 1) state.SkipWithError("a frame reference leaked");
  frame->Unref();

  const auto total = static_cast<double>(state.iterations() * kMessages);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kMessages));
  state.counters["batch_drained"] = passes > 0 ? total / static_cast<double>(passes) : 0;
  state.counters["doorbells_per_msg"] = static_cast<double>(doorbells) / total;
  state.counters["sleeps_per_msg"] = static_cast<double>(sleeps) / total;
  state.counters["overflowed_per_msg"] = static_cast<double>(overflowed) / total;
  state.counters["overflow_peak"] = static_cast<double>(peak_overflow);
}
BENCHMARK(BM_Bus_Deliver)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringcast::shard
