#include "shard/users.h"

#include <algorithm>

#include "net/http_response.h"
#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/replies.h"

namespace ringcast::shard {

namespace {
constexpr uint64_t kDefaultRequestTimeoutMs = 5000;
constexpr uint64_t kMaxRequestTimeoutMs = 60000;
}  // namespace

RequestLimits RequestLimitsOf(const ServerOptions& options) {
  RequestLimits limits;
  limits.sends_per_connection = options.max_pending_sends_per_connection;
  limits.requests_per_connection = options.max_pending_requests_per_connection;
  limits.requests_per_user = options.max_pending_requests_per_user;
  return limits;
}

Users::Users(BusPort* port, Sessions* sessions, LocalRooms* rooms, core::TimerWheel* timers,
             RequestLimits limits)
    : port_(port), sessions_(sessions), rooms_(rooms), timers_(timers), requests_(limits) {}

void Users::Send(Connection& c, uint32_t slot, const proto::Command& cmd) {
  uint32_t ticket = cmd.id ? sessions_->ReserveTicket(c, cmd.id) : 0;
  PendingBound refusal = StartSend(c, slot, cmd.to, cmd.data, ticket);
  if (refusal == PendingBound::kNone) return;
  std::string_view reason = SendRefusalReason(refusal);
  if (ticket != 0) {
    CompleteError(*sessions_, c, slot, ticket, wire::ErrorCode::kRateLimited, reason);
  } else {
    ReplyError(*sessions_, c, slot, std::nullopt, wire::ErrorCode::kRateLimited, reason);
  }
}

std::string_view Users::SendRefusalReason(PendingBound refusal) {
  // Pending sends are answered within a bus round trip: both are "retry later".
  return refusal == PendingBound::kConnection
             ? "too many sends waiting on this connection, retry later"
             : "server busy: send refused, retry later";
}

PendingBound Users::StartSend(Connection& c, uint32_t slot, const std::vector<std::string_view>& to,
                              std::string_view data, uint32_t ticket) {
  return Route(c, slot, to, data, ticket, nullptr);
}

PendingBound Users::Route(Connection& c, uint32_t slot, const std::vector<std::string_view>& to,
                          std::string_view data, uint32_t ticket, const Rid* rid) {
  // A user named twice is one target: one copy each, whatever the list says.
  targets_.assign(to.begin(), to.end());
  std::sort(targets_.begin(), targets_.end());
  targets_.erase(std::unique(targets_.begin(), targets_.end()), targets_.end());
  // Over HTTP (no WebSocket identity) or with the API key: from the server.
  std::string_view from =
      c.state == ConnState::kOpen && !c.is_server ? std::string_view(c.user) : "$server";
  for (std::string_view user : targets_) {
    if (!port_->Admits(port_->OwnerOf("@" + std::string(user)))) return PendingBound::kShard;
  }
  core::SlabHandle conn = sessions_->HandleOf(slot);
  Requests::Started send = requests_.StartSend(conn, ticket, static_cast<uint32_t>(targets_.size()),
                                               rid ? rid->number : 0);
  if (!send) return send.refusal;
  c.published = true;
  std::string rid_text = rid ? rid->Format() : std::string();
  for (std::string_view user : targets_) {
    auto req = std::make_unique<PubRequest>();
    req->room = "@" + std::string(user);
    req->from = from;
    req->data = data;
    req->conn = conn;
    req->origin = static_cast<uint8_t>(port_->shard_id());
    req->direct = true;
    req->send_id = send.id;
    req->rid = rid_text;
    // Admitted as a whole above: each target's answer completes the send.
    unsigned owner = port_->OwnerOf(req->room);
    port_->Post(owner, bus::Publish{std::move(req)});
  }
  return PendingBound::kNone;
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
  RC_CHECK(cmd.to.size() == 1);  // the parser allows exactly one user in a req's `to`
  // The answer is this command's reply, so it keeps its place in order even
  // without an id (res then carries no id).
  uint32_t ticket = sessions_->ReserveTicket(c, cmd.id);
  // Connections of the server (API key) share one user id: not one user's quota.
  std::string_view requester = c.is_server ? std::string_view() : std::string_view(c.user);
  Rid rid{port_->shard_id(), 0, random_.Next64(),
          cluster_ != nullptr ? cluster_->node_id() : std::string()};
  Requests::Started request =
      requests_.StartRequest(sessions_->HandleOf(slot), ticket, requester, cmd.to[0], rid.tag);
  if (!request) {
    CompleteError(*sessions_, c, slot, ticket, wire::ErrorCode::kLimit,
                  RequestRefusalReason(request.refusal));
    return;
  }
  rid.number = request.id;
  timers_->Add(sessions_->now_ms(), timeout_ms, RequestTimerKey(rid.number));
  if (Route(c, slot, cmd.to, cmd.data, ticket, &rid) != PendingBound::kNone) {
    (void)requests_.TakeRequest(rid.number);
    CompleteError(*sessions_, c, slot, ticket, wire::ErrorCode::kRateLimited,
                  "server busy: request refused, retry later");
  }
}

std::string Users::RequestRefusalReason(PendingBound refusal) const {
  const RequestLimits& limits = requests_.limits();
  switch (refusal) {
    case PendingBound::kConnection:
      return "too many pending requests on this connection (at most " +
             std::to_string(limits.requests_per_connection) + ")";
    case PendingBound::kUser:
      return "too many pending requests of this user (at most " +
             std::to_string(limits.requests_per_user) + ")";
    case PendingBound::kNone:
    case PendingBound::kShard:
      break;
  }
  return "too many pending requests";
}

// The rid names the requester's shard, which decides (OnRes) and answers the
// responder through a ResAck: ok, or not_allowed when the rid names no
// request sent to this user. A rid that is not of our form is refused here.
void Users::Respond(Connection& c, uint32_t slot, const proto::Command& cmd) {
  std::optional<Rid> rid = Rid::Parse(cmd.rid);
  bool remote =
      rid && !rid->node.empty() && cluster_ != nullptr && rid->node != cluster_->node_id();
  bool foreign = rid && !rid->node.empty() && cluster_ == nullptr;
  if (!rid || foreign || (!remote && rid->shard >= port_->shard_count())) {
    ReplyError(*sessions_, c, slot, cmd.id, wire::ErrorCode::kBadCommand,
               "rid is not one this node gave");
    return;
  }
  auto answer = std::make_unique<ResAnswer>();
  answer->request = rid->number;
  answer->tag = rid->tag;
  answer->from = c.user;
  answer->data = cmd.data;
  answer->responder = sessions_->HandleOf(slot);
  answer->ticket = cmd.id ? sessions_->ReserveTicket(c, cmd.id) : 0;
  answer->origin = static_cast<uint8_t>(port_->shard_id());
  answer->request_shard = rid->shard;
  if (!remote) {
    port_->Post(rid->shard, bus::Res{std::move(answer)});
    return;
  }
  // The requester's node decides and answers through this node's channel.
  if (!cluster_->SendRes(rid->node, *answer)) {
    constexpr std::string_view kNoRedis = "Redis is unreachable: retry later";
    if (answer->ticket != 0) {
      CompleteError(*sessions_, c, slot, answer->ticket, wire::ErrorCode::kUnavailable, kNoRedis);
    } else {
      ReplyError(*sessions_, c, slot, std::nullopt, wire::ErrorCode::kUnavailable, kNoRedis);
    }
  }
}

void Users::OnRes(std::unique_ptr<ResAnswer> answer) {
  Verdict verdict = Verdict::kNotPending;
  std::optional<Requests::Request> pending =
      requests_.TakeAnswer(answer->request, answer->tag, answer->from, &verdict);
  // A late or duplicate answer is dropped quietly (ok); a refusal is always told.
  if (verdict == Verdict::kNotYours || answer->ticket != 0) {
    bus::ResAck ack{answer->responder, answer->ticket,
                    verdict == Verdict::kNotYours ? Outcome::kRefused : Outcome::kAccepted};
    if (answer->origin_node.empty()) {
      port_->Post(answer->origin, ack);
    } else if (cluster_ != nullptr) {
      cluster_->SendResAck(answer->origin_node, answer->origin, ack);
    }
  }
  if (!pending) return;
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

void Users::OnResAck(const bus::ResAck& ack) {
  Connection* c = sessions_->Get(ack.conn);
  if (c == nullptr || c->state == ConnState::kClosing || c->state == ConnState::kDead) return;
  uint32_t slot = ack.conn.slot;
  if (ack.outcome == Outcome::kAccepted) {
    if (ack.ticket != 0) CompleteOk(*sessions_, *c, slot, ack.ticket);
    return;
  }
  constexpr std::string_view kNotYours = "no pending request with that rid was sent to you";
  if (ack.ticket != 0) {
    CompleteError(*sessions_, *c, slot, ack.ticket, wire::ErrorCode::kNotAllowed, kNotYours);
  } else {
    ReplyError(*sessions_, *c, slot, std::nullopt, wire::ErrorCode::kNotAllowed, kNotYours);
  }
}

void Users::OnFree(core::SlabHandle conn) { requests_.DropConnection(conn); }

void Users::OnRequestTimeout(uint32_t request) {
  std::optional<Requests::Request> pending = requests_.TakeRequest(request);
  if (!pending) return;
  Connection* c = sessions_->Get(pending->conn);
  if (c == nullptr) return;
  CompleteError(*sessions_, *c, pending->conn.slot, pending->ticket, wire::ErrorCode::kTimeout,
                "no answer in time");
}

bool Users::Disconnect(std::string_view user) {
  // Cluster mode: through the user's room channel to every node that has the
  // user, this one included. With Redis down, this node's connections only.
  if (cluster_ != nullptr && cluster_->Disconnect(user)) return true;
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
