#include "shard/http_front.h"

#include "net/handshake.h"
#include "shard/sessions.h"

namespace ringcast::shard {

using Step = net::HttpHeadScanner::Step;

void HttpFront::OnBytes(Connection& c, uint32_t slot, std::string_view bytes, int64_t now_unix_s) {
  if (c.http_close) return;  // no further requests are read on it
  if (c.head) c.head->bytes.append(bytes);
  std::string_view input = c.head ? std::string_view(c.head->bytes) : bytes;
  HttpProgress progress = c.head ? c.head->progress : HttpProgress{};
  size_t consumed = 0;
  while (c.state == ConnState::kHandshake && !c.http_close && consumed < input.size()) {
    // Pipelining without reading the answers, or behind one that waits for
    // another shard (the answers after it park): no further request is read.
    if (sessions_->OutputHeld(c) > options_.max_queued_bytes) {
      sessions_->CloseHttp(c, slot);
      return;
    }
    size_t used = 0;
    if (!ServeOneHead(c, slot, input.substr(consumed), &progress, &used, now_unix_s)) {
      if (c.state != ConnState::kHandshake) return;  // upgraded or refused: input gone
      break;                                         // the rest is still coming
    }
    consumed += used;
    progress = HttpProgress{};  // the next request starts here
    sessions_->StartHttpRequest(c);
  }
  if (c.state != ConnState::kHandshake) return;
  if (c.http_close) {
    c.head.reset();  // answers still pending; nothing more is read
    return;
  }
  KeepRest(c, input, consumed, progress);
}

bool HttpFront::ServeOneHead(Connection& c, uint32_t slot, std::string_view view,
                             HttpProgress* progress, size_t* used, int64_t now_unix_s) {
  net::HttpRequest req;
  net::HttpParseResult parsed{net::HttpParseStatus::kIncomplete, {}};
  if (progress->wait_bytes > 0) {
    if (view.size() < progress->wait_bytes) return false;  // the body is still arriving
    parsed = net::ParseHttpHead(view, options_.max_head_bytes, &req);
  } else {
    // The parser runs only where the scanner says it may decide something.
    while (parsed.status == net::HttpParseStatus::kIncomplete) {
      if (progress->scanner.Scan(view, options_.max_head_bytes) == Step::kMore) return false;
      parsed = net::ParseHttpHead(view, options_.max_head_bytes, &req);
    }
  }
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
  if (*used == 0 && c.state == ConnState::kHandshake && !c.http_close) {
    // Its body is still arriving: the head is parsed again only once it is all here.
    progress->wait_bytes = req.head_bytes + net::BodyFraming(req).body_bytes;
  }
  return c.state == ConnState::kHandshake && *used > 0;
}

void HttpFront::KeepRest(Connection& c, std::string_view input, size_t consumed,
                         const HttpProgress& progress) {
  if (consumed == input.size()) {
    c.head.reset();
    return;
  }
  if (!c.head) {
    c.head = std::make_unique<HttpInput>();
    c.head->bytes.assign(input.substr(consumed));
  } else if (consumed > 0) {
    c.head->bytes.erase(0, consumed);
  }
  c.head->progress = progress;
}

void HttpFront::Upgrade(Connection& c, uint32_t slot, const net::HttpRequest& req,
                        std::string_view view, int64_t now_unix_s) {
  // Bytes behind the head are WebSocket frames: a body would make them ambiguous.
  const net::HttpBodyFraming framing = net::BodyFraming(req);
  if (framing.status != 0 || framing.body_bytes > 0) {
    Bump(stats_->handshakes_failed);
    sessions_->RejectHttp(c, slot, framing.status != 0 ? framing.status : 400,
                          framing.status != 0 ? framing.reason : "an upgrade request has no body");
    return;
  }
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
    if (!rest.empty()) sessions_->FeedWebSocket(c, slot, rest);  // in slices, as any input
    c.head.reset();
    return;
  }
  Bump(stats_->handshakes_failed);
  sessions_->RejectHttp(c, slot, refusal.status, refusal.reason);  // never upgrades
}

}  // namespace ringcast::shard
