// How Plan spreads connections over several nodes (--url repeated): round robin per connection
// with each room's subscribers going round the nodes, publishers and subscribers pinned to
// their own nodes, and whole rooms per node. The same answer must come out whichever process
// and thread asks, since nothing is exchanged between them.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "tools/load/plan.h"

namespace ringcast::load {
namespace {

LoadOptions Fanout(uint32_t nodes, uint32_t rooms, uint32_t subs, uint32_t pubs, double rate) {
  LoadOptions o;
  o.scenario = Scenario::kFanout;
  o.nodes.resize(nodes);
  o.rooms = rooms;
  o.subs = subs;
  o.pubs = pubs;
  o.rate = rate;
  return o;
}

std::vector<ConnSpec> All(const Plan& plan) { return plan.ConnsFor(0, 1, 0, 1); }

// Per room, how many of its subscribers dial each node.
std::map<uint32_t, std::map<uint32_t, int>> SubscribersByRoomAndNode(const Plan& plan) {
  std::map<uint32_t, std::map<uint32_t, int>> out;
  for (const ConnSpec& c : All(plan)) {
    if (c.role == Role::kSubscriber) ++out[c.room][c.node];
  }
  return out;
}

// The default: every room's subscribers are spread evenly over every node, so each
// publication has receivers on every node (what cluster mode has to carry), and
// publishers go round the nodes too.
TEST(PlanNodesTest, EachRoomsSubscribersGoRoundEveryNode) {
  Plan plan(Fanout(3, 2, 12, 4, 100));
  for (const auto& [room, by_node] : SubscribersByRoomAndNode(plan)) {
    ASSERT_EQ(by_node.size(), 3u) << "room " << room;
    for (const auto& [node, count] : by_node) EXPECT_EQ(count, 2) << "room " << room;
  }
  std::vector<ConnSpec> conns = All(plan);
  for (uint32_t j = 0; j < 4; ++j) EXPECT_EQ(conns[12 + j].node, j % 3) << "publisher " << j;
  std::vector<NodeShare> shares = plan.NodeShares();
  ASSERT_EQ(shares.size(), 3u);
  for (const NodeShare& s : shares) EXPECT_EQ(s.subscribers, 4u);
  EXPECT_EQ(shares[0].publishers, 2u);
  EXPECT_EQ(shares[1].publishers, 1u);
  EXPECT_EQ(shares[2].publishers, 1u);
}

// With as many rooms as nodes, plain `id % nodes` would put all of room r on node r;
// the stagger keeps each room spread.
TEST(PlanNodesTest, RoomsAsManyAsNodesStillSpan) {
  Plan plan(Fanout(2, 2, 8, 2, 100));
  for (const auto& [room, by_node] : SubscribersByRoomAndNode(plan)) {
    EXPECT_EQ(by_node.size(), 2u) << "room " << room;
  }
}

// The cross-node benchmark: the publisher on node 1, 1000 subscribers on nodes 2 and 3.
TEST(PlanNodesTest, PublishersAndSubscribersPinnedToTheirOwnNodes) {
  LoadOptions o = Fanout(3, 1, 1000, 1, 100);
  o.pub_nodes = {0};
  o.sub_nodes = {1, 2};
  Plan plan(o);
  std::vector<NodeShare> shares = plan.NodeShares();
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(shares[0].publishers, 1u);
  EXPECT_EQ(shares[0].subscribers, 0u);
  EXPECT_EQ(shares[1].subscribers, 500u);
  EXPECT_EQ(shares[2].subscribers, 500u);
  EXPECT_EQ(shares[1].publishers + shares[2].publishers, 0u);
}

// --spread room: a room's publisher and all of its subscribers share a node, and rooms
// go round the nodes, so a run needs no cross-node routing.
TEST(PlanNodesTest, SpreadRoomKeepsEachRoomOnOneNode) {
  LoadOptions o = Fanout(2, 4, 40, 4, 400);
  o.spread = Spread::kRoom;
  Plan plan(o);
  std::set<uint32_t> used;
  for (const ConnSpec& c : All(plan)) {
    EXPECT_EQ(c.node, plan.RoomNode(c.room)) << "connection " << c.global_id;
    used.insert(c.node);
  }
  EXPECT_EQ(used.size(), 2u);
  for (const NodeShare& s : plan.NodeShares()) {
    EXPECT_EQ(s.subscribers, 20u);
    EXPECT_EQ(s.publishers, 2u);
  }
}

// Fewer publishers than rooms: a publisher takes turns over rooms j, j+P, ...; every one
// of them must live on that publisher's node.
TEST(PlanNodesTest, SpreadRoomFollowsAPublishersTurns) {
  LoadOptions o = Fanout(2, 10, 50, 3, 300);
  o.spread = Spread::kRoom;
  Plan plan(o);
  ASSERT_TRUE(plan.PublishersTakeTurns());
  std::vector<ConnSpec> conns = All(plan);
  for (const ConnSpec& c : conns) {
    if (c.role != Role::kPublisher) continue;
    for (uint32_t room : plan.PublisherRooms(c)) {
      EXPECT_EQ(plan.RoomNode(room), c.node) << "publisher " << c.pub_id << " room " << room;
    }
  }
  for (const ConnSpec& c : conns) {
    if (c.role == Role::kSubscriber) {
      EXPECT_EQ(c.node, plan.RoomNode(c.room));
    }
  }
}

// Users and idle connections: plain round robin by id.
TEST(PlanNodesTest, OtherScenariosRoundRobinById) {
  LoadOptions o;
  o.scenario = Scenario::kDirect;
  o.nodes.resize(3);
  o.conns = 7;
  Plan plan(o);
  for (const ConnSpec& c : All(plan)) EXPECT_EQ(c.node, c.global_id % 3);
  ConnSpec churn;
  churn.role = Role::kChurn;
  churn.global_id = 5;
  EXPECT_EQ(plan.NodeOf(churn), 2u);
}

// Every process and thread derives the same node for a connection as the whole plan does.
TEST(PlanNodesTest, SplitOverProcessesAndThreadsAgrees) {
  LoadOptions o = Fanout(3, 7, 200, 5, 100);
  o.sub_nodes = {2, 0};
  Plan plan(o);
  std::vector<ConnSpec> whole = All(plan);
  size_t seen = 0;
  for (uint32_t p = 0; p < 3; ++p) {
    for (uint32_t t = 0; t < 2; ++t) {
      for (const ConnSpec& c : plan.ConnsFor(p, 3, t, 2)) {
        ASSERT_LT(c.global_id, whole.size());
        EXPECT_EQ(c.node, whole[c.global_id].node);
        if (c.role == Role::kSubscriber) {
          EXPECT_NE(c.node, 1u);
        }
        ++seen;
      }
    }
  }
  EXPECT_EQ(seen, whole.size());
}

// One node: everything dials it, whatever the spread.
TEST(PlanNodesTest, OneNodeTakesEverything) {
  LoadOptions o = Fanout(1, 3, 30, 3, 100);
  o.spread = Spread::kRoom;
  Plan plan(o);
  for (const ConnSpec& c : All(plan)) EXPECT_EQ(c.node, 0u);
  std::vector<NodeShare> shares = plan.NodeShares();
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0].connections, 33u);
}

}  // namespace
}  // namespace ringcast::load
