// Users: every connection of user U is subscribed to U's personal room "@U"
// at connect, owned like any room, whose owner counts U's connections per
// shard. A direct message (`send`, POST /api/send) is a publication to "@U"
// framed without the room; `no_such_user` only when U has no connection on
// this node.
#include "net/http_response.h"
#include "proto/envelope.h"
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
  uint32_t join_epoch = room->join_epoch;
  unsigned owner = OwnerOf(room->name);
  if (owner == id_) {
    OwnerJoin(req.get(), id_);
    FinishJoin(std::move(req), join_epoch);
  } else {
    Send(owner, BusMessage{BusKind::kJoin, static_cast<uint8_t>(id_), 0, 0,
                           created ? join_epoch : 0, {}, req.release()});
  }
}

void Shard::DoSend(Connection& c, uint32_t slot, const proto::Command& cmd) {
  uint32_t ticket = cmd.id ? ReserveTicket(c, cmd.id) : 0;
  if (!StartSend(c, slot, cmd.to, cmd.data, ticket)) {
    if (ticket != 0) {
      CompleteError(c, slot, ticket, proto::ErrorCode::kRateLimited,
                    "server busy: send refused, retry later");
    } else {
      ReplyError(c, slot, std::nullopt, proto::ErrorCode::kRateLimited,
                 "server busy: send refused, retry later");
    }
  }
}

bool Shard::StartSend(Connection& c, uint32_t slot, const std::vector<std::string_view>& to,
                      std::string_view data, uint32_t ticket) {
  // Over HTTP (no WebSocket identity) or with the API key: from the server.
  std::string_view from = c.state == ConnState::kOpen && !c.is_server ? std::string_view(c.user)
                                                                       : "$server";
  if (sends_.size() >= kMaxPendingSends) return false;
  c.published = true;
  uint32_t send_id = ++next_send_id_;
  if (send_id == 0) send_id = ++next_send_id_;
  sends_[send_id] = PendingSend{conns_.HandleOf(slot), ticket, static_cast<uint32_t>(to.size()), 0};
  for (std::string_view user : to) {
    auto req = std::make_unique<PubRequest>();
    req->room = "@" + std::string(user);
    req->from = from;
    req->data = data;
    req->conn = conns_.HandleOf(slot);
    req->origin = static_cast<uint8_t>(id_);
    req->direct = true;
    req->send_id = send_id;
    unsigned owner = OwnerOf(req->room);
    if (owner == id_) {
      HandlePublish(std::move(req));
    } else {
      Send(owner, BusMessage{BusKind::kPublish, static_cast<uint8_t>(id_), 0, 0, 0, {},
                             req.release()});
    }
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
      CompleteError(*c, done.conn.slot, done.ticket, proto::ErrorCode::kNoSuchUser, reason);
    } else {
      ReplyError(*c, done.conn.slot, std::nullopt, proto::ErrorCode::kNoSuchUser, reason);
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
  proto::WriteBye(&scratch_, 1008, "disconnected by the server", false);
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
