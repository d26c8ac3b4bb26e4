// Worker, part two: one connection's life. connect -> upgrade (101 + accept key) -> welcome ->
// sub (id 1) -> ok -> ready; then receiving deliveries and sending what the phase asks for.
// A slot is reused only once no operation is in flight on it (connect, multishot recv, send);
// closing means shutdown() first so the armed recv ends, then close() on its completion.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/clock.h"
#include "tools/load/payload.h"
#include "tools/load/worker.h"

namespace ringcast::load {

namespace {

enum : uint8_t { kOpConnect = 1, kOpRecv = 2, kOpSend = 3, kOpTick = 4 };

uint64_t Pack(uint8_t op, uint32_t slot, uint32_t gen) {
  return (uint64_t{op} << 56) | (uint64_t{gen & 0xffffffu} << 32) | slot;
}

}  // namespace

uint32_t Worker::AllocConn(const ConnSpec& spec) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    RC_CHECK(conns_.size() < conns_.capacity());  // reserved up front: slots never move
    conns_.emplace_back();
    slot = static_cast<uint32_t>(conns_.size() - 1);
  }
  Conn& c = conns_[slot];
  const uint32_t gen = c.gen + 1;
  c = Conn{};
  c.gen = gen;
  c.spec = spec;
  c.mask_key = static_cast<uint32_t>((uint64_t{slot} * 0x9e3779b1u) ^ (gen * 0x85ebca6bu)) | 1u;
  c.last_seq.assign(s_.plan->TrackedSenders(spec), 0);
  switch (spec.role) {
    case Role::kUser:
      c.target = s_.plan->UserName((spec.global_id + 1) % s_.options->conns);
      senders_.push_back(slot);
      break;
    case Role::kPublisher: {
      c.target = s_.plan->RoomName(spec.room);
      if (s_.plan->PublishersTakeTurns()) {
        for (uint32_t r : s_.plan->PublisherRooms(spec)) {
          c.streams.push_back({s_.plan->RoomName(r), s_.plan->StreamId(spec, r), 0,
                               s_.plan->ReceiversPerMessage(spec, r)});
        }
      }
      senders_.push_back(slot);
      break;
    }
    default:
      c.target = s_.plan->RoomName(spec.room);
      break;
  }
  return slot;
}

void Worker::StartConnect(uint32_t slot, uint32_t source_index) {
  Conn& c = conns_[slot];
  ++counters_.conns_started;
  c.state = State::kClosing;  // until the connect is submitted, failures just release the slot
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ++counters_.err_connect;
    MaybeRelease(slot);
    return;
  }
  c.fd = fd;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const LoadOptions& o = *s_.options;
  if (o.rcvbuf != 0) {
    // Before connect, so the window scale fits it; the kernel doubles it for its bookkeeping.
    int bytes = static_cast<int>(o.rcvbuf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  }
  RC_CHECK(c.spec.node < o.nodes.size());
  const Node& node = o.nodes[c.spec.node];
  if (o.spread_sources && node.IsLoopback()) {
    // Each source address has its own ephemeral ports; the port is picked at connect time.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002u + source_index % 250);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof(src)) != 0) {
      ++counters_.err_connect;
      MaybeRelease(slot);
      return;
    }
  }
  c.state = State::kConnecting;
  c.connect_pending = true;
  ++pending_upgrades_;
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&node.addr), sizeof(node.addr));
  io_uring_sqe_set_data64(sqe, Pack(kOpConnect, slot, c.gen));
}

