#include "tools/load/plan.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace ringcast::load {
namespace {

LoadOptions Fanout(uint32_t rooms, uint32_t subs, uint32_t pubs, double rate) {
  LoadOptions o;
  o.scenario = Scenario::kFanout;
  o.rooms = rooms;
  o.subs = subs;
  o.pubs = pubs;
  o.rate = rate;
  return o;
}

std::vector<ConnSpec> All(const Plan& plan) { return plan.ConnsFor(0, 1, 0, 1); }

// One publisher per room or more: publisher j keeps to room j % R, and the
// subscribers of a room track its publishers in slots j / R.
TEST(PlanTest, PublishersAtLeastRoomsKeepToOneRoom) {
  Plan plan(Fanout(2, 10, 4, 400));
  std::vector<ConnSpec> conns = All(plan);
  ASSERT_EQ(conns.size(), 14u);
  const ConnSpec& pub3 = conns[13];
  EXPECT_EQ(pub3.role, Role::kPublisher);
  EXPECT_EQ(plan.PublisherRooms(pub3), std::vector<uint32_t>{1});
  EXPECT_EQ(plan.StreamId(pub3, 1), 3u);
  EXPECT_EQ(plan.ReceiversPerMessage(pub3, 1), 5u);
  const ConnSpec& sub1 = conns[1];  // room 1
  EXPECT_EQ(plan.TrackedSenders(sub1), 2u);
  EXPECT_EQ(plan.TrackSlot(sub1, 1), 0);
  EXPECT_EQ(plan.TrackSlot(sub1, 3), 1);
  EXPECT_EQ(plan.TrackSlot(sub1, 2), -1);  // room 0's publisher
  EXPECT_DOUBLE_EQ(plan.DemandedDeliveriesPerS(), 400 * 5);
}

// Fewer publishers than rooms: every room gets traffic from exactly one
// publisher, which takes turns over its rooms; receivers track the room's stream.
TEST(PlanTest, FewerPublishersThanRoomsCoverEveryRoom) {
  Plan plan(Fanout(1000, 10000, 10, 100000));
  std::vector<ConnSpec> conns = All(plan);
  std::set<uint32_t> covered;
  for (const ConnSpec& c : conns) {
    if (c.role != Role::kPublisher) continue;
    std::vector<uint32_t> rooms = plan.PublisherRooms(c);
    EXPECT_EQ(rooms.size(), 100u);
    for (uint32_t r : rooms) {
      EXPECT_EQ(r % 10, c.pub_id);
      EXPECT_TRUE(covered.insert(r).second) << "room " << r << " has two publishers";
      EXPECT_EQ(plan.StreamId(c, r), r);
      EXPECT_EQ(plan.ReceiversPerMessage(c, r), 10u);
    }
  }
  EXPECT_EQ(covered.size(), 1000u);
  const ConnSpec& sub = conns[1234];  // room 234
  EXPECT_EQ(sub.room, 234u);
  EXPECT_EQ(plan.TrackedSenders(sub), 1u);
  EXPECT_EQ(plan.TrackSlot(sub, 234), 0);
  EXPECT_EQ(plan.TrackSlot(sub, 4), -1);
  EXPECT_DOUBLE_EQ(plan.DemandedDeliveriesPerS(), 100000.0 * 10);
}

// Uneven rooms: the demand is the average over each publisher's turns.
TEST(PlanTest, UnevenRoomsAverageTheirReceivers) {
  Plan plan(Fanout(3, 4, 2, 100));  // rooms 0,1,2 have 2,1,1 subscribers
  std::vector<ConnSpec> conns = All(plan);
  const ConnSpec& pub0 = conns[4];
  EXPECT_EQ(plan.PublisherRooms(pub0), (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(plan.ReceiversPerMessage(pub0, 0), 2u);
  EXPECT_EQ(plan.ReceiversPerMessage(pub0, 2), 1u);
  // publisher 0: 50 msg/s x 1.5, publisher 1 (room 1 only): 50 x 1.
  EXPECT_DOUBLE_EQ(plan.DemandedDeliveriesPerS(), 50 * 1.5 + 50 * 1);
}

// Closed loop keeps one room per publisher (it counts its own echoes there).
TEST(PlanTest, ClosedLoopKeepsOneRoomPerPublisher) {
  LoadOptions o = Fanout(4, 8, 2, 0);
  o.window = 4;
  Plan plan(o);
  std::vector<ConnSpec> conns = All(plan);
  const ConnSpec& pub1 = conns[9];
  EXPECT_EQ(plan.PublisherRooms(pub1), std::vector<uint32_t>{1});
  EXPECT_TRUE(plan.Subscribes(pub1));
  EXPECT_EQ(plan.ReceiversPerMessage(pub1, 1), 3u);  // 2 subscribers and the publisher
}

}  // namespace
}  // namespace ringcast::load
