// The HTTP API on the WebSocket port (PROTOCOL.md, HTTP API): keep-alive,
// bounded bodies, API-key (or loopback-only) access, JSON answers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>

#include "net/handshake.h"
#include "net/http_response.h"
#include "proto/json_writer.h"
#include "shard/shard.h"

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

// Returns the bytes the request took (head and body), or 0 while its body is
// still arriving. Refusals that end the connection leave it kClosing.
size_t Shard::ServeHttp(Connection& c, uint32_t slot, const net::HttpRequest& req,
                        std::string_view view) {
  if (!req.Header("Transfer-Encoding").empty()) {
    HttpError(c, slot, 411, "bad_command", "send the body with Content-Length", false);
    EndHttp(c, slot);
    return 0;
  }
  uint64_t body_bytes = 0;
  std::string_view length = req.Header("Content-Length");
  if (!length.empty()) {
    auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), body_bytes);
    if (ec != std::errc() || end != length.data() + length.size()) {
      HttpError(c, slot, 400, "bad_command", "Content-Length is not a number", false);
      EndHttp(c, slot);
      return 0;
    }
  }
  if (body_bytes > options_.max_body_bytes) {
    HttpError(c, slot, 413, "too_large",
              "body larger than " + std::to_string(options_.max_body_bytes) + " bytes", false);
    EndHttp(c, slot);
    return 0;
  }
  size_t total = req.head_bytes + static_cast<size_t>(body_bytes);
  if (view.size() < total) return 0;
  bool keep_alive = req.version_minor == 1 ? !req.HeaderHasToken("Connection", "close")
                                           : req.HeaderHasToken("Connection", "keep-alive");
  if (draining_) keep_alive = false;
  RouteHttp(c, slot, req, view.substr(req.head_bytes, static_cast<size_t>(body_bytes)),
            keep_alive);
  c.http_served = true;
  if (!keep_alive && c.state == ConnState::kHandshake) EndHttp(c, slot);
  return total;
}

// No further requests on this connection: close once every answer is out
// (answers from other shards may still be on their way).
void Shard::EndHttp(Connection& c, uint32_t slot) {
  c.http_close = true;
  if (!c.parked || c.parked->waiting.empty()) CloseHttp(c, slot);
}

bool Shard::ApiAllowed(const Connection& c, const net::HttpRequest& req, int* status) const {
  if (!options_.api_key.empty()) {
    *status = 401;
    return HasApiKey(req);
  }
  *status = 403;  // with no key configured the API answers loopback clients only
  return IsLoopbackPeer(c.fd);
}

void Shard::RouteHttp(Connection& c, uint32_t slot, const net::HttpRequest& req,
                      std::string_view body, bool keep_alive) {
  std::string_view path = req.path;
  bool get = req.method == "GET" || req.method == "HEAD";
  bool post = req.method == "POST";
  if (path == "/healthz") {
    if (!get) return HttpError(c, slot, 405, "bad_command", "use GET", keep_alive);
    return HttpReply(c, slot, draining_ ? 503 : 200, "text/plain", draining_ ? "draining\n" : "ok\n",
                     keep_alive);
  }
  bool known = path == "/metrics" || path == "/api/stats" || path == "/api/publish" ||
               path == "/api/send" || path == "/api/disconnect" || path == "/api/presence";
  if (!known) {
    return HttpError(c, slot, 426, "bad_command",
                     "not an API path: WebSocket clients must send an Upgrade request",
                     keep_alive);
  }
  int status = 0;
  if (!ApiAllowed(c, req, &status)) {
    return HttpError(c, slot, status, "not_allowed",
                     status == 401 ? "missing or wrong API key (Authorization: apikey <key>)"
                                   : "the API answers loopback clients only when no key is set",
                     keep_alive);
  }
  bool wants_get = path == "/metrics" || path == "/api/stats" || path == "/api/presence";
  if (wants_get ? !get : !post) {
    return HttpError(c, slot, 405, "bad_command", wants_get ? "use GET" : "use POST", keep_alive);
  }
  if (path == "/metrics") {
    return HttpReply(c, slot, 200, "text/plain; version=0.0.4", MetricsText(), keep_alive);
  }
  if (path == "/api/stats") return HttpReply(c, slot, 200, kJson, StatsJson(), keep_alive);
  if (path == "/api/presence") {
    std::optional<std::string> room = net::QueryParam(req.query, "room");
    if (!room || room->empty() || room->size() > proto::kMaxRoomBytes) {
      return HttpError(c, slot, 400, "bad_command", "missing or bad room parameter", keep_alive);
    }
    if (!TracksPresence(*room)) {
      return HttpError(c, slot, 403, "not_allowed", "presence is not enabled for that room",
                       keep_alive);
    }
    return AskPresence(c, slot, *room, ReserveHttpTicket(c, keep_alive));
  }
  proto::Op op = path == "/api/publish" ? proto::Op::kPub
                 : path == "/api/send"  ? proto::Op::kSend
                                        : proto::Op::kPing;  // disconnect: only `user` matters
  if (std::optional<proto::ParseError> err = parser_.ParseAs(op, body, &command_)) {
    return HttpError(c, slot, 400, wire::ErrorCodeName(err->code), err->reason, keep_alive);
  }
  if (path == "/api/publish") {
    auto req_pub = std::make_unique<PubRequest>();
    req_pub->room = command_.room;
    req_pub->from = "$server";
    req_pub->data = command_.data;
    req_pub->conn = conns_.HandleOf(slot);
    req_pub->origin = static_cast<uint8_t>(id_);
    req_pub->ticket = ReserveHttpTicket(c, keep_alive);
    return RoutePublish(std::move(req_pub));
  }
  if (path == "/api/send") {
    uint32_t ticket = ReserveHttpTicket(c, keep_alive);
    if (!StartSend(c, slot, command_.to, command_.data, ticket)) {
      CompleteTicket(c, slot, ticket,
                     core::SharedFrame::CreateRaw(net::BuildHttpJsonError(
                         503, "rate_limited", "server busy: send refused", keep_alive)));
    }
    return;
  }
  if (command_.user.empty()) {
    return HttpError(c, slot, 400, "bad_command", "missing user", keep_alive);
  }
  DisconnectUser(command_.user);
  HttpReply(c, slot, 200, kJson, "{}", keep_alive);
}

void Shard::HttpReply(Connection& c, uint32_t slot, int status, std::string_view content_type,
                      std::string_view body, bool keep_alive) {
  Reply(c, slot, core::SharedFrame::CreateRaw(
                     net::BuildHttpResponse(status, content_type, body, keep_alive)));
}

void Shard::HttpError(Connection& c, uint32_t slot, int status, std::string_view code,
                      std::string_view reason, bool keep_alive) {
  Reply(c, slot, core::SharedFrame::CreateRaw(
                     net::BuildHttpJsonError(status, code, reason, keep_alive)));
}

uint32_t Shard::ReserveHttpTicket(Connection& c, bool keep_alive) {
  uint32_t ticket = ReserveTicket(c, std::nullopt);
  c.parked->waiting.back().http = true;
  c.parked->waiting.back().keep_alive = keep_alive;
  return ticket;
}

const ParkedReply* Shard::HttpTicket(const Connection& c, uint32_t ticket) const {
  if (!c.parked) return nullptr;
  for (const ParkedReply& p : c.parked->waiting) {
    if (p.ticket == ticket) return p.http ? &p : nullptr;
  }
  return nullptr;
}

}  // namespace ringcast::shard
