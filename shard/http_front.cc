#include "shard/http_front.h"

#include "net/handshake.h"
#include "shard/sessions.h"

namespace ringcast::shard {

void HttpFront::OnBytes(Connection& c, uint32_t slot, std::string_view bytes, int64_t now_unix_s) {
  if (c.http_close) return;  // no further requests are read on it
  if (c.head) c.head->append(bytes);
  std::string_view input = c.head ? std::string_view(*c.head) : bytes;
  size_t consumed = 0;
  while (c.state == ConnState::kHandshake && !c.http_close && consumed < input.size()) {
    if (c.out.queued_bytes() > options_.max_queued_bytes) {
      sessions_->CloseHttp(c, slot);  // pipelining without reading the answers
      return;
    }
    size_t used = 0;
    if (!ServeOneHead(c, slot, input.substr(consumed), &used, now_unix_s)) {
      if (c.state != ConnState::kHandshake) return;  // upgraded or refused: input gone
      break;                                         // the rest is still coming
    }
    consumed += used;
  }
  if (c.state != ConnState::kHandshake) return;
  if (c.http_close) {
    c.head.reset();  // answers still pending; nothing more is read
    return;
  }
  KeepRest(c, input, consumed);
}

bool HttpFront::ServeOneHead(Connection& c, uint32_t slot, std::string_view view, size_t* used,
                             int64_t now_unix_s) {
  net::HttpRequest req;
  net::HttpParseResult parsed = net::ParseHttpHead(view, options_.max_head_bytes, &req);
  if (parsed.status == net::HttpParseStatus::kIncomplete) return false;
  if (parsed.status != net::HttpParseStatus::kComplete) {
    Bump(stats_->handshakes_failed);
    sessions_->RejectHttp(c, slot, parsed.status == net::HttpParseStatus::kTooLarge ? 431 : 400,
                          parsed.error);
    return false;
  }
  if (net::IsUpgradeRequest(req)) {
    Upgrade(c, slot, req, view, now_unix_s);  // takes the rest as WebSocket bytes
    return false;
  }
  *used = events_->OnHttpRequest(c, slot, req, view);
  return c.state == ConnState::kHandshake && *used > 0;
}

void HttpFront::KeepRest(Connection& c, std::string_view input, size_t consumed) {
  if (consumed == input.size()) {
    c.head.reset();
  } else if (c.head) {
    c.head->erase(0, consumed);
  } else {
    c.head = std::make_unique<std::string>(input.substr(consumed));
  }
}

void HttpFront::Upgrade(Connection& c, uint32_t slot, const net::HttpRequest& req,
                        std::string_view view, int64_t now_unix_s) {
  if (c.http_served) {  // its HTTP answers would end up inside the WebSocket stream
    sessions_->RejectHttp(c, slot, 400, "upgrade on a fresh connection, not after API requests");
    return;
  }
  if (sessions_->draining()) {
    sessions_->RejectHttp(c, slot, 503, "server is shutting down: reconnect to another node");
    return;
  }
  if (sessions_->AtSessionLimit()) {  // this connection sits in the HTTP reserve
    Bump(stats_->upgrades_refused_full);
    sessions_->RejectHttp(c, slot, 503, kServerFullReason, kServerFullRetryAfterS);
    return;
  }
  net::UpgradeCheck check = net::ValidateUpgrade(req);
  Identity identity;
  Refusal refusal{check.status, std::string(check.reason)};
  if (check.status == 0 && access_->Authenticate(req, now_unix_s, &identity, &refusal)) {
    std::optional<std::string> accept = net::ComputeAcceptKey(req.Header("Sec-WebSocket-Key"));
    RC_CHECK(accept.has_value());  // ValidateUpgrade checked the key
    sessions_->Enqueue(c, slot, core::SharedFrame::CreateRaw(net::BuildUpgradeResponse(*accept)));
    sessions_->Open(c, slot, std::move(identity));
    // Frames the client sent right behind its head are WebSocket input already.
    std::string_view rest = view.substr(req.head_bytes);
    if (!rest.empty()) sessions_->OnWebSocketBytes(c, slot, rest);
    c.head.reset();
    return;
  }
  Bump(stats_->handshakes_failed);
  sessions_->RejectHttp(c, slot, refusal.status, refusal.reason);  // never upgrades
}

}  // namespace ringcast::shard
