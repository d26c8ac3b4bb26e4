// The shard loop and its io_uring completions (see shard.h for the round).
#include <sys/socket.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "net/listener.h"
#include "proto/envelope.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {

constexpr unsigned kSqEntries = 4096;
constexpr uint16_t kBufferGroup = 1;
constexpr uint32_t kRecvBuffers = 512;
constexpr uint32_t kRecvBufferBytes = 16384;
constexpr uint32_t kTickMs = 20;
constexpr size_t kMaxIov = 64;
constexpr size_t kSendBlocks = 512;
constexpr uint64_t kDrainLingerMs = 1000;  // after drain_ms, for closes to finish

}  // namespace

struct Shard::SendBlock {
  msghdr msg;
  iovec iov[kMaxIov];
};

Shard::Shard(unsigned id, const ServerOptions& options, Mesh* mesh, int listen_fd,
             const std::atomic<bool>* stop, std::string node_id)
    : id_(id),
      options_(options),
      mesh_(mesh),
      listen_fd_(listen_fd),
      stop_(stop),
      node_id_(std::move(node_id)),
      reader_(options.max_message_bytes),
      conns_(options.max_connections_per_shard),
      pressure_high_(std::max<uint64_t>(uint64_t{64} << 20, 4 * options.max_queued_bytes)),
      timers_(kTickMs, 1024),
      overflow_(mesh->shards()),
      send_blocks_(std::make_unique<SendBlock[]>(kSendBlocks)) {}

Shard::~Shard() {
  conns_.ForEach([&](uint32_t, Connection& c) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.out.Clear(&pools_);
    reader_.Release(&c.ws);
  });
  for (auto& q : overflow_) {
    for (const BusMessage& m : q) FreeBusPayload(m);  // never handed over
  }
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::optional<std::string> Shard::Setup() {
  if (auto err = ring_.Init(kSqEntries)) return err;
  if (auto err = buffers_.Init(ring_.raw(), kBufferGroup, kRecvBuffers, kRecvBufferBytes)) {
    return err;
  }
  mesh_->SetRingFd(id_, ring_.fd());
  return std::nullopt;
}

void Shard::Run(std::promise<std::optional<std::string>> ready) {
  std::optional<std::string> err = Setup();
  bool ok = !err.has_value();
  ready.set_value(std::move(err));
  if (!ok) {
    mesh_->SetRingFd(id_, -1);
    return;
  }
  Loop();
  // The ring belongs to this thread (SINGLE_ISSUER): tear it down here.
  mesh_->SetRingFd(id_, -1);
  buffers_.Destroy();
  ring_.Exit();
}

void Shard::Loop() {
  now_ms_ = core::NowMs();
  ArmAccept();
  ArmTick();
  while (true) {
    ++round_;
    now_ms_ = core::NowMs();
    ring_.DrainCompletions([this](const io_uring_cqe& cqe) { OnCompletion(cqe); });
    buffers_.Commit();
    DrainInbound();
    timers_.Advance(now_ms_, [this](uint64_t key) { OnTimer(key); });
    SweepHistory();
    SweepPresence();
    if (!draining_ && stop_->load(std::memory_order_relaxed)) BeginDrain();
    if (draining_) DrainStep();
    if (!rearm_.empty()) {
      std::vector<uint32_t> slots;
      slots.swap(rearm_);
      for (uint32_t slot : slots) {
        if (!conns_.IsLive(slot)) continue;
        Connection& c = conns_.At(slot);
        if (!c.recv_armed && !c.paused && c.state != ConnState::kDead) ArmRecv(c, slot);
      }
    }
    Reap();
    FlushAll();
    mesh_->SetPressure(id_, queued_total_);
    stats_.queued_bytes.store(queued_total_, std::memory_order_relaxed);
    stats_.bus_depth.store(OverflowTotal() + InboundDepth(), std::memory_order_relaxed);
    if (!paused_.empty()) MaybeResume();
    FlushOverflow();
    RingDoorbells();
    if (draining_) {
      if (drain_bye_ == nullptr && conns_.size() == 0 && !accept_armed_) break;
      if (now_ms_ >= drain_deadline_ms_) {
        conns_.ForEach([&](uint32_t slot, Connection& c) { Terminate(c, slot); });
        break;
      }
    }
    if (SleepAllowed()) {
      ring_.SubmitAndWait(1);
    } else {
      ring_.SubmitAndGetEvents();  // with DEFER_TASKRUN, only GETEVENTS runs task work
    }
    mesh_->SetSleeping(id_, false);
  }
  if (drain_bye_ != nullptr) pools_.Unref(drain_bye_);
  drain_bye_ = nullptr;
  ring_.Submit();
}

