#include "shard/connection.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(c.subs.capacity(), 0u);
}

}  // namespace
}  // namespace ringcast::shard
