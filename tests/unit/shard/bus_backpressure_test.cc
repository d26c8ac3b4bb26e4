// Backpressure on the bus, through the real shard parts of two simulated
// shards (tests/unit/shard/shard_harness.h): a publisher whose publications
// pile up on the bus stops being read, instead of having the next ones
// refused with rate_limited, and once the other shard drains its side every
// publication, those that waited in its socket included, is delivered in
// order and none is refused. Only past the Outbox's own bound (Admits) is a
// publication still refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shard/backpressure.h"
#include "shard/mesh.h"
#include "tests/unit/shard/shard_harness.h"

namespace ringcast::shard {
namespace {

using harness::Client;
using harness::Cluster;
using harness::Error;
using harness::Msg;
using harness::Ok;
using harness::Pub;
using harness::Sub;
using Texts = std::vector<std::string>;

// The bus's pause mark for the two shards of these tests (a ring).
const uint64_t kPauseMark = Backpressure::BusPauseMark(Mesh::RingCapacityFor(2));
// More publications in one read than the pause mark, by more than a
// slice of them (Backpressure::kSliceBytes: ~90 of these ~46-byte frames).
const uint64_t kBurst = kPauseMark + 1000;
// Rounds for the subscriber to take all of it: one send of up to 256 frames a
// round (SimShard::kMaxIov), and some to spare.
const int kDrainRounds = static_cast<int>(kBurst / 256) + 200;
static_assert(Backpressure::kSliceBytes / 40 < 1000);
constexpr uint64_t kLater = 10;  // written while the publisher is paused

ServerOptions Options() {
  ServerOptions o;
  o.commands_per_second = 0;                // the burst is not a command flood
  o.max_queued_bytes = uint64_t{16} << 20;  // nor a slow consumer's backlog
  return o;
}

// Publications without an id: a refusal would still be answered (an error
// without id), and thousands of reply tickets would only slow the test.
std::string Burst(const std::string& room, uint64_t first, uint64_t count) {
  std::string bytes;
  for (uint64_t i = first; i < first + count; ++i) {
    bytes += harness::TextFrame(R"({"op":"pub","room":")" + room + R"(","data":)" +
                                std::to_string(i) + "}");
  }
  return bytes;
}

bool Paused(Cluster& cluster, const Client& c) {
  return cluster.shard(c.shard()).sessions().At(c.handle().slot).paused;
}

// Every publication 1..n delivered to `sub` in order, none refused to `pub`;
// then one with an id is answered ok.
void ExpectAllInOrder(Cluster& cluster, Client& pub, Client& sub, const std::string& room,
                      uint64_t n) {
  Texts msgs;
  for (uint64_t i = 1; i <= n; ++i) msgs.push_back(Msg(room, "alice", std::to_string(i)));
  EXPECT_EQ(pub.Texts(), Texts{}) << "nothing refused";
  EXPECT_EQ(sub.Texts(), msgs);
  pub.Text(Pub(room, "0", 7));
  cluster.Settle();
  EXPECT_EQ(pub.Texts(), Texts{Ok(7)});
}

// The start both held-publisher tests share: bob on shard 1 subscribes to
// `room` (*sub), alice on shard 0 (*pub) writes a burst to it, and shard 0
// reads it while shard 1 does not run: messages of kind M (what the burst
// puts on the bus toward shard 1) queue up past the mark and alice is paused. What
// she writes next (kLater) is not read, however many rounds shard 0 runs.
template <typename M>
void PublishUntilPaused(Cluster& cluster, const std::string& room, Client* sub, Client* pub) {
  *sub = cluster.ConnectUser(1, "bob");
  sub->Text(Sub(room, 1));
  cluster.Settle();
  ASSERT_EQ(sub->Texts(), Texts{Ok(1)});
  *pub = cluster.ConnectUser(0, "alice");

  pub->Write(Burst(room, 1, kBurst));
  cluster.shard(0).Round();
  // Read in slices (Backpressure::Feed): it pauses at the first slice past
  // the mark and the rest of the read waits with what comes after it.
  uint64_t queued = cluster.CountQueued<M>(0, 1);
  EXPECT_GT(queued, kPauseMark);
  EXPECT_LT(queued, kBurst);
  EXPECT_TRUE(Paused(cluster, *pub));
  pub->Write(Burst(room, kBurst + 1, kLater));
  for (int i = 0; i < 20; ++i) cluster.shard(0).Round();
  EXPECT_TRUE(Paused(cluster, *pub));
  EXPECT_EQ(cluster.CountQueued<M>(0, 1), queued);
}

TEST(BusBackpressureTest, APublisherIsHeldWhileTheBusTowardTheOwnerIsBacklogged) {
  Cluster cluster(Options());
  std::string room = cluster.RoomOwnedBy(1);
  Client sub, pub;
  // Shard 0 reads the burst while shard 1, the owner, does not run; what the
  // publisher writes next waits in its socket, however long shard 1 takes.
  ASSERT_NO_FATAL_FAILURE(PublishUntilPaused<bus::Publish>(cluster, room, &sub, &pub));
  EXPECT_EQ(cluster.shard(0).stats().publishers_paused.load(), 1u);
  EXPECT_FALSE(pub.socket().recv_armed);
  EXPECT_FALSE(pub.socket().input.empty());
  EXPECT_EQ(pub.Texts(), Texts{}) << "nothing refused while it waits";

  // Shard 1 drains its ring: shard 0 reads the publisher again.
  cluster.Settle(kDrainRounds);
  EXPECT_FALSE(Paused(cluster, pub));
  EXPECT_TRUE(pub.socket().input.empty());
  ExpectAllInOrder(cluster, pub, sub, room, kBurst + kLater);
  EXPECT_EQ(cluster.shard(0).stats().rate_limited.load(), 0u);
  EXPECT_EQ(cluster.shard(0).stats().publishers_paused.load(), 1u);
}

// The owner's deliveries to the other shard count as much as publications
// to the owner: here the room is the publisher's own shard's, and what
// backs up is the fan-out toward the subscriber's shard.
TEST(BusBackpressureTest, ThePublishersOwnRoomsDeliveriesBackingUpHoldItToo) {
  Cluster cluster(Options());
  std::string room = cluster.RoomOwnedBy(0);
  Client sub, pub;
  ASSERT_NO_FATAL_FAILURE(PublishUntilPaused<bus::Deliver>(cluster, room, &sub, &pub));

  cluster.Settle(kDrainRounds);
  EXPECT_FALSE(Paused(cluster, pub));
  ExpectAllInOrder(cluster, pub, sub, room, kBurst + kLater);
}

// A reader that keeps up is not cut for what one round drains off the bus.
// 20 MiB of publications to its room, read by the owner's shard in one round
// (below both pause marks: nobody there subscribes), reach the reader's shard
// as 5000 deliveries. Drained at once they would queue more than 16 x
// max_queued_bytes on it and close it as a slow consumer; the shard stops
// draining once it holds half of that unsent and takes the rest after its
// sends (Sessions::bus_held).
TEST(BusBackpressureTest, ABurstOffTheBusWaitsForTheSendsInsteadOfCuttingAReaderThatKeepsUp) {
  ServerOptions o = Options();
  o.max_queued_bytes = uint64_t{1} << 20;  // the default: cut past 16 MiB at once
  Cluster cluster(o);
  std::string room = cluster.RoomOwnedBy(0);
  Client sub = cluster.ConnectUser(1, "bob");
  sub.Text(Sub(room, 1));
  cluster.Settle();
  ASSERT_EQ(sub.Texts(), Texts{Ok(1)});
  Client pub = cluster.ConnectUser(0, "alice");

  constexpr uint64_t kCount = 5000;
  const std::string data = '"' + std::string(4000, 'x') + '"';
  std::string bytes;
  for (uint64_t i = 0; i < kCount; ++i) {
    bytes += harness::TextFrame(R"({"op":"pub","room":")" + room + R"(","data":)" + data + "}");
  }
  pub.Write(bytes);
  cluster.shard(0).Round();
  ASSERT_EQ(cluster.CountQueued<bus::Deliver>(0, 1), kCount) << "all read in one round";

  cluster.shard(1).Round();
  const Connection& c = cluster.shard(1).sessions().At(sub.handle().slot);
  EXPECT_LT(cluster.CountQueued<bus::Deliver>(0, 1), kCount - 1000) << "a burst was drained";
  EXPECT_GT(cluster.CountQueued<bus::Deliver>(0, 1), 0u) << "and the rest waits for the sends";
  EXPECT_LE(c.out.queued_bytes(), (uint64_t{9} << 20));

  cluster.Settle(1000);
  EXPECT_FALSE(sub.closed());
  EXPECT_EQ(cluster.shard(1).stats().slow_consumer_closes.load(), 0u);
  Texts got = sub.Texts();
  ASSERT_EQ(got.size(), kCount);
  for (const std::string& text : got) ASSERT_EQ(text, Msg(room, "alice", data));
}

// Past the Outbox's bound (Admits) a publication is refused as before: the
// fallback for what pausing cannot hold back, such as the API key.
TEST(BusBackpressureTest, PastTheOutboxBoundAPublicationIsStillRefused) {
  Cluster cluster(Options());
  std::string room = cluster.RoomOwnedBy(1);
  Client pub = cluster.ConnectUser(0, "alice");
  cluster.shard(0).set_admits(false);
  pub.Text(Pub(room, "1", 1));
  cluster.Settle();
  EXPECT_EQ(pub.Texts(), Texts{Error(1, "rate_limited",
                                     "server busy: the room's shard is backlogged, retry later")});
  EXPECT_EQ(cluster.shard(0).stats().publishers_paused.load(), 0u);
  cluster.shard(0).set_admits(true);
  pub.Text(Pub(room, "2", 2));
  cluster.Settle();
  EXPECT_EQ(pub.Texts(), Texts{Ok(2)});
}

}  // namespace
}  // namespace ringcast::shard
