#include "shard/http_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>

#include "net/handshake.h"
#include "net/http_response.h"
#include "proto/json_writer.h"
#include "shard/dashboard_page.h"

namespace ringcast::shard {

namespace {

constexpr std::string_view kJson = "application/json";

bool IsLoopbackPeer(int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
  if (peer.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&peer);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

HttpApi::HttpApi(const ServerOptions& options, Sessions* sessions, const Access& access,
                 LocalRooms* rooms, Users* users, const Metrics& metrics, unsigned shard_id)
    : options_(options),
      sessions_(sessions),
      access_(access),
      rooms_(rooms),
      users_(users),
      metrics_(metrics),
      shard_id_(shard_id),
      guard_(options) {}

size_t HttpApi::Serve(Connection& c, uint32_t slot, const net::HttpRequest& req,
                      std::string_view input) {
  Call refusal{c, slot, req, {}, false, req.method == "HEAD"};
  const net::HttpBodyFraming framing = net::BodyFraming(req);
  if (framing.status != 0) {  // where this body ends, and the next request starts, is unknown
    Error(refusal, framing.status, "bad_command", framing.reason);
    sessions_->EndHttp(c, slot);
    return 0;
  }
  const uint64_t body_bytes = framing.body_bytes;
  if (body_bytes > options_.max_body_bytes) {
    Error(refusal, 413, "too_large",
          "body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
    sessions_->EndHttp(c, slot);
    return 0;
  }
  size_t total = req.head_bytes + static_cast<size_t>(body_bytes);
  if (input.size() < total) return 0;
  bool keep_alive = req.version_minor == 1 ? !req.HeaderHasToken("Connection", "close")
                                           : req.HeaderHasToken("Connection", "keep-alive");
  // Draining, or full: the connection may hold a slot of the HTTP reserve.
  if (sessions_->draining() || sessions_->AtSessionLimit()) keep_alive = false;
  Dispatch(Call{c, slot, req, input.substr(req.head_bytes, static_cast<size_t>(body_bytes)),
                keep_alive, req.method == "HEAD"});
  c.http_served = true;
  if (!keep_alive && c.state == ConnState::kHandshake) sessions_->EndHttp(c, slot);
  return total;
}

void HttpApi::Dispatch(const Call& call) {
  static constexpr std::array<Route, 8> kRoutes = {{
      {"/healthz", Method::kGet, false, &HttpApi::Healthz},
      {"/metrics", Method::kGet, true, &HttpApi::Prometheus},
      {"/api/stats", Method::kGet, true, &HttpApi::Stats},
      {"/dashboard", Method::kGet, true, &HttpApi::Dashboard},
      {"/api/presence", Method::kGet, true, &HttpApi::Presence},
      {"/api/publish", Method::kPost, true, &HttpApi::Publish},
      {"/api/send", Method::kPost, true, &HttpApi::Send},
      {"/api/disconnect", Method::kPost, true, &HttpApi::Disconnect},
  }};
  const Route* route = nullptr;
  for (const Route& r : kRoutes) {
    if (r.path == call.req.path) route = &r;
  }
  if (route == nullptr) {
    return Error(call, 426, "bad_command",
                 "not an API path: WebSocket clients must send an Upgrade request");
  }
  int status = 0;
  if (route->needs_access && !access_.ApiAllowed(call.req, IsLoopbackPeer(call.c.fd), &status)) {
    return Error(call, status, "not_allowed",
                 status == 401 ? "missing or wrong API key (Authorization: apikey <key>)"
                               : "the API answers loopback clients only when no key is set");
  }
  if (route->needs_access) {
    if (std::optional<ApiGuard::Refusal> refusal = guard_.CheckSite(call.req)) {
      return Error(call, refusal->status, "not_allowed", refusal->reason);
    }
  }
  bool get = call.req.method == "GET" || call.req.method == "HEAD";
  if (route->method == Method::kGet ? !get : call.req.method != "POST") {
    return Error(call, 405, "bad_command", route->method == Method::kGet ? "use GET" : "use POST");
  }
  if (route->method == Method::kPost) {
    if (std::optional<ApiGuard::Refusal> refusal = ApiGuard::CheckBody(call.req)) {
      return Error(call, refusal->status, "bad_command", refusal->reason);
    }
  }
  (this->*route->handler)(call);
}

void HttpApi::Healthz(const Call& call) {
  bool draining = sessions_->draining();
  // Degraded cluster mode still serves (local delivery goes on): 200, said in the body.
  Answer(call, draining ? 503 : 200, "text/plain",
         (draining ? "draining\n" : "ok\n") + metrics_.RedisHealth());
}

void HttpApi::Prometheus(const Call& call) {
  Answer(call, 200, "text/plain; version=0.0.4", metrics_.PrometheusText());
}

void HttpApi::Stats(const Call& call) { Answer(call, 200, kJson, metrics_.StatsJson()); }

// The page is behind the same checks as the API it reads: it shows nothing
// by itself, but with api.key set only those who hold the key get it (in the
// apikey query parameter, as a browser cannot send the header on a link).
void HttpApi::Dashboard(const Call& call) {
  const DashboardPage& page = DashboardPage::Get();
  Respond(call, net::BuildHttpResponse(200, "text/html; charset=utf-8", page.html(),
                                       call.keep_alive, page.headers()));
}

void HttpApi::Presence(const Call& call) {
  // The answer comes from the room's owner, as a whole response: GET only.
  if (call.head) return Error(call, 405, "bad_command", "use GET");
  std::optional<std::string> room = net::QueryParam(call.req.query, "room");
  if (!room || room->empty() || room->size() > proto::kMaxRoomBytes || !proto::IsValidUtf8(*room)) {
    return Error(call, 400, "bad_command", "missing or bad room parameter");
  }
  if (!access_.TracksPresence(*room)) {
    return Error(call, 403, "not_allowed", "presence is not enabled for that room");
  }
  if (std::optional<std::string_view> refusal = rooms_->PresenceRefusal(call.c, *room)) {
    return Error(call, 503, "rate_limited", *refusal);
  }
  rooms_->AskPresence(call.c, call.slot, *room, Ticket(call));
}

void HttpApi::Publish(const Call& call) {
  if (!ParseBody(call, proto::Op::kPub)) return;
  auto req = std::make_unique<PubRequest>();
  req->room = command_.room;
  req->from = "$server";
  req->data = command_.data;
  req->conn = sessions_->HandleOf(call.slot);
  req->origin = static_cast<uint8_t>(shard_id_);
  uint32_t ticket = Ticket(call);
  req->ticket = ticket;
  if (rooms_->Publish(std::move(req))) return;
  sessions_->CompleteTicket(
      call.c, call.slot, ticket,
      core::SharedFrame::CreateRaw(net::BuildHttpJsonError(
          503, "rate_limited", "server busy: publication refused", call.keep_alive)));
}

void HttpApi::Send(const Call& call) {
  if (!ParseBody(call, proto::Op::kSend)) return;
  uint32_t ticket = Ticket(call);
  PendingBound refusal = users_->StartSend(call.c, call.slot, command_.to, command_.data, ticket);
  if (refusal == PendingBound::kNone) return;
  sessions_->CompleteTicket(
      call.c, call.slot, ticket,
      core::SharedFrame::CreateRaw(net::BuildHttpJsonError(
          503, "rate_limited", Users::SendRefusalReason(refusal), call.keep_alive)));
}

void HttpApi::Disconnect(const Call& call) {
  if (!ParseBody(call, proto::Op::kPing)) return;  // only `user` matters
  if (command_.user.empty()) return Error(call, 400, "bad_command", "missing user");
  if (!users_->Disconnect(command_.user)) {
    return Error(call, 503, "rate_limited", "server busy: disconnect refused");
  }
  Answer(call, 200, kJson, "{}");
}

bool HttpApi::ParseBody(const Call& call, proto::Op op) {
  std::optional<proto::ParseError> err = parser_.ParseAs(op, call.body, &command_);
  if (!err) return true;
  Error(call, 400, wire::ErrorCodeName(err->code), err->reason);
  return false;
}

void HttpApi::Answer(const Call& call, int status, std::string_view content_type,
                     std::string_view body) {
  Respond(call, net::BuildHttpResponse(status, content_type, body, call.keep_alive));
}

void HttpApi::Error(const Call& call, int status, std::string_view code, std::string_view reason) {
  Respond(call, net::BuildHttpJsonError(status, code, reason, call.keep_alive));
}

// A response to HEAD has the headers GET would have (Content-Length
// included) and no body, or a keep-alive client would read the body as the
// start of the next response.
void HttpApi::Respond(const Call& call, std::string response) {
  if (call.head) response.resize(response.find("\r\n\r\n") + 4);
  sessions_->Reply(call.c, call.slot, core::SharedFrame::CreateRaw(response));
}

uint32_t HttpApi::Ticket(const Call& call) {
  return sessions_->ReserveTicket(call.c, std::nullopt, /*http=*/true, call.keep_alive);
}

}  // namespace ringcast::shard
