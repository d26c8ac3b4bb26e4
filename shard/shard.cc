#include "shard/shard.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "net/handshake.h"
#include "net/listener.h"
#include "shard/http_front.h"

namespace ringcast::shard {

namespace {

constexpr unsigned kSqEntries = 4096;
constexpr uint16_t kBufferGroup = 1;
constexpr uint32_t kRecvBuffers = 512;
constexpr uint32_t kRecvBufferBytes = 16384;
constexpr uint32_t kTickMs = 20;  // as ShardParts' timer wheel
constexpr size_t kMaxIov = 256;
constexpr size_t kSendBlocks = 128;
constexpr uint64_t kDrainLingerMs = 1000;  // after drain_ms, for closes to finish

// Full, HTTP reserve included: refuse rather than queue without bound, with
// a clear answer. One small non-blocking write to a fresh socket; no slot is
// needed. The fd budget (fd_budget.h) leaves room for this one socket. The
// request already arrived with the accept (TCP_DEFER_ACCEPT): it is read and
// dropped first, since closing over unread bytes would reset the connection
// and could take the 503 with it.
void RefuseFull(int fd) {
  static const std::string kFull =
      net::BuildHttpError(503, kServerFullReason, kServerFullRetryAfterS);
  char sink[4096];
  for (int i = 0; i < 4 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; ++i) {
  }
  ssize_t ignored = send(fd, kFull.data(), kFull.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)ignored;
  close(fd);
}

}  // namespace

struct Shard::SendBlock {
  msghdr msg;
  iovec iov[kMaxIov];
};

Shard::Shard(unsigned id, const ServerOptions& options, Mesh* mesh, int listen_fd,
             const std::atomic<bool>* stop, const Metrics* metrics, const core::Clock* clock,
             const std::vector<net::RedisAddress>& redis)
    : id_(id),
      options_(options),
      mesh_(mesh),
      listen_fd_(listen_fd),
      stop_(stop),
      clock_(clock),
      outbox_(mesh, id, OutboxLimits::For(mesh->ring_capacity())),
      parts_(id, options_, this, this, &stats_, metrics, clock),
      sessions_(parts_.sessions()),
      send_blocks_(std::make_unique<SendBlock[]>(kSendBlocks)) {
  if (!redis.empty()) {
    backplane_ = std::make_unique<Backplane>(id, options_, redis, &ring_, &parts_, this, &stats_);
    parts_.SetCluster(backplane_.get());
  }
}

Shard::~Shard() {
  sessions_.CloseAll();
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
  now_ms_ = clock_->MonotonicMs();
  ArmAccept();
  ArmTick();
  if (backplane_) backplane_->Start(now_ms_);
  while (Round()) {
    if (SleepAllowed()) {
      ring_.SubmitAndWait(1);
    } else {
      ring_.SubmitAndGetEvents();  // with DEFER_TASKRUN, only GETEVENTS runs task work
    }
    mesh_->SetSleeping(id_, false);
  }
  if (backplane_) backplane_->Stop();
  ring_.Submit();
}

// One round of the loop, up to its submit-and-wait. False once drained.
bool Shard::Round() {
  now_ms_ = clock_->MonotonicMs();
  sessions_.BeginRound(now_ms_, clock_->UnixMs() / 1000);
  ring_.DrainCompletions([this](const io_uring_cqe& cqe) { OnCompletion(cqe); });
  buffers_.Commit();
  DrainInbound();
  parts_.AdvanceTimers(now_ms_);
  stats_.timers.store(parts_.timers().size(), std::memory_order_relaxed);
  parts_.owner().Tick(now_ms_);
  if (backplane_) backplane_->Tick(now_ms_);
  if (!sessions_.draining() && stop_->load(std::memory_order_relaxed)) {
    sessions_.BeginDrain();
    drain_deadline_ms_ = now_ms_ + options_.drain_timeout_ms + kDrainLingerMs;
  }
  sessions_.EndRound();
  if (sessions_.DrainTold() && accept_armed_) StopAccepting();
  mesh_->SetPressure(id_, sessions_.queued_total());
  stats_.bus_depth.store(outbox_.overflow_total() + InboundDepth(), std::memory_order_relaxed);
  stats_.bus_overflowed.store(outbox_.overflowed(), std::memory_order_relaxed);
  if (backplane_) backplane_->Flush();  // the round's Redis commands, one send per connection
  outbox_.Flush();
  mesh_->SetBusBacklog(id_, outbox_.Backlog());
  RingDoorbells(outbox_.TakeDoorbells() | std::exchange(room_doorbells_, 0));
  if (!sessions_.draining()) return true;
  if (sessions_.DrainTold() && sessions_.size() == 0 && !accept_armed_) return false;
  if (now_ms_ < drain_deadline_ms_) return true;
  sessions_.TerminateAll();
  return false;
}

void Shard::OnCompletion(const io_uring_cqe& cqe) {
  switch (net::UserDataKind(cqe.user_data)) {
    case net::OpKind::kAccept:
      return OnAccept(cqe);
    case net::OpKind::kRecv:
      return OnRecv(cqe);
    case net::OpKind::kSend: {
      uint32_t slot = net::UserDataSlot(cqe.user_data);
      RC_CHECK(net::GenMatches(sessions_.HandleOf(slot).gen, net::UserDataGen(cqe.user_data)));
      return sessions_.OnSent(slot, cqe.res);
    }
    case net::OpKind::kTick:
      return OnTick();
    case net::OpKind::kRedis:
      RC_CHECK(backplane_ != nullptr);
      return backplane_->OnCompletion(cqe, now_ms_);
    case net::OpKind::kDoorbell:
    case net::OpKind::kCancel:
      return;  // a wake-up, or the result of a cancel: nothing to do
  }
}

void Shard::OnTick() {
  ArmTick();  // the loop never blocks for longer than one tick
  if (accept_retry_ && !sessions_.draining()) {
    accept_retry_ = false;
    ArmAccept();
  }
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

void Shard::OnAccept(const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) accept_armed_ = false;
  if (cqe.res >= 0) {
    // While draining, new connections still get an answer (503, /healthz).
    int fd = cqe.res;
    if (!sessions_.Accept(fd)) RefuseFull(fd);
  } else if (cqe.res != -ECANCELED) {
    Bump(stats_.accept_errors);  // EMFILE, ENFILE, ENOMEM...: the accept ends, see below
  }
  if (accept_armed_) return;
  if (sessions_.DrainTold()) {
    close(listen_fd_);  // the drain cancelled it: stop accepting
    listen_fd_ = -1;
  } else if (cqe.res < 0) {
    // EMFILE and friends end the multishot accept: re-arm it at the next
    // tick (a brief back-off, never a spin, never for good).
    accept_retry_ = true;
  } else {
    ArmAccept();
  }
}

void Shard::StopAccepting() {
  if (accept_stopped_) return;
  accept_stopped_ = true;  // everyone has been told
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_cancel64(sqe, net::PackUserData(net::OpKind::kAccept, 0, 0), 0);
  io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kCancel, 0, 0));
}

