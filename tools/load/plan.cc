#include "tools/load/plan.h"

namespace ringcast::load {

Plan::Plan(const LoadOptions& options) : o_(options) {}

std::vector<ConnSpec> Plan::ConnsFor(uint32_t proc, uint32_t procs, uint32_t thread,
                                     uint32_t threads) const {
  std::vector<ConnSpec> out;
  if (o_.scenario == Scenario::kChurn) return out;
  const uint64_t total = o_.planned_connections();
  for (uint64_t g = proc; g < total; g += procs) {
    if ((g / procs) % threads != thread) continue;
    ConnSpec c;
    c.global_id = static_cast<uint32_t>(g);
    switch (o_.scenario) {
      case Scenario::kFanout:
        if (g < o_.subs) {
          c.role = Role::kSubscriber;
          c.room = static_cast<uint32_t>(g % o_.rooms);
        } else {
          c.role = Role::kPublisher;
          c.pub_id = static_cast<uint32_t>(g - o_.subs);
          c.room = c.pub_id % o_.rooms;
        }
        break;
      case Scenario::kDirect:
        c.role = Role::kUser;
        c.pub_id = c.global_id;
        break;
      case Scenario::kIdle:
      case Scenario::kChurn:
        c.role = Role::kIdle;
        break;
    }
    out.push_back(c);
  }
  return out;
}

uint32_t Plan::PubsInRoom(uint32_t room) const {
  return o_.pubs > room ? (o_.pubs - room - 1) / o_.rooms + 1 : 0;
}

uint32_t Plan::SubsInRoom(uint32_t room) const {
  return o_.subs > room ? (o_.subs - room - 1) / o_.rooms + 1 : 0;
}

uint64_t Plan::ReceiversPerMessage(const ConnSpec& publisher) const {
  if (publisher.role == Role::kUser) return 1;
  if (publisher.role != Role::kPublisher) return 0;
  return uint64_t{SubsInRoom(publisher.room)} + (o_.closed_loop() ? PubsInRoom(publisher.room) : 0);
}

bool Plan::Subscribes(const ConnSpec& spec) const {
  return spec.role == Role::kSubscriber || (spec.role == Role::kPublisher && o_.closed_loop());
}

uint32_t Plan::TrackedSenders(const ConnSpec& spec) const {
  if (spec.role == Role::kUser) return 1;
  return Subscribes(spec) ? PubsInRoom(spec.room) : 0;
}

int Plan::TrackSlot(const ConnSpec& spec, uint32_t pub_id) const {
  if (spec.role == Role::kUser) {
    return pub_id == (spec.global_id + o_.conns - 1) % o_.conns ? 0 : -1;
  }
  if (!Subscribes(spec) || pub_id >= o_.pubs || pub_id % o_.rooms != spec.room) return -1;
  return static_cast<int>(pub_id / o_.rooms);
}

double Plan::RatePerSender() const {
  if (o_.closed_loop()) return 0;
  switch (o_.scenario) {
    case Scenario::kFanout:
      return o_.rate / o_.pubs;
    case Scenario::kDirect:
      return o_.rate / o_.conns;
    default:
      return 0;
  }
}

double Plan::DemandedMessagesPerS() const {
  if (o_.closed_loop()) return 0;
  if (o_.scenario == Scenario::kFanout || o_.scenario == Scenario::kDirect ||
      o_.scenario == Scenario::kChurn) {
    return o_.rate;
  }
  return 0;
}

double Plan::DemandedDeliveriesPerS() const {
  if (o_.closed_loop()) return 0;
  switch (o_.scenario) {
    case Scenario::kFanout: {
      double sum = 0;
      for (uint32_t j = 0; j < o_.pubs; ++j) sum += SubsInRoom(j % o_.rooms);
      return sum * RatePerSender();
    }
    case Scenario::kDirect:
    case Scenario::kChurn:
      return o_.rate;
    case Scenario::kIdle:
      return 0;
  }
  return 0;
}

}  // namespace ringcast::load
