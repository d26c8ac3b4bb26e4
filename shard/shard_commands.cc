// The native protocol's commands (PROTOCOL.md) and ordered replies.
#include <algorithm>

#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {
constexpr size_t kMaxOverflowMessages = 1 << 16;  // per target shard, then publishers get errors
}  // namespace

bool Shard::OnText(Connection& c, uint32_t slot, std::string_view message) {
  proto::ForEachCommandLine(message, [&](std::string_view line) -> bool {
    Bump(stats_.messages_in);
    if (!TakeCommandToken(c)) {
      RefuseCommand(c, slot, line);
      return c.state == ConnState::kOpen;
    }
    if (std::optional<proto::ParseError> err = parser_.Parse(line, &command_)) {
      ReplyError(c, slot, err->id, err->code, err->reason);
    } else {
      Execute(c, slot, command_);
    }
    return c.state == ConnState::kOpen;  // a command may have closed it
  });
  return c.state == ConnState::kOpen;
}

// Token bucket per connection: commands_per_second refill, command_burst deep.
bool Shard::TakeCommandToken(Connection& c) {
  if (options_.commands_per_second == 0) return true;
  uint64_t cap = uint64_t{options_.command_burst} * 1000;
  if (now_ms_ > c.refill_ms) {
    c.tokens_milli = std::min(cap, c.tokens_milli + (now_ms_ - c.refill_ms) *
                                                       uint64_t{options_.commands_per_second});
    c.refill_ms = now_ms_;
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
void Shard::RefuseCommand(Connection& c, uint32_t slot, std::string_view line) {
  Bump(stats_.rate_limited);
  if (c.limited_since_ms == 0) c.limited_since_ms = now_ms_;
  if (now_ms_ - c.limited_since_ms > options_.rate_limit_grace_ms) {
    Bump(stats_.rate_limit_closes);
    CloseWith(c, slot, 1008, "rate limit exceeded");
    return;
  }
  std::optional<uint64_t> id;
  if (std::optional<proto::ParseError> err = parser_.Parse(line, &command_)) {
    id = err->id;
  } else {
    id = command_.id;
  }
  ReplyError(c, slot, id, wire::ErrorCode::kRateLimited,
             "too many commands: at most " + std::to_string(options_.commands_per_second) +
                 " per second");
}

void Shard::Execute(Connection& c, uint32_t slot, const proto::Command& cmd) {
  switch (cmd.op) {
    case proto::Op::kSub:
      DoSub(c, slot, cmd);
      return;
    case proto::Op::kUnsub:
      DoUnsub(c, slot, cmd);
      return;
    case proto::Op::kPub:
      DoPub(c, slot, cmd);
      return;
    case proto::Op::kPing:
      scratch_.clear();
      proto::WritePong(&scratch_, cmd.id);
      Reply(c, slot, BuildText(scratch_));
      return;
    case proto::Op::kSend:
      DoSend(c, slot, cmd);
      return;
    case proto::Op::kReq:
      DoReq(c, slot, cmd);
      return;
    case proto::Op::kRes:
      DoRes(c, slot, cmd);
      return;
    case proto::Op::kPresence:
      DoPresence(c, slot, cmd);
      return;
  }
}

void Shard::DoSub(Connection& c, uint32_t slot, const proto::Command& cmd) {
  if (!MaySubscribe(c, cmd.room)) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
               "not allowed to subscribe to '" + std::string(cmd.room) + "'");
    return;
  }
  if (cmd.presence && !NamespaceOf(cmd.room).presence) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
               "presence is not enabled for this room's namespace");
    return;
  }
  bool created = false;
  LocalRoom* room = index_.FindOrCreate(cmd.room, &created);
  bool history = NamespaceOf(cmd.room).history_size > 0;
  bool already = !created && SubscriptionIndex::IndexOf(c.subs, room) >= 0;
  if (already && !history) {
    // Idempotent, but `ok` still waits for the owner.
    if (room->joined) {
      ReplyOk(c, slot, cmd.id);
    } else if (cmd.id) {
      room->pending.push_back(PendingAck{conns_.HandleOf(slot), ReserveTicket(c, cmd.id)});
    }
    return;
  }
  // The personal room does not count against the limit.
  size_t limit = options_.max_subscriptions_per_connection + (c.is_server ? 0 : 1);
  if (!already && c.subs.size() >= limit) {
    if (created) index_.Erase(room);
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kLimit,
               "too many subscriptions: at most " +
                   std::to_string(options_.max_subscriptions_per_connection) + " per connection");
    return;
  }
  auto req = std::make_unique<JoinRequest>();
  req->room = cmd.room;
  req->room_join = created;
  if (created) room->join_epoch = ++join_epoch_;
  if (history) {
    // The owner answers this subscriber itself (seq, epoch, replay); it joins
    // the local room when that answer arrives (FinishJoin).
    req->has_conn = true;
    req->presence = cmd.presence;
    req->conn = conns_.HandleOf(slot);
    if (cmd.id) req->ticket = ReserveTicket(c, cmd.id);
    if (cmd.since && !already) {  // live messages already flow: no replay on top
      req->since_seq = cmd.since->seq;
      req->since_epoch = cmd.since->epoch;
    }
    room->joining.push_back(conns_.HandleOf(slot));
  } else {
    index_.Add(room, slot, &c.subs, cmd.presence);
    if (room->joined) {
      ReplyOk(c, slot, cmd.id);
    } else if (cmd.id) {
      // `ok` only once the owner has recorded us: no later publication can miss.
      room->pending.push_back(PendingAck{conns_.HandleOf(slot), ReserveTicket(c, cmd.id)});
    }
    if (!created) {  // the room's join is already on its way, ahead of this
      if (TracksPresence(room->name)) SendPresenceDelta(c, room->name, +1);
      return;
    }
  }
  std::string name(room->name);  // FinishJoin may erase the room
  SendJoin(std::move(req), room->join_epoch);
  // History rooms count the subscriber when it joins (FinishJoin); others now,
  // behind the room's join on the same ring.
  if (!history && TracksPresence(name)) SendPresenceDelta(c, name, +1);
}

