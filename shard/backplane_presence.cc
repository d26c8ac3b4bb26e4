// The presence half of a Backplane: the owner's batches of its node's
// members become ClusterPresence's refresh and remove calls (split at
// kPresencePerCall users), whose answers (who joined or left cluster-wide)
// go back to the owner to announce; a presence query is one list call.
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
  const RoomKeys keys = keys_.Room(room);
  bool sent = true;
  // Removes first: a user gone and back within one round ends present.
  for (size_t i = 0; i < removed.size(); i += kPresencePerCall) {
    PresenceCall call{std::string(room), &presence_.remove_script(), {}, nullptr, 0};
    std::span<const std::string> part =
        removed.subspan(i, std::min(kPresencePerCall, removed.size() - i));
    call.argv = presence_.Remove(keys, node_id_, unix_ms, {part.begin(), part.end()});
    sent = SendPresence(inst, call) && sent;
  }
  for (size_t i = 0; i < members.size(); i += kPresencePerCall) {
    PresenceCall call{std::string(room), &presence_.refresh_script(), {}, nullptr, 0};
    call.argv =
        presence_.Refresh(keys, node_id_, unix_ms, presence_ttl_ms_,
                          members.subspan(i, std::min(kPresencePerCall, members.size() - i)));
    sent = SendPresence(inst, call) && sent;
  }
  return sent;
}

void Backplane::ListPresence(std::unique_ptr<PresenceQuery> query, unsigned to, uint32_t limit,
                             uint64_t unix_ms) {
  size_t inst = InstanceOf(query->room);
  if (instances_[inst].commands->IsUp()) {
    std::string room = query->room;
    PresenceCall call{room, &presence_.list_script(),
                      presence_.List(keys_.Room(room), unix_ms, limit), std::move(query), to};
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
    if (SendScript(InstanceOf(call.room), call.argv, tag)) return;
  }
  PresenceCall done = std::move(call);
  presence_calls_.erase(it);
  if (done.query) {
    std::optional<PresenceList> list = failed ? std::nullopt : ClusterPresence::ParseList(reply);
    if (!failed && !list) Bump(stats_->redis_errors);
    parts_->owner().OnPresenceList(std::move(done.query), done.to, list ? &*list : nullptr);
    return;
  }
  // A failed change is not retried: the whole refresh every ttl/3 puts the
  // node's members back, and an entry it no longer refreshes expires.
  std::optional<PresenceChange> change =
      failed ? std::nullopt : ClusterPresence::ParseChange(reply);
  if (!failed && !change) Bump(stats_->redis_errors);
  if (change) parts_->owner().OnPresenceChange(done.room, *change);
}

}  // namespace ringcast::shard
