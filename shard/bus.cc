#include "shard/bus.h"

namespace ringcast::shard {

Mesh::Mesh(unsigned shards, size_t ring_capacity)
    : shards_(shards), sleeping_(std::make_unique<Flag[]>(shards)),
      ring_fds_(std::make_unique<Fd[]>(shards)),
      pressure_(std::make_unique<Counter[]>(shards)) {
  RC_CHECK(shards >= 1 && shards <= kMaxShards);
  rings_.reserve(size_t{shards} * shards);
  for (unsigned i = 0; i < shards * shards; ++i) {
    // The diagonal is never used: a shard calls itself directly.
    rings_.push_back(std::make_unique<core::SpscRing<BusMessage>>(
        i / shards == i % shards ? 2 : ring_capacity));
  }
}


void FreeBusPayload(const BusMessage& msg) {
  switch (msg.kind) {
    case BusKind::kDeliver:
      static_cast<core::SharedFrame*>(msg.ptr)->Unref();
      break;
    case BusKind::kPublish:
      std::unique_ptr<PubRequest>(static_cast<PubRequest*>(msg.ptr));
      break;
    case BusKind::kJoin:
    case BusKind::kJoinAck:
      std::unique_ptr<JoinRequest>(static_cast<JoinRequest*>(msg.ptr));
      break;
    case BusKind::kLeave:
    case BusKind::kDisconnect:
      std::unique_ptr<std::string>(static_cast<std::string*>(msg.ptr));
      break;
    case BusKind::kRes:
      std::unique_ptr<ResAnswer>(static_cast<ResAnswer*>(msg.ptr));
      break;
    case BusKind::kPresence:
      std::unique_ptr<PresenceDelta>(static_cast<PresenceDelta*>(msg.ptr));
      break;
    case BusKind::kPresenceQuery:
    case BusKind::kPresenceAnswer:
      std::unique_ptr<PresenceQuery>(static_cast<PresenceQuery*>(msg.ptr));
      break;
    case BusKind::kPubAck:
      break;
  }
}

}  // namespace ringcast::shard
