// Users: every connection of user U is subscribed to U's personal room "@U"
// at connect, owned like any room, whose owner counts U's connections per
// shard. A direct message (`send`, POST /api/send) is a publication to "@U"
// framed without the room; `no_such_user` only when U has no connection on
// this node.
#include "net/http_response.h"
#include <charconv>

#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {
constexpr size_t kMaxPendingSends = 1 << 16;
}  // namespace

void Shard::JoinPersonalRoom(Connection& c, uint32_t slot) {
  std::string name = "@" + c.user;
  bool created = false;
  LocalRoom* room = index_.FindOrCreate(name, &created);
  index_.Add(room, slot, &c.subs);
  auto req = std::make_unique<JoinRequest>();
  req->room = std::move(name);
  req->room_join = created;
  req->counts_conn = true;  // every connection joins, not only the shard's first
  if (created) room->join_epoch = ++join_epoch_;
  SendJoin(std::move(req), room->join_epoch);
}

void Shard::DoSend(Connection& c, uint32_t slot, const proto::Command& cmd) {
  uint32_t ticket = cmd.id ? ReserveTicket(c, cmd.id) : 0;
  if (!StartSend(c, slot, cmd.to, cmd.data, ticket)) {
    if (ticket != 0) {
      CompleteError(c, slot, ticket, wire::ErrorCode::kRateLimited,
                    "server busy: send refused, retry later");
    } else {
      ReplyError(c, slot, std::nullopt, wire::ErrorCode::kRateLimited,
                 "server busy: send refused, retry later");
    }
  }
}

bool Shard::StartSend(Connection& c, uint32_t slot, const std::vector<std::string_view>& to,
                      std::string_view data, uint32_t ticket, uint32_t request) {
  // Over HTTP (no WebSocket identity) or with the API key: from the server.
  std::string_view from = c.state == ConnState::kOpen && !c.is_server ? std::string_view(c.user)
                                                                       : "$server";
  if (sends_.size() >= kMaxPendingSends) return false;
  c.published = true;
  uint32_t send_id = ++next_send_id_;
  if (send_id == 0) send_id = ++next_send_id_;
  sends_[send_id] =
      PendingSend{conns_.HandleOf(slot), ticket, static_cast<uint32_t>(to.size()), 0, request};
  std::string rid;
  if (request != 0) rid = std::to_string(id_) + "." + std::to_string(request);
  for (std::string_view user : to) {
    auto req = std::make_unique<PubRequest>();
    req->room = "@" + std::string(user);
    req->from = from;
    req->data = data;
    req->conn = conns_.HandleOf(slot);
    req->origin = static_cast<uint8_t>(id_);
    req->direct = true;
    req->send_id = send_id;
    req->rid = rid;
    RoutePublish(std::move(req));
  }
  return true;
}

void Shard::OnSendAck(const BusMessage& msg) {
  auto it = sends_.find(msg.ticket);
  if (it == sends_.end()) return;
  PendingSend& s = it->second;
  s.reached += msg.value;
  if (--s.waiting > 0) return;
  PendingSend done = s;
  sends_.erase(it);
  if (done.request != 0) {
    // A req waits for its answer; it fails at once only if nobody can answer.
    if (done.reached > 0 || requests_.erase(done.request) == 0) return;
  }
  Connection* c = conns_.Get(done.conn);
  if (c == nullptr || c->state == ConnState::kClosing || c->state == ConnState::kDead) return;
  if (const ParkedReply* p = done.ticket != 0 ? HttpTicket(*c, done.ticket) : nullptr) {
    CompleteTicket(*c, done.conn.slot, done.ticket,
                   core::SharedFrame::CreateRaw(net::BuildHttpResponse(
                       200, "application/json",
                       "{\"delivered\":" + std::to_string(done.reached) + "}", p->keep_alive)));
  } else if (done.reached == 0) {
    const char* reason = "no connection of that user on this node";
    if (done.ticket != 0) {
      CompleteError(*c, done.conn.slot, done.ticket, wire::ErrorCode::kNoSuchUser, reason);
    } else {
      ReplyError(*c, done.conn.slot, std::nullopt, wire::ErrorCode::kNoSuchUser, reason);
    }
  } else if (done.ticket != 0) {
    CompleteOk(*c, done.conn.slot, done.ticket);
  }
}

// Every shard closes its connections of `user` with `bye`.
void Shard::DisconnectUser(std::string_view user) {
  for (unsigned to = 0; to < mesh_->shards(); ++to) {
    auto name = std::make_unique<std::string>(user);
    if (to == id_) {
      BusMessage local{BusKind::kDisconnect, static_cast<uint8_t>(id_), 0, 0, 0, {}, name.release()};
      HandleDisconnect(local);
    } else {
      Send(to, BusMessage{BusKind::kDisconnect, static_cast<uint8_t>(id_), 0, 0, 0, {},
                          name.release()});
    }
  }
}