void Worker::OnCompletion(const io_uring_cqe& cqe) {
  const uint8_t op = static_cast<uint8_t>(cqe.user_data >> 56);
  if (op == kOpTick) {
    tick_armed_ = false;
    OnTick(core::NowNs());
    return;
  }
  const uint32_t slot = static_cast<uint32_t>(cqe.user_data);
  const uint32_t gen = static_cast<uint32_t>(cqe.user_data >> 32) & 0xffffffu;
  if (slot >= conns_.size() || (conns_[slot].gen & 0xffffffu) != gen) {
    if (cqe.flags & IORING_CQE_F_BUFFER) {
      buffers_.Return(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    }
    return;  // a completion for a connection that no longer exists
  }
  switch (op) {
    case kOpConnect:
      OnConnect(slot, cqe.res);
      break;
    case kOpRecv:
      OnRecv(slot, cqe);
      break;
    case kOpSend:
      OnSend(slot, cqe.res);
      break;
    default:
      break;
  }
}

void Worker::OnConnect(uint32_t slot, int res) {
  Conn& c = conns_[slot];
  c.connect_pending = false;
  if (c.state != State::kConnecting) {
    MaybeRelease(slot);
    return;
  }
  if (res < 0) {
    Fail(slot, &Counters::err_connect);
    return;
  }
  c.state = State::kUpgrading;
  std::string user;
  if (c.spec.role == Role::kUser) user = s_.plan->UserName(c.spec.global_id);
  const uint64_t nonce = (uint64_t{c.gen} << 40) ^ (uint64_t{s_.index} << 32) ^ slot;
  const Node& node = s_.options->nodes[c.spec.node];
  c.out = BuildUpgradeRequest(node.host, s_.dialect->UpgradeTarget(node.path, user), nonce,
                              &c.expected_accept);
  ArmRecv(slot);
  MarkDirty(slot);
}

void Worker::ArmRecv(uint32_t slot) {
  Conn& c = conns_[slot];
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group_id();
  io_uring_sqe_set_data64(sqe, Pack(kOpRecv, slot, c.gen));
  c.recv_armed = true;
}

void Worker::OnRecv(uint32_t slot, const io_uring_cqe& cqe) {
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (cqe.res > 0) {
      OnBytes(slot, buffers_.View(id, static_cast<size_t>(cqe.res)), core::NowNs());
    }
    buffers_.Return(id);
  }
  Conn& c = conns_[slot];
  if (more) return;
  c.recv_armed = false;  // only now: a release cannot happen while its bytes are parsed
  if (c.state == State::kClosing) {
    MaybeRelease(slot);
  } else if (cqe.res > 0 || cqe.res == -ENOBUFS) {
    ArmRecv(slot);  // ENOBUFS: buffers come back with this round's Commit()
  } else {
    Fail(slot, &Counters::err_closed);  // EOF or reset without our asking
  }
}

void Worker::OnBytes(uint32_t slot, std::string_view bytes, uint64_t now) {
  Conn& c = conns_[slot];
  if (c.state == State::kUpgrading) {
    c.head.append(bytes);
    size_t head_bytes = 0;
    switch (CheckUpgradeResponse(c.head, c.expected_accept, &head_bytes)) {
      case UpgradeStatus::kIncomplete:
        return;
      case UpgradeStatus::kRefused:
        Fail(slot, &Counters::err_upgrade);
        return;
      case UpgradeStatus::kAccepted:
        break;
    }
    std::string rest = c.head.substr(head_bytes);
    c.head = std::string();
    c.state = State::kOpen;
    c.counted_open = true;
    --pending_upgrades_;
    ++counters_.conns_open;
    if (!s_.dialect->SendsWelcome()) AfterWelcome(slot);
    if (!rest.empty()) OnBytes(slot, rest, now);
    return;
  }
  if (c.state != State::kOpen) return;
  auto result = c.parser.Feed(bytes, [&](uint8_t opcode, std::string_view payload) {
    OnMessage(slot, opcode, payload, now);
  });
  if (result != ServerFrameParser::Result::kOk) Fail(slot, &Counters::err_protocol);
}

void Worker::OnMessage(uint32_t slot, uint8_t opcode, std::string_view payload, uint64_t now) {
  Conn& c = conns_[slot];
  if (c.state != State::kOpen) return;
  if (opcode == kWsText) {
    ServerEvent ev = s_.dialect->Parse(payload);
    if (!ev.reply.empty()) {  // e.g. socket.io's namespace connect and pong
      AppendClientText(&c.out, {ev.reply}, c.mask_key);
      MarkDirty(slot);
    }
    switch (ev.kind) {
      case ServerEvent::Kind::kMsg:
        OnDelivery(c, ev.payload, now);
        break;
      case ServerEvent::Kind::kOk:
        if (c.awaiting_sub && ev.id == 1) {
          c.awaiting_sub = false;
          OnSubscribed(slot, now);
        }
        break;
      case ServerEvent::Kind::kError:
        ++counters_.err_server;
        break;
      case ServerEvent::Kind::kWelcome:
        AfterWelcome(slot);
        break;
      case ServerEvent::Kind::kOther:
        break;
    }
  } else if (opcode == kWsPing) {
    AppendClientFrame(&c.out, kWsPong, payload, c.mask_key);
    MarkDirty(slot);
  } else if (opcode == kWsClose) {
    Fail(slot, &Counters::err_closed);
  }
}

void Worker::AfterWelcome(uint32_t slot) {
  Conn& c = conns_[slot];
  if (s_.plan->Subscribes(c.spec) || c.spec.role == Role::kChurn) {
    s_.dialect->AppendSub(&c.out, c.target, 1, c.mask_key);
    c.awaiting_sub = true;
    MarkDirty(slot);
  } else {
    MarkReady(c);
  }
}

void Worker::OnSubscribed(uint32_t slot, uint64_t now) {
  Conn& c = conns_[slot];
  if (c.spec.role != Role::kChurn) {
    MarkReady(c);
    return;
  }
  ++counters_.cycles_all;
  const uint64_t took = now - c.started_ns;
  interval_.Record(took);
  if (c.cycle_measured &&
      c.started_ns < s_.control->measure_end_ns.load(std::memory_order_relaxed)) {
    ++counters_.cycles;
    latency_.Record(took);
  }
  CloseGracefully(slot, now);
}

