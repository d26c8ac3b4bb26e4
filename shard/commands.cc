#include "shard/commands.h"

#include <algorithm>

#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/replies.h"

namespace ringcast::shard {

Commands::Commands(const ServerOptions& options, Sessions* sessions, const Access& access,
                   LocalRooms* rooms, Users* users, ShardStats* stats, unsigned shard_id)
    : options_(options),
      sessions_(sessions),
      access_(access),
      rooms_(rooms),
      users_(users),
      stats_(stats),
      shard_id_(shard_id) {}

bool Commands::OnText(Connection& c, uint32_t slot, std::string_view message) {
  proto::ForEachCommandLine(message, [&](std::string_view line) -> bool {
    Bump(stats_->messages_in);
    if (!TakeToken(c)) {
      Refuse(c, slot, line);
    } else if (std::optional<proto::ParseError> err = parser_.Parse(line, &command_)) {
      ReplyError(*sessions_, c, slot, err->id, err->code, err->reason);
    } else {
      Execute(c, slot, command_);
    }
    return c.state == ConnState::kOpen;  // a command may have closed it
  });
  return c.state == ConnState::kOpen;
}

// Token bucket per connection: commands_per_second refill, command_burst deep.
bool Commands::TakeToken(Connection& c) {
  if (options_.commands_per_second == 0) return true;
  uint64_t now_ms = sessions_->now_ms();
  uint64_t cap = uint64_t{options_.command_burst} * 1000;
  if (now_ms > c.refill_ms) {
    c.tokens_milli = std::min(
        cap, c.tokens_milli + (now_ms - c.refill_ms) * uint64_t{options_.commands_per_second});
    c.refill_ms = now_ms;
  }
  // Abuse ends only once the client has backed off long enough to refill the
  // whole burst; a flood that lets the odd command through still counts.
  if (c.tokens_milli == cap) c.limited_since_ms = 0;
  if (c.tokens_milli < 1000) return false;
  c.tokens_milli -= 1000;
  return true;
}

// A refused command gets `rate_limited`; refusals that go on for longer than
// the grace period (without a full refill in between) close with 1008.
void Commands::Refuse(Connection& c, uint32_t slot, std::string_view line) {
  Bump(stats_->rate_limited);
  uint64_t now_ms = sessions_->now_ms();
  if (c.limited_since_ms == 0) c.limited_since_ms = now_ms;
  if (now_ms - c.limited_since_ms > options_.rate_limit_grace_ms) {
    Bump(stats_->rate_limit_closes);
    sessions_->CloseWith(c, slot, wire::CloseValue(wire::CloseCode::kPolicy),
                         "rate limit exceeded");
    return;
  }
  std::optional<uint64_t> id;
  if (std::optional<proto::ParseError> err = parser_.Parse(line, &command_)) {
    id = err->id;
  } else {
    id = command_.id;
  }
  ReplyError(
      *sessions_, c, slot, id, wire::ErrorCode::kRateLimited,
      "too many commands: at most " + std::to_string(options_.commands_per_second) + " per second");
}

void Commands::Execute(Connection& c, uint32_t slot, const proto::Command& cmd) {
  switch (cmd.op) {
    case proto::Op::kSub:
      return Subscribe(c, slot, cmd);
    case proto::Op::kUnsub:
      return rooms_->Unsubscribe(c, slot, cmd);
    case proto::Op::kPub:
      return Publish(c, slot, cmd);
    case proto::Op::kPing:
      scratch_.clear();
      proto::WritePong(&scratch_, cmd.id);
      return sessions_->Reply(c, slot, sessions_->BuildText(scratch_));
    case proto::Op::kSend:
      return users_->Send(c, slot, cmd);
    case proto::Op::kReq:
      return users_->Request(c, slot, cmd);
    case proto::Op::kRes:
      return users_->Respond(c, slot, cmd);
    case proto::Op::kPresence:
      return Presence(c, slot, cmd);
  }
}

void Commands::Subscribe(Connection& c, uint32_t slot, const proto::Command& cmd) {
  if (!access_.MaySubscribe(c, cmd.room)) {
    return ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
                      "not allowed to subscribe to '" + std::string(cmd.room) + "'");
  }
  if (cmd.presence && !access_.TracksPresence(cmd.room)) {
    return ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
                      "presence is not enabled for this room's namespace");
  }
  rooms_->Subscribe(c, slot, cmd);
}

void Commands::Publish(Connection& c, uint32_t slot, const proto::Command& cmd) {
  if (!access_.MayPublish(c, cmd.room)) {
    return ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
                      "not allowed to publish to '" + std::string(cmd.room) + "'");
  }
  auto req = std::make_unique<PubRequest>();
  req->room = cmd.room;
  req->from = c.user;
  req->data = cmd.data;
  req->conn = sessions_->HandleOf(slot);
  req->origin = static_cast<uint8_t>(shard_id_);
  req->echo = cmd.echo;
  uint32_t ticket = cmd.id ? sessions_->ReserveTicket(c, cmd.id) : 0;
  req->ticket = ticket;
  c.published = true;
  if (rooms_->Publish(std::move(req))) return;
  constexpr std::string_view kBusy = "server busy: the room's shard is backlogged, retry later";
  if (ticket != 0) {
    CompleteError(*sessions_, c, slot, ticket, wire::ErrorCode::kRateLimited, kBusy);
  } else {
    ReplyError(*sessions_, c, slot, std::nullopt, wire::ErrorCode::kRateLimited, kBusy);
  }
}

void Commands::Presence(Connection& c, uint32_t slot, const proto::Command& cmd) {
  if (!access_.MaySubscribe(c, cmd.room) || !access_.TracksPresence(cmd.room)) {
    return ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
                      "presence is not available for '" + std::string(cmd.room) + "'");
  }
  if (!cmd.id) return;  // nothing to answer into
  if (std::optional<std::string_view> refusal = rooms_->PresenceRefusal(c, cmd.room)) {
    return ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kRateLimited, *refusal);
  }
  rooms_->AskPresence(c, slot, cmd.room, sessions_->ReserveTicket(c, cmd.id));
}

void Commands::OnOpen(Connection& c, uint32_t slot) {
  if (!c.is_server) rooms_->JoinPersonalRoom(c, slot);
  AnnounceStatus(c, slot, true);
}

void Commands::OnFree(Connection& c, uint32_t slot) {
  rooms_->LeaveAll(c);
  users_->OnFree(sessions_->HandleOf(slot));
  AnnounceStatus(c, slot, false);
}

// {"status":1|0,"user":...,"sid":...} into the events room, when configured.
void Commands::AnnounceStatus(Connection& c, uint32_t slot, bool open) {
  if (options_.events_room.empty() || c.is_server) return;
  if (open == c.announced) return;  // each connection: one 1, then one 0
  c.announced = open;
  std::string data;
  proto::JsonWriter w(&data);
  w.BeginObject();
  w.Field("status", open ? 1 : 0);
  w.Field("user", c.user);
  w.Field("sid", sessions_->SidOf(slot));
  w.EndObject();
  w.Flush();
  PublishAsServer(options_.events_room, std::move(data));
}

void Commands::PublishAsServer(std::string_view room, std::string data_json) {
  auto req = std::make_unique<PubRequest>();
  req->room = room;
  req->from = "$server";
  req->data = std::move(data_json);
  req->origin = static_cast<uint8_t>(shard_id_);
  rooms_->PublishAlways(std::move(req));
}

}  // namespace ringcast::shard
