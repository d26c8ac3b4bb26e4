#include "shard/outbox.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "shard/mesh.h"

namespace ringcast::shard {
namespace {

// A numbered message with a heap payload, so a lost or doubled message shows
// up as a wrong number and a leak as a sanitizer report.
BusMessage Numbered(uint32_t n) {
  auto answer = std::make_unique<ResAnswer>();
  answer->request = n;
  answer->data = std::string(64, 'p');
  return bus::Res{std::move(answer)};
}

// Pops one message from shard `from` toward shard `to`: its number, or
// nullopt when the ring is empty.
std::optional<uint32_t> PopNumber(Mesh& mesh, unsigned from, unsigned to) {
  BusSlot slot;
  if (!mesh.Ring(from, to).TryPop(&slot)) return std::nullopt;
  BusMessage msg = Decode(slot);
  EXPECT_TRUE(std::holds_alternative<bus::Res>(msg));
  if (!std::holds_alternative<bus::Res>(msg)) return UINT32_MAX;
  return std::get<bus::Res>(msg).answer->request;
}

// Frees whatever is left in the rings (the shards do this on exit).
void DrainRings(Mesh& mesh) {
  for (unsigned from = 0; from < mesh.shards(); ++from) {
    for (unsigned to = 0; to < mesh.shards(); ++to) {
      BusSlot slot;
      while (mesh.Ring(from, to).TryPop(&slot)) BusMessage dropped = Decode(slot);
    }
  }
}

TEST(MeshTest, RingCapacityRoundsUpAndAllOfItIsUsable) {
  Mesh mesh(2, 3);
  EXPECT_EQ(mesh.Ring(0, 1).capacity(), 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(mesh.Ring(0, 1).TryPush(Encode(Numbered(i))));
  BusSlot extra = Encode(Numbered(99));
  EXPECT_FALSE(mesh.Ring(0, 1).TryPush(extra));
  BusMessage refused = Decode(extra);
  EXPECT_TRUE(mesh.HasInbound(1));
  EXPECT_FALSE(mesh.HasInbound(0));
  DrainRings(mesh);
}

// Backpressure adds a shard's current queued bytes to the others' figures: its
// own published figure is a round old and must not count.
TEST(MeshTest, PressureOfOthersLeavesTheAskingShardOut) {
  Mesh mesh(3, 2);
  mesh.SetPressure(0, 900);
  mesh.SetPressure(1, 500);
  mesh.SetPressure(2, 700);
  EXPECT_EQ(mesh.MaxPressureOfOthers(0), 700u);
  EXPECT_EQ(mesh.MaxPressureOfOthers(1), 900u);
  EXPECT_EQ(mesh.MaxPressureOfOthers(2), 900u);
  Mesh single(1, 2);
  single.SetPressure(0, 900);
  EXPECT_EQ(single.MaxPressureOfOthers(0), 0u) << "one shard: nobody else";
}

TEST(MeshTest, BusBacklogOfOthersLeavesTheAskingShardOut) {
  Mesh mesh(3, 2);
  mesh.SetBusBacklog(0, 40);
  mesh.SetBusBacklog(1, 9000);
  mesh.SetBusBacklog(2, 0);
  EXPECT_EQ(mesh.MaxBusBacklogOfOthers(0), 9000u);
  EXPECT_EQ(mesh.MaxBusBacklogOfOthers(1), 40u);
  EXPECT_EQ(mesh.MaxBusBacklogOfOthers(2), 9000u);
  mesh.SetBusBacklog(1, 3);  // drained
  EXPECT_EQ(mesh.MaxBusBacklogOfOthers(2), 40u);
}

TEST(MeshTest, RingsShrinkWithTheShardCountSoTheRingsIntoOneShardStayWithinTheirBudget) {
  EXPECT_EQ(Mesh::RingCapacityFor(2), size_t{131072});
  EXPECT_EQ(Mesh::RingCapacityFor(3), size_t{65536});
  EXPECT_EQ(Mesh::RingCapacityFor(4), size_t{32768});  // 131072 / 3, rounded down
  EXPECT_EQ(Mesh::RingCapacityFor(5), size_t{32768});
  EXPECT_EQ(Mesh::RingCapacityFor(6), size_t{16384});  // 131072 / 5, rounded down
  EXPECT_EQ(Mesh::RingCapacityFor(9), size_t{16384});
  EXPECT_EQ(Mesh::RingCapacityFor(kMaxShards), size_t{16384}) << "never below 16384";
  for (unsigned n = 2; n <= kMaxShards; ++n) {
    size_t ring = Mesh::RingCapacityFor(n);
    EXPECT_TRUE(std::has_single_bit(ring)) << n;
    EXPECT_TRUE(ring * (n - 1) <= (size_t{1} << 17) || ring == 16384) << n;
  }
  Mesh mesh(3, Mesh::RingCapacityFor(3));
  EXPECT_EQ(mesh.ring_capacity(), size_t{65536});
  EXPECT_EQ(Mesh(2, 3).ring_capacity(), size_t{4}) << "as its rings: rounded up";
}

TEST(OutboxTest, OverflowBoundsAreTwoRingsTowardOneShardAndFourInAll) {
  OutboxLimits two = OutboxLimits::For(131072);
  EXPECT_EQ(two.per_target, size_t{262144});
  EXPECT_EQ(two.total, size_t{524288});
  OutboxLimits three = OutboxLimits::For(65536);
  EXPECT_EQ(three.per_target, size_t{131072});
  EXPECT_EQ(three.total, size_t{262144});
  for (size_t ring : {size_t{32768}, size_t{16384}}) {  // four shards and up: the old bounds
    OutboxLimits many = OutboxLimits::For(ring);
    EXPECT_EQ(many.per_target, size_t{65536}) << ring;
    EXPECT_EQ(many.total, size_t{131072}) << ring;
  }
}

TEST(OutboxTest, PostGoesToTheRingAndRingsTheDoorbell) {
  Mesh mesh(3, 2);
  Outbox out(&mesh, 0);
  out.Post(2, Numbered(1));
  EXPECT_FALSE(out.HasOverflow());
  EXPECT_EQ(out.TakeDoorbells(), uint64_t{1} << 2);
  EXPECT_EQ(out.TakeDoorbells(), 0u);  // taken
  EXPECT_EQ(PopNumber(mesh, 0, 2), 1u);
  EXPECT_EQ(PopNumber(mesh, 0, 1), std::nullopt);
}

TEST(OutboxTest, FullRingOverflowsInOrderAndFlushMovesWhenConsumerPops) {
  Mesh mesh(2, 2);
  Outbox out(&mesh, 1);
  for (uint32_t i = 1; i <= 5; ++i) out.Post(0, Numbered(i));
  EXPECT_EQ(out.overflow_toward(0), 3u);
  EXPECT_EQ(out.overflow_total(), 3u);
  EXPECT_EQ(out.overflowed(), 3u);
  EXPECT_EQ(out.TakeDoorbells(), 1u);

  out.Flush();  // the ring is still full: nothing moves, nothing rings
  EXPECT_EQ(out.overflow_toward(0), 3u);
  EXPECT_EQ(out.TakeDoorbells(), 0u);

  EXPECT_EQ(PopNumber(mesh, 1, 0), 1u);
  // A message posted while older ones wait goes behind them, even though the
  // ring has room again.
  out.Post(0, Numbered(6));
  EXPECT_EQ(out.overflow_toward(0), 4u);
  out.Flush();
  EXPECT_EQ(out.overflow_toward(0), 3u);
  EXPECT_EQ(out.TakeDoorbells(), 1u);

  std::vector<uint32_t> got;
  while (true) {
    out.Flush();
    auto n = PopNumber(mesh, 1, 0);
    if (!n) break;
    got.push_back(*n);
  }
  EXPECT_EQ(got, (std::vector<uint32_t>{2, 3, 4, 5, 6}));
  EXPECT_FALSE(out.HasOverflow());
  EXPECT_EQ(out.overflowed(), 4u);  // a count of all time, not of now
}

// A shard whose only work is overflow toward a full ring sleeps instead of
// spinning: WaitForRoom raises the ring's flag and allows sleep while the ring
// stays full; the consumer's first pop takes the flag (once) to ring it; with
// room already there, WaitForRoom says "do not sleep, flush".
TEST(OutboxTest, WaitForRoomFlagsOnlyFullRingsWithOverflowAndTheConsumerTakesItOnce) {
  Mesh mesh(3, 2);
  Outbox out(&mesh, 1);
  EXPECT_TRUE(out.WaitForRoom()) << "no overflow: nothing to wait for";
  EXPECT_FALSE(mesh.TakeWaitingForRoom(1, 0));
  for (uint32_t i = 1; i <= 3; ++i) out.Post(0, Numbered(i));  // ring of 2, one waits
  out.Post(2, Numbered(10));                                   // room toward shard 2
  ASSERT_EQ(out.overflow_toward(0), 1u);
  EXPECT_TRUE(out.WaitForRoom());
  EXPECT_FALSE(mesh.TakeWaitingForRoom(1, 2)) << "no overflow toward 2: no flag";
  EXPECT_FALSE(mesh.TakeWaitingForRoom(0, 1)) << "flags are per ring, not per pair";

  EXPECT_EQ(PopNumber(mesh, 1, 0), 1u);        // the consumer makes room...
  EXPECT_TRUE(mesh.TakeWaitingForRoom(1, 0));  // ...and finds the producer waiting
  EXPECT_FALSE(mesh.TakeWaitingForRoom(1, 0)) << "taken once";
  EXPECT_FALSE(out.WaitForRoom()) << "the ring has room: flush, do not sleep";
  out.Flush();
  EXPECT_FALSE(out.HasOverflow());
  DrainRings(mesh);
}

// Backpressure's measure of the bus: per target, what its consumer has not
// popped from the ring plus the overflow behind it; the shard's figure is the
// most backlogged target's.
TEST(OutboxTest, BacklogCountsTheRingAndTheOverflowTowardTheWorstTarget) {
  Mesh mesh(3, 4);
  Outbox out(&mesh, 1);
  EXPECT_EQ(out.Backlog(), 0u);
  for (uint32_t i = 1; i <= 6; ++i) out.Post(0, Numbered(i));  // ring of 4, two wait
  out.Post(2, Numbered(10));
  EXPECT_EQ(out.BacklogToward(0), 6u);
  EXPECT_EQ(out.BacklogToward(2), 1u);
  EXPECT_EQ(out.BacklogToward(1), 0u) << "itself: never on the bus";
  EXPECT_EQ(out.Backlog(), 6u);
  EXPECT_EQ(PopNumber(mesh, 1, 0), 1u);
  EXPECT_EQ(PopNumber(mesh, 1, 0), 2u);
  EXPECT_EQ(out.Backlog(), 4u) << "the consumer's pops count before any flush";
  out.Flush();
  EXPECT_EQ(out.Backlog(), 4u) << "a flush moves messages, it does not deliver them";
  for (uint32_t i = 3; i <= 6; ++i) EXPECT_EQ(PopNumber(mesh, 1, 0), i);
  EXPECT_EQ(out.Backlog(), 1u);
  DrainRings(mesh);
}

// A shard whose publishers are paused until the bus drains sleeps on the same
// flag as overflow: WaitForRoom(drain_to) flags each ring holding more than
// drain_to and allows sleep while they do; the consumer's pop takes the flag
// to ring the producer, which looks again.
TEST(OutboxTest, WaitForRoomWithADrainMarkFlagsRingsAboveIt) {
  Mesh mesh(3, 8);
  Outbox out(&mesh, 1);
  for (uint32_t i = 1; i <= 5; ++i) out.Post(0, Numbered(i));  // no overflow: 5 in the ring
  out.Post(2, Numbered(10));
  EXPECT_TRUE(out.WaitForRoom(3));
  EXPECT_TRUE(mesh.TakeWaitingForRoom(1, 0)) << "5 > 3: flagged";
  EXPECT_FALSE(mesh.TakeWaitingForRoom(1, 2)) << "1 <= 3: not flagged";
  EXPECT_TRUE(out.WaitForRoom()) << "without a drain mark only overflow waits";
  EXPECT_FALSE(mesh.TakeWaitingForRoom(1, 0));

  EXPECT_TRUE(out.WaitForRoom(3));
  EXPECT_EQ(PopNumber(mesh, 1, 0), 1u);
  EXPECT_EQ(PopNumber(mesh, 1, 0), 2u);
  EXPECT_TRUE(mesh.TakeWaitingForRoom(1, 0)) << "the consumer rings the producer";
  EXPECT_TRUE(out.WaitForRoom(2)) << "3 left, above 2: sleep again";
  EXPECT_TRUE(mesh.TakeWaitingForRoom(1, 0));
  EXPECT_TRUE(out.WaitForRoom(3)) << "3 left, at the mark: nothing to wait for";
  EXPECT_FALSE(mesh.TakeWaitingForRoom(1, 0));
  DrainRings(mesh);
}

TEST(OutboxTest, AdmitsNewWorkOnlyWithinPerTargetAndTotalBounds) {
  Mesh mesh(4, 2);
  Outbox out(&mesh, 0, OutboxLimits{2, 3});
  for (unsigned to = 0; to < 4; ++to) EXPECT_TRUE(out.Admits(to));
  // Fill the ring toward 1 (2 slots), then its overflow up to per_target.
  for (uint32_t i = 0; i < 3; ++i) out.Post(1, Numbered(i));
  EXPECT_TRUE(out.Admits(1));  // one waits, fewer than 2
  out.Post(1, Numbered(3));
  EXPECT_FALSE(out.Admits(1));  // two wait
  EXPECT_TRUE(out.Admits(2));
  // Answers are queued regardless of Admits: the overflow may pass the bound.
  out.Post(1, Numbered(4));
  EXPECT_EQ(out.overflow_toward(1), 3u);
  EXPECT_FALSE(out.Admits(1));
  // The total bound: 3 wait in all, so no target admits, not even this shard.
  EXPECT_FALSE(out.Admits(2));
  EXPECT_FALSE(out.Admits(3));
  EXPECT_FALSE(out.Admits(0));
  // The consumer catches up: admission comes back.
  EXPECT_EQ(PopNumber(mesh, 0, 1), 0u);
  EXPECT_EQ(PopNumber(mesh, 0, 1), 1u);
  out.Flush();
  EXPECT_EQ(out.overflow_toward(1), 1u);
  EXPECT_TRUE(out.Admits(1));
  EXPECT_TRUE(out.Admits(2));
  DrainRings(mesh);
}

TEST(OutboxTest, DestructorFreesWhatNeverLeft) {
  Mesh mesh(2, 2);
  core::SharedFrame* frame = core::SharedFrame::CreateRaw("frame");
  {
    Outbox out(&mesh, 0);
    for (int i = 0; i < 4; ++i) {
      frame->Ref();
      out.Post(1, bus::Deliver{core::FrameRef(frame)});
    }
    out.Post(1, Numbered(7));  // a heap payload: the leak sanitizer checks it
    EXPECT_EQ(out.overflow_toward(1), 3u);
    EXPECT_EQ(frame->refs_approx(), 5u);
  }
  EXPECT_EQ(frame->refs_approx(), 3u);  // the two in the ring still hold theirs
  DrainRings(mesh);
  EXPECT_EQ(frame->refs_approx(), 1u);
  frame->Unref();
}

// The outbox against a model of each ring and overflow queue, across random
// posts, consumer pops and flushes on a ring of two: nothing is dropped or
// reordered, overflow counts and doorbells match, and the bound reads right.
TEST(OutboxTest, FullBusRingMatchesModel) {
  constexpr unsigned kShards = 4;
  constexpr unsigned kSelf = 1;
  constexpr size_t kRing = 2;
  const OutboxLimits limits{2, 3};
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    std::mt19937 rng(seed);
    Mesh mesh(kShards, kRing);
    auto out = std::make_unique<Outbox>(&mesh, kSelf, limits);
    struct Target {
      std::deque<uint32_t> ring, overflow;
      uint32_t next = 0;      // number of the next message posted
      uint32_t expected = 0;  // number of the next message popped
    };
    Target model[kShards];
    uint64_t bells = 0;
    uint64_t overflowed = 0;
    auto other = [&] {
      unsigned to = rng() % (kShards - 1);
      return to >= kSelf ? to + 1 : to;
    };
    for (int step = 0; step < 5000; ++step) {
      uint32_t op = rng() % 10;
      SCOPED_TRACE(testing::Message() << "step " << step << " op " << op);
      if (op < 4) {  // post
        unsigned to = other();
        Target& t = model[to];
        uint32_t n = t.next++;
        out->Post(to, Numbered(n));
        if (t.overflow.empty() && t.ring.size() < kRing) {
          t.ring.push_back(n);
          bells |= uint64_t{1} << to;
        } else {
          t.overflow.push_back(n);
          ++overflowed;
        }
      } else if (op < 7) {  // the consumer pops
        unsigned to = other();
        Target& t = model[to];
        std::optional<uint32_t> got = PopNumber(mesh, kSelf, to);
        if (t.ring.empty()) {
          ASSERT_EQ(got, std::nullopt);
        } else {
          ASSERT_EQ(got, t.ring.front());
          ASSERT_EQ(*got, t.expected);  // each number once, in order
          t.ring.pop_front();
          ++t.expected;
        }
      } else if (op < 9) {
        out->Flush();
        for (unsigned to = 0; to < kShards; ++to) {
          Target& t = model[to];
          while (!t.overflow.empty() && t.ring.size() < kRing) {
            t.ring.push_back(t.overflow.front());
            t.overflow.pop_front();
            bells |= uint64_t{1} << to;
          }
        }
      } else {
        ASSERT_EQ(out->TakeDoorbells(), bells);
        bells = 0;
      }
      size_t total = 0;
      for (unsigned to = 0; to < kShards; ++to) {
        ASSERT_EQ(out->overflow_toward(to), model[to].overflow.size()) << "target " << to;
        ASSERT_EQ(mesh.Ring(kSelf, to).SizeApprox(), model[to].ring.size()) << "target " << to;
        total += model[to].overflow.size();
      }
      ASSERT_EQ(out->overflow_total(), total);
      ASSERT_EQ(out->HasOverflow(), total > 0);
      ASSERT_EQ(out->overflowed(), overflowed);
      for (unsigned to = 0; to < kShards; ++to) {
        bool admits =
            total < limits.total && (to == kSelf || model[to].overflow.size() < limits.per_target);
        ASSERT_EQ(out->Admits(to), admits) << "target " << to;
      }
    }
    // Whatever still waits is freed by the outbox, the rest by the rings'
    // consumer (the leak sanitizer checks both).
    out.reset();
    DrainRings(mesh);
  }
}

}  // namespace
}  // namespace ringcast::shard