void Worker::MarkReady(Conn& c) {
  if (c.ready) return;
  c.ready = true;
  ++counters_.conns_ready;
}

void Worker::OnDelivery(Conn& c, std::string_view payload, uint64_t now) {
  std::optional<PayloadFields> f = DecodePayload(payload);
  int track = f ? s_.plan->TrackSlot(c.spec, f->publisher) : -1;
  if (track < 0) {
    ++counters_.foreign;
    return;
  }
  uint64_t& last = c.last_seq[static_cast<size_t>(track)];
  if (f->seq > last) {
    counters_.gaps += f->seq - last - 1;
    last = f->seq;
  } else {
    ++counters_.reorders;
  }
  ++counters_.deliveries_all;
  // Whatever was published when: the rate the server achieved in the window,
  // the figure that matters when demand is above capacity.
  if (now >= s_.control->warmup_end_ns.load(std::memory_order_relaxed) &&
      now < s_.control->measure_end_ns.load(std::memory_order_relaxed)) {
    ++counters_.received_in_window;
  }
  const uint64_t latency_ns = now > f->send_ns ? now - f->send_ns : 0;
  interval_.Record(latency_ns);
  if (f->measured) {
    ++counters_.deliveries;
    latency_.Record(latency_ns);
  }
  if (s_.options->closed_loop() && c.spec.role == Role::kPublisher &&
      f->publisher == c.spec.pub_id) {
    if (c.inflight > 0) --c.inflight;
    if (phase_ == Phase::kPublish && !publishing_done_ &&
        now < s_.control->measure_end_ns.load(std::memory_order_relaxed)) {
      SendOne(c, now, InWindow(now));
    }
  }
}

void Worker::MarkDirty(uint32_t slot) {
  Conn& c = conns_[slot];
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(slot);
}

void Worker::Flush() {
  for (uint32_t slot : dirty_) {
    Conn& c = conns_[slot];
    c.dirty = false;
    if (c.fd < 0 || c.shut || c.send_inflight || c.out.empty()) continue;
    if (c.state == State::kFree || c.state == State::kConnecting) continue;
    std::swap(c.out, c.sending);
    c.out.clear();
    c.sending_off = 0;
    SubmitSend(slot);
  }
  dirty_.clear();
}

void Worker::SubmitSend(uint32_t slot) {
  Conn& c = conns_[slot];
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sending_off, c.sending.size() - c.sending_off,
                     MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, Pack(kOpSend, slot, c.gen));
  c.send_inflight = true;
}

void Worker::OnSend(uint32_t slot, int res) {
  Conn& c = conns_[slot];
  c.send_inflight = false;
  if (res < 0) {
    if (c.state == State::kClosing) {
      MaybeRelease(slot);
    } else {
      Fail(slot, &Counters::err_send);
    }
    return;
  }
  c.sending_off += static_cast<size_t>(res);
  if (c.sending_off < c.sending.size() && !c.shut) {
    SubmitSend(slot);  // short send: the rest goes next
    return;
  }
  c.sending.clear();
  if (!c.out.empty()) MarkDirty(slot);
  if (c.state == State::kClosing) MaybeRelease(slot);
}

void Worker::Fail(uint32_t slot, uint64_t Counters::*counter) {
  ++(counters_.*counter);
  BeginClose(slot);
}

void Worker::CloseGracefully(uint32_t slot, uint64_t now) {
  Conn& c = conns_[slot];
  AppendClientFrame(&c.out, kWsClose, std::string_view("\x03\xe8", 2), c.mask_key);
  MarkDirty(slot);
  c.started_ns = now;
  // No shutdown: the server answers the close frame and closes first, so TIME_WAIT lands on
  // its side; the recv ending with EOF releases the slot (the tick sweep covers silent servers).
  BeginClose(slot, /*shut_now=*/false);
}

void Worker::BeginClose(uint32_t slot, bool shut_now) {
  Conn& c = conns_[slot];
  if (c.state == State::kClosing || c.state == State::kFree) return;
  if (c.state == State::kConnecting || c.state == State::kUpgrading) --pending_upgrades_;
  if (c.counted_open) --counters_.conns_open;
  if (c.ready) --counters_.conns_ready;
  c.counted_open = false;
  c.ready = false;
  c.state = State::kClosing;
  if (c.fd >= 0 && shut_now) {
    c.shut = true;
    shutdown(c.fd, SHUT_RDWR);
  }
  MaybeRelease(slot);
}

void Worker::MaybeRelease(uint32_t slot) {
  Conn& c = conns_[slot];
  if (c.state != State::kClosing || c.recv_armed || c.send_inflight || c.connect_pending) return;
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.state = State::kFree;
  if (c.spec.role == Role::kChurn) --churn_active_;
  free_slots_.push_back(slot);
}

}  // namespace ringcast::load
