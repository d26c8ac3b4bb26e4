// Commands: the native protocol over an open WebSocket session
// (docs/protocol.md, Client to server). A text message holds one command per
// line; each costs a token from the connection's bucket (commands_per_second
// refill, command_burst deep); a refused command gets `rate_limited`, and
// refusals that go on past rate_limit_grace_ms close the connection with
// 1008. Each command is parsed (simdjson), authorized (Access) and handed to
// LocalRooms (sub, unsub, pub, presence) or Users (send, req, res). Also
// what happens when a session opens or is freed: the personal room and the
// events room's status events. Shard thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/command.h"
#include "shard/access.h"
#include "shard/local_rooms.h"
#include "shard/sessions.h"
#include "shard/users.h"

namespace ringcast::shard {

class Commands {
 public:
  Commands(const ServerOptions& options, Sessions* sessions, const Access& access,
           LocalRooms* rooms, Users* users, ShardStats* stats, unsigned shard_id);

  // A text message; false once the connection is closing.
  bool OnText(Connection& c, uint32_t slot, std::string_view message);
  void OnOpen(Connection& c, uint32_t slot);
  void OnFree(Connection& c, uint32_t slot);
  // Publishes raw JSON as the server ("$server"), with no answer: the
  // events room's status events.
  void PublishAsServer(std::string_view room, std::string data_json);

 private:
  bool TakeToken(Connection& c);
  void Refuse(Connection& c, uint32_t slot, std::string_view line);
  void Execute(Connection& c, uint32_t slot, const proto::Command& cmd);
  void Subscribe(Connection& c, uint32_t slot, const proto::Command& cmd);
  void Publish(Connection& c, uint32_t slot, const proto::Command& cmd);
  void Presence(Connection& c, uint32_t slot, const proto::Command& cmd);
  void AnnounceStatus(Connection& c, uint32_t slot, bool open);

  const ServerOptions& options_;
  Sessions* const sessions_;
  const Access& access_;
  LocalRooms* const rooms_;
  Users* const users_;
  ShardStats* const stats_;
  const unsigned shard_id_;
  proto::CommandParser parser_;
  proto::Command command_;  // reused: Parse resets it, its vectors keep their memory
  std::string scratch_;
};

}  // namespace ringcast::shard
