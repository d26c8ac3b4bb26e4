#include "shard/out_queue.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

#include "net/frame_writer.h"

namespace ringcast::shard {
namespace {

core::SharedFrame* Frame(net::FrameWriter& w, size_t n) {
  return w.Build(wire::Opcode::kText, std::string(n, 'f'));
}

// Queues `count` text frames of `payload` bytes (2 more with the header),
// as a fan-out does: wrap, push, drop the fan-out's own reference.
void PushFrames(net::FrameWriter& w, FramePools& pools, OutQueue& q, uint32_t count,
                size_t payload) {
  for (uint32_t i = 0; i < count; ++i) {
    LocalFrame* local = pools.Wrap(Frame(w, payload));
    q.Push(&pools, local);
    pools.Unref(local);
  }
}

TEST(OutQueueTest, ConsumeFreesWholeFramesAndKeepsOffsetIntoPartialOne) {
  net::FrameWriter w;
  FramePools pools;
  OutQueue q;
  PushFrames(w, pools, q, 3, 98);  // 100 bytes each with the header
  EXPECT_EQ(q.queued_bytes(), 300u);
  q.Consume(&pools, 150);
  EXPECT_EQ(q.queued_bytes(), 150u);
  EXPECT_EQ(q.head_offset(), 50u);
  EXPECT_EQ(pools.live_frames(), 2u);
  EXPECT_EQ(pools.live_chunks(), 1u);
  q.Consume(&pools, 150);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pools.live_chunks(), 0u);
  EXPECT_EQ(pools.live_frames(), 0u);
}

// A fan-out loop holds its own reference: a subscriber that drops the frame
// mid-loop (slow consumer) must not free it for the subscribers after it.
TEST(OutQueueTest, DroppingDuringFanOutKeepsFrameAliveForOthers) {
  net::FrameWriter w;
  FramePools pools;
  OutQueue first, second;
  LocalFrame* local = pools.Wrap(Frame(w, 10));
  first.Push(&pools, local);
  first.Clear(&pools);  // the first subscriber is cut off
  EXPECT_EQ(pools.live_frames(), 1u);
  second.Push(&pools, local);
  EXPECT_EQ(local->refs, 2u);
  pools.Unref(local);  // the loop is done
  EXPECT_EQ(pools.live_frames(), 1u);
  second.Consume(&pools, second.queued_bytes());
  EXPECT_EQ(pools.live_frames(), 0u);
}

TEST(OutQueueTest, DropAfterKeepsInFlightPrefix) {
  net::FrameWriter w;
  FramePools pools;
  OutQueue q;
  PushFrames(w, pools, q, 5, 8);  // 10 bytes each
  q.Consume(&pools, 5);
  q.DropAfter(&pools, 2);
  EXPECT_EQ(pools.live_frames(), 2u);
  EXPECT_EQ(q.queued_bytes(), 15u);
  q.Consume(&pools, 15);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pools.live_frames(), 0u);
}

// The queue against a plain model, across chunk boundaries: random pushes,
// partial and whole consumes, gathers and drops, checking bytes, offsets,
// iovecs and that every frame and chunk is freed at the end.
TEST(OutQueueTest, MatchesModelAcrossChunks) {
  net::FrameWriter w;
  FramePools pools;
  OutQueue q;
  struct Queued {
    const uint8_t* data;
    uint32_t size;
  };
  std::deque<Queued> model;  // queued frames, head first (a popped frame is freed)
  uint32_t offset = 0;       // into model.front()
  std::mt19937 rng(7);
  auto model_bytes = [&] {
    uint64_t sum = 0;
    for (const Queued& f : model) sum += f.size;
    return sum - offset;
  };
  for (int step = 0; step < 20000; ++step) {
    uint32_t op = rng() % 10;
    SCOPED_TRACE(testing::Message() << "step " << step << " op " << op);
    if (op < 5) {
      int count = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < count; ++i) {
        // Now and then a zero-length frame, which a consume passes over.
        LocalFrame* local =
            pools.Wrap(rng() % 16 == 0 ? core::SharedFrame::CreateRaw("") : Frame(w, rng() % 300));
        q.Push(&pools, local);
        model.push_back({local->frame->data(), local->frame->size()});
        pools.Unref(local);
      }
    } else if (op < 8) {
      uint64_t total = model_bytes();
      uint64_t n = total == 0 ? 0 : rng() % (total + 1);
      q.Consume(&pools, n);
      while (n > 0) {
        uint32_t left = model.front().size - offset;
        if (n < left) {
          offset += static_cast<uint32_t>(n);
          n = 0;
        } else {
          n -= left;
          model.pop_front();
          offset = 0;
        }
      }
      while (!model.empty() && offset == 0 && model.front().size == 0) model.pop_front();
    } else if (op < 9) {
      uint32_t keep = rng() % 50;
      q.DropAfter(&pools, keep);
      if (keep == 0 && offset > 0) keep = 1;
      while (model.size() > keep) model.pop_back();
      if (model.empty()) offset = 0;
    } else {
      iovec iov[64];
      uint64_t bytes = 0;
      size_t n = q.Gather(iov, 64, &bytes);
      ASSERT_EQ(n, std::min<size_t>(64, model.size()));
      uint64_t want = 0;
      for (size_t i = 0; i < n; ++i) {
        uint32_t skip = i == 0 ? offset : 0;
        ASSERT_EQ(iov[i].iov_base, model[i].data + skip);
        ASSERT_EQ(iov[i].iov_len, model[i].size - skip);
        want += model[i].size - skip;
      }
      ASSERT_EQ(bytes, want);
    }
    ASSERT_EQ(q.queued_bytes(), model_bytes());
    ASSERT_EQ(q.head_offset(), offset);
    ASSERT_EQ(q.empty(), model.empty());
    ASSERT_EQ(pools.live_frames(), model.size());
    ASSERT_LE(pools.live_chunks(), model.size() / OutChunk::kEntries + 2);
  }
  q.Clear(&pools);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pools.live_frames(), 0u);
  EXPECT_EQ(pools.live_chunks(), 0u);
}

TEST(OutQueueTest, IdleQueueHoldsNoChunk) {
  net::FrameWriter w;
  FramePools pools;
  OutQueue q;
  PushFrames(w, pools, q, 3 * OutChunk::kEntries, 1);  // 3 bytes each
  EXPECT_EQ(pools.live_chunks(), 3u);
  q.Consume(&pools, OutChunk::kEntries * 3u + 1);  // a chunk's 15 frames and one byte
  EXPECT_EQ(pools.live_chunks(), 2u);
  q.Consume(&pools, q.queued_bytes());
  EXPECT_EQ(pools.live_chunks(), 0u);
  EXPECT_TRUE(q.empty());
}

TEST(OutQueueTest, SharedFrameRefcountCountsShards) {
  net::FrameWriter w;
  core::SharedFrame* f = Frame(w, 4);
  f->Ref(2);  // three shards deliver it
  EXPECT_EQ(f->refs_approx(), 3u);
  f->Unref();
  f->Unref();
  EXPECT_EQ(f->refs_approx(), 1u);
  f->Unref();
}

}  // namespace
}  // namespace ringcast::shard
