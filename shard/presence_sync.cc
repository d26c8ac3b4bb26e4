#include "shard/presence_sync.h"

#include <algorithm>

#include "core/check.h"

namespace ringcast::shard {

namespace {

void SortUnique(std::vector<std::string>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace

PresenceSync::PresenceSync(uint64_t ttl_ms) : every_ms_(ttl_ms / 3) { RC_CHECK(every_ms_ > 0); }

PresenceSync::RoomState& PresenceSync::Dirty(std::string_view room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) it = rooms_.try_emplace(std::string(room)).first;
  if (!it->second.dirty) {
    it->second.dirty = true;
    dirty_.push_back(it->first);
  }
  return it->second;
}

void PresenceSync::Changed(std::string_view room, std::string_view user, uint64_t now_ms) {
  RoomState& s = Dirty(room);
  s.changed.emplace_back(user);
  if (s.tracked) return;
  s.tracked = true;
  ++tracked_;
  s.due_ms = now_ms + every_ms_;
  schedule_.emplace_back(std::string(room), s.due_ms);
}

void PresenceSync::Removed(std::string_view room, std::string_view user) {
  Dirty(room).removed.emplace_back(user);
}

void PresenceSync::Untrack(std::string_view room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.tracked) return;
  it->second.tracked = false;
  --tracked_;
  if (!it->second.dirty) rooms_.erase(it);  // its schedule entries find nothing
}

void PresenceSync::Retry(std::string_view room, uint64_t now_ms) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || !it->second.tracked) return;
  it->second.due_ms = now_ms + kRetryMs;  // the regular entry no longer matches
  retry_.emplace_back(std::string(room), it->second.due_ms);
}

std::vector<PresenceSync::Batch> PresenceSync::Take(uint64_t now_ms) {
  std::vector<Batch> out;
  if (now_ms < batch_ms_) return out;
  out.reserve(dirty_.size());
  for (const std::string& room : dirty_) {
    auto it = rooms_.find(room);
    RC_CHECK(it != rooms_.end() && it->second.dirty);
    RoomState& s = it->second;
    Batch b;
    b.room = room;
    b.changed.swap(s.changed);
    b.removed.swap(s.removed);
    SortUnique(&b.changed);
    SortUnique(&b.removed);
    out.push_back(std::move(b));
    s.dirty = false;
    if (!s.tracked) rooms_.erase(it);
  }
  dirty_.clear();
  Earn(now_ms);
  const size_t allowed = std::min(static_cast<size_t>(credit_), kRoomsPerTake);
  size_t budget = allowed;
  TakeDue(retry_, now_ms, &budget, &out);
  TakeDue(schedule_, now_ms, &budget, &out);
  credit_ -= static_cast<double>(allowed - budget);
  if (!out.empty()) batch_ms_ = now_ms + kBatchMs;
  return out;
}

void PresenceSync::Earn(uint64_t now_ms) {
  const uint64_t elapsed = now_ms > credit_ms_ ? now_ms - credit_ms_ : 0;
  credit_ms_ = std::max(credit_ms_, now_ms);
  const double per_ms = 2.0 * static_cast<double>(tracked_) / static_cast<double>(every_ms_);
  const double cap = std::max(kMinCredit, per_ms * static_cast<double>(kCreditMs));
  credit_ = std::min(cap, credit_ + per_ms * static_cast<double>(elapsed));
}

void PresenceSync::TakeDue(Schedule& schedule, uint64_t now_ms, size_t* budget,
                           std::vector<Batch>* out) {
  while (*budget > 0 && !schedule.empty() && schedule.front().second <= now_ms) {
    auto [room, due] = std::move(schedule.front());
    schedule.pop_front();
    auto it = rooms_.find(room);
    if (it == rooms_.end() || !it->second.tracked || it->second.due_ms != due) continue;
    it->second.due_ms = now_ms + every_ms_;
    schedule_.emplace_back(room, it->second.due_ms);
    Batch b;
    b.room = std::move(room);
    b.whole = true;
    out->push_back(std::move(b));
    --*budget;
  }
}

}  // namespace ringcast::shard
