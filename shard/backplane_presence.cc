// The presence half of a Backplane: the owner's batches of its node's
// members (SyncPresence) are gathered per Redis instance (and, on a Redis
// Cluster, per partition: one call's keys must share a slot) and
// sent at the end of the round as ClusterPresence's refresh calls of several
// rooms (at most kPresencePerCall users each; a count of 0 removes), whose
// answers (who joined or left cluster-wide, per room) go back to the owner
// to announce; a presence query is one list call.
// EVALSHA, then the same call as EVAL on NOSCRIPT, as for history.
#include "core/check.h"
#include "shard/backplane.h"
#include "shard/shard_parts.h"

namespace ringcast::shard {

bool Backplane::SendPresence(size_t instance, PresenceCall& call) {
  uint64_t tag = MakeTag(static_cast<uint8_t>(TagKind::kPresence), ++next_tag_);
  if (!SendScript(instance, call.argv, tag)) return false;
  presence_calls_.emplace(tag, std::move(call));
  return true;
}

bool Backplane::SyncPresence(std::string_view room, std::span<const PresenceMember> members,
                             std::span<const std::string> removed, uint64_t unix_ms) {
  size_t inst = InstanceOf(room);
  if (!instances_[inst].commands->IsUp()) return false;
  presence_unix_ms_ = unix_ms;
  // Standalone Redis runs a script over keys of any partition, so a round's
  // rooms on one instance share calls; a Redis Cluster needs one slot per call.
  const uint32_t group = router_ ? keys_.PartitionOf(room) : 0;
  std::vector<PresenceOut>& outs = presence_out_[{inst, group}];
  outs.push_back(PresenceOut{std::string(room), {}});
  auto add = [&](PresenceMember m) {
    if (outs.back().members.size() == kPresencePerCall) {
      outs.push_back(PresenceOut{std::string(room), {}});  // a large room takes several calls
    }
    outs.back().members.push_back(std::move(m));
  };
  // Users gone first: one gone and back within the round ends present.
  for (const std::string& user : removed) add(PresenceMember{user, 0, ""});
  for (const PresenceMember& m : members) add(m);
  return true;
}

void Backplane::FlushPresence() {
  std::vector<RoomKeys> keys;
  std::vector<PresenceRoomUpdate> updates;
  for (auto& [where, outs] : presence_out_) {
    for (size_t i = 0; i < outs.size();) {
      size_t end = i, users = 0;
      while (end < outs.size() &&
             (end == i || users + outs[end].members.size() <= kPresencePerCall)) {
        users += outs[end].members.size();
        ++end;
      }
      keys.clear();
      updates.clear();
      for (size_t j = i; j < end; ++j) keys.push_back(keys_.Room(outs[j].room));
      PresenceCall call{{}, &presence_.refresh_script(), {}, nullptr, 0};
      for (size_t j = i; j < end; ++j) {
        updates.push_back(PresenceRoomUpdate{&keys[j - i], outs[j].members});
        call.rooms.push_back(std::move(outs[j].room));
      }
      call.argv = presence_.RefreshRooms(updates, node_id_, presence_unix_ms_, presence_ttl_ms_);
      // Not sent (counted): the rooms' next whole refresh, or the entries'
      // expiry, puts Redis right.
      (void)SendPresence(where.first, call);
      i = end;
    }
  }
  presence_out_.clear();
}

void Backplane::ListPresence(std::unique_ptr<PresenceQuery> query, unsigned to, uint32_t limit,
                             uint64_t unix_ms) {
  size_t inst = InstanceOf(query->room);
  if (instances_[inst].commands->IsUp()) {
    std::string room = query->room;
    PresenceCall call{{room},
                      &presence_.list_script(),
                      presence_.List(keys_.Room(room), unix_ms, limit),
                      std::move(query),
                      to};
    if (SendPresence(inst, call)) return;
    query = std::move(call.query);
  }
  parts_->owner().OnPresenceList(std::move(query), to, nullptr);  // `unavailable`
}

void Backplane::OnPresenceReply(uint64_t tag, const redisReply* reply, bool failed) {
  auto it = presence_calls_.find(tag);
  RC_CHECK(it != presence_calls_.end());
  PresenceCall& call = it->second;
  if (RedisScript::IsNoScript(reply)) {
    // Redis forgot the script: the same call as EVAL, same tag.
    call.script->ToEval(&call.argv);
    if (SendScript(InstanceOf(call.rooms.front()), call.argv, tag)) return;
  }
  PresenceCall done = std::move(call);
  presence_calls_.erase(it);
  if (done.query) {
    std::optional<PresenceList> list = failed ? std::nullopt : ClusterPresence::ParseList(reply);
    if (!failed && !list) Bump(stats_->redis_errors);
    parts_->owner().OnPresenceList(std::move(done.query), done.to, list ? &*list : nullptr);
    return;
  }
  // A failed refresh is not retried: the whole refresh every ttl/3 puts the
  // node's members back, and an entry it no longer refreshes expires.
  std::optional<std::vector<PresenceChange>> changes =
      failed ? std::nullopt : ClusterPresence::ParseChanges(reply, done.rooms.size());
  if (!failed && !changes) Bump(stats_->redis_errors);
  if (!changes) return;
  for (size_t i = 0; i < done.rooms.size(); ++i) {
    parts_->owner().OnPresenceChange(done.rooms[i], (*changes)[i]);
  }
}

}  // namespace ringcast::shard
