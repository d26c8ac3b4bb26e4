// Presence: the owner of a room knows which users have connections
// subscribed to it (and their info), across shards and connections. A
// user's first connection announces `join` to the room's subscribers that
// asked for presence; `leave` goes out once its last one has been gone for
// presence.leave_delay_ms, so a quick reconnect makes no noise.
#include "net/http_response.h"
#include "proto/json_writer.h"
#include "shard/shard.h"

namespace ringcast::shard {

bool Shard::TracksPresence(std::string_view room) const {
  return NamespaceOf(room).presence && !IsServerRoom(room);
}

void Shard::SendPresenceDelta(const Connection& c, std::string_view room, int delta) {
  auto d = std::make_unique<PresenceDelta>();
  d->room = room;
  d->user = c.user;
  if (c.grants) d->info_json = c.grants->info_json;
  d->delta = delta;
  unsigned owner = OwnerOf(room);
  if (owner == id_) {
    OwnerPresence(*d);
  } else {
    Send(owner, BusMessage{BusKind::kPresence, static_cast<uint8_t>(id_), 0, 0, 0, {}, d.release()});
  }
}

void Shard::OwnerPresence(const PresenceDelta& d) {
  auto it = index_.owned().find(d.room);
  if (it == index_.owned().end()) return;  // the room's join travels ahead of its deltas
  if (!it->second.members) it->second.members = std::make_unique<MemberMap>();
  MemberMap& members = *it->second.members;
  if (d.delta > 0) {
    Member& m = members[d.user];
    m.info_json = d.info_json;
    if (++m.conns > 1) return;
    if (m.left_at_ms != 0) {
      m.left_at_ms = 0;  // back within the delay: no leave, no join
      return;
    }
    AnnouncePresence(d.room, "join", d.user, m.info_json);
    return;
  }
  auto m = members.find(d.user);
  if (m == members.end() || m->second.conns == 0) return;
  if (--m->second.conns > 0) return;
  m->second.left_at_ms = now_ms_;
  leaves_.push_back(PendingLeave{d.room, d.user, now_ms_});
}

void Shard::AnnouncePresence(std::string_view room, std::string_view op, std::string_view user,
                             std::string_view info_json) {
  auto it = index_.owned().find(room);
  if (it == index_.owned().end() || it->second.shard_mask == 0) return;
  scratch_.clear();
  proto::JsonWriter w(&scratch_);
  w.BeginObject();
  w.Field("op", op);
  w.Field("room", room);
  w.Field("user", user);
  w.RawField("info", info_json.empty() ? std::string_view("null") : info_json);
  w.EndObject();
  w.Flush();
  FanOut(BuildText(scratch_, room), it->second.shard_mask, 2, 0, {});
}

void Shard::SweepPresence() {
  while (!leaves_.empty() && now_ms_ - leaves_.front().left_at_ms >= options_.presence_leave_delay_ms) {
    PendingLeave leave = std::move(leaves_.front());
    leaves_.pop_front();
    auto it = index_.owned().find(leave.room);
    if (it == index_.owned().end() || !it->second.members) continue;
    MemberMap& members = *it->second.members;
    auto m = members.find(leave.user);
    if (m == members.end() || m->second.conns > 0 ||
        m->second.left_at_ms != leave.left_at_ms) {
      continue;  // came back, or left again later (a newer entry decides)
    }
    std::string info = std::move(m->second.info_json);
    members.erase(m);
    AnnouncePresence(leave.room, "leave", leave.user, info);
  }
}

void Shard::DoPresence(Connection& c, uint32_t slot, const proto::Command& cmd) {
  if (!MaySubscribe(c, cmd.room) || !TracksPresence(cmd.room)) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kNotAllowed,
               "presence is not available for '" + std::string(cmd.room) + "'");
    return;
  }
  if (!cmd.id) return;  // nothing to answer into
  AskPresence(c, slot, cmd.room, ReserveTicket(c, cmd.id));
}

void Shard::AskPresence(Connection& c, uint32_t slot, std::string_view room, uint32_t ticket) {
  (void)c;
  auto q = std::make_unique<PresenceQuery>();
  q->room = room;
  q->conn = conns_.HandleOf(slot);
  q->ticket = ticket;
  unsigned owner = OwnerOf(room);
  if (owner == id_) {
    AnswerPresence(q.get());
    FinishPresence(std::move(q));
  } else {
    Send(owner, BusMessage{BusKind::kPresenceQuery, static_cast<uint8_t>(id_), 0, 0, 0, {},
                           q.release()});
  }
}

void Shard::AnswerPresence(PresenceQuery* q) {
  q->users_json.clear();
  proto::JsonWriter w(&q->users_json);
  w.BeginArray();
  auto it = index_.owned().find(q->room);
  if (it != index_.owned().end() && it->second.members) {
    for (const auto& [user, m] : *it->second.members) {
      if (m.conns == 0) continue;  // gone, its leave still pending
      w.BeginObject();
      w.Field("user", user);
      w.RawField("info", m.info_json.empty() ? std::string_view("null") : m.info_json);
      w.Field("conns", uint64_t{m.conns});
      w.EndObject();
      ++q->count;
    }
  }
  w.EndArray();
  w.Flush();
}

void Shard::FinishPresence(std::unique_ptr<PresenceQuery> q) {
  Connection* c = conns_.Get(q->conn);
  if (c == nullptr) return;
  std::string body;
  proto::JsonWriter w(&body);
  w.BeginObject();
  const ParkedReply* http = HttpTicket(*c, q->ticket);
  if (!http) {
    w.Field("op", "ok");
    if (std::optional<uint64_t> id = TicketId(*c, q->ticket)) w.Field("id", *id);
  }
  w.RawField("users", q->users_json);
  w.Field("count", q->count);
  w.EndObject();
  w.Flush();
  core::SharedFrame* frame =
      http ? core::SharedFrame::CreateRaw(
                 net::BuildHttpResponse(200, "application/json", body, http->keep_alive))
           : BuildText(body);
  CompleteTicket(*c, q->conn.slot, q->ticket, frame);
}

}  // namespace ringcast::shard
