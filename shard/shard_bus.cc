// Room ownership and the cross-shard bus: publish -> owner -> fan-out.
#include <bit>

#include "core/hash.h"
#include "net/http_response.h"
#include "proto/envelope.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {
constexpr size_t kInboundBudget = 16384;          // messages per ring per round
}  // namespace

void Shard::Send(unsigned to, const BusMessage& msg) {
  RC_DCHECK(to != id_);
  if (overflow_[to].empty() && mesh_->Ring(id_, to).TryPush(msg)) {
    doorbells_due_ |= uint64_t{1} << to;
    return;
  }
  // Backpressure: keep it, in order, and retry every round. Never dropped.
  overflow_[to].push_back(msg);
  Bump(stats_.bus_overflowed);
}

void Shard::FlushOverflow() {
  for (unsigned to = 0; to < overflow_.size(); ++to) {
    auto& q = overflow_[to];
    while (!q.empty() && mesh_->Ring(id_, to).TryPush(q.front())) {
      q.pop_front();
      doorbells_due_ |= uint64_t{1} << to;
    }
  }
}

size_t Shard::OverflowTotal() const {
  size_t total = 0;
  for (const auto& q : overflow_) total += q.size();
  return total;
}

void Shard::RingDoorbells() {
  if (doorbells_due_ == 0) return;
  // Pairs with the consumer's store of its sleeping flag before it re-checks
  // its rings: one of the two always sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (uint64_t due = doorbells_due_; due != 0; due &= due - 1) {
    unsigned to = static_cast<unsigned>(std::countr_zero(due));
    if (!mesh_->MaySleep(to)) continue;
    int fd = mesh_->RingFd(to);
    if (fd < 0) continue;
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_msg_ring(sqe, fd, 0, net::PackUserData(net::OpKind::kDoorbell, id_, 0), 0);
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kDoorbell, to, 0));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    Bump(stats_.doorbells);
  }
  doorbells_due_ = 0;
}

void Shard::DrainInbound() {
  for (unsigned from = 0; from < mesh_->shards(); ++from) {
    if (from == id_) continue;
    auto& ring = mesh_->Ring(from, id_);
    BusMessage msg;
    for (size_t n = 0; n < kInboundBudget && ring.TryPop(&msg); ++n) OnBus(msg);
  }
}

void Shard::ReleaseInbound() {
  for (unsigned from = 0; from < mesh_->shards(); ++from) {
    if (from == id_) continue;
    BusMessage msg;
    while (mesh_->Ring(from, id_).TryPop(&msg)) FreeBusPayload(msg);
  }
}

void Shard::OnBus(const BusMessage& msg) {
  switch (msg.kind) {
    case BusKind::kPublish:
      HandlePublish(std::unique_ptr<PubRequest>(static_cast<PubRequest*>(msg.ptr)));
      return;
    case BusKind::kDeliver:
      DeliverLocal(static_cast<core::SharedFrame*>(msg.ptr), (msg.flags & 1) != 0, msg.origin,
                   msg.conn, (msg.flags & 2) != 0);
      return;
    case BusKind::kJoin:
      HandleJoin(msg);
      return;
    case BusKind::kJoinAck:
      HandleJoinAck(msg);
      return;
    case BusKind::kLeave:
      HandleLeave(msg);
      return;
    case BusKind::kPubAck:
      HandlePubAck(msg);
      return;
    case BusKind::kDisconnect:
      HandleDisconnect(msg);
      return;
    case BusKind::kRes:
      HandleRes(std::unique_ptr<ResAnswer>(static_cast<ResAnswer*>(msg.ptr)));
      return;
    case BusKind::kPresence:
      OwnerPresence(*std::unique_ptr<PresenceDelta>(static_cast<PresenceDelta*>(msg.ptr)));
      return;
    case BusKind::kPresenceQuery: {
      auto* q = static_cast<PresenceQuery*>(msg.ptr);
      AnswerPresence(q);
      Send(msg.src, BusMessage{BusKind::kPresenceAnswer, static_cast<uint8_t>(id_), 0, 0, 0, {},
                               q});
      return;
    }
    case BusKind::kPresenceAnswer:
      FinishPresence(std::unique_ptr<PresenceQuery>(static_cast<PresenceQuery*>(msg.ptr)));
      return;
  }
}

void Shard::DeliverLocal(core::SharedFrame* frame, bool skip, uint8_t origin,
                         core::SlabHandle conn, bool presence_only) {
  LocalRoom* room = index_.Find(frame->tag());
  if (room == nullptr || room->subs.empty()) {
    frame->Unref();
    return;
  }
  bool exclude = skip && origin == id_;
  LocalFrame* local = pools_.Wrap(frame);
  uint64_t delivered = 0;
  for (const Subscriber& s : room->subs) {
    if (exclude && s.slot == conn.slot && conns_.HandleOf(s.slot).gen == conn.gen) continue;
    if (presence_only && !s.presence) continue;
    Connection& c = conns_.At(s.slot);
    if (c.state != ConnState::kOpen) continue;
    EnqueueLocal(c, s.slot, local);
    ++delivered;
  }
  Bump(stats_.deliveries, delivered);
  pools_.Unref(local);
}

void Shard::HandlePubAck(const BusMessage& msg) {
  if (msg.flags & 4) {
    OnSendAck(msg);
    return;
  }
  Connection* c = conns_.Get(msg.conn);
  if (c == nullptr || msg.ticket == 0) {
    if (c != nullptr && (msg.flags & 1) && c->state == ConnState::kOpen) {
      ReplyError(*c, msg.conn.slot, std::nullopt, wire::ErrorCode::kRateLimited,
                 "server busy: publication refused, retry later");
    }
    return;
  }
  if (const ParkedReply* p = HttpTicket(*c, msg.ticket)) {  // POST /api/publish
    std::string body = (msg.flags & 2) ? "{\"seq\":" + std::to_string(msg.value) + "}" : "{}";
    std::string response =
        (msg.flags & 1) ? net::BuildHttpJsonError(503, "rate_limited",
                                                  "server busy: publication refused",
                                                  p->keep_alive)
                        : net::BuildHttpResponse(200, "application/json", body, p->keep_alive);
    CompleteTicket(*c, msg.conn.slot, msg.ticket, core::SharedFrame::CreateRaw(response));
    return;
  }
  if (msg.flags & 1) {
    CompleteError(*c, msg.conn.slot, msg.ticket, wire::ErrorCode::kRateLimited,
                  "server busy: publication refused, retry later");
  } else if (msg.flags & 2) {
    scratch_.clear();
    proto::WriteOkSeq(&scratch_, TicketId(*c, msg.ticket), msg.value, std::nullopt, std::nullopt);
    CompleteTicket(*c, msg.conn.slot, msg.ticket, BuildText(scratch_));
  } else {
    CompleteOk(*c, msg.conn.slot, msg.ticket);
  }
}

}  // namespace ringcast::shard
