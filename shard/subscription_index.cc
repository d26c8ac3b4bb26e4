#include "shard/subscription_index.h"

namespace ringcast::shard {

LocalRoom* SubscriptionIndex::Find(std::string_view room) {
  auto it = local_.find(room);
  return it == local_.end() ? nullptr : &it->second;
}

LocalRoom* SubscriptionIndex::FindOrCreate(std::string_view room, bool* created) {
  auto it = local_.find(room);
  *created = it == local_.end();
  if (*created) {
    it = local_.try_emplace(core::BoxedString(room)).first;
    it->second.name = it->first;  // the key's block never moves
  }
  return &it->second;
}

void SubscriptionIndex::Add(LocalRoom* room, uint32_t slot, SubRefs* subs, bool presence) {
  room->subs.push_back(Subscriber{slot, static_cast<uint32_t>(subs->size()), presence});
  if (presence) ++room->presence_subs;
  subs->push_back(SubRef{room, static_cast<uint32_t>(room->subs.size() - 1)});
}

int SubscriptionIndex::IndexOf(const SubRefs& subs, const LocalRoom* room) {
  for (size_t i = 0; i < subs.size(); ++i) {
    if (subs[i].room == room) return static_cast<int>(i);
  }
  return -1;
}

void SubscriptionIndex::Erase(LocalRoom* room) { local_.erase(local_.find(room->name)); }

}  // namespace ringcast::shard
