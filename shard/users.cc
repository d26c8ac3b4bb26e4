#include "shard/users.h"

#include <charconv>

#include "net/http_response.h"
#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/replies.h"

namespace ringcast::shard {

namespace {
constexpr uint64_t kDefaultRequestTimeoutMs = 5000;
constexpr uint64_t kMaxRequestTimeoutMs = 60000;
}  // namespace

Users::Users(BusPort* port, Sessions* sessions, LocalRooms* rooms, core::TimerWheel* timers)
    : port_(port), sessions_(sessions), rooms_(rooms), timers_(timers) {}

void Users::Send(Connection& c, uint32_t slot, const proto::Command& cmd) {
  uint32_t ticket = cmd.id ? sessions_->ReserveTicket(c, cmd.id) : 0;
  if (StartSend(c, slot, cmd.to, cmd.data, ticket)) return;
  constexpr std::string_view kBusy = "server busy: send refused, retry later";
  if (ticket != 0) {
    CompleteError(*sessions_, c, slot, ticket, wire::ErrorCode::kRateLimited, kBusy);
  } else {
    ReplyError(*sessions_, c, slot, std::nullopt, wire::ErrorCode::kRateLimited, kBusy);
  }
}

bool Users::StartSend(Connection& c, uint32_t slot, const std::vector<std::string_view>& to,
                      std::string_view data, uint32_t ticket, uint32_t request) {
  // Over HTTP (no WebSocket identity) or with the API key: from the server.
  std::string_view from =
      c.state == ConnState::kOpen && !c.is_server ? std::string_view(c.user) : "$server";
  for (std::string_view user : to) {
    if (!port_->Admits(port_->OwnerOf("@" + std::string(user)))) return false;
  }
  core::SlabHandle conn = sessions_->HandleOf(slot);
  std::optional<uint32_t> send_id =
      requests_.StartSend(conn, ticket, static_cast<uint32_t>(to.size()), request);
  if (!send_id) return false;
  c.published = true;
  std::string rid;
  if (request != 0) rid = std::to_string(port_->shard_id()) + "." + std::to_string(request);
  for (std::string_view user : to) {
    auto req = std::make_unique<PubRequest>();
    req->room = "@" + std::string(user);
    req->from = from;
    req->data = data;
    req->conn = conn;
    req->origin = static_cast<uint8_t>(port_->shard_id());
    req->direct = true;
    req->send_id = *send_id;
    req->rid = rid;
    // Admitted as a whole above: each target's answer completes the send.
    unsigned owner = port_->OwnerOf(req->room);
    port_->Post(owner, bus::Publish{std::move(req)});
  }
  return true;
}

void Users::OnSendAck(const bus::SendAck& ack) {
  std::optional<Requests::Send> done = requests_.OnSendAnswer(ack.send_id, ack.reached);
  if (done) FinishSend(*done);
}

void Users::FinishSend(const Requests::Send& done) {
  if (done.request != 0) {
    // A req waits for its answer; it fails at once only if nobody can answer.
    if (done.reached > 0 || !requests_.TakeRequest(done.request)) return;
  }
  Connection* c = sessions_->Get(done.conn);
  if (c == nullptr || c->state == ConnState::kClosing || c->state == ConnState::kDead) return;
  uint32_t slot = done.conn.slot;
  const ReplyTickets::Ticket* t =
      done.ticket != 0 ? sessions_->FindTicket(*c, done.ticket) : nullptr;
  if (t != nullptr && t->http) {
    sessions_->CompleteTicket(
        *c, slot, done.ticket,
        core::SharedFrame::CreateRaw(net::BuildHttpResponse(
            200, "application/json", "{\"delivered\":" + std::to_string(done.reached) + "}",
            t->keep_alive)));
  } else if (done.reached == 0) {
    constexpr std::string_view kNone = "no connection of that user on this node";
    if (done.ticket != 0) {
      CompleteError(*sessions_, *c, slot, done.ticket, wire::ErrorCode::kNoSuchUser, kNone);
    } else {
      ReplyError(*sessions_, *c, slot, std::nullopt, wire::ErrorCode::kNoSuchUser, kNone);
    }
  } else if (done.ticket != 0) {
    CompleteOk(*sessions_, *c, slot, done.ticket);
  }
}

void Users::Request(Connection& c, uint32_t slot, const proto::Command& cmd) {
  uint64_t timeout_ms = cmd.timeout_ms.value_or(kDefaultRequestTimeoutMs);
  if (timeout_ms == 0 || timeout_ms > kMaxRequestTimeoutMs) {
    ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kBadCommand,
               "timeout_ms must be between 1 and " + std::to_string(kMaxRequestTimeoutMs));
    return;
  }
  // The answer is this command's reply, so it keeps its place in order even
  // without an id (res then carries no id).
  uint32_t ticket = sessions_->ReserveTicket(c, cmd.id);
  std::optional<uint32_t> request = requests_.StartRequest(sessions_->HandleOf(slot), ticket);
  if (!request) {
    CompleteError(*sessions_, c, slot, ticket, wire::ErrorCode::kLimit,
                  "too many pending requests");
    return;
  }
  timers_->Add(sessions_->now_ms(), timeout_ms, RequestTimerKey(*request));
  if (!StartSend(c, slot, cmd.to, cmd.data, ticket, *request)) {
    (void)requests_.TakeRequest(*request);
    CompleteError(*sessions_, c, slot, ticket, wire::ErrorCode::kRateLimited,
                  "server busy: request refused, retry later");
  }
}