size_t Shard::InboundDepth() {
  size_t depth = 0;
  for (unsigned from = 0; from < mesh_->shards(); ++from) {
    if (from != id_) depth += mesh_->Ring(from, id_).SizeApprox();
  }
  return depth;
}

bool Shard::SleepAllowed() {
  mesh_->SetSleeping(id_, true);
  // Pairs with the producer's fence in RingDoorbells (push, fence, read flag).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (mesh_->HasInbound(id_)) return false;
  for (const auto& q : overflow_) {
    if (!q.empty()) return false;
  }
  return true;
}

void Shard::ArmAccept() {
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kAccept, 0, 0));
  accept_armed_ = true;
}

void Shard::ArmTick() {
  tick_ts_.tv_sec = 0;
  tick_ts_.tv_nsec = kTickMs * 1000000L;
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_timeout(sqe, &tick_ts_, 0, 0);
  io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kTick, 0, 0));
}

void Shard::ArmRecv(Connection& c, uint32_t slot) {
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group_id();
  io_uring_sqe_set_data64(sqe,
                          net::PackUserData(net::OpKind::kRecv, slot, conns_.HandleOf(slot).gen));
  c.recv_armed = true;
}

void Shard::OnCompletion(const io_uring_cqe& cqe) {
  switch (net::UserDataKind(cqe.user_data)) {
    case net::OpKind::kAccept:
      OnAccept(cqe);
      break;
    case net::OpKind::kRecv:
      OnRecv(cqe);
      break;
    case net::OpKind::kSend:
      OnSend(cqe);
      break;
    case net::OpKind::kTick:
      ArmTick();  // the loop never blocks for longer than one tick
      if (accept_retry_ && !draining_) {
        accept_retry_ = false;
        ArmAccept();
      }
      break;
    case net::OpKind::kDoorbell:
    case net::OpKind::kCancel:
      break;  // a wake-up, or the result of a cancel: nothing to do
  }
}

void Shard::OnAccept(const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) accept_armed_ = false;
  if (cqe.res >= 0) {
    int fd = cqe.res;
    // While draining, new connections still get an answer (503, /healthz).
    std::optional<core::SlabHandle> h = conns_.Alloc();
    if (!h) {
      // Full: refuse rather than queue without bound, with a clear answer.
      // One small non-blocking write to a fresh socket; no slot is needed.
      static constexpr char kFull[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
          "Content-Length: 41\r\nConnection: close\r\n\r\n"
          "server full: too many connections, retry\n";
      ssize_t ignored = send(fd, kFull, sizeof(kFull) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)ignored;
      close(fd);
      Bump(stats_.connections_rejected);
    } else {
      net::TuneAcceptedSocket(fd);
      Connection& c = conns_.At(h->slot);
      c.fd = fd;
      c.last_rx_ms = now_ms_;
      Bump(stats_.connections_accepted);
      Bump(stats_.connections_open);
      ArmRecv(c, h->slot);
      timers_.Add(now_ms_, options_.handshake_timeout_ms, TimerKey(TimerKind::kHandshake, *h));
    }
  }
  if (!accept_armed_) {
    if (draining_ && drain_bye_ == nullptr) {
      close(listen_fd_);  // the drain cancelled it: stop accepting
      listen_fd_ = -1;
    } else if (cqe.res < 0) {
      accept_retry_ = true;  // EMFILE and friends: retry next tick, do not spin
    } else {
      ArmAccept();
    }
  }
}

