// What the owner of a room (hash(room) % N) does: record which shards have
// subscribers, assign seq, keep history, frame each publication once, and
// answer joins (with seq, epoch and replay for rooms with history).
#include <algorithm>
#include <bit>
#include <chrono>

#include "core/hash.h"
#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {
constexpr size_t kOwnerOverflowLimit = 1 << 17;  // owner refuses publications past this
}  // namespace

unsigned Shard::OwnerOf(std::string_view room) const {
  return static_cast<unsigned>(core::HashBytes(room) % mesh_->shards());
}

// "name:rest" uses [namespaces.name]; everything else [namespaces.default].
const NamespaceOptions& Shard::NamespaceOf(std::string_view room) const {
  static const NamespaceOptions kDefaults;
  // Personal rooms ("@user") carry direct messages: no history, no presence.
  static const NamespaceOptions kPersonal{0, 0, false, false};
  if (!room.empty() && room.front() == '@') return kPersonal;
  size_t colon = room.find(':');
  if (colon != std::string_view::npos) {
    auto it = options_.namespaces.find(std::string(room.substr(0, colon)));
    if (it != options_.namespaces.end()) return it->second;
  }
  auto it = options_.namespaces.find("default");
  return it == options_.namespaces.end() ? kDefaults : it->second;
}

OwnedRoom& Shard::EnsureOwned(std::string_view room) {
  auto [it, inserted] = index_.owned().try_emplace(std::string(room));
  OwnedRoom& o = it->second;
  if (inserted && NamespaceOf(room).history_size > 0) {
    // Unique across restarts (wall clock) and rooms (counter): a client never
    // mistakes a new run of seqs for the one it remembers.
    uint64_t wall_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%llx-%u-%llx", static_cast<unsigned long long>(wall_ms), id_,
                  static_cast<unsigned long long>(++room_epochs_));
    const NamespaceOptions& ns = NamespaceOf(room);
    o.history = std::make_unique<RoomHistory>(ns.history_size, ns.history_ttl_s, buf);
    Bump(stats_.history_rooms);
  }
  return o;
}

void Shard::MaybeForget(std::unordered_map<std::string, OwnedRoom, core::StringHash,
                                           std::equal_to<>>::iterator it) {
  const OwnedRoom& o = it->second;
  if (o.shard_mask == 0 && (!o.history || o.history->empty())) {  // members go with it
    if (o.history) Drop(stats_.history_rooms);
    index_.owned().erase(it);
  }
}

// Records `shard` as having subscribers and answers the request's subscriber.
void Shard::OwnerJoin(JoinRequest* req, unsigned shard) {
  OwnedRoom& o = EnsureOwned(req->room);
  o.shard_mask |= uint64_t{1} << shard;
  if (req->counts_conn) ++o.user_conns;
  if (!req->has_conn || !o.history) return;
  o.history->Expire(now_ms_);
  req->seq = o.seq;
  req->epoch = o.history->epoch();
  if (!req->since_seq) return;
  if (req->since_epoch != o.history->epoch()) return;  // another run of seqs: nothing to replay
  req->recovered = o.history->ReachesBack(*req->since_seq, o.seq);
  o.history->ForEachAfter(*req->since_seq, [&](core::SharedFrame* f) {
    f->Ref();
    req->replay.push_back(f);
  });
}

// Hands a join to the room's owner: in place when that is this shard, else
// over the bus (the ack carries the room's join epoch back when room_join).
void Shard::SendJoin(std::unique_ptr<JoinRequest> req, uint32_t join_epoch) {
  unsigned owner = OwnerOf(req->room);
  if (owner == id_) {
    OwnerJoin(req.get(), id_);
    FinishJoin(std::move(req), join_epoch);
    return;
  }
  uint32_t epoch = req->room_join ? join_epoch : 0;
  Send(owner, BusMessage{BusKind::kJoin, static_cast<uint8_t>(id_), 0, 0, epoch, {},
                         req.release()});
}

void Shard::HandleJoin(const BusMessage& msg) {
  auto* req = static_cast<JoinRequest*>(msg.ptr);
  OwnerJoin(req, msg.src);
  // The same request goes back, answered, ahead of any later delivery.
  Send(msg.src, BusMessage{BusKind::kJoinAck, static_cast<uint8_t>(id_), 0, 0, msg.ticket, {},
                           req});
}

