#include "tools/load/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/clock.h"
#include "tools/load/payload.h"

namespace ringcast::load {

namespace {

constexpr unsigned kSqEntries = 4096;
constexpr uint32_t kRecvBuffers = 2048;
constexpr uint32_t kRecvBufferBytes = 8192;
constexpr uint64_t kTickNs = 1'000'000;
constexpr size_t kMaxBacklogBytes = 8u << 20;  // per connection; beyond it due messages drop

}  // namespace

Worker::Worker(WorkerSetup setup)
    : s_(std::move(setup)), shared_interval_(std::make_unique<core::Histogram>()) {
  const LoadOptions& o = *s_.options;
  size_t churn_cap = 0;
  if (o.scenario == Scenario::kChurn) churn_cap = (o.conns + s_.worker_count - 1) / s_.worker_count;
  conns_.reserve(s_.specs.size() + churn_cap);
  payload_.resize(PayloadBytes(o.size));
  counters_.conns_planned = s_.specs.size();
  tick_ts_.tv_nsec = static_cast<long long>(kTickNs);
}

Worker::~Worker() = default;

void Worker::Run() {
  tid_.store(static_cast<pid_t>(gettid()), std::memory_order_release);
  std::optional<std::string> err = ring_.Init(kSqEntries);
  if (!err) err = buffers_.Init(ring_.raw(), 1, kRecvBuffers, kRecvBufferBytes);
  if (err) {
    fatal_error_ = *err;
    counters_.err_connect = s_.specs.size();
    counters_.publishing_done = 1;
    PublishShared(false);
    return;
  }
  Loop();
  Teardown();
}

void Worker::Loop() {
  ArmTick();
  for (;;) {
    ring_.DrainCompletions([this](const io_uring_cqe& cqe) { OnCompletion(cqe); });
    buffers_.Commit();
    Flush();
    if (phase_ == Phase::kStop) return;
    int rc = ring_.SubmitAndWait(1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
      fatal_error_ = "io_uring_submit_and_wait failed: " + std::to_string(-rc);
      return;
    }
  }
}

void Worker::ArmTick() {
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_timeout(sqe, &tick_ts_, 0, 0);
  io_uring_sqe_set_data64(sqe, uint64_t{4} << 56);
  tick_armed_ = true;
}

void Worker::OnTick(uint64_t now) {
  ++ticks_;
  phase_ = s_.control->phase.load(std::memory_order_acquire);
  if (phase_ == Phase::kStop) {
    PublishShared(true);
    return;
  }
  RampConnections(now);
  if (phase_ == Phase::kPublish) {
    if (s_.options->scenario == Scenario::kChurn) {
      RunChurn(now);
    } else {
      Publish(now);
    }
  } else if (phase_ == Phase::kDrain) {
    // However late this tick, paced publishing ends with every message due by the window's end.
    if (!publishing_done_ && s_.options->scenario != Scenario::kChurn) {
      Publish(std::max(now, s_.control->measure_end_ns.load(std::memory_order_relaxed)));
    }
    publishing_done_ = true;
  }
  counters_.publishing_done = publishing_done_ ? 1 : 0;
  if (s_.options->scenario == Scenario::kChurn && ticks_ % 256 == 0) {
    // A server that never answers our close frame must not pin churn slots forever.
    for (Conn& c : conns_) {
      if (c.state == State::kClosing && c.fd >= 0 && !c.shut &&
          now - c.started_ns > 2'000'000'000) {
        c.shut = true;
        shutdown(c.fd, SHUT_RDWR);
      }
    }
  }
  PublishShared(ticks_ % 50 == 0);
  ArmTick();
}

void Worker::RampConnections(uint64_t now) {
  constexpr uint32_t kMaxPendingUpgrades = 1000;
  if (next_spec_ >= s_.specs.size()) return;
  if (ramp_start_ns_ == 0) ramp_start_ns_ = now;
  const double per_ns = s_.options->ramp / s_.worker_count / 1e9;
  const uint64_t allowed =
      1 + static_cast<uint64_t>(static_cast<double>(now - ramp_start_ns_) * per_ns);
  while (next_spec_ < s_.specs.size() && next_spec_ < allowed &&
         pending_upgrades_ < kMaxPendingUpgrades) {
    const ConnSpec& spec = s_.specs[next_spec_++];
    uint32_t slot = AllocConn(spec);
    StartConnect(slot, spec.global_id / 10000);
  }
}

void Worker::Publish(uint64_t now) {
  const uint64_t start = s_.control->publish_start_ns.load(std::memory_order_relaxed);
  const uint64_t end = s_.control->measure_end_ns.load(std::memory_order_relaxed);
  if (now < start || publishing_done_) return;
  if (s_.options->closed_loop()) {
    if (now >= end) {
      publishing_done_ = true;
      return;
    }
    if (closed_loop_started_) return;
    closed_loop_started_ = true;
    for (uint32_t slot : senders_) {
      if (!conns_[slot].ready) continue;
      for (uint32_t i = 0; i < s_.options->window; ++i) SendOne(conns_[slot], now, InWindow(now));
    }
    return;
  }
  // Message k of a sender is due at start + k / rate. Whether it is measured follows from when it
  // was due, not from when a tick came round to send it: a late tick sends a burst of due messages
  // at once, and those due before the window must not count in it, nor those due before its end
  // be lost. So each sender publishes exactly Due(end) - Due(warmup_end) measured messages,
  // however the generator is scheduled.
  const double rate = s_.plan->RatePerSender();
  auto due_by = [&](uint64_t t) {
    return static_cast<uint64_t>(static_cast<double>(t - start) * rate / 1e9);
  };
  const uint64_t due = due_by(std::min(now, end));
  const uint64_t due_before_window =
      due_by(std::max(start, s_.control->warmup_end_ns.load(std::memory_order_relaxed)));
  for (uint32_t slot : senders_) {
    Conn& c = conns_[slot];
    if (c.state != State::kOpen || !c.ready) {
      if (due > c.sent) counters_.not_sent += due - c.sent;
      c.sent = std::max(c.sent, due);
      continue;
    }
    while (c.sent < due) {
      ++c.sent;
      SendOne(c, now, c.sent > due_before_window);
    }
  }
  if (now >= end) publishing_done_ = true;
}

bool Worker::InWindow(uint64_t t) const {
  return t >= s_.control->warmup_end_ns.load(std::memory_order_relaxed) &&
         t < s_.control->measure_end_ns.load(std::memory_order_relaxed);
}

void Worker::RunChurn(uint64_t now) {
  const uint64_t start = s_.control->publish_start_ns.load(std::memory_order_relaxed);
  const uint64_t warm = s_.control->warmup_end_ns.load(std::memory_order_relaxed);
  const uint64_t end = s_.control->measure_end_ns.load(std::memory_order_relaxed);
  if (now >= end) {
    publishing_done_ = true;
    return;
  }
  if (now < start) return;
  const double per_ns = s_.options->rate / s_.worker_count / 1e9;
  const uint64_t due = static_cast<uint64_t>(static_cast<double>(now - start) * per_ns);
  const uint64_t cap = conns_.capacity();
  while (churn_started_ < due && churn_active_ < cap) {
    ConnSpec spec;
    spec.role = Role::kChurn;
    spec.global_id = static_cast<uint32_t>(churn_started_ * s_.worker_count + s_.index);
    spec.node = s_.plan->NodeOf(spec);
    uint32_t slot = AllocConn(spec);
    Conn& c = conns_[slot];
    c.started_ns = now;
    c.cycle_measured = now >= warm;
    ++churn_started_;
    ++churn_active_;
    StartConnect(slot, static_cast<uint32_t>(churn_started_));
  }
}

void Worker::SendOne(Conn& c, uint64_t now, bool measured) {
  if (c.out.size() + c.sending.size() > kMaxBacklogBytes) {
    ++counters_.not_sent;
    return;
  }
  // One room (its seq is the connection's), or the next of the rooms it takes turns over.
  Conn::Stream* stream = nullptr;
  if (!c.streams.empty()) {
    stream = &c.streams[c.next_stream];
    c.next_stream = (c.next_stream + 1) % c.streams.size();
  }
  PayloadFields f{stream ? stream->id : c.spec.pub_id, stream ? ++stream->seq : ++c.seq, now,
                  measured};
  EncodePayload(f, s_.options->size, payload_.data());
  const std::string& target = stream ? stream->room : c.target;
  if (c.spec.role == Role::kUser) {
    s_.dialect->AppendSend(&c.out, target, payload_, c.mask_key);
  } else {
    s_.dialect->AppendPub(&c.out, target, payload_, c.mask_key);
  }
  if (s_.options->closed_loop()) ++c.inflight;
  ++counters_.published;
  if (measured) {
    ++counters_.published_measured;
    counters_.expected +=
        stream ? stream->receivers : s_.plan->ReceiversPerMessage(c.spec, c.spec.room);
  }
  MarkDirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::PublishShared(bool merge_interval) {
  std::lock_guard<std::mutex> lock(shared_mu_);
  shared_counters_ = counters_;
  if (merge_interval) {
    shared_interval_->Merge(interval_);
    interval_.Reset();
  }
}

Counters Worker::TakeShared(core::Histogram* interval) {
  std::lock_guard<std::mutex> lock(shared_mu_);
  if (interval != nullptr) {
    interval->Merge(*shared_interval_);
    shared_interval_->Reset();
  }
  return shared_counters_;
}

void Worker::Teardown() {
  for (Conn& c : conns_) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }
  buffers_.Destroy();
  ring_.Exit();
}

}  // namespace ringcast::load