void Shard::OnRecv(const io_uring_cqe& cqe) {
  uint32_t slot = net::UserDataSlot(cqe.user_data);
  RC_CHECK(conns_.IsLive(slot));
  Connection& c = conns_.At(slot);
  RC_CHECK(net::GenMatches(conns_.HandleOf(slot).gen, net::UserDataGen(cqe.user_data)));
  if (!(cqe.flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  if (cqe.res > 0) {
    RC_CHECK(cqe.flags & IORING_CQE_F_BUFFER);
    c.last_rx_ms = now_ms_;
    auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    std::string_view bytes = buffers_.View(bid, static_cast<size_t>(cqe.res));
    if (c.paused && c.state == ConnState::kOpen) {
      if (!c.deferred) c.deferred = std::make_unique<std::string>();
      c.deferred->append(bytes);  // bounded by the buffer ring: the receive is cancelled
    } else if (c.state == ConnState::kHandshake || c.state == ConnState::kOpen) {
      OnBytes(c, slot, bytes);
    }
    buffers_.Return(bid);
    if (c.published) MaybePause(c, slot);
    if (!c.recv_armed && c.state != ConnState::kDead) rearm_.push_back(slot);
  } else if (cqe.res == -ENOBUFS) {
    Bump(stats_.recv_enobufs);
    if (!c.recv_armed && c.state != ConnState::kDead) rearm_.push_back(slot);
  } else if (cqe.res == -ECANCELED && c.state != ConnState::kDead) {
    rearm_.push_back(slot);  // cancelled to pause it; re-armed once resumed
  } else {
    Terminate(c, slot);  // EOF (also the normal end of a close) or a reset
  }
}

void Shard::OnSend(const io_uring_cqe& cqe) {
  uint32_t slot = net::UserDataSlot(cqe.user_data);
  RC_CHECK(conns_.IsLive(slot));
  Connection& c = conns_.At(slot);
  RC_CHECK(c.send_in_flight);
  c.send_in_flight = false;
  uint32_t expected = c.in_flight_bytes;
  c.in_flight_bytes = 0;
  c.in_flight_nodes = 0;
  if (cqe.res < 0) {
    Terminate(c, slot);
    return;
  }
  Bump(stats_.bytes_out, static_cast<uint64_t>(cqe.res));
  if (static_cast<uint32_t>(cqe.res) < expected) Bump(stats_.short_sends);
  c.out.Consume(&pools_, static_cast<uint64_t>(cqe.res));
  queued_total_ -= static_cast<uint64_t>(cqe.res);
  if (c.state == ConnState::kDead) return;
  if (!c.out.empty()) {
    MarkDirty(c, slot);
  } else if (c.state == ConnState::kClosing && c.close_after_flush && !c.shut_write) {
    // Everything, the close frame last, is out: half-close and let the peer
    // finish; its EOF (or the close deadline) ends the connection.
    shutdown(c.fd, SHUT_WR);
    c.shut_write = true;
  }
}

// Backpressure for publishers: while subscribers on any shard have more than
// pressure_high_ bytes queued, a connection that publishes stops being read
// (its multishot receive is cancelled), so its TCP window closes and its
// publications wait in its own socket instead of in our memory. Reading
// resumes below half of that. A few slow consumers cannot trigger it alone:
// each is cut off at max_queued_bytes, far below the shard-wide mark.
void Shard::MaybePause(Connection& c, uint32_t slot) {
  c.published = false;
  if (c.state != ConnState::kOpen || c.paused || c.is_server) return;
  if (Pressure() <= pressure_high_) return;
  c.paused = true;
  paused_.push_back(slot);
  Bump(stats_.publishers_paused);
  if (c.recv_armed) {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel64(
        sqe, net::PackUserData(net::OpKind::kRecv, slot, conns_.HandleOf(slot).gen), 0);
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kCancel, 0, 0));
  }
}

// This shard's own queues count at once; other shards' as of their last round.
uint64_t Shard::Pressure() const { return std::max(mesh_->MaxPressure(), queued_total_); }

void Shard::MaybeResume() {
  if (Pressure() > pressure_high_ / 2) {
    CutStalledConsumers();
    return;
  }
  std::vector<uint32_t> slots;
  slots.swap(paused_);
  for (uint32_t slot : slots) {
    if (!conns_.IsLive(slot)) continue;
    Connection& c = conns_.At(slot);
    if (!c.paused) continue;
    c.paused = false;
    if (c.deferred && c.state == ConnState::kOpen && !ResumeDeferred(c, slot)) continue;
    if (!c.recv_armed && c.state != ConnState::kDead) ArmRecv(c, slot);
  }
}

// While publishers wait, connections that have not taken a byte for a while
// are what holds the queues up: cut them as slow consumers (4000), or a few
// clients that stopped reading just under max_queued_bytes would hold every
// publisher paused for good. Once a second at most.
void Shard::CutStalledConsumers() {
  constexpr uint64_t kStalledMs = 2000;
  if (now_ms_ < next_stall_sweep_ms_) return;
  next_stall_sweep_ms_ = now_ms_ + 1000;
  conns_.ForEach([&](uint32_t slot, Connection& c) {
    if (c.state == ConnState::kOpen && c.send_in_flight && now_ms_ - c.send_started_ms > kStalledMs) {
      CloseSlowConsumer(c, slot);
    }
  });
}