// rid is "<shard>.<request>" of the requester's shard; the first answer wins.
void Users::Respond(Connection& c, uint32_t slot, const proto::Command& cmd) {
  std::string_view rid = cmd.rid;
  size_t dot = rid.find('.');
  unsigned shard = 0;
  uint32_t request = 0;
  bool ok = dot != std::string_view::npos;
  if (ok) {
    auto [p1, e1] = std::from_chars(rid.data(), rid.data() + dot, shard);
    auto [p2, e2] = std::from_chars(rid.data() + dot + 1, rid.data() + rid.size(), request);
    ok = e1 == std::errc() && p1 == rid.data() + dot && e2 == std::errc() &&
         p2 == rid.data() + rid.size() && shard < port_->shard_count();
  }
  if (!ok) {
    ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kBadCommand,
               "rid is not one this node gave");
    return;
  }
  auto answer = std::make_unique<ResAnswer>();
  answer->request = request;
  answer->from = c.user;
  answer->data = cmd.data;
  port_->Post(shard, bus::Res{std::move(answer)});
  ReplyOk(*sessions_, c, slot, cmd.id);  // answered or too late, the responder is done
}

void Users::OnRes(std::unique_ptr<ResAnswer> answer) {
  std::optional<Requests::Request> pending = requests_.TakeRequest(answer->request);
  if (!pending) return;  // answered already, or timed out: dropped
  Connection* c = sessions_->Get(pending->conn);
  if (c == nullptr) return;
  scratch_.clear();
  proto::JsonWriter w(&scratch_);
  w.BeginObject();
  w.Field("op", "res");
  if (std::optional<uint64_t> id = sessions_->FindTicket(*c, pending->ticket)->id) {
    w.Field("id", *id);
  }
  w.Field("from", answer->from);
  w.RawField("data", answer->data);
  w.EndObject();
  w.Flush();
  sessions_->CompleteTicket(*c, pending->conn.slot, pending->ticket,
                            sessions_->BuildText(scratch_));
}

void Users::OnRequestTimeout(uint32_t request) {
  std::optional<Requests::Request> pending = requests_.TakeRequest(request);
  if (!pending) return;
  Connection* c = sessions_->Get(pending->conn);
  if (c == nullptr) return;
  CompleteError(*sessions_, *c, pending->conn.slot, pending->ticket, wire::ErrorCode::kTimeout,
                "no answer in time");
}

bool Users::Disconnect(std::string_view user) {
  for (unsigned to = 0; to < port_->shard_count(); ++to) {
    if (!port_->Admits(to)) return false;
  }
  for (unsigned to = 0; to < port_->shard_count(); ++to) {
    port_->Post(to, bus::Disconnect{std::make_unique<std::string>(user)});
  }
  return true;
}

void Users::OnDisconnect(std::string_view user) {
  LocalRoom* room = rooms_->PersonalRoom(user);
  if (room == nullptr) return;
  scratch_.clear();
  proto::WriteBye(&scratch_, wire::CloseCode::kPolicy, "disconnected by the server", false);
  LocalFrame* bye = sessions_->pools().Wrap(sessions_->BuildText(scratch_));
  // CloseWith never unsubscribes, so the room's list stays put while we walk it.
  for (const Subscriber& s : room->subs) {
    Connection& c = sessions_->At(s.slot);
    // A backend watching the user's room (API key) is not the user.
    if (c.state != ConnState::kOpen || c.is_server) continue;
    sessions_->EnqueueLocal(c, s.slot, bye);
    sessions_->CloseWith(c, s.slot, wire::CloseValue(wire::CloseCode::kPolicy),
                         "disconnected by the server");
  }
  sessions_->pools().Unref(bye);
}

}  // namespace ringcast::shard
