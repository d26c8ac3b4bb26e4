#include "shard/connection.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/slab.h"
#include "shard/local_rooms.h"
#include "shard/subscription_index.h"

namespace ringcast::shard {
namespace {

// Every connection, idle or not, costs its slab slot: sizeof(Connection) plus
// the slab's 8 bytes. These bounds are the layout written down in
// docs/design.md (Memory per idle connection); a field that grows them must
// pay for itself, and the figures there and in bench/README.md change with it.
TEST(ConnectionTest, SlotStaysWithinItsBudget) {
  EXPECT_LE(sizeof(Connection), 176u);
  EXPECT_EQ(sizeof(net::WsReadState), 2 * sizeof(void*));  // no opcode byte and its padding
  EXPECT_EQ(sizeof(core::BoxedString), sizeof(void*));     // the user id's inline part
  EXPECT_EQ(sizeof(OutQueue), 32u);
  EXPECT_EQ(sizeof(SubRefs), 24u);  // as a std::vector, with its first entry inside
}

// The counters squeezed into bit-fields hold their largest values: every
// history join of a connection at limits.max_subscriptions_per_connection's
// bound (2^20, plus the personal room), and LocalRooms' presence bound.
TEST(ConnectionTest, CountersHoldTheirBounds) {
  Connection c;
  c.history_joins = (1u << 20) + 1;
  c.presence_asks = LocalRooms::kMaxPresenceInFlight;
  c.announced = true;
  EXPECT_EQ(c.history_joins, (1u << 20) + 1);
  EXPECT_EQ(c.presence_asks, LocalRooms::kMaxPresenceInFlight);
  --c.history_joins;
  --c.presence_asks;
  EXPECT_EQ(c.history_joins, 1u << 20);
  EXPECT_EQ(c.presence_asks, LocalRooms::kMaxPresenceInFlight - 1);
  EXPECT_TRUE(c.announced);  // its neighbour in the same word
}

// A user's personal room is a LocalRoom on each shard it is connected to: the
// map node (next pointer, BoxedString key, room; StringHash is noexcept, so
// libstdc++ caches no hash in it) fits mimalloc's 80-byte class.
TEST(ConnectionTest, PersonalRoomNodeStaysWithin80Bytes) {
  EXPECT_LE(sizeof(void*) + sizeof(core::BoxedString) + sizeof(LocalRoom), 80u);
}

// An idle user's one subscription, its personal room, takes no heap block on
// either side: the connection's first SubRef and the room's first Subscriber
// are inline; the second of each moves to the heap.
TEST(ConnectionTest, PersonalRoomSubscriptionIsInlineOnBothSides) {
  SubscriptionIndex index;
  std::vector<Connection> conns(2);
  bool created = false;
  LocalRoom* room = index.FindOrCreate("@anon-n-0-1", &created);
  index.Add(room, 0, &conns[0].subs);
  EXPECT_FALSE(conns[0].subs.on_heap());
  EXPECT_FALSE(room->subs.on_heap());
  EXPECT_EQ(sizeof(room->subs), 24u);
  index.Add(room, 1, &conns[1].subs);
  EXPECT_TRUE(room->subs.on_heap());
  EXPECT_EQ(room->subs.size(), 2u);
  auto subs_of = [&](uint32_t slot) -> SubRefs& { return conns[slot].subs; };
  EXPECT_FALSE(index.Remove(&conns[0].subs, 0, subs_of));
  EXPECT_EQ(room->subs[0].slot, 1u);  // moved into the freed place, back-reference fixed
  EXPECT_EQ(conns[1].subs[0].index, 0u);
  EXPECT_TRUE(index.Remove(&conns[1].subs, 0, subs_of));
  index.Erase(room);
  EXPECT_EQ(index.local_rooms(), 0u);
}

// A room counts its subscribers that asked for presence, through adds and swap-removes, so a
// join or leave where none did is dropped without walking the room.
TEST(ConnectionTest, RoomCountsItsPresenceSubscribers) {
  SubscriptionIndex index;
  std::vector<Connection> conns(4);
  bool created = false;
  LocalRoom* room = index.FindOrCreate("lobby", &created);
  index.Add(room, 0, &conns[0].subs, /*presence=*/true);
  index.Add(room, 1, &conns[1].subs);
  index.Add(room, 2, &conns[2].subs, /*presence=*/true);
  index.Add(room, 3, &conns[3].subs);
  EXPECT_EQ(room->presence_subs, 2u);
  auto subs_of = [&](uint32_t slot) -> SubRefs& { return conns[slot].subs; };
  EXPECT_FALSE(index.Remove(&conns[1].subs, 0, subs_of));  // not one of them
  EXPECT_EQ(room->presence_subs, 2u);
  EXPECT_FALSE(index.Remove(&conns[0].subs, 0, subs_of));  // the last one moves into its place
  EXPECT_EQ(room->presence_subs, 1u);
  EXPECT_FALSE(index.Remove(&conns[2].subs, 0, subs_of));
  EXPECT_EQ(room->presence_subs, 0u);
  room->joined = true;  // its neighbour in the same word
  EXPECT_EQ(room->presence_subs, 0u);
  index.Add(room, 0, &conns[0].subs, /*presence=*/true);
  EXPECT_EQ(room->presence_subs, 1u);
  EXPECT_TRUE(room->joined);
}

// A default-constructed (and so a freshly accepted) connection owns no heap
// memory: every optional part is null or empty.
TEST(ConnectionTest, NewConnectionOwnsNothingOnTheHeap) {
  Connection c;
  EXPECT_TRUE(c.out.empty());
  EXPECT_EQ(c.ws.ctx, nullptr);
  EXPECT_EQ(c.ws.message, nullptr);
  EXPECT_EQ(c.head, nullptr);
  EXPECT_EQ(c.tickets, nullptr);
  EXPECT_EQ(c.grants, nullptr);
  EXPECT_EQ(c.deferred, nullptr);
  EXPECT_TRUE(c.user.empty());
  EXPECT_TRUE(c.subs.empty());
  EXPECT_FALSE(c.subs.on_heap());
}

// A paused publisher's input is consumed from the front by moving a
// position; appending behind a consumed front keeps the order, and drops the
// front once it is at least half of the buffer.
TEST(ConnectionTest, DeferredInputKeepsOrderAcrossConsumeAndAppend) {
  DeferredInput d;
  EXPECT_TRUE(d.empty());
  d.Append("abcdef");
  d.Consume(2);
  EXPECT_EQ(d.Rest(), "cdef");
  EXPECT_EQ(d.bytes.size(), 6u) << "a small consumed front stays";
  d.Consume(2);
  d.Append("gh");  // the consumed front, 4 of 6, goes first
  EXPECT_EQ(d.Rest(), "efgh");
  EXPECT_EQ(d.pos, 0u);
  EXPECT_EQ(d.bytes, "efgh");
  d.Consume(1);
  d.Append("ij");  // 1 of 4 consumed: kept
  EXPECT_EQ(d.Rest(), "fghij");
  EXPECT_EQ(d.pos, 1u);
  d.Consume(5);
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace ringcast::shard
