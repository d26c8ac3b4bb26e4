// Connection lifecycle: handshake, WebSocket input, queuing, closing.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "net/handshake.h"
#include "net/http_head.h"
#include "proto/envelope.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {

constexpr uint32_t kCloseDeadlineMs = 2000;

std::string_view CloseReason(uint16_t code) {
  switch (code) {
    case 1002: return "protocol error";
    case 1003: return "binary frames are not accepted";
    case 1007: return "invalid UTF-8 in text frame";
    case 1009: return "message too big";
    default: return "";
  }
}

}  // namespace

// Adapts the frame reader's callbacks to one connection.
class SessionSink final : public net::FrameSink {
 public:
  SessionSink(Shard* shard, Connection* c, uint32_t slot) : shard_(shard), c_(c), slot_(slot) {}
  bool OnText(std::string_view message) override { return shard_->OnText(*c_, slot_, message); }
  bool OnPing(std::string_view payload) override {
    shard_->Enqueue(*c_, slot_, shard_->writer_.Build(wire::Opcode::kPong, payload));
    return c_->state == ConnState::kOpen;
  }
  bool OnClose(uint16_t code, std::string_view /*reason*/) override {
    // Echo the peer's code (RFC 6455 5.5.1); no code means a plain 1000.
    shard_->CloseWith(*c_, slot_, code == 1005 ? 1000 : code, "");
    return false;
  }

 private:
  Shard* shard_;
  Connection* c_;
  uint32_t slot_;
};

void Shard::OnBytes(Connection& c, uint32_t slot, std::string_view bytes) {
  if (c.state == ConnState::kHandshake) {
    OnHandshakeBytes(c, slot, bytes);
    return;
  }
  SessionSink sink(this, &c, slot);
  uint16_t code = 0;
  if (reader_.Feed(&c.ws, bytes, &sink, &code) == net::FeedResult::kError) {
    Bump(stats_.protocol_closes);
    CloseWith(c, slot, code, CloseReason(code));
  }
}

// Reads HTTP heads until one upgrades to WebSocket. Requests that do not
// upgrade go to the HTTP API (shard_http.cc), keep-alive and pipelined.
void Shard::OnHandshakeBytes(Connection& c, uint32_t slot, std::string_view bytes) {
  if (c.http_close) return;  // no further requests are read on it
  if (c.head) c.head->append(bytes);
  std::string_view input = c.head ? std::string_view(*c.head) : bytes;
  size_t consumed = 0;
  while (c.state == ConnState::kHandshake && !c.http_close && consumed < input.size()) {
    if (c.out.queued_bytes() > options_.max_queued_bytes) {
      CloseHttp(c, slot);  // pipelining without reading the answers: a slow consumer
      return;
    }
    std::string_view view = input.substr(consumed);
    net::HttpRequest req;
    net::HttpParseResult parsed = net::ParseHttpHead(view, options_.max_head_bytes, &req);
    if (parsed.status == net::HttpParseStatus::kIncomplete) break;
    if (parsed.status != net::HttpParseStatus::kComplete) {
      Bump(stats_.handshakes_failed);
      RejectHttp(c, slot, parsed.status == net::HttpParseStatus::kTooLarge ? 431 : 400,
                 parsed.error);
      return;
    }
    if (net::IsUpgradeRequest(req)) {
      Upgrade(c, slot, req, view);  // takes the rest of the input as WebSocket bytes
      return;
    }
    size_t used = ServeHttp(c, slot, req, view);
    if (c.state != ConnState::kHandshake) return;  // refused: the input is gone
    if (used == 0) break;                          // its body is still coming
    consumed += used;
  }
  if (c.state != ConnState::kHandshake) return;
  if (c.http_close) {
    c.head.reset();  // answers still pending; nothing more is read
    return;
  }
  if (consumed == input.size()) {
    c.head.reset();
  } else if (c.head) {
    c.head->erase(0, consumed);
  } else {
    c.head = std::make_unique<std::string>(input.substr(consumed));
  }
}

void Shard::Upgrade(Connection& c, uint32_t slot, const net::HttpRequest& req,
                    std::string_view view) {
  if (c.http_served) {  // its HTTP answers would end up inside the WebSocket stream
    RejectHttp(c, slot, 400, "upgrade on a fresh connection, not after API requests");
    return;
  }
  if (draining_) {
    RejectHttp(c, slot, 503, "server is shutting down: reconnect to another node");
    return;
  }
  net::UpgradeCheck check = net::ValidateUpgrade(req);
  if (check.status != 0) {
    Bump(stats_.handshakes_failed);
    RejectHttp(c, slot, check.status, check.reason);
    return;
  }
  std::string refusal;
  if (int status = Authenticate(req, c, slot, &refusal); status != 0) {
    Bump(stats_.handshakes_failed);
    RejectHttp(c, slot, status, refusal);  // never upgrades
    return;
  }
  std::optional<std::string> accept = net::ComputeAcceptKey(req.Header("Sec-WebSocket-Key"));
  RC_CHECK(accept.has_value());  // ValidateUpgrade checked the key
  std::string sid = SidOf(slot);
  c.state = ConnState::kOpen;
  c.tokens_milli = uint64_t{options_.command_burst} * 1000;
  c.refill_ms = now_ms_;
  ArmKeepalive(slot, 0);
  Enqueue(c, slot, core::SharedFrame::CreateRaw(net::BuildUpgradeResponse(*accept)));
  scratch_.clear();
  proto::WriteWelcome(&scratch_, sid, c.user, node_id_);
  Enqueue(c, slot, BuildText(scratch_));
  if (!c.is_server) JoinPersonalRoom(c, slot);
  AnnounceStatus(c, slot, true);
  // Frames the client sent right behind its head are WebSocket input already.
  std::string_view rest = view.substr(req.head_bytes);
  if (!rest.empty()) OnBytes(c, slot, rest);
  c.head.reset();
}

