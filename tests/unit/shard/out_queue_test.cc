#include "shard/out_queue.h"

#include <gtest/gtest.h>

#include <string>

#include "net/frame_writer.h"

namespace ringcast::shard {
namespace {

core::SharedFrame* Frame(net::FrameWriter& w, size_t n) {
  return w.Build(net::FrameWriter::kOpText, std::string(n, 'f'));
}

TEST(OutQueueTest, ConsumeFreesWholeFramesAndKeepsOffsetIntoPartialOne) {
  net::FrameWriter w;
  FramePools pools;
  OutQueue q;
  for (int i = 0; i < 3; ++i) {
    LocalFrame* local = pools.Wrap(Frame(w, 98));  // 100 bytes with the header
    q.Push(&pools, local);
    pools.Unref(local);
  }
  EXPECT_EQ(q.queued_bytes(), 300u);
  q.Consume(&pools, 150);
  EXPECT_EQ(q.queued_bytes(), 150u);
  EXPECT_EQ(q.head_offset(), 50u);
  EXPECT_EQ(pools.live_nodes(), 2u);
  q.Consume(&pools, 150);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pools.live_nodes(), 0u);
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
  for (int i = 0; i < 5; ++i) {
    LocalFrame* local = pools.Wrap(Frame(w, 8));  // 10 bytes each
    q.Push(&pools, local);
    pools.Unref(local);
  }
  q.Consume(&pools, 5);
  q.DropAfter(&pools, 2);
  EXPECT_EQ(pools.live_nodes(), 2u);
  EXPECT_EQ(q.queued_bytes(), 15u);
  q.Consume(&pools, 15);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pools.live_frames(), 0u);
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
