// PresenceSync: cluster mode, when the owner shard of rooms tells Redis who
// of its node is in them (ClusterPresence's refresh and remove scripts).
//
// A change on this node (a user's first connection in a room, its count
// changing, or the user gone for good after the leave delay) puts the room
// on the dirty list with the users concerned, and Take turns each dirty room
// into one batch: one refresh call and one remove call for the room whatever
// the number of changes, so 1000 subscribers joining in one round cost one
// script call, not 1000. Changes go at most once per kBatchMs (the shard's
// tick), all dirty rooms together, so subscribers trickling in one per round
// do not cost a call each either (the backplane puts a round's rooms of one
// Redis instance in one call, of one partition on a Redis Cluster); a join or
// leave reaches Redis at most that much later.
// Every room with members is
// also refreshed whole every ttl/3 (Redis drops an entry ttl after its last
// refresh), oldest first, at most kRoomsPerTake rooms per round and at most
// twice the steady rate (tracked rooms per ttl/3, earned as time passes, up
// to kCreditMs of it or kMinCredit): rooms that arrived together are
// refreshed spread over time rather than in one burst, still within half of
// ttl/3 of their due time, far inside the TTL. A room
// whose calls Redis could not take is refreshed whole kRetryMs later
// instead; removes lost that way expire in Redis and come back as leaves.
//
// Holds room and user names only: counts and info come from the owner's
// members when it sends a batch. Both schedules are FIFOs with one delay
// each, so they stay in due order; an entry whose room was retried or
// untracked since is skipped when it comes up. Owner shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/hash.h"

namespace ringcast::shard {

class PresenceSync {
 public:
  static constexpr size_t kRoomsPerTake = 256;
  static constexpr uint64_t kRetryMs = 1000;
  static constexpr uint64_t kBatchMs = 20;
  static constexpr uint64_t kCreditMs = 100;
  static constexpr double kMinCredit = 16;

  // ttl_ms >= 3: entries of this node expire this long after a refresh.
  explicit PresenceSync(uint64_t ttl_ms);

  // `user`'s count in `room` changed on this node (it arrived, or one of its
  // connections came or went); the room is refreshed whole from now on.
  void Changed(std::string_view room, std::string_view user, uint64_t now_ms);
  // `user` is gone from `room` on this node.
  void Removed(std::string_view room, std::string_view user);
  // The room has no members left on this node: no more whole refreshes.
  void Untrack(std::string_view room);
  // Redis could not take the room's calls: refresh it whole kRetryMs later.
  void Retry(std::string_view room, uint64_t now_ms);

  struct Batch {
    std::string room;
    bool whole = false;                // refresh every member of the room
    std::vector<std::string> changed;  // else these (sorted, unique)
    std::vector<std::string> removed;  // sorted, unique; removed before the refresh
  };
  // The round's batches, if the last ones went kBatchMs ago or more: every
  // dirty room, then rooms due for a whole refresh, as many as earned.
  std::vector<Batch> Take(uint64_t now_ms);

  uint64_t refresh_every_ms() const { return every_ms_; }
  size_t tracked() const { return tracked_; }

 private:
  struct RoomState {
    bool tracked = false;
    bool dirty = false;
    uint64_t due_ms = 0;  // of its one valid schedule entry
    std::vector<std::string> changed;
    std::vector<std::string> removed;
  };
  using Schedule = std::deque<std::pair<std::string, uint64_t>>;

  RoomState& Dirty(std::string_view room);
  // Adds the whole refreshes earned since the last call.
  void Earn(uint64_t now_ms);
  // Pops due entries of `schedule` into whole batches while budget lasts.
  void TakeDue(Schedule& schedule, uint64_t now_ms, size_t* budget, std::vector<Batch>* out);

  const uint64_t every_ms_;
  std::unordered_map<std::string, RoomState, core::StringHash, std::equal_to<>> rooms_;
  std::vector<std::string> dirty_;
  Schedule schedule_;  // due every_ms_ after the last whole refresh
  Schedule retry_;     // due kRetryMs after a failure
  size_t tracked_ = 0;
  uint64_t batch_ms_ = 0;       // the next batch may go from then on
  double credit_ = kMinCredit;  // whole refreshes that may go now
  uint64_t credit_ms_ = 0;
};

}  // namespace ringcast::shard