// Feeds what arrived while paused in slices, pausing again as soon as the
// publications in it fill the queues. Returns false when paused again.
bool Shard::ResumeDeferred(Connection& c, uint32_t slot) {
  constexpr size_t kSlice = 16384;
  std::unique_ptr<std::string> input = std::move(c.deferred);
  size_t pos = 0;
  while (pos < input->size() && c.state == ConnState::kOpen) {
    size_t n = std::min(kSlice, input->size() - pos);
    OnBytes(c, slot, std::string_view(*input).substr(pos, n));
    pos += n;
    if (c.published) MaybePause(c, slot);
    if (c.paused) {
      if (pos < input->size() && c.state == ConnState::kOpen) {
        input->erase(0, pos);
        c.deferred = std::move(input);
      }
      return false;
    }
  }
  return true;
}

void Shard::MarkDirty(Connection& c, uint32_t slot) {
  if (c.in_flush_list || c.send_in_flight) return;
  c.in_flush_list = true;
  flush_list_.push_back(slot);
}

void Shard::FlushAll() {
  for (size_t i = 0; i < flush_list_.size(); ++i) {
    uint32_t slot = flush_list_[i];
    if (!conns_.IsLive(slot)) continue;
    Connection& c = conns_.At(slot);
    c.in_flush_list = false;
    if (c.state == ConnState::kDead || c.send_in_flight || c.out.empty()) continue;
    Flush(c, slot);
  }
  flush_list_.clear();
}

// One sendmsg over everything queued (up to kMaxIov frames): the corking that
// lets a subscriber take a burst of publications in one syscall.
void Shard::Flush(Connection& c, uint32_t slot) {
  if (send_blocks_used_ == kSendBlocks) {
    ring_.Submit();  // the kernel has copied the msghdrs it was given
    send_blocks_used_ = 0;
  }
  SendBlock& block = send_blocks_[send_blocks_used_++];
  uint64_t bytes = 0;
  size_t n = c.out.Gather(block.iov, kMaxIov, &bytes);
  std::memset(&block.msg, 0, sizeof(block.msg));
  block.msg.msg_iov = block.iov;
  block.msg.msg_iovlen = n;
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_sendmsg(sqe, c.fd, &block.msg, MSG_NOSIGNAL | MSG_WAITALL);
  io_uring_sqe_set_data64(sqe,
                          net::PackUserData(net::OpKind::kSend, slot, conns_.HandleOf(slot).gen));
  c.send_in_flight = true;
  c.send_round = round_;
  c.send_started_ms = now_ms_;
  c.in_flight_nodes = static_cast<uint16_t>(n);
  c.in_flight_bytes = static_cast<uint32_t>(bytes);
  Bump(stats_.sends);
}

void Shard::OnTimer(uint64_t key) {
  auto kind = static_cast<TimerKind>(key >> 56);
  uint32_t slot = static_cast<uint32_t>(key);
  if (kind == TimerKind::kRequestTimeout) {
    OnRequestTimeout(slot);
    return;
  }
  if (!conns_.IsLive(slot)) return;
  if (!net::GenMatches(conns_.HandleOf(slot).gen, static_cast<uint32_t>(key >> 32) & 0xffffffu)) {
    return;  // the connection this timer was for is gone
  }
  Connection& c = conns_.At(slot);
  if (kind == TimerKind::kHandshake && c.state == ConnState::kHandshake) {
    // An HTTP API connection: the timeout is its keep-alive idle time.
    uint64_t idle = now_ms_ - c.last_rx_ms;
    if (c.http_served && ((c.parked && !c.parked->waiting.empty()) ||
                          idle < options_.handshake_timeout_ms)) {
      timers_.Add(now_ms_, options_.handshake_timeout_ms - std::min<uint64_t>(idle, options_.handshake_timeout_ms - 1),
                  TimerKey(TimerKind::kHandshake, conns_.HandleOf(slot)));
      return;
    }
    if (!c.http_served) Bump(stats_.handshakes_failed);
    RejectHttp(c, slot, 408, "handshake not completed in time");
  } else if (kind == TimerKind::kCloseDeadline && c.state != ConnState::kOpen) {
    Terminate(c, slot);
  } else if (kind == TimerKind::kKeepalive && c.state == ConnState::kOpen) {
    OnKeepalive(c, slot);
  } else if (kind == TimerKind::kTokenExpiry && c.state == ConnState::kOpen) {
    CloseWith(c, slot, 1008, "token expired");
  }
}