void Shard::OnRecv(const io_uring_cqe& cqe) {
  uint32_t slot = net::UserDataSlot(cqe.user_data);
  RC_CHECK(net::GenMatches(sessions_.HandleOf(slot).gen, net::UserDataGen(cqe.user_data)));
  bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (cqe.res <= 0) {
    sessions_.OnReceived(slot, cqe.res, more, {});
    return;
  }
  RC_CHECK(cqe.flags & IORING_CQE_F_BUFFER);
  auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  sessions_.OnReceived(slot, cqe.res, more, buffers_.View(bid, static_cast<size_t>(cqe.res)));
  buffers_.Return(bid);
}

// SessionIo.

void Shard::ArmRecv(int fd, core::SlabHandle h) {
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group_id();
  io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kRecv, h.slot, h.gen));
}

void Shard::CancelRecv(core::SlabHandle h) {
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_cancel64(sqe, net::PackUserData(net::OpKind::kRecv, h.slot, h.gen), 0);
  io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kCancel, 0, 0));
}

iovec* Shard::SendVector(size_t* max_iov) {
  if (send_blocks_used_ == kSendBlocks) {
    ring_.Submit();  // the kernel has copied the msghdrs it was given
    send_blocks_used_ = 0;
  }
  *max_iov = kMaxIov;
  return send_blocks_[send_blocks_used_].iov;
}