std::string Shard::SidOf(uint32_t slot) const {
  core::SlabHandle h = conns_.HandleOf(slot);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s-%u-%u-%u", node_id_.c_str(), id_, h.slot, h.gen);
  return buf;
}

core::SharedFrame* Shard::BuildText(const std::string& json, std::string_view tag) {
  return writer_.Build(wire::Opcode::kText, json, tag);
}

void Shard::Enqueue(Connection& c, uint32_t slot, core::SharedFrame* frame) {
  LocalFrame* local = pools_.Wrap(frame);
  EnqueueLocal(c, slot, local);
  pools_.Unref(local);
}

void Shard::EnqueueLocal(Connection& c, uint32_t slot, LocalFrame* local) {
  queued_total_ += local->frame->size();
  Bump(stats_.messages_out);
  c.out.Push(&pools_, local);
  MarkDirty(c, slot);
  if (c.out.queued_bytes() > options_.max_queued_bytes && c.state == ConnState::kOpen &&
      IsSlowConsumer(c)) {
    CloseSlowConsumer(c, slot);
  }
}

// Past the limit, a connection is slow when the kernel has not taken its last
// send since an earlier round (the peer is not reading). A burst that arrived
// within this round is not the reader's fault: it goes out at the end of the
// round. kBurstFactor bounds even that.
bool Shard::IsSlowConsumer(const Connection& c) const {
  constexpr uint64_t kBurstFactor = 16;
  if (c.out.queued_bytes() > kBurstFactor * options_.max_queued_bytes) return true;
  // A send completes at the earliest in the next round, and that round may
  // queue more before it reaps the completion: stuck means two rounds.
  return c.send_in_flight && round_ - c.send_round > 1;
}

// Frees everything not already handed to the kernel, then closes with 4000.
// Never touches subscriptions: this may run inside a room's fan-out loop.
void Shard::CloseSlowConsumer(Connection& c, uint32_t slot) {
  Bump(stats_.slow_consumer_closes);
  uint64_t before = c.out.queued_bytes();
  c.out.DropAfter(&pools_, c.send_in_flight ? c.in_flight_nodes : 0);
  queued_total_ -= before - c.out.queued_bytes();
  CloseWith(c, slot, 4000, "slow consumer");
}

void Shard::CloseWith(Connection& c, uint32_t slot, uint16_t code, std::string_view reason) {
  if (c.state == ConnState::kHandshake) {
    Terminate(c, slot);
    return;
  }
  if (c.state != ConnState::kOpen) return;
  c.state = ConnState::kClosing;
  c.close_after_flush = true;
  reader_.Release(&c.ws);
  Enqueue(c, slot, writer_.BuildClose(code, reason));
  timers_.Add(now_ms_, kCloseDeadlineMs, TimerKey(TimerKind::kCloseDeadline, conns_.HandleOf(slot)));
}

void Shard::RejectHttp(Connection& c, uint32_t slot, int status, std::string_view reason) {
  RC_CHECK(c.state == ConnState::kHandshake);
  c.state = ConnState::kClosing;
  c.close_after_flush = true;
  c.head.reset();
  Enqueue(c, slot, core::SharedFrame::CreateRaw(net::BuildHttpError(status, reason)));
  timers_.Add(now_ms_, kCloseDeadlineMs, TimerKey(TimerKind::kCloseDeadline, conns_.HandleOf(slot)));
}

// HTTP API: no more requests on this connection; close once it is flushed.
void Shard::CloseHttp(Connection& c, uint32_t slot) {
  c.state = ConnState::kClosing;
  c.close_after_flush = true;
  c.head.reset();
  if (c.out.empty() && !c.send_in_flight) {
    shutdown(c.fd, SHUT_WR);
    c.shut_write = true;
  }
  timers_.Add(now_ms_, kCloseDeadlineMs, TimerKey(TimerKind::kCloseDeadline, conns_.HandleOf(slot)));
}

// Shuts the socket so in-flight operations complete; the slot is freed by
// Reap() once the kernel has returned them. Safe inside fan-out loops.
void Shard::Terminate(Connection& c, uint32_t slot) {
  if (c.state == ConnState::kDead) return;
  c.state = ConnState::kDead;
  shutdown(c.fd, SHUT_RDWR);
  uint64_t before = c.out.queued_bytes();
  c.out.DropAfter(&pools_, c.send_in_flight ? c.in_flight_nodes : 0);
  queued_total_ -= before - c.out.queued_bytes();
  reader_.Release(&c.ws);
  c.head.reset();
  reap_.push_back(slot);
}

void Shard::FreeConnection(uint32_t slot) {
  Connection& c = conns_.At(slot);
  RC_CHECK(c.state == ConnState::kDead && !c.recv_armed && !c.send_in_flight);
  while (!c.subs.empty()) Unsubscribe(c, slot, static_cast<uint32_t>(c.subs.size() - 1));
  AnnounceStatus(c, slot, false);
  queued_total_ -= c.out.queued_bytes();
  c.out.Clear(&pools_);
  close(c.fd);
  Drop(stats_.connections_open);
  conns_.Free(conns_.HandleOf(slot));
}

}  // namespace ringcast::shard