void Shard::DoUnsub(Connection& c, uint32_t slot, const proto::Command& cmd) {
  LocalRoom* room = index_.Find(cmd.room);
  int i = room == nullptr ? -1 : SubscriptionIndex::IndexOf(c.subs, room);
  if (i >= 0) Unsubscribe(c, slot, static_cast<uint32_t>(i));
  if (room != nullptr && i < 0) {  // a history sub still waiting for its owner: cancel it
    auto& joining = room->joining;
    auto it = std::find(joining.begin(), joining.end(), conns_.HandleOf(slot));
    if (it != joining.end()) joining.erase(it);
  }
  ReplyOk(c, slot, cmd.id);  // unsubscribing from a room one is not in is not an error
}

void Shard::Unsubscribe(Connection& c, uint32_t /*slot*/, uint32_t sub_index) {
  LocalRoom* room = c.subs[sub_index].room;
  if (TracksPresence(room->name)) SendPresenceDelta(c, room->name, -1);
  bool empty = index_.Remove(&c.subs, sub_index,
                             [&](uint32_t other) -> std::vector<SubRef>& {
                               return conns_.At(other).subs;
                             });
  // A user's own connections count at the owner; a server's sub to '@u' does not.
  bool personal = room->name.front() == '@' && !c.is_server;
  if (personal || empty) LeaveRoom(room, personal, empty);
  if (empty) index_.Erase(room);
}

void Shard::DoPub(Connection& c, uint32_t slot, const proto::Command& cmd) {
  if (!MayPublish(c, cmd.room)) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
               "not allowed to publish to '" + std::string(cmd.room) + "'");
    return;
  }
  unsigned owner = OwnerOf(cmd.room);
  if (owner != id_ && overflow_[owner].size() >= kMaxOverflowMessages) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kRateLimited,
               "server busy: the room's shard is backlogged, retry later");
    return;
  }
  c.published = true;
  auto req = std::make_unique<PubRequest>();
  req->room = cmd.room;
  req->from = c.user;
  req->data = cmd.data;
  req->conn = conns_.HandleOf(slot);
  req->origin = static_cast<uint8_t>(id_);
  req->echo = cmd.echo;
  if (cmd.id) req->ticket = ReserveTicket(c, cmd.id);
  RoutePublish(std::move(req));
}

