// RoomOwner in cluster mode: seq and history of history rooms live in Redis
// (shard/cluster_history.h), so the owner reads the stream for joins, holds
// their acks until the live stream passes the replay, delivers envelopes in
// cluster seq order and tells subscribers about gaps. Presence lives in
// Redis too (shard/cluster_presence.h): the owner sends its node's members
// (PresenceSync's batches), announces the joins and leaves Redis reports and
// answers queries from Redis. The single-node half is room_owner.cc.
#include <algorithm>
#include <charconv>

#include "proto/envelope.h"
#include "proto/json_writer.h"
#include "shard/room_owner.h"

namespace ringcast::shard {

namespace {
// The meta hash (epoch, seq) of a room whose entries expire outlives them by
// at least this much: a quiet room keeps its seq run.
constexpr uint64_t kMinMetaTtlMs = uint64_t{24} * 3600 * 1000;
// A batch of presence frames is published once it reaches this size.
constexpr size_t kAnnounceBatchBytes = 64 * 1024;
}  // namespace

HistorySettings RoomOwner::ClusterHistoryOf(std::string_view room) const {
  const NamespaceOptions& ns = namespaces_.Of(room);
  HistorySettings s;
  s.max_messages = ns.history_size;
  s.entry_ttl_ms = uint64_t{ns.history_ttl_s} * 1000;
  s.meta_ttl_ms = s.entry_ttl_ms == 0 ? 0 : std::max(kMinMetaTtlMs, 2 * s.entry_ttl_ms);
  return s;
}

void RoomOwner::OnHistoryRead(unsigned to, bus::JoinAck ack, const HistoryRead* read) {
  JoinRequest* req = ack.req.get();
  auto room = rooms_.find(req->room);
  ClusterSeqState* c = nullptr;
  if (room != rooms_.end() && room->second.shard_mask != 0) c = &cluster_seqs_[req->room];
  if (read == nullptr) {
    // Redis is down: what this node delivered last; nothing is proven.
    req->seq = c != nullptr ? c->delivered : 0;
    req->epoch = c != nullptr ? c->epoch : std::string();
    req->recovered = false;
    port_->Post(to, std::move(ack));
    return;
  }
  req->seq = read->seq;
  req->epoch = read->epoch;
  req->recovered = req->since_seq.has_value() && read->recovered;
  if (req->since_seq && req->since_epoch == read->epoch) {
    for (const HistoryEntry& entry : read->entries) {
      if (entry.seq <= *req->since_seq || entry.seq > read->seq) continue;
      req->replay.emplace_back(writer_->Build(wire::Opcode::kText, entry.envelope, req->room));
    }
  }
  if (c == nullptr) {  // nobody subscribes any more: nothing to wait for
    port_->Post(to, std::move(ack));
    return;
  }
  if (c->epoch != read->epoch) {
    // The first word on this room, or Redis started a new epoch: this
    // node's subscribers of the old one cannot continue it.
    if (!c->epoch.empty()) SendGap(req->room);
    c->epoch = read->epoch;
    c->delivered = read->seq;
  }
  if (c->delivered > read->seq) {
    // The live stream overtook the read (the two come on different Redis
    // connections): the replay would miss (read->seq, delivered]. Read
    // again: that read sees at least what this node has delivered by now.
    req->replay.clear();
    HistorySettings settings = ClusterHistoryOf(req->room);
    if (!cluster_->HoldJoinAck(req->room, to, ack, &settings)) {
      OnHistoryRead(to, std::move(ack), nullptr);
    }
    return;
  }
  if (c->delivered == read->seq) {
    port_->Post(to, std::move(ack));
    return;
  }
  // Publications up to read->seq are still on their way on the channel
  // (the subscription was confirmed before the read): the ack goes right
  // after the last of them, so the subscriber gets each one exactly once.
  c->waiting.emplace_back(to, std::move(ack));
}

void RoomOwner::ReleaseWaiting(ClusterSeqState& c, uint64_t limit) {
  auto& w = c.waiting;
  for (auto it = w.begin(); it != w.end();) {
    if (it->second.req->seq < limit) {
      port_->Post(it->first, std::move(it->second));
      it = w.erase(it);
    } else {
      ++it;
    }
  }
}

void RoomOwner::DropClusterSeq(std::string_view room) {
  auto c = cluster_seqs_.find(room);
  if (c == cluster_seqs_.end()) return;
  ReleaseWaiting(c->second, UINT64_MAX);
  cluster_seqs_.erase(c);
}

void RoomOwner::OnClusterLost(std::string_view room) {
  auto c = cluster_seqs_.find(room);
  if (c == cluster_seqs_.end()) return;
  ReleaseWaiting(c->second, UINT64_MAX);
}

void RoomOwner::OnClusterResumed(std::string_view room) {
  DropClusterSeq(room);  // the waiting joins go first, so they get the gap too
  SendGap(room);
}

void RoomOwner::DeliverClusterSeq(const ClusterEnvelope& e) {
  auto it = rooms_.find(e.room);
  if (it == rooms_.end() || it->second.shard_mask == 0) return;
  ClusterSeqState& c = cluster_seqs_[e.room];
  if (c.epoch != e.epoch) {
    if (!c.epoch.empty()) {
      ReleaseWaiting(c, UINT64_MAX);  // their replay is of the old epoch
      SendGap(e.room);
    }
    c.epoch = e.epoch;
  } else if (e.seq <= c.delivered) {
    return;  // delivered already, or in a new subscriber's replay
  } else if (e.seq > c.delivered + 1) {
    ReleaseWaiting(c, e.seq);  // their replay ends before the hole
    SendGap(e.room);
  }
  c.delivered = e.seq;
  bool skip = !e.echo && e.node == cluster_->node_id() && e.shard < port_->shard_count();
  Bump(stats_->publications);
  FanOut(Frame(e.room, e.from, e.data, e.rid, false, e.seq), it->second.shard_mask,
         Audience::kEveryone, skip ? Echo::kSkipPublisher : Echo::kYes,
         static_cast<uint8_t>(e.shard), e.conn);
  ReleaseWaiting(c, e.seq + 1);
}

void RoomOwner::OnCluster(const ClusterEnvelope& e) {
  using Kind = ClusterEnvelope::Kind;
  switch (e.kind) {
    case Kind::kPub:
    case Kind::kDirect:
    case Kind::kReq: {
      if (e.kind == Kind::kPub && e.seq > 0) {
        DeliverClusterSeq(e);  // a history room: the seq is Redis's
        return;
      }
      // Only this node's own publisher is skipped; its shard and connection
      // mean nothing on another node.
      bool skip = !e.echo && e.node == cluster_->node_id() && e.shard < port_->shard_count();
      uint64_t reached = 0;
      (void)Deliver(e.room, e.from, e.data, e.rid, e.kind != Kind::kPub,
                    skip ? Echo::kSkipPublisher : Echo::kYes, static_cast<uint8_t>(e.shard), e.conn,
                    clock_->MonotonicMs(), &reached);
      return;
    }
    case Kind::kAnnounce:
      DeliverAnnounces(e.room, e.data);
      return;
    case Kind::kDisconnect:
      if (e.room.size() < 2 || e.room.front() != '@') return;
      for (unsigned to = 0; to < port_->shard_count(); ++to) {
        port_->Post(to, bus::Disconnect{std::make_unique<std::string>(e.room.substr(1))});
      }
      return;
    case Kind::kRes:
    case Kind::kResAck:
    case Kind::kProbe:
      return;  // node channel kinds; never on a room's channel
  }
}

void RoomOwner::AnswerCluster(const PubRequest& req, Outcome outcome, uint64_t reached,
                              std::optional<uint64_t> seq) {
  Answer(req, outcome, seq, reached);
}

void RoomOwner::FlushPresence(uint64_t now_ms) {
  std::vector<PresenceSync::Batch> batches = sync_->Take(now_ms);
  if (batches.empty()) return;
  const uint64_t unix_ms = clock_->UnixMs();
  std::vector<PresenceMember> members;
  for (PresenceSync::Batch& b : batches) {
    members.clear();
    auto it = rooms_.find(b.room);
    const MemberMap* mm =
        it == rooms_.end() || !it->second.presence ? nullptr : &it->second.presence->members;
    // A member whose leave is pending keeps its entry (count at least 1)
    // until the leave is due: back on any node by then, it never left.
    auto add = [&](const std::string& user, const Member& m) {
      members.push_back(PresenceMember{user, std::max<uint64_t>(m.conns, 1), m.info_json});
    };
    if (mm != nullptr && b.whole) {
      for (const auto& [user, m] : *mm) add(user, m);
    } else if (mm != nullptr) {
      for (const std::string& user : b.changed) {
        auto m = mm->find(user);
        if (m != mm->end()) add(m->first, m->second);
      }
    }
    if (members.empty() && b.removed.empty()) continue;
    if (!cluster_->SyncPresence(b.room, members, b.removed, unix_ms)) sync_->Retry(b.room, now_ms);
  }
}

void RoomOwner::OnPresenceChange(std::string_view room, const PresenceChange& change) {
  // One PUBLISH for the change, not one per user: 1000 subscribers joining
  // in a round cost a handful.
  std::string batch;
  auto add = [&](std::string_view op, const std::string& user, const std::string& info) {
    WritePresence(&scratch_, op, room, user, info);
    batch += std::to_string(scratch_.size());
    batch += ':';
    batch += scratch_;
    if (batch.size() < kAnnounceBatchBytes) return;
    AnnounceCluster(room, batch);
    batch.clear();
  };
  for (size_t i = 0; i < change.joined.size(); ++i) {
    add("join", change.joined[i], change.joined_info[i]);
  }
  for (size_t i = 0; i < change.left.size(); ++i) add("leave", change.left[i], change.left_info[i]);
  if (!batch.empty()) AnnounceCluster(room, batch);
}

void RoomOwner::AnnounceCluster(std::string_view room, const std::string& batch) {
  // Every node's presence subscribers, this one's from the channel.
  if (!cluster_->Announce(room, batch)) DeliverAnnounces(room, batch);
}

void RoomOwner::DeliverAnnounces(std::string_view room, std::string_view batch) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.shard_mask == 0) return;
  while (!batch.empty()) {
    size_t len = 0;
    auto [end, err] = std::from_chars(batch.data(), batch.data() + batch.size(), len);
    size_t head = static_cast<size_t>(end - batch.data());
    if (err != std::errc() || head == batch.size() || *end != ':' ||
        len > batch.size() - head - 1) {
      Bump(stats_->redis_bad_messages);  // not what a node writes
      return;
    }
    FanOut(writer_->Build(wire::Opcode::kText, batch.substr(head + 1, len), room),
           it->second.shard_mask, Audience::kPresenceOnly, Echo::kYes, 0, {});
    batch.remove_prefix(head + 1 + len);
  }
}