void Shard::HandleJoinAck(const BusMessage& msg) {
  FinishJoin(std::unique_ptr<JoinRequest>(static_cast<JoinRequest*>(msg.ptr)), msg.ticket);
}

// On the subscriber's shard, once the owner has recorded the join: `ok` for
// everyone who waited, and for a history room the subscriber joins the local
// room only now, after its replay, so replay and live messages neither
// overlap nor leave a gap.
void Shard::FinishJoin(std::unique_ptr<JoinRequest> req, uint32_t join_epoch) {
  LocalRoom* room = index_.Find(req->room);
  if (room == nullptr) return;  // everyone left meanwhile; the leave followed the join
  if (req->room_join && room->join_epoch == join_epoch) {
    room->joined = true;
    std::vector<PendingAck> pending;
    pending.swap(room->pending);
    for (const PendingAck& p : pending) {
      Connection* c = conns_.Get(p.conn);
      if (c != nullptr) CompleteOk(*c, p.conn.slot, p.ticket);
    }
  }
  if (req->has_conn) {
    auto waiting = std::find(room->joining.begin(), room->joining.end(), req->conn);
    bool cancelled = waiting == room->joining.end();  // unsubscribed meanwhile
    if (!cancelled) room->joining.erase(waiting);
    Connection* c = conns_.Get(req->conn);
    if (c != nullptr && c->state == ConnState::kOpen) {
      uint32_t slot = req->conn.slot;
      if (!cancelled && SubscriptionIndex::IndexOf(c->subs, room) < 0) {
        index_.Add(room, slot, &c->subs, req->presence);
        if (TracksPresence(room->name)) SendPresenceDelta(*c, room->name, +1);
      }
      if (!cancelled) {  // else the request's destructor drops the replay's references
        for (core::SharedFrame* f : req->replay) Enqueue(*c, slot, f);
        req->replay.clear();
      }
      if (req->ticket != 0) {
        std::optional<bool> recovered;
        if (req->since_seq) recovered = req->recovered;
        scratch_.clear();
        proto::WriteOkSeq(&scratch_, TicketId(*c, req->ticket), req->seq,
                          std::string_view(req->epoch), recovered);
        CompleteTicket(*c, slot, req->ticket, BuildText(scratch_));
      }
    }
  }
  if (room->IsUnused()) {
    LeaveRoom(room, false, true);
    index_.Erase(room);
  }
}

void Shard::HandleLeave(const BusMessage& msg) {
  std::unique_ptr<std::string> room(static_cast<std::string*>(msg.ptr));
  OwnerLeave(*room, msg.src, (msg.flags & 1) != 0, (msg.flags & 2) != 0);
}

// `one_conn`: a personal room's connection left; `last`: the shard has no
// subscriber of the room left.
void Shard::OwnerLeave(std::string_view room, unsigned shard, bool one_conn, bool last) {
  auto it = index_.owned().find(room);
  if (it == index_.owned().end()) return;
  OwnedRoom& o = it->second;
  if (one_conn && o.user_conns > 0) --o.user_conns;
  if (!last) return;
  o.shard_mask &= ~(uint64_t{1} << shard);
  MaybeForget(it);
}

void Shard::LeaveRoom(LocalRoom* room, bool one_conn, bool last) {
  unsigned owner = OwnerOf(room->name);
  if (owner == id_) {
    OwnerLeave(room->name, id_, one_conn, last);
    return;
  }
  Send(owner, BusMessage{BusKind::kLeave, static_cast<uint8_t>(id_), 0,
                         static_cast<uint8_t>((one_conn ? 1 : 0) | (last ? 2 : 0)), 0, {},
                         std::make_unique<std::string>(room->name).release()});
}

// Hands a publication to its room's owner: in place, or over the bus.
void Shard::RoutePublish(std::unique_ptr<PubRequest> req) {
  unsigned owner = OwnerOf(req->room);
  if (owner == id_) {
    HandlePublish(std::move(req));
    return;
  }
  Send(owner, BusMessage{BusKind::kPublish, static_cast<uint8_t>(id_), 0, 0, 0, {},
                         req.release()});
}