// Pings a connection that has been silent for ping_interval_ms, closes one
// silent (not even a pong) for idle_timeout_ms, and re-arms.
void Shard::OnKeepalive(Connection& c, uint32_t slot) {
  if (c.paused) {  // we stopped reading it: its silence is ours
    ArmKeepalive(slot, 0);
    return;
  }
  uint64_t silent = now_ms_ - c.last_rx_ms;
  if (options_.idle_timeout_ms > 0 && silent >= options_.idle_timeout_ms) {
    Bump(stats_.idle_closes);
    CloseWith(c, slot, 1000, "idle timeout");
    return;
  }
  if (options_.ping_interval_ms > 0 && silent >= options_.ping_interval_ms) {
    Enqueue(c, slot, writer_.Build(wire::Opcode::kPing, {}));
  }
  ArmKeepalive(slot, silent);
}

void Shard::ArmKeepalive(uint32_t slot, uint64_t silent_ms) {
  uint64_t delay = UINT64_MAX;
  if (options_.ping_interval_ms > 0) delay = options_.ping_interval_ms;
  if (options_.idle_timeout_ms > 0) {
    uint64_t left = options_.idle_timeout_ms > silent_ms ? options_.idle_timeout_ms - silent_ms : 0;
    delay = std::min<uint64_t>(delay, std::max<uint64_t>(left, 1));
  }
  if (delay == UINT64_MAX) return;
  timers_.Add(now_ms_, delay, TimerKey(TimerKind::kKeepalive, conns_.HandleOf(slot)));
}

// Lame-duck mode: new upgrades and /healthz get 503 while the listener stays
// open; open connections get `bye` + close 1001 after what they have queued,
// spread over three quarters of drain_ms so clients do not all reconnect at
// once; then the listener closes and the loop ends when the last one is gone.
void Shard::BeginDrain() {
  draining_ = true;
  drain_started_ms_ = now_ms_;
  drain_deadline_ms_ = now_ms_ + options_.drain_timeout_ms + kDrainLingerMs;
  conns_.ForEach([&](uint32_t slot, Connection& c) {
    if (c.state == ConnState::kOpen) drain_list_.push_back(conns_.HandleOf(slot));
  });
  scratch_.clear();
  proto::WriteBye(&scratch_, wire::CloseCode::kGoingAway, "server shutting down", true);
  drain_bye_ = pools_.Wrap(BuildText(scratch_));
  DrainStep();
}

void Shard::DrainStep() {
  if (drain_bye_ == nullptr) return;
  uint64_t spread_ms = uint64_t{options_.drain_timeout_ms} * 3 / 4;
  uint64_t elapsed = now_ms_ - drain_started_ms_;
  size_t total = drain_list_.size();
  size_t due = spread_ms == 0 || elapsed >= spread_ms ? total : total * elapsed / spread_ms + 1;
  while (drain_next_ < std::min(due, total)) {
    core::SlabHandle h = drain_list_[drain_next_++];
    Connection* c = conns_.Get(h);
    if (c == nullptr || c->state != ConnState::kOpen) continue;
    EnqueueLocal(*c, h.slot, drain_bye_);
    CloseWith(*c, h.slot, 1001, "server shutting down");
  }
  if (drain_next_ < total) return;
  pools_.Unref(drain_bye_);
  drain_bye_ = nullptr;
  if (accept_armed_) {  // everyone has been told: stop accepting
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_cancel64(sqe, net::PackUserData(net::OpKind::kAccept, 0, 0), 0);
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kCancel, 0, 0));
  }
}

void Shard::Reap() {
  size_t keep = 0;
  for (uint32_t slot : reap_) {
    Connection& c = conns_.At(slot);
    if (c.recv_armed || c.send_in_flight) {
      reap_[keep++] = slot;  // wait for the kernel to give the operations back
    } else {
      FreeConnection(slot);
    }
  }
  reap_.resize(keep);
}

}  // namespace ringcast::shard