void Shard::HandleDisconnect(const BusMessage& msg) {
  std::unique_ptr<std::string> user(static_cast<std::string*>(msg.ptr));
  LocalRoom* room = index_.Find("@" + *user);
  if (room == nullptr) return;
  scratch_.clear();
  proto::WriteBye(&scratch_, wire::CloseCode::kPolicy, "disconnected by the server", false);
  LocalFrame* bye = pools_.Wrap(BuildText(scratch_));
  // CloseWith never unsubscribes, so the room's list stays put while we walk it.
  for (const Subscriber& s : room->subs) {
    Connection& c = conns_.At(s.slot);
    if (c.state != ConnState::kOpen) continue;
    EnqueueLocal(c, s.slot, bye);
    CloseWith(c, s.slot, 1008, "disconnected by the server");
  }
  pools_.Unref(bye);
}

}  // namespace ringcast::shard

namespace ringcast::shard {

namespace {
constexpr uint64_t kDefaultRequestTimeoutMs = 5000;
constexpr uint64_t kMaxRequestTimeoutMs = 60000;
constexpr size_t kMaxPendingRequests = 1 << 16;
}  // namespace

void Shard::DoReq(Connection& c, uint32_t slot, const proto::Command& cmd) {
  if (requests_.size() >= kMaxPendingRequests) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kLimit, "too many pending requests");
    return;
  }
  uint64_t timeout_ms = cmd.timeout_ms.value_or(kDefaultRequestTimeoutMs);
  if (timeout_ms == 0 || timeout_ms > kMaxRequestTimeoutMs) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kBadCommand,
               "timeout_ms must be between 1 and " + std::to_string(kMaxRequestTimeoutMs));
    return;
  }
  // The answer is this command's reply, so it keeps its place in order even
  // without an id (res then carries no id).
  uint32_t ticket = ReserveTicket(c, cmd.id);
  uint32_t request = ++next_request_;
  if (request == 0) request = ++next_request_;
  requests_[request] = PendingRequest{conns_.HandleOf(slot), ticket};
  timers_.Add(now_ms_, timeout_ms,
              (uint64_t{static_cast<uint8_t>(TimerKind::kRequestTimeout)} << 56) | request);
  if (!StartSend(c, slot, cmd.to, cmd.data, ticket, request)) {
    requests_.erase(request);
    CompleteError(c, slot, ticket, wire::ErrorCode::kRateLimited,
                  "server busy: request refused, retry later");
  }
}

// rid is "<shard>.<request>" of the requester's shard; the first answer wins.
void Shard::DoRes(Connection& c, uint32_t slot, const proto::Command& cmd) {
  std::string_view rid = cmd.rid;
  size_t dot = rid.find('.');
  unsigned shard = 0;
  uint32_t request = 0;
  bool ok = dot != std::string_view::npos;
  if (ok) {
    auto [p1, e1] = std::from_chars(rid.data(), rid.data() + dot, shard);
    auto [p2, e2] = std::from_chars(rid.data() + dot + 1, rid.data() + rid.size(), request);
    ok = e1 == std::errc() && p1 == rid.data() + dot && e2 == std::errc() &&
         p2 == rid.data() + rid.size() && shard < mesh_->shards();
  }
  if (!ok) {
    ReplyError(c, slot, cmd.id, wire::ErrorCode::kBadCommand, "rid is not one this node gave");
    return;
  }
  auto answer = std::make_unique<ResAnswer>();
  answer->request = request;
  answer->from = c.user;
  answer->data = cmd.data;
  if (shard == id_) {
    HandleRes(std::move(answer));
  } else {
    Send(shard, BusMessage{BusKind::kRes, static_cast<uint8_t>(id_), 0, 0, 0, {},
                           answer.release()});
  }
  ReplyOk(c, slot, cmd.id);  // answered or too late, the responder is done
}

void Shard::HandleRes(std::unique_ptr<ResAnswer> answer) {
  auto it = requests_.find(answer->request);
  if (it == requests_.end()) return;  // answered already, or timed out: dropped
  PendingRequest pending = it->second;
  requests_.erase(it);
  Connection* c = conns_.Get(pending.conn);
  if (c == nullptr) return;
  scratch_.clear();
  proto::JsonWriter w(&scratch_);
  w.BeginObject();
  w.Field("op", "res");
  if (std::optional<uint64_t> id = TicketId(*c, pending.ticket)) w.Field("id", *id);
  w.Field("from", answer->from);
  w.RawField("data", answer->data);
  w.EndObject();
  w.Flush();
  CompleteTicket(*c, pending.conn.slot, pending.ticket, BuildText(scratch_));
}

void Shard::OnRequestTimeout(uint32_t request) {
  auto it = requests_.find(request);
  if (it == requests_.end()) return;
  PendingRequest pending = it->second;
  requests_.erase(it);
  Connection* c = conns_.Get(pending.conn);
  if (c == nullptr) return;
  CompleteError(*c, pending.conn.slot, pending.ticket, wire::ErrorCode::kTimeout,
                "no answer in time");
}

}  // namespace ringcast::shard