// The owner frames the publication once and hands the same bytes to every
// shard with subscribers: one atomic reference per shard, none per connection.
void Shard::HandlePublish(std::unique_ptr<PubRequest> req) {
  bool rejected = OverflowTotal() >= kOwnerOverflowLimit;
  std::optional<uint64_t> seq;
  if (!rejected) {
    bool keeps_history = NamespaceOf(req->room).history_size > 0;
    auto it = index_.owned().find(req->room);
    if (it == index_.owned().end() && keeps_history) {
      EnsureOwned(req->room);  // history outlives subscribers
      it = index_.owned().find(req->room);
    }
    uint64_t mask = it == index_.owned().end() ? 0 : it->second.shard_mask;
    if (it != index_.owned().end() && it->second.history) seq = ++it->second.seq;
    if (mask != 0 || seq) {
      scratch_.clear();
      if (!req->rid.empty()) {
        proto::JsonWriter w(&scratch_);
        w.BeginObject();
        w.Field("op", "req");
        w.Field("from", req->from);
        w.Field("rid", req->rid);
        w.RawField("data", req->data);
        w.EndObject();
        w.Flush();
      } else if (req->direct) {
        proto::WriteDirectMsg(&scratch_, req->from, req->data);
      } else {
        proto::WriteMsg(&scratch_, req->room, seq, req->from, req->data);
      }
      core::SharedFrame* frame = BuildText(scratch_, req->room);
      Bump(stats_.publications);
      if (seq) it->second.history->Append(*seq, now_ms_, frame);
      FanOut(frame, mask, req->echo ? 0 : 1, req->origin, req->conn);
    }
  }
  if (req->direct) {
    // A send's answer: how many of the user's connections it reached.
    uint64_t reached = 0;
    auto it = index_.owned().find(req->room);
    if (!rejected && it != index_.owned().end()) {
      reached = it->second.user_conns;
    }
    BusMessage ack{BusKind::kPubAck, static_cast<uint8_t>(id_), 0,
                   static_cast<uint8_t>(4 | (rejected ? 1 : 0)), req->send_id, req->conn,
                   nullptr};
    ack.value = reached;
    if (req->origin != id_) {
      Send(req->origin, ack);
    } else {
      HandlePubAck(ack);
    }
    return;
  }
  if (req->ticket == 0 && !rejected) return;
  BusMessage ack{BusKind::kPubAck, static_cast<uint8_t>(id_), 0,
                 static_cast<uint8_t>((rejected ? 1 : 0) | (seq ? 2 : 0)), req->ticket, req->conn,
                 nullptr};
  if (seq) ack.value = *seq;
  if (req->origin != id_) {
    Send(req->origin, ack);
  } else {
    HandlePubAck(ack);
  }
}

// Hands one frame (its creator's reference) to every shard in mask: one
// atomic reference per shard. flags as in kDeliver.
void Shard::FanOut(core::SharedFrame* frame, uint64_t mask, uint8_t flags, uint8_t origin,
                   core::SlabHandle conn) {
  if (mask == 0) {
    frame->Unref();
    return;
  }
  frame->Ref(static_cast<uint32_t>(std::popcount(mask)) - 1);
  for (uint64_t m = mask; m != 0; m &= m - 1) {
    unsigned to = static_cast<unsigned>(std::countr_zero(m));
    if (to == id_) {
      DeliverLocal(frame, (flags & 1) != 0, origin, conn, (flags & 2) != 0);
    } else {
      Send(to, BusMessage{BusKind::kDeliver, static_cast<uint8_t>(id_), origin, flags, 0, conn,
                          frame});
    }
  }
}

// Once a second: drop history past its TTL and forget rooms left with nothing.
void Shard::SweepHistory() {
  if (now_ms_ < next_sweep_ms_) return;
  next_sweep_ms_ = now_ms_ + 1000;
  uint64_t messages = 0, bytes = 0;
  auto& owned = index_.owned();
  for (auto it = owned.begin(); it != owned.end();) {
    auto next = std::next(it);
    if (it->second.history) {
      it->second.history->Expire(now_ms_);
      messages += it->second.history->size();
      bytes += it->second.history->bytes();
      MaybeForget(it);
    }
    it = next;
  }
  stats_.history_messages.store(messages, std::memory_order_relaxed);
  stats_.history_bytes.store(bytes, std::memory_order_relaxed);
}

}  // namespace ringcast::shard