void RoomOwner::OnPresenceList(std::unique_ptr<PresenceQuery> q, unsigned to,
                               const PresenceList* list) {
  if (list == nullptr) {
    q->unavailable = true;
    port_->Post(to, bus::PresenceAnswer{std::move(q)});
    return;
  }
  // Users the list script aged out (a node that stopped refreshing).
  OnPresenceChange(q->room, PresenceChange{{}, list->left, {}, list->left_info});
  q->users_json.clear();
  proto::JsonWriter w(&q->users_json);
  w.BeginArray();
  for (const PresenceMember& m : list->users) {
    w.BeginObject();
    w.Field("user", m.user);
    w.RawField("info", m.info_json.empty() ? std::string_view("null") : m.info_json);
    w.Field("conns", m.conns);
    w.EndObject();
  }
  w.EndArray();
  w.Flush();
  q->count = list->count;
  q->truncated = list->truncated;
  port_->Post(to, bus::PresenceAnswer{std::move(q)});
}

void RoomOwner::SendGap(std::string_view room) {
  // A personal room is nobody's subscription: its user did not ask for it
  // and cannot recover it. Direct messages are at most once (docs/protocol.md).
  if (room.starts_with('@')) return;
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.shard_mask == 0) return;
  scratch_.clear();
  proto::JsonWriter w(&scratch_);
  w.BeginObject();
  w.Field("op", "gap");
  w.Field("room", room);
  w.EndObject();
  w.Flush();
  Bump(stats_->redis_gaps);
  FanOut(writer_->Build(wire::Opcode::kText, scratch_, room), it->second.shard_mask,
         Audience::kEveryone, Echo::kYes, 0, {});
}

}  // namespace ringcast::shard