// Publishes data_json into `room` as the server (from "$server"): status
// events, and later the HTTP API.
void Shard::PublishAsServer(std::string_view room, std::string data_json) {
  auto req = std::make_unique<PubRequest>();
  req->room = room;
  req->from = "$server";
  req->data = std::move(data_json);
  req->origin = static_cast<uint8_t>(id_);
  RoutePublish(std::move(req));
}

// {"status":1|0,"user":...,"sid":...} into the events room, when configured.
void Shard::AnnounceStatus(Connection& c, uint32_t slot, bool open) {
  if (options_.events_room.empty() || c.is_server) return;
  if (open == c.announced) return;  // each connection: one 1, then one 0
  c.announced = open;
  std::string data;
  proto::JsonWriter w(&data);
  w.BeginObject();
  w.Field("status", open ? 1 : 0);
  w.Field("user", c.user);
  w.Field("sid", SidOf(slot));
  w.EndObject();
  w.Flush();
  PublishAsServer(options_.events_room, std::move(data));
}

void Shard::ReplyOk(Connection& c, uint32_t slot, std::optional<uint64_t> id) {
  if (!id) return;
  scratch_.clear();
  proto::WriteOk(&scratch_, id);
  Reply(c, slot, BuildText(scratch_));
}

void Shard::ReplyError(Connection& c, uint32_t slot, std::optional<uint64_t> id,
                       wire::ErrorCode code, std::string_view reason) {
  scratch_.clear();
  proto::WriteError(&scratch_, id, code, reason);
  Reply(c, slot, BuildText(scratch_));
}

// Replies go out in command order: while an earlier reply waits for another
// shard, later ones wait behind it.
void Shard::Reply(Connection& c, uint32_t slot, core::SharedFrame* frame) {
  if (!c.parked || c.parked->waiting.empty()) {
    Enqueue(c, slot, frame);
    return;
  }
  c.parked->waiting.push_back(ParkedReply{c.parked->next_ticket++, std::nullopt, frame});
}

uint32_t Shard::ReserveTicket(Connection& c, std::optional<uint64_t> id) {
  if (!c.parked) c.parked = std::make_unique<ParkedReplies>();
  uint32_t ticket = c.parked->next_ticket++;
  if (c.parked->next_ticket == 0) c.parked->next_ticket = 1;  // 0 means "no reply"
  c.parked->waiting.push_back(ParkedReply{ticket, id, nullptr});
  return ticket;
}

std::optional<uint64_t> Shard::TicketId(const Connection& c, uint32_t ticket) const {
  RC_CHECK(c.parked);
  for (const ParkedReply& p : c.parked->waiting) {
    if (p.ticket == ticket) return p.id;
  }
  RC_CHECK(false && "unknown reply ticket");
  return std::nullopt;
}

void Shard::CompleteOk(Connection& c, uint32_t slot, uint32_t ticket) {
  scratch_.clear();
  proto::WriteOk(&scratch_, TicketId(c, ticket));
  CompleteTicket(c, slot, ticket, BuildText(scratch_));
}

void Shard::CompleteError(Connection& c, uint32_t slot, uint32_t ticket, wire::ErrorCode code,
                          std::string_view reason) {
  scratch_.clear();
  proto::WriteError(&scratch_, TicketId(c, ticket), code, reason);
  CompleteTicket(c, slot, ticket, BuildText(scratch_));
}

void Shard::CompleteTicket(Connection& c, uint32_t slot, uint32_t ticket,
                           core::SharedFrame* frame) {
  auto& waiting = c.parked->waiting;
  for (ParkedReply& p : waiting) {
    if (p.ticket == ticket) {
      RC_CHECK(p.frame == nullptr);
      p.frame = frame;
      break;
    }
  }
  while (!waiting.empty() && waiting.front().frame != nullptr) {
    core::SharedFrame* ready = waiting.front().frame;
    waiting.pop_front();
    // kHandshake: an HTTP API connection between requests (keep-alive).
    if (c.state == ConnState::kOpen || c.state == ConnState::kHandshake) {
      Enqueue(c, slot, ready);
    } else {
      ready->Unref();
    }
  }
  if (waiting.empty()) {
    c.parked.reset();
    if (c.http_close && c.state == ConnState::kHandshake) CloseHttp(c, slot);
  }
}

}  // namespace ringcast::shard
