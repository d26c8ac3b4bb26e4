// Users: direct messages and requests between users (docs/protocol.md,
// send / req / res), and disconnecting a user.
//
// Every connection of user U is subscribed to U's personal room "@U", owned
// like any room, whose owner counts U's connections. A `send` is a
// publication to "@U" framed without the room; the owner answers how many
// connections it reached, and `no_such_user` comes back only when U has no
// connection on this node. A `req` is a send whose frame carries a rid
// ("<shard>.<n>" of the requester's shard); the first `res` for that rid
// wins, later ones and answers after the timeout are dropped. Pending sends
// and requests are bounded (Requests). Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/timer_wheel.h"
#include "proto/command.h"
#include "shard/bus_port.h"
#include "shard/local_rooms.h"
#include "shard/requests.h"
#include "shard/sessions.h"

namespace ringcast::shard {

class Users {
 public:
  Users(BusPort* port, Sessions* sessions, LocalRooms* rooms, core::TimerWheel* timers);

  // The commands.
  void Send(Connection& c, uint32_t slot, const proto::Command& cmd);
  void Request(Connection& c, uint32_t slot, const proto::Command& cmd);
  void Respond(Connection& c, uint32_t slot, const proto::Command& cmd);
  // Sends `data` to each user's connections, answering through `ticket` once
  // every owner has answered. False when refused (too much pending).
  [[nodiscard]] bool StartSend(Connection& c, uint32_t slot,
                               const std::vector<std::string_view>& to, std::string_view data,
                               uint32_t ticket, uint32_t request = 0);
  // Every shard closes its connections of `user` with `bye` (1008). New work
  // toward every shard: false (nothing sent) unless the bus admits it to each.
  [[nodiscard]] bool Disconnect(std::string_view user);

  void OnSendAck(const bus::SendAck& ack);
  void OnRes(std::unique_ptr<ResAnswer> answer);
  void OnDisconnect(std::string_view user);
  void OnRequestTimeout(uint32_t request);

 private:
  void FinishSend(const Requests::Send& done);

  BusPort* const port_;
  Sessions* const sessions_;
  LocalRooms* const rooms_;
  core::TimerWheel* const timers_;
  Requests requests_;
  std::string scratch_;
};

}  // namespace ringcast::shard
