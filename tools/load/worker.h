// Worker: one generator thread with its own io_uring, provided-buffer ring, connections and
// histograms. It connects its share of the plan at the ramp rate, upgrades, subscribes, then
// follows the phases the Runner publishes in Control: publish (paced by a 1 ms io_uring timeout,
// or closed loop), drain, stop. A paced message is measured when it was due in the window, so a
// paced run publishes exactly rate x duration measured messages however late its ticks come.
// Receivers decode payloads, record one-way latency and check per-sender sequence numbers.
//
// Threads: Run() and everything it calls belong to the worker thread; the Runner only touches
// Control (atomics), and TakeShared() / latency() (after join). Counters are copied to the shared
// slot once per tick under a mutex, so the hot path has no atomics. Needs kernel 6.1+ (the ring
// is DEFER_TASKRUN, created on the worker thread) and 5.19+ for provided-buffer rings.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/histogram.h"
#include "net/buffer_ring.h"
#include "net/uring.h"
#include "tools/load/counters.h"
#include "tools/load/dialect.h"
#include "tools/load/plan.h"
#include "tools/load/ws_codec.h"

namespace ringcast::load {

enum class Phase : int { kConnect, kPublish, kDrain, kStop };

// Written by the Runner: the times first, then phase with release order.
struct Control {
  std::atomic<Phase> phase{Phase::kConnect};
  std::atomic<uint64_t> publish_start_ns{0};
  std::atomic<uint64_t> warmup_end_ns{0};
  std::atomic<uint64_t> measure_end_ns{0};
};

struct WorkerSetup {
  const LoadOptions* options = nullptr;
  const Plan* plan = nullptr;
  const Dialect* dialect = nullptr;
  Control* control = nullptr;
  uint32_t index = 0;         // worker index over all processes
  uint32_t worker_count = 1;  // over all processes
  std::vector<ConnSpec> specs;
};

class Worker {
 public:
  explicit Worker(WorkerSetup setup);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The thread body; returns after Phase::kStop with every socket closed.
  void Run();

  // Latest counters, and the latency of all deliveries since the last call merged into *interval.
  Counters TakeShared(core::Histogram* interval);
  // Measured latency; read only after the thread has been joined.
  const core::Histogram& latency() const { return latency_; }
  pid_t tid() const { return tid_.load(std::memory_order_acquire); }
  const std::string& fatal_error() const { return fatal_error_; }

 private:
  enum class State : uint8_t { kFree, kConnecting, kUpgrading, kOpen, kClosing };
  struct Conn {
    int fd = -1;
    uint32_t gen = 0;
    State state = State::kFree;
    ConnSpec spec;
    bool ready = false;
    bool awaiting_sub = false;
    bool recv_armed = false;
    bool connect_pending = false;
    bool send_inflight = false;
    bool dirty = false;
    bool shut = false;
    bool counted_open = false;
    bool cycle_measured = false;
    uint32_t mask_key = 0;
    uint32_t inflight = 0;  // closed loop: own messages not yet echoed
    uint64_t seq = 0;       // last sequence number sent
    uint64_t sent = 0;      // paced: messages due so far (sent or dropped)
    uint64_t started_ns = 0;
    std::string out;      // queued, not yet submitted
    std::string sending;  // submitted, waiting for the completion
    size_t sending_off = 0;
    std::string head;    // upgrade response so far
    std::string target;  // the room it subscribes/publishes to, or the user it sends to
    // A publisher that takes turns over rooms (Plan::PublishersTakeTurns): their names, the
    // stream id and last sequence number of each, and the next turn. Empty otherwise (target
    // and seq serve).
    struct Stream {
      std::string room;
      uint32_t id = 0;
      uint64_t seq = 0;
      uint64_t receivers = 0;
    };
    std::vector<Stream> streams;
    size_t next_stream = 0;
    std::string expected_accept;
    ServerFrameParser parser;
    std::vector<uint64_t> last_seq;  // per tracked sender
  };

  // worker.cc: loop, phases, pacing.
  void Loop();
  void ArmTick();
  void OnTick(uint64_t now);
  void RampConnections(uint64_t now);
  void Publish(uint64_t now);
  void RunChurn(uint64_t now);
  // Sends one message stamped `now`; `measured`: it counts in the window (paced: it was due there).
  void SendOne(Conn& c, uint64_t now, bool measured);
  bool InWindow(uint64_t t) const;  // warmup end <= t < measure end
  void PublishShared(bool merge_interval);
  void Teardown();

  // worker_conn.cc: one connection's state machine.
  uint32_t AllocConn(const ConnSpec& spec);
  void StartConnect(uint32_t slot, uint32_t source_index);
  void OnCompletion(const io_uring_cqe& cqe);
  void OnConnect(uint32_t slot, int res);
  void OnRecv(uint32_t slot, const io_uring_cqe& cqe);
  void OnSend(uint32_t slot, int res);
  void OnBytes(uint32_t slot, std::string_view bytes, uint64_t now);
  void OnUpgraded(uint32_t slot, std::string_view rest, uint64_t now);
  void OnMessage(uint32_t slot, uint8_t opcode, std::string_view payload, uint64_t now);
  void OnDelivery(Conn& c, std::string_view payload, uint64_t now);
  void AfterWelcome(uint32_t slot);
  void OnSubscribed(uint32_t slot, uint64_t now);
  void MarkReady(Conn& c);
  void ArmRecv(uint32_t slot);
  void MarkDirty(uint32_t slot);
  void Flush();
  void SubmitSend(uint32_t slot);
  void Fail(uint32_t slot, uint64_t Counters::*counter);
  void BeginClose(uint32_t slot, bool shut_now = true);
  void CloseGracefully(uint32_t slot, uint64_t now);
  void MaybeRelease(uint32_t slot);

  WorkerSetup s_;
  net::Uring ring_;
  net::BufferRing buffers_;
  std::vector<Conn> conns_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> senders_;  // slots of connections that publish
  std::string payload_;            // scratch for one payload
  size_t next_spec_ = 0;           // specs started so far
  uint64_t ramp_start_ns_ = 0;
  uint64_t churn_started_ = 0;
  uint64_t churn_active_ = 0;
  uint64_t ticks_ = 0;
  uint32_t pending_upgrades_ = 0;
  bool tick_armed_ = false;
  bool publishing_done_ = false;
  bool closed_loop_started_ = false;
  Phase phase_ = Phase::kConnect;
  Counters counters_;
  core::Histogram latency_;
  core::Histogram interval_;
  __kernel_timespec tick_ts_{};

  std::mutex shared_mu_;
  Counters shared_counters_;
  std::unique_ptr<core::Histogram> shared_interval_;
  std::atomic<pid_t> tid_{0};
  std::string fatal_error_;
};

}  // namespace ringcast::load
