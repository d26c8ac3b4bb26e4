#include "shard/bus_message.h"

#include <type_traits>

#include "core/check.h"

namespace ringcast::shard {

namespace {

template <class T>
constexpr uint8_t KindOf() {
  return static_cast<uint8_t>([]<size_t... I>(std::index_sequence<I...>) {
    size_t kind = 0;
    ((std::is_same_v<T, std::variant_alternative_t<I, BusMessage>> ? (kind = I) : 0), ...);
    return kind;
  }(std::make_index_sequence<std::variant_size_v<BusMessage>>()));
}

BusSlot Blank(uint8_t kind) {
  BusSlot s{};
  s.kind = kind;
  s.ptr = nullptr;
  return s;
}

template <class T>
BusSlot EncodeOwned(uint8_t kind, std::unique_ptr<T> payload) {
  BusSlot s = Blank(kind);
  s.ptr = payload.release();
  return s;
}

template <class T>
std::unique_ptr<T> Adopt(const BusSlot& s) {
  return std::unique_ptr<T>(static_cast<T*>(s.ptr));
}

struct Encoder {
  BusSlot operator()(bus::Publish& m) {
    return EncodeOwned(KindOf<bus::Publish>(), std::move(m.req));
  }
  BusSlot operator()(bus::Deliver& m) {
    BusSlot s = Blank(KindOf<bus::Deliver>());
    s.small = static_cast<uint8_t>(m.audience);
    s.extra = static_cast<uint8_t>(m.echo);
    s.aux = m.origin;
    s.conn = m.publisher;
    s.ptr = m.frame.release();
    return s;
  }
  BusSlot operator()(bus::Join& m) {
    BusSlot s = EncodeOwned(KindOf<bus::Join>(), std::move(m.req));
    s.u32 = m.join_epoch;
    return s;
  }
  BusSlot operator()(bus::JoinAck& m) {
    BusSlot s = EncodeOwned(KindOf<bus::JoinAck>(), std::move(m.req));
    s.u32 = m.join_epoch;
    return s;
  }
  BusSlot operator()(bus::Leave& m) {
    BusSlot s = EncodeOwned(KindOf<bus::Leave>(), std::move(m.room));
    s.small = static_cast<uint8_t>(m.scope);
    return s;
  }
  BusSlot operator()(bus::PubAck& m) {
    BusSlot s = Blank(KindOf<bus::PubAck>());
    s.conn = m.conn;
    s.u32 = m.ticket;
    s.small = static_cast<uint8_t>(m.outcome);
    s.extra = m.seq.has_value() ? 1 : 0;
    s.value = m.seq.value_or(0);
    return s;
  }
  BusSlot operator()(bus::SendAck& m) {
    BusSlot s = Blank(KindOf<bus::SendAck>());
    s.u32 = m.send_id;
    s.small = static_cast<uint8_t>(m.outcome);
    s.value = m.reached;
    return s;
  }
  BusSlot operator()(bus::Disconnect& m) {
    return EncodeOwned(KindOf<bus::Disconnect>(), std::move(m.user));
  }
  BusSlot operator()(bus::Res& m) { return EncodeOwned(KindOf<bus::Res>(), std::move(m.answer)); }
  BusSlot operator()(bus::ResAck& m) {
    BusSlot s = Blank(KindOf<bus::ResAck>());
    s.conn = m.conn;
    s.u32 = m.ticket;
    s.small = static_cast<uint8_t>(m.outcome);
    return s;
  }
  BusSlot operator()(bus::Presence& m) {
    return EncodeOwned(KindOf<bus::Presence>(), std::move(m.delta));
  }
  BusSlot operator()(bus::PresenceAsk& m) {
    return EncodeOwned(KindOf<bus::PresenceAsk>(), std::move(m.query));
  }
  BusSlot operator()(bus::PresenceAnswer& m) {
    return EncodeOwned(KindOf<bus::PresenceAnswer>(), std::move(m.query));
  }
};

}  // namespace

BusSlot Encode(BusMessage&& msg) { return std::visit(Encoder{}, msg); }

BusMessage Decode(const BusSlot& s) {
  switch (s.kind) {
    case KindOf<bus::Publish>():
      return bus::Publish{Adopt<PubRequest>(s)};
    case KindOf<bus::Deliver>():
      return bus::Deliver{core::FrameRef(static_cast<core::SharedFrame*>(s.ptr)),
                          static_cast<Audience>(s.small), static_cast<Echo>(s.extra), s.aux,
                          s.conn};
    case KindOf<bus::Join>():
      return bus::Join{Adopt<JoinRequest>(s), s.u32};
    case KindOf<bus::JoinAck>():
      return bus::JoinAck{Adopt<JoinRequest>(s), s.u32};
    case KindOf<bus::Leave>():
      return bus::Leave{Adopt<std::string>(s), static_cast<LeaveScope>(s.small)};
    case KindOf<bus::PubAck>(): {
      std::optional<uint64_t> seq;
      if (s.extra != 0) seq = s.value;
      return bus::PubAck{s.conn, s.u32, static_cast<Outcome>(s.small), seq};
    }
    case KindOf<bus::SendAck>():
      return bus::SendAck{s.u32, static_cast<Outcome>(s.small), s.value};
    case KindOf<bus::Disconnect>():
      return bus::Disconnect{Adopt<std::string>(s)};
    case KindOf<bus::Res>():
      return bus::Res{Adopt<ResAnswer>(s)};
    case KindOf<bus::ResAck>():
      return bus::ResAck{s.conn, s.u32, static_cast<Outcome>(s.small)};
    case KindOf<bus::Presence>():
      return bus::Presence{Adopt<PresenceDelta>(s)};
    case KindOf<bus::PresenceAsk>():
      return bus::PresenceAsk{Adopt<PresenceQuery>(s)};
    case KindOf<bus::PresenceAnswer>():
      return bus::PresenceAnswer{Adopt<PresenceQuery>(s)};
  }
  RC_CHECK(false && "unknown bus slot kind");
  return bus::Disconnect{};
}

}  // namespace ringcast::shard
