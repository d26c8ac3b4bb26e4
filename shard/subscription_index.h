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

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/hash.h"
#include "core/slab.h"

namespace ringcast::shard {

struct LocalRoom;

struct SubRef {
  LocalRoom* room;
  uint32_t index;  // position in room->subs
};

struct Subscriber {
  uint32_t slot;       // connection slot
  uint32_t sub_index;  // position in that connection's SubRef list
  bool presence;       // wants join/leave events
};

struct PendingAck {
  core::SlabHandle conn;
  uint32_t ticket;  // reply ticket on that connection
};

struct LocalRoom {
  std::string_view name;  // the map key
  std::vector<Subscriber> subs;
  std::vector<PendingAck> pending;  // subscribers waiting for the owner's ack
  uint32_t join_epoch = 0;          // matches acks to the join that asked for them
  // History subscribers waiting for the owner's seq/replay; an unsub before
  // it arrives takes the connection out, so the answer does not subscribe it.
  std::vector<core::SlabHandle> joining;
  bool joined = false;

  bool IsUnused() const { return subs.empty() && pending.empty() && joining.empty(); }
};

class SubscriptionIndex {
 public:
  LocalRoom* Find(std::string_view room);
  // Creates the local room if needed; *created tells whether it is new.
  LocalRoom* FindOrCreate(std::string_view room, bool* created);
  // Adds a subscriber; `subs` is that connection's reverse list.
  void Add(LocalRoom* room, uint32_t slot, std::vector<SubRef>* subs, bool presence = false);
  // Removes entry i of a connection's reverse list; subs_of(slot) returns the
  // reverse list of another connection whose position moved. Returns true
  // when the room has no subscribers and no pending joins left: the caller
  // then tells the owner and calls Erase().
  template <class SubsOf>
  bool Remove(std::vector<SubRef>* subs, uint32_t i, SubsOf&& subs_of);
  // The SubRef index of `room` in a connection's list, or -1.
  static int IndexOf(const std::vector<SubRef>& subs, const LocalRoom* room);
  void Erase(LocalRoom* room);

  size_t local_rooms() const { return local_.size(); }

 private:
  std::unordered_map<std::string, LocalRoom, core::StringHash, std::equal_to<>> local_;
};

template <class SubsOf>
bool SubscriptionIndex::Remove(std::vector<SubRef>* subs, uint32_t i, SubsOf&& subs_of) {
  SubRef ref = (*subs)[i];
  LocalRoom* room = ref.room;
  // Swap-remove from the room, fixing the moved subscriber's back-reference.
  Subscriber moved = room->subs.back();
  room->subs[ref.index] = moved;
  room->subs.pop_back();
  if (ref.index < room->subs.size()) {
    std::vector<SubRef>& moved_subs = subs_of(moved.slot);
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
