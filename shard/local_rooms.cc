#include "shard/local_rooms.h"

#include <algorithm>

#include "core/check.h"
#include "net/http_response.h"
#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/replies.h"

namespace ringcast::shard {

// Connection::presence_asks counts up to the bound.
static_assert(LocalRooms::kMaxPresenceInFlight < (1u << Connection::kPresenceAskBits));

LocalRooms::LocalRooms(BusPort* port, Sessions* sessions, const Access& access,
                       const Namespaces& namespaces, const ServerOptions& options,
                       ShardStats* stats)
    : port_(port),
      sessions_(sessions),
      access_(access),
      namespaces_(namespaces),
      options_(options),
      stats_(stats) {}

void LocalRooms::Subscribe(Connection& c, uint32_t slot, const proto::Command& cmd) {
  bool created = false;
  LocalRoom* room = index_.FindOrCreate(cmd.room, &created);
  if (!created && SubscribeAgain(c, slot, room, cmd)) return;
  // The personal room does not count against the limit.
  size_t limit = options_.max_subscriptions_per_connection + (c.is_server ? 0 : 1);
  bool history = namespaces_.KeepsHistory(cmd.room);
  bool already = !created && SubscriptionIndex::IndexOf(c.subs, room) >= 0;
  if (!already && c.subs.size() + c.history_joins >= limit) {
    if (created) index_.Erase(room);
    ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kLimit,
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
    // the local room when that answer arrives.
    req->has_conn = true;
    req->presence = cmd.presence;
    req->conn = sessions_->HandleOf(slot);
    if (cmd.id) req->ticket = sessions_->ReserveTicket(c, cmd.id);
    if (cmd.since && !already) {  // live messages already flow: no replay on top
      req->since_seq = cmd.since->seq;
      req->since_epoch = cmd.since->epoch;
    }
    room->AddJoining(sessions_->HandleOf(slot));
    ++c.history_joins;
  } else {
    index_.Add(room, slot, &c.subs, cmd.presence);
    AwaitJoin(c, slot, room, cmd.id);
  }
  // History rooms count the subscriber when it joins; others now, behind the
  // room's join on the same ring.
  const bool count = !history && access_.TracksPresence(room->name);
  const bool listening = room->presence_subs > 0;
  std::string name(room->name);  // the answer may erase the room
  if (created)
    SendJoin(std::move(req), room->join_epoch);
  else if (history)
    SendJoin(std::move(req), 0);
  if (count) SendPresenceDelta(c, name, +1, listening);
}

// A room that exists here already. Returns true when the subscription is
// handled (idempotent for rooms without history).
bool LocalRooms::SubscribeAgain(Connection& c, uint32_t slot, LocalRoom* room,
                                const proto::Command& cmd) {
  if (namespaces_.KeepsHistory(cmd.room)) return false;
  if (SubscriptionIndex::IndexOf(c.subs, room) < 0) return false;
  AwaitJoin(c, slot, room, cmd.id);  // `ok` still waits for the owner
  return true;
}

// `ok` at once when the owner has recorded this shard, else when it does.
void LocalRooms::AwaitJoin(Connection& c, uint32_t slot, LocalRoom* room,
                           std::optional<uint64_t> id) {
  if (room->joined) {
    ReplyOk(*sessions_, c, slot, id);
  } else if (id) {
    room->AddPending(PendingAck{sessions_->HandleOf(slot), sessions_->ReserveTicket(c, id)});
  }
}

void LocalRooms::JoinPersonalRoom(Connection& c, uint32_t slot) {
  std::string name = "@";
  name += c.user.view();
  bool created = false;
  LocalRoom* room = index_.FindOrCreate(name, &created);
  index_.Add(room, slot, &c.subs);
  auto req = std::make_unique<JoinRequest>();
  req->room = std::move(name);
  req->room_join = created;
  req->counts_conn = true;  // every connection joins, not only the shard's first
  if (created) room->join_epoch = ++join_epoch_;
  SendJoin(std::move(req), created ? room->join_epoch : 0);
}

void LocalRooms::SendJoin(std::unique_ptr<JoinRequest> req, uint32_t join_epoch) {
  unsigned owner = port_->OwnerOf(req->room);
  port_->Post(owner, bus::Join{std::move(req), join_epoch});
}

// On this shard, once the owner has recorded the join: `ok` for everyone who
// waited, and a history subscriber's replay, seq and epoch.
void LocalRooms::OnJoinAck(bus::JoinAck msg) {
  JoinRequest* req = msg.req.get();
  LocalRoom* room = index_.Find(req->room);
  if (room == nullptr) return;  // everyone left meanwhile; the leave followed the join
  if (req->room_join && room->join_epoch == msg.join_epoch) {
    room->joined = true;
    for (const PendingAck& p : room->TakePending()) {
      Connection* c = sessions_->Get(p.conn);
      if (c != nullptr) CompleteOk(*sessions_, *c, p.conn.slot, p.ticket);
    }
  }
  if (req->has_conn) FinishSubscriber(room, req);
  if (room->IsUnused()) {
    std::string name(room->name);
    index_.Erase(room);  // first: see Unsubscribe
    Leave(std::move(name), LeaveScope::kLastSubscriber);
  }
}

void LocalRooms::FinishSubscriber(LocalRoom* room, JoinRequest* req) {
  bool cancelled = !room->TakeJoining(req->conn);  // unsubscribed meanwhile
  Connection* c = sessions_->Get(req->conn);
  if (c == nullptr) return;
  if (!cancelled) --c->history_joins;
  if (c->state != ConnState::kOpen) return;
  uint32_t slot = req->conn.slot;
  // Only a subscriber that joins now gets the replay: one already in the
  // room (an earlier `sub` answered first) has live messages flowing.
  if (!cancelled && SubscriptionIndex::IndexOf(c->subs, room) < 0) {
    index_.Add(room, slot, &c->subs, req->presence);
    if (access_.TracksPresence(room->name)) {
      SendPresenceDelta(*c, room->name, +1, room->presence_subs > 0);
    }
    for (core::FrameRef& f : req->replay) sessions_->Enqueue(*c, slot, f.release());
  }
  if (req->ticket == 0) return;
  std::optional<bool> recovered;
  if (req->since_seq) recovered = req->recovered;
  scratch_.clear();
  proto::WriteOkSeq(&scratch_, sessions_->FindTicket(*c, req->ticket)->id, req->seq,
                    std::string_view(req->epoch), recovered);
  sessions_->CompleteTicket(*c, slot, req->ticket, sessions_->BuildText(scratch_));
}

void LocalRooms::Unsubscribe(Connection& c, uint32_t slot, const proto::Command& cmd) {
  LocalRoom* room = index_.Find(cmd.room);
  int i = room == nullptr ? -1 : SubscriptionIndex::IndexOf(c.subs, room);
  if (i >= 0) Unsubscribe(c, static_cast<uint32_t>(i));
  if (room != nullptr && i < 0) {  // a history sub still waiting for its owner: cancel it
    if (room->TakeJoining(sessions_->HandleOf(slot))) --c.history_joins;
  }
  ReplyOk(*sessions_, c, slot, cmd.id);  // not being subscribed is not an error
}

void LocalRooms::LeaveAll(Connection& c) {
  while (!c.subs.empty()) Unsubscribe(c, static_cast<uint32_t>(c.subs.size() - 1));
}

void LocalRooms::Unsubscribe(Connection& c, uint32_t sub_index) {
  LocalRoom* room = c.subs[sub_index].room;
  bool empty = index_.Remove(&c.subs, sub_index,
                             [&](uint32_t other) -> SubRefs& { return sessions_->At(other).subs; });
  if (access_.TracksPresence(room->name)) {
    SendPresenceDelta(c, room->name, -1, room->presence_subs > 0);
  }
  // A user's own connections count at the owner; a server's sub to '@u' does not.
  bool personal = room->name.front() == '@' && !c.is_server;
  if (!personal && !empty) return;
  std::string name(room->name);
  // The room leaves the index before its owner hears of the leave. The owner
  // of a room may be this very shard, and then it runs in place: a leave can
  // release a join's ack held for Redis (cluster mode) at once, and that ack
  // must find the room gone, as it does when it comes back from another
  // shard, rather than leave and erase the room a second time under us.
  if (empty) index_.Erase(room);
  if (personal && empty) {
    Leave(std::move(name), LeaveScope::kOneConnection | LeaveScope::kLastSubscriber);
  } else if (personal) {
    Leave(std::move(name), LeaveScope::kOneConnection);
  } else {
    Leave(std::move(name), LeaveScope::kLastSubscriber);
  }
}

void LocalRooms::Leave(std::string room, LeaveScope scope) {
  unsigned owner = port_->OwnerOf(room);
  port_->Post(owner, bus::Leave{std::make_unique<std::string>(std::move(room)), scope});
}

void LocalRooms::SendPresenceDelta(const Connection& c, std::string_view room, int delta,
                                   bool listening) {
  auto d = std::make_unique<PresenceDelta>();
  d->room = room;
  d->user = c.user;
  if (c.grants) d->info_json = c.grants->info_json;
  d->delta = delta;
  d->listening = listening;
  port_->Post(port_->OwnerOf(room), bus::Presence{std::move(d)});
}

bool LocalRooms::Publish(std::unique_ptr<PubRequest> req) {
  unsigned owner = port_->OwnerOf(req->room);
  if (!port_->Admits(owner)) return false;
  port_->Post(owner, bus::Publish{std::move(req)});
  return true;
}

void LocalRooms::PublishAlways(std::unique_ptr<PubRequest> req) {
  unsigned owner = port_->OwnerOf(req->room);
  port_->Post(owner, bus::Publish{std::move(req)});
}

LocalRoom* LocalRooms::PersonalRoom(std::string_view user) {
  return index_.Find("@" + std::string(user));
}

void LocalRooms::OnDeliver(bus::Deliver msg) {
  LocalRoom* room = index_.Find(msg.frame->tag());
  bool presence_only = msg.audience == Audience::kPresenceOnly;
  // The FrameRef lets go. A join or leave in a room where nobody here asked for presence is
  // not a walk over every subscriber: a room of N filling up would cost N^2/2 steps.
  if (room == nullptr || room->subs.empty() || (presence_only && room->presence_subs == 0)) return;
  bool exclude = msg.echo == Echo::kSkipPublisher && msg.origin == port_->shard_id();
  LocalFrame* local = sessions_->pools().Wrap(msg.frame.release());
  uint64_t delivered = 0;
  for (const Subscriber& s : room->subs) {
    if (exclude && s.slot == msg.publisher.slot &&
        sessions_->HandleOf(s.slot).gen == msg.publisher.gen) {
      continue;
    }
    if (presence_only && !s.presence) continue;
    Connection& c = sessions_->At(s.slot);
    if (c.state != ConnState::kOpen) continue;
    sessions_->PushDelivery(c, s.slot, local);
    ++delivered;
  }
  Bump(stats_->deliveries, delivered);
  sessions_->CountQueued(delivered);
  sessions_->pools().Unref(local);
}

void LocalRooms::OnPubAck(const bus::PubAck& ack) {
  Connection* c = sessions_->Get(ack.conn);
  if (c == nullptr) return;
  bool refused = ack.outcome != Outcome::kAccepted;
  bool unavailable = ack.outcome == Outcome::kUnavailable;
  constexpr std::string_view kBusy = "server busy: publication refused, retry later";
  constexpr std::string_view kNoRedis = "Redis is unreachable or behind: retry later";
  wire::ErrorCode code =
      unavailable ? wire::ErrorCode::kUnavailable : wire::ErrorCode::kRateLimited;
  std::string_view reason = unavailable ? kNoRedis : kBusy;
  scratch_.clear();
  if (ack.ticket == 0) {  // nobody waits for an answer, but a refusal is said
    if (refused && c->state == ConnState::kOpen) {
      ReplyError(*sessions_, *c, ack.conn.slot, std::nullopt, code, reason);
    }
    return;
  }
  const ReplyTickets::Ticket* t = sessions_->FindTicket(*c, ack.ticket);
  core::SharedFrame* frame;
  if (t->http) {  // POST /api/publish
    std::string body = ack.seq ? "{\"seq\":" + std::to_string(*ack.seq) + "}" : "{}";
    frame = core::SharedFrame::CreateRaw(
        refused ? net::BuildHttpJsonError(503, unavailable ? "unavailable" : "rate_limited",
                                          unavailable ? kNoRedis : kBusy, t->keep_alive)
                : net::BuildHttpResponse(200, "application/json", body, t->keep_alive));
  } else {
    if (refused) {
      proto::WriteError(&scratch_, t->id, code, reason);
    } else if (ack.seq) {
      proto::WriteOkSeq(&scratch_, t->id, *ack.seq, std::nullopt, std::nullopt);
    } else {
      proto::WriteOk(&scratch_, t->id);
    }
    frame = sessions_->BuildText(scratch_);
  }
  sessions_->CompleteTicket(*c, ack.conn.slot, ack.ticket, frame);
}

std::optional<std::string_view> LocalRooms::PresenceRefusal(const Connection& c,
                                                            std::string_view room) const {
  if (c.presence_asks >= kMaxPresenceInFlight) {
    return "too many presence queries waiting on this connection, retry later";
  }
  if (!port_->Admits(port_->OwnerOf(room))) return "server busy: presence refused, retry later";
  return std::nullopt;
}

void LocalRooms::AskPresence(Connection& c, uint32_t slot, std::string_view room, uint32_t ticket) {
  RC_DCHECK(c.presence_asks < kMaxPresenceInFlight);
  ++c.presence_asks;  // a new connection in this slot starts again from 0
  auto q = std::make_unique<PresenceQuery>();
  q->room = room;
  q->conn = sessions_->HandleOf(slot);
  q->ticket = ticket;
  port_->Post(port_->OwnerOf(room), bus::PresenceAsk{std::move(q)});
}

void LocalRooms::OnPresenceAnswer(std::unique_ptr<PresenceQuery> q) {
  Connection* c = sessions_->Get(q->conn);
  if (c == nullptr) return;
  --c->presence_asks;
  const ReplyTickets::Ticket* t = sessions_->FindTicket(*c, q->ticket);
  if (q->unavailable) {  // cluster mode: presence is Redis's
    constexpr std::string_view kNoRedis = "Redis is unreachable or behind: retry later";
    if (t->http) {
      sessions_->CompleteTicket(*c, q->conn.slot, q->ticket,
                                core::SharedFrame::CreateRaw(net::BuildHttpJsonError(
                                    503, "unavailable", kNoRedis, t->keep_alive)));
      return;
    }
    scratch_.clear();
    proto::WriteError(&scratch_, t->id, wire::ErrorCode::kUnavailable, kNoRedis);
    sessions_->CompleteTicket(*c, q->conn.slot, q->ticket, sessions_->BuildText(scratch_));
    return;
  }
  std::string body;
  proto::JsonWriter w(&body);
  w.BeginObject();
  if (!t->http) {
    w.Field("op", "ok");
    if (t->id) w.Field("id", *t->id);
  }
  w.RawField("users", q->users_json);
  w.Field("count", q->count);
  if (q->truncated) w.Field("truncated", true);
  w.EndObject();
  w.Flush();
  core::SharedFrame* frame = t->http ? core::SharedFrame::CreateRaw(net::BuildHttpResponse(
                                           200, "application/json", body, t->keep_alive))
                                     : sessions_->BuildText(body);
  sessions_->CompleteTicket(*c, q->conn.slot, q->ticket, frame);
}

}  // namespace ringcast::shard
