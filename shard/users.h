// Users: direct messages and requests between users (docs/protocol.md,
// send / req / res), and disconnecting a user.
//
// Every connection of user U is subscribed to U's personal room "@U", owned
// like any room, whose owner counts U's connections. A `send` is a
// publication to "@U" framed without the room, once per distinct target
// (a user named twice is sent to once); the owner answers how many
// connections it reached, and `no_such_user` comes back only when U has no
// connection on this node. A `req` is a send whose frame carries a rid
// (shard/rid.h: the requester's shard, the request's number and a random
// tag); the responder's shard routes a `res` back by it, and the requester's
// shard takes the first `res` from the user the request was sent to with the
// right tag, refuses one from anyone else (not_allowed), and drops later
// ones. Pending sends and requests are bounded per connection, per user and
// per shard (Requests). Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/secure_random.h"
#include "core/timer_wheel.h"
#include "proto/command.h"
#include "shard/bus_port.h"
#include "shard/cluster_port.h"
#include "shard/local_rooms.h"
#include "shard/requests.h"
#include "shard/rid.h"
#include "shard/server.h"
#include "shard/sessions.h"

namespace ringcast::shard {

// The bounds of the Requests table that the server's options set.
RequestLimits RequestLimitsOf(const ServerOptions& options);

class Users {
 public:
  Users(BusPort* port, Sessions* sessions, LocalRooms* rooms, core::TimerWheel* timers,
        RequestLimits limits = {});

  // Cluster mode: rids name this node, answers and disconnects cross nodes.
  void SetCluster(ClusterPort* cluster) { cluster_ = cluster; }

  // The commands.
  void Send(Connection& c, uint32_t slot, const proto::Command& cmd);
  void Request(Connection& c, uint32_t slot, const proto::Command& cmd);
  void Respond(Connection& c, uint32_t slot, const proto::Command& cmd);
  // Sends `data` to each distinct user's connections, answering through
  // `ticket` once every owner has answered. PendingBound::kNone when started;
  // otherwise the bound that refused it, and nothing was sent.
  [[nodiscard]] PendingBound StartSend(Connection& c, uint32_t slot,
                                       const std::vector<std::string_view>& to,
                                       std::string_view data, uint32_t ticket);
  // Why StartSend refused, for the error's reason.
  static std::string_view SendRefusalReason(PendingBound refusal);
  // Every shard closes its connections of `user` with `bye` (1008). New work
  // toward every shard: false (nothing sent) unless the bus admits it to each.
  [[nodiscard]] bool Disconnect(std::string_view user);

  void OnSendAck(const bus::SendAck& ack);
  void OnRes(std::unique_ptr<ResAnswer> answer);
  void OnResAck(const bus::ResAck& ack);
  // A connection is being freed: its pending requests go with it.
  void OnFree(core::SlabHandle conn);
  void OnDisconnect(std::string_view user);
  void OnRequestTimeout(uint32_t request);
  // Whether request `number` still waits (its timeout timer still matters).
  bool RequestPending(uint32_t number) const { return requests_.HasRequest(number); }

 private:
  // StartSend, for a `req` too: then the frame carries `rid`.
  PendingBound Route(Connection& c, uint32_t slot, const std::vector<std::string_view>& to,
                     std::string_view data, uint32_t ticket, const Rid* rid);
  void FinishSend(const Requests::Send& done);
  std::string RequestRefusalReason(PendingBound refusal) const;

  BusPort* const port_;
  ClusterPort* cluster_ = nullptr;
  Sessions* const sessions_;
  LocalRooms* const rooms_;
  core::TimerWheel* const timers_;
  Requests requests_;
  core::SecureRandom random_;              // rid tags
  std::vector<std::string_view> targets_;  // Route's distinct targets, reused
  std::string scratch_;
};

}  // namespace ringcast::shard
