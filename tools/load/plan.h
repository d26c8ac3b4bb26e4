// Plan: who does what in a scenario, computed from the options alone so every process and
// thread derives the same answer without talking to the others. Connections have global ids;
// global id g belongs to process g % procs and, within it, to thread (g / procs) % threads.
//
// fanout: ids 0..S-1 are subscribers (subscriber s joins room s % R); ids S..S+P-1 are
//   publishers j = id - S. With P >= R (or in closed loop) publisher j publishes to room j % R
//   (in closed loop it also subscribes there), and a receiver in room r tracks the publishers
//   of r by slot j / R. With fewer publishers than rooms (paced), publisher j takes turns over
//   rooms j, j+P, j+2P, ... < R, so every room gets traffic, each room has exactly one
//   publisher, and its messages carry the room as their stream id with a sequence of their own.
// direct: ids 0..N-1 are users "u<id>"; user i sends to user (i+1) % N, so receiver i tracks
//   exactly one sender, (i-1) % N, in slot 0.
// idle: N plain connections. churn: no fixed connections; each worker runs cycles at its share.
//
// Nodes (several --url): every connection dials one node, named by its index in
// LoadOptions::nodes and decided here, so every process agrees (NodeOf says exactly how).
// Immutable after construction; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/load/options.h"

namespace ringcast::load {

enum class Role : uint8_t { kSubscriber, kPublisher, kUser, kIdle, kChurn };

struct ConnSpec {
  uint32_t global_id = 0;
  Role role = Role::kIdle;
  uint32_t room = 0;    // subscribers: the room; publishers: the first room they publish to
  uint32_t pub_id = 0;  // publisher index (publishers) or user id (direct users)
  uint32_t node = 0;    // index into LoadOptions::nodes of the node it dials
};

// What one node is planned to carry (for the report).
struct NodeShare {
  uint64_t connections = 0;
  uint64_t subscribers = 0;
  uint64_t publishers = 0;
};

class Plan {
 public:
  explicit Plan(const LoadOptions& options);

  std::vector<ConnSpec> ConnsFor(uint32_t proc, uint32_t procs, uint32_t thread,
                                 uint32_t threads) const;
  // The node a connection dials (set in every ConnSpec ConnsFor returns; churn workers ask
  // for each cycle's connection):
  //   --spread conn: subscriber s (member m = s / R of room r = s % R) dials sub node
  //     (r + m) % K, so a room's subscribers go round the nodes, each room starting one further;
  //     publisher j dials pub node j % K; users, idle and churn connections g dial node g % K.
  //   --spread room: every connection of room r dials node RoomNode(r).
  // K is the number of nodes in the role's list (--sub-nodes, --pub-nodes, or all of them).
  uint32_t NodeOf(const ConnSpec& spec) const;
  // --spread room: the node of room r. With publishers taking turns, room r is publisher
  // r % P's, so that publisher's rooms share a node: (r % P) % N; otherwise r % N.
  uint32_t RoomNode(uint32_t room) const;
  // Connections each node is planned to carry (fanout, direct, idle; churn: all zero).
  std::vector<NodeShare> NodeShares() const;

  // Paced fanout with more rooms than publishers: each publisher takes turns over its rooms,
  // and each room's messages form their own stream.
  bool PublishersTakeTurns() const;
  // The rooms a publisher takes turns over (one unless rooms outnumber paced publishers).
  std::vector<uint32_t> PublisherRooms(const ConnSpec& publisher) const;
  // The stream id a publisher's message to `room` carries in its payload (what receivers track).
  uint32_t StreamId(const ConnSpec& publisher, uint32_t room) const;
  // Connections that receive a message `publisher` sends to `room` (expected deliveries).
  uint64_t ReceiversPerMessage(const ConnSpec& publisher, uint32_t room) const;
  // Whether this connection subscribes (and so tracks senders).
  bool Subscribes(const ConnSpec& spec) const;
  // Streams a receiver tracks, and the slot of `stream` among them (-1: not one of its own).
  uint32_t TrackedSenders(const ConnSpec& spec) const;
  int TrackSlot(const ConnSpec& spec, uint32_t stream) const;

  std::string RoomName(uint32_t room) const { return "room-" + std::to_string(room); }
  std::string UserName(uint32_t global_id) const { return "u" + std::to_string(global_id); }
  // Payload sender rate of one publisher (msgs/s); 0 in closed loop.
  double RatePerSender() const;
  // Messages per second the scenario asks for, and deliveries per second that implies.
  double DemandedMessagesPerS() const;
  double DemandedDeliveriesPerS() const;

 private:
  ConnSpec SpecOf(uint64_t global_id) const;
  uint32_t PubsInRoom(uint32_t room) const;
  uint32_t SubsInRoom(uint32_t room) const;

  LoadOptions o_;
};

}  // namespace ringcast::load
