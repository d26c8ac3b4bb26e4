// SubscriptionIndex: one shard's local rooms and their subscribed
// connections (the owner's side of a room is RoomOwner).
//
// Local side: a room maps to a dense vector of subscriber slots; each
// connection keeps the reverse list of (room, position) pairs, so subscribe,
// unsubscribe and disconnect are O(1) swap-removes and fan-out is a linear
// walk. A local room exists while it has subscribers; it is "joined" once the
// owner acknowledged that this shard has subscribers (then `ok` may go out).
// Shard thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/boxed_string.h"
#include "core/compact_vector.h"
#include "core/hash.h"
#include "core/slab.h"

namespace ringcast::shard {

struct LocalRoom;

struct SubRef {
  LocalRoom* room;
  uint32_t index;  // position in room->subs
};

// A connection's reverse list: its first entry, usually its personal room,
// is inline (no heap block for an idle connection).
using SubRefs = core::CompactVector<SubRef>;

struct Subscriber {
  uint32_t slot;       // connection slot
  uint32_t sub_index;  // position in that connection's SubRef list
  bool presence;       // wants join/leave events
};

struct PendingAck {
  core::SlabHandle conn;
  uint32_t ticket;  // reply ticket on that connection
};

// Subscribers of a room waiting for its owner: rare and short-lived, so they
// hang off LocalRoom by a pointer that exists only while one waits.
struct RoomWaiters {
  std::vector<PendingAck> pending;  // subscribers waiting for the owner's ack
  // History subscribers waiting for the owner's seq/replay; an unsub before
  // it arrives takes the connection out, so the answer does not subscribe it.
  std::vector<core::SlabHandle> joining;
};

// 56 bytes, so a map node (next pointer, 8-byte key, room) is 72, in
// mimalloc's 80-byte class: every user's personal room is one of these on
// each shard where the user is connected.
struct LocalRoom {
  std::string_view name;                 // the map key
  core::CompactVector<Subscriber> subs;  // one inline: a personal room has one
  std::unique_ptr<RoomWaiters> waiters;  // only while someone waits for the owner
  uint32_t join_epoch = 0;               // matches acks to the join that asked for them
  uint32_t joined : 1 = 0;
  // Subscribers here that want join/leave events: a presence event for a room where none does
  // is dropped without walking subs (SubscriptionIndex keeps it; LocalRooms::OnDeliver).
  uint32_t presence_subs : 31 = 0;

  bool IsUnused() const { return subs.empty() && waiters == nullptr; }
  void AddPending(PendingAck ack) { Waiters().pending.push_back(ack); }
  void AddJoining(core::SlabHandle conn) { Waiters().joining.push_back(conn); }
  // Takes out every pending ack.
  std::vector<PendingAck> TakePending() {
    std::vector<PendingAck> out;
    if (waiters) out.swap(waiters->pending);
    Tidy();
    return out;
  }
  // Takes conn out of the history joins; false if it was not there.
  bool TakeJoining(core::SlabHandle conn) {
    if (!waiters) return false;
    auto& joining = waiters->joining;
    auto it = std::find(joining.begin(), joining.end(), conn);
    if (it == joining.end()) return false;
    joining.erase(it);
    Tidy();
    return true;
  }

 private:
  RoomWaiters& Waiters() {
    if (!waiters) waiters = std::make_unique<RoomWaiters>();
    return *waiters;
  }
  void Tidy() {
    if (waiters && waiters->pending.empty() && waiters->joining.empty()) waiters.reset();
  }
};
static_assert(sizeof(LocalRoom) <= 56, "a personal room's map node must stay within 80 bytes");

class SubscriptionIndex {
 public:
  LocalRoom* Find(std::string_view room);
  // Creates the local room if needed; *created tells whether it is new.
  LocalRoom* FindOrCreate(std::string_view room, bool* created);
  // Adds a subscriber; `subs` is that connection's reverse list.
  void Add(LocalRoom* room, uint32_t slot, SubRefs* subs, bool presence = false);
  // Removes entry i of a connection's reverse list; subs_of(slot) returns the
  // reverse list of another connection whose position moved. Returns true
  // when the room has no subscribers and no pending joins left: the caller
  // then tells the owner and calls Erase().
  template <class SubsOf>
  bool Remove(SubRefs* subs, uint32_t i, SubsOf&& subs_of);
  // The SubRef index of `room` in a connection's list, or -1.
  static int IndexOf(const SubRefs& subs, const LocalRoom* room);
  void Erase(LocalRoom* room);

  size_t local_rooms() const { return local_.size(); }

 private:
  // Keys are BoxedStrings: 8 bytes in the node and one exact block, not 32 and a growable one.
  std::unordered_map<core::BoxedString, LocalRoom, core::StringHash, std::equal_to<>> local_;
};

template <class SubsOf>
bool SubscriptionIndex::Remove(SubRefs* subs, uint32_t i, SubsOf&& subs_of) {
  SubRef ref = (*subs)[i];
  LocalRoom* room = ref.room;
  // Swap-remove from the room, fixing the moved subscriber's back-reference.
  if (room->subs[ref.index].presence) --room->presence_subs;
  Subscriber moved = room->subs.back();
  room->subs[ref.index] = moved;
  room->subs.pop_back();
  if (ref.index < room->subs.size()) {
    SubRefs& moved_subs = subs_of(moved.slot);
    moved_subs[moved.sub_index].index = ref.index;
  }
  // Swap-remove from the connection's list, fixing the moved room entry.
  SubRef last = subs->back();
  (*subs)[i] = last;
  subs->pop_back();
  if (i < subs->size()) last.room->subs[last.index].sub_index = i;
  return room->IsUnused();
}

}  // namespace ringcast::shard