void Shard::SendMsg(int fd, core::SlabHandle h, size_t iov_count, bool fin_follows) {
  SendBlock& block = send_blocks_[send_blocks_used_++];
  std::memset(&block.msg, 0, sizeof(block.msg));
  block.msg.msg_iov = block.iov;
  block.msg.msg_iovlen = iov_count;
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_sendmsg(sqe, fd, &block.msg,
                        MSG_NOSIGNAL | MSG_WAITALL | (fin_follows ? MSG_MORE : 0));
  io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kSend, h.slot, h.gen));
}

void Shard::Shutdown(int fd, int how) { shutdown(fd, how); }

void Shard::Close(int fd) { close(fd); }

// The bus.

void Shard::Post(unsigned to, BusMessage msg) {
  if (to == id_) {
    Dispatch(id_, std::move(msg));  // the target is this shard: in place
  } else {
    outbox_.Post(to, std::move(msg));
  }
}

void Shard::DrainInbound() {
  uint64_t popped = 0;  // rings that got room, one bit per producer
  for (unsigned from = 0; from < mesh_->shards(); ++from) {
    if (from == id_) continue;
    auto& ring = mesh_->Ring(from, id_);
    BusSlot slot;
    // A ring's worth at most, and none once a connection took a burst
    // (Sessions::bus_held): the round's sends follow.
    size_t n = 0;
    for (size_t budget = mesh_->ring_capacity();
         n < budget && !sessions_.bus_held() && ring.TryPop(&slot); ++n) {
      Dispatch(from, Decode(slot));
    }
    if (n > 0) popped |= uint64_t{1} << from;
  }
  if (popped == 0) return;
  // Pairs with the producer's fence in Outbox::WaitForRoom (flag, fence,
  // look for room): a producer asleep on a full ring is rung this round.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (; popped != 0; popped &= popped - 1) {
    auto from = static_cast<unsigned>(std::countr_zero(popped));
    if (mesh_->TakeWaitingForRoom(from, id_)) room_doorbells_ |= uint64_t{1} << from;
  }
}

void Shard::Dispatch(unsigned from, BusMessage msg) {
  // The owner refuses publications while its own outbox is backlogged.
  parts_.Dispatch(from, std::move(msg), !outbox_.Admits(id_), now_ms_);
}

void Shard::RingDoorbells(uint64_t due) {
  if (due == 0) return;
  // Pairs with the consumer's store of its sleeping flag before it re-checks
  // its rings: one of the two always sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (; due != 0; due &= due - 1) {
    auto to = static_cast<unsigned>(std::countr_zero(due));
    if (!mesh_->MaySleep(to)) continue;
    int fd = mesh_->RingFd(to);
    if (fd < 0) continue;
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_msg_ring(sqe, fd, 0, net::PackUserData(net::OpKind::kDoorbell, id_, 0), 0);
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kDoorbell, to, 0));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    Bump(stats_.doorbells);
  }
}

bool Shard::SleepAllowed() {
  mesh_->SetSleeping(id_, true);
  // Pairs with the producer's fence in RingDoorbells (push, fence, read flag).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (mesh_->HasInbound(id_)) return false;
  // Overflow waits for a consumer to make room: spinning on its full ring
  // would only take the CPU from it when the two share a core (measured: a
  // quarter million empty rounds a second). Sleep; the consumer rings. So do
  // paused publishers wait for a backlogged ring to drain (Backpressure): the
  // consumer's ring wakes this shard to resume them, not the next tick.
  bool paused = sessions_.paused_publishers() != 0;
  if (!outbox_.HasOverflow() && !paused) return true;
  if (!outbox_.WaitForRoom(paused ? std::optional<size_t>(sessions_.bus_resume_mark())
                                  : std::nullopt)) {
    return false;
  }
  // After the flags' fence: a ring that drained since this round's
  // Backpressure::EndRound looked at it either rings this shard or is seen here.
  return !paused || !sessions_.PublishersMayResume();
}

size_t Shard::InboundDepth() const {
  size_t depth = 0;
  for (unsigned from = 0; from < mesh_->shards(); ++from) {
    if (from != id_) depth += mesh_->Ring(from, id_).SizeApprox();
  }
  return depth;
}

void Shard::ReleaseInbound() {
  for (unsigned from = 0; from < mesh_->shards(); ++from) {
    if (from == id_) continue;
    BusSlot slot;
    while (mesh_->Ring(from, id_).TryPop(&slot)) BusMessage dropped = Decode(slot);
  }
}

}  // namespace ringcast::shard
