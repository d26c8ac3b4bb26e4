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
    out.push_back(SpecOf(g));
  }
  return out;
}

ConnSpec Plan::SpecOf(uint64_t g) const {
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
  c.node = NodeOf(c);
  return c;
}

uint32_t Plan::RoomNode(uint32_t room) const {
  const uint32_t nodes = static_cast<uint32_t>(o_.nodes.size());
  if (nodes <= 1) return 0;
  return (PublishersTakeTurns() ? room % o_.pubs : room) % nodes;
}

uint32_t Plan::NodeOf(const ConnSpec& spec) const {
  const uint32_t nodes = static_cast<uint32_t>(o_.nodes.size());
  if (nodes <= 1) return 0;
  if (o_.spread == Spread::kRoom &&
      (spec.role == Role::kSubscriber || spec.role == Role::kPublisher)) {
    return RoomNode(spec.room);
  }
  // One of the role's own nodes, or any node when the role has no list.
  auto pick = [nodes](const std::vector<uint32_t>& list, uint64_t i) {
    return list.empty() ? static_cast<uint32_t>(i % nodes) : list[i % list.size()];
  };
  switch (spec.role) {
    case Role::kSubscriber:
      return pick(o_.sub_nodes, uint64_t{spec.room} + spec.global_id / o_.rooms);
    case Role::kPublisher:
      return pick(o_.pub_nodes, spec.pub_id);
    default:
      return static_cast<uint32_t>(spec.global_id % nodes);
  }
}

std::vector<NodeShare> Plan::NodeShares() const {
  std::vector<NodeShare> shares(o_.nodes.empty() ? 1 : o_.nodes.size());
  if (o_.scenario == Scenario::kChurn) return shares;
  const uint64_t total = o_.planned_connections();
  for (uint64_t g = 0; g < total; ++g) {
    const ConnSpec c = SpecOf(g);
    NodeShare& s = shares[c.node];
    ++s.connections;
    if (c.role == Role::kSubscriber) ++s.subscribers;
    if (c.role == Role::kPublisher) ++s.publishers;
  }
  return shares;
}

bool Plan::PublishersTakeTurns() const {
  return o_.scenario == Scenario::kFanout && !o_.closed_loop() && o_.pubs < o_.rooms;
}

uint32_t Plan::PubsInRoom(uint32_t room) const {
  if (PublishersTakeTurns()) return 1;  // room r is publisher r % P's
  return o_.pubs > room ? (o_.pubs - room - 1) / o_.rooms + 1 : 0;
}

std::vector<uint32_t> Plan::PublisherRooms(const ConnSpec& publisher) const {
  if (publisher.role != Role::kPublisher) return {};
  if (!PublishersTakeTurns()) return {publisher.room};
  std::vector<uint32_t> rooms;
  for (uint32_t r = publisher.pub_id; r < o_.rooms; r += o_.pubs) rooms.push_back(r);
  return rooms;
}

uint32_t Plan::StreamId(const ConnSpec& publisher, uint32_t room) const {
  return PublishersTakeTurns() ? room : publisher.pub_id;
}

uint32_t Plan::SubsInRoom(uint32_t room) const {
  return o_.subs > room ? (o_.subs - room - 1) / o_.rooms + 1 : 0;
}

uint64_t Plan::ReceiversPerMessage(const ConnSpec& publisher, uint32_t room) const {
  if (publisher.role == Role::kUser) return 1;
  if (publisher.role != Role::kPublisher) return 0;
  return uint64_t{SubsInRoom(room)} + (o_.closed_loop() ? PubsInRoom(room) : 0);
}

bool Plan::Subscribes(const ConnSpec& spec) const {
  return spec.role == Role::kSubscriber || (spec.role == Role::kPublisher && o_.closed_loop());
}

uint32_t Plan::TrackedSenders(const ConnSpec& spec) const {
  if (spec.role == Role::kUser) return 1;
  return Subscribes(spec) ? PubsInRoom(spec.room) : 0;
}

int Plan::TrackSlot(const ConnSpec& spec, uint32_t stream) const {
  if (spec.role == Role::kUser) {
    return stream == (spec.global_id + o_.conns - 1) % o_.conns ? 0 : -1;
  }
  if (!Subscribes(spec)) return -1;
  if (PublishersTakeTurns()) return stream == spec.room ? 0 : -1;
  if (stream >= o_.pubs || stream % o_.rooms != spec.room) return -1;
  return static_cast<int>(stream / o_.rooms);
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
      // Each publisher spreads its rate evenly over its rooms.
      double sum = 0;
      for (uint32_t j = 0; j < o_.pubs; ++j) {
        ConnSpec p{o_.subs + j, Role::kPublisher, j % o_.rooms, j};
        std::vector<uint32_t> rooms = PublisherRooms(p);
        double subs = 0;
        for (uint32_t r : rooms) subs += SubsInRoom(r);
        sum += subs / static_cast<double>(rooms.size());
      }
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
