#include "tools/load/runner.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "tools/load/dialect.h"
#include "tools/load/plan.h"
#include "tools/load/proc_stats.h"

namespace ringcast::load {

namespace {

constexpr uint64_t kProgressNs = 100'000'000;

uint64_t Seconds(double s) { return static_cast<uint64_t>(s * 1e9); }

void SleepUntil(uint64_t deadline_ns) {
  uint64_t now = core::NowNs();
  if (deadline_ns > now) std::this_thread::sleep_for(std::chrono::nanoseconds(deadline_ns - now));
}

}  // namespace

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kConnect:
      return "connect";
    case Phase::kPublish:
      return "run";
    case Phase::kDrain:
      return "drain";
    case Phase::kStop:
      return "stop";
  }
  return "?";
}

bool DrainComplete(const LoadOptions& o, const Counters& c, uint64_t workers,
                   uint64_t drain_started_ns, uint64_t now_ns) {
  if (o.scenario == Scenario::kIdle) return true;
  if (now_ns - drain_started_ns >= Seconds(o.drain_s)) return true;
  if (c.publishing_done < workers) return false;
  if (o.scenario == Scenario::kChurn) return now_ns - drain_started_ns >= 200'000'000;
  return c.deliveries >= c.expected;
}

Runner::Runner(const LoadOptions& options, uint32_t proc_index, uint32_t proc_count)
    : options_(options), proc_index_(proc_index), proc_count_(proc_count) {}

void Runner::Run(const RunHooks& hooks, ProcResult* out, double* window_s) {
  const LoadOptions& o = options_;
  Plan plan(o);
  std::unique_ptr<Dialect> dialect = MakeDialect(o.dialect);
  Control control;
  std::vector<std::unique_ptr<Worker>> workers;
  uint64_t planned = 0;
  for (uint32_t t = 0; t < o.threads; ++t) {
    WorkerSetup setup;
    setup.options = &o;
    setup.plan = &plan;
    setup.dialect = dialect.get();
    setup.control = &control;
    setup.index = proc_index_ * o.threads + t;
    setup.worker_count = proc_count_ * o.threads;
    setup.specs = plan.ConnsFor(proc_index_, proc_count_, t, o.threads);
    planned += setup.specs.size();
    workers.push_back(std::make_unique<Worker>(std::move(setup)));
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });

  core::Histogram interval;
  auto sample = [&](Phase phase) {
    Counters sum;
    interval.Reset();
    for (auto& w : workers) sum.Add(w->TakeShared(&interval));
    hooks.on_progress(sum, interval, phase);
    return sum;
  };

  // Connect: wait until every planned connection is ready or has failed, within a bound.
  const uint64_t setup_deadline =
      core::NowNs() + Seconds(10 + 1.5 * static_cast<double>(planned) / o.ramp);
  for (;;) {
    Counters c = sample(Phase::kConnect);
    bool settled = c.conns_ready + c.errors() >= planned;
    if (settled || core::NowNs() >= setup_deadline) break;
    SleepUntil(core::NowNs() + kProgressNs);
  }

  const uint64_t start = hooks.on_ready();
  const uint64_t warm_end = start + Seconds(o.warmup_s);
  const uint64_t measure_end = warm_end + Seconds(o.duration_s);
  control.publish_start_ns.store(start, std::memory_order_relaxed);
  control.warmup_end_ns.store(warm_end, std::memory_order_relaxed);
  control.measure_end_ns.store(measure_end, std::memory_order_relaxed);
  control.phase.store(Phase::kPublish, std::memory_order_release);

  double cpu0 = 0;
  std::vector<double> thread_cpu0(workers.size(), 0);
  bool window_started = false;
  for (;;) {
    const uint64_t now = core::NowNs();
    if (!window_started && now >= warm_end) {
      window_started = true;
      hooks.on_window_edge(true);
      cpu0 = SelfCpuSeconds();
      for (size_t i = 0; i < workers.size(); ++i) {
        thread_cpu0[i] = ThreadCpuSeconds(workers[i]->tid()).value_or(0);
      }
    }
    if (now >= measure_end) break;
    sample(Phase::kPublish);
    uint64_t next = core::NowNs() + kProgressNs;
    if (!window_started) next = std::min(next, warm_end);
    SleepUntil(std::min(next, measure_end));
  }
  hooks.on_window_edge(false);
  const double actual_window_s = static_cast<double>(core::NowNs() - warm_end) / 1e9;
  out->cpu_s = SelfCpuSeconds() - cpu0;
  for (size_t i = 0; i < workers.size(); ++i) {
    double busy = ThreadCpuSeconds(workers[i]->tid()).value_or(0) - thread_cpu0[i];
    out->busiest_thread_pct = std::max(out->busiest_thread_pct, 100 * busy / actual_window_s);
  }
  control.phase.store(Phase::kDrain, std::memory_order_release);

  const uint64_t drain_started = core::NowNs();
  for (;;) {
    SleepUntil(core::NowNs() + kProgressNs / 4);
    Counters c = sample(Phase::kDrain);
    if (hooks.drain_done(c, drain_started)) break;
  }
  control.phase.store(Phase::kStop, std::memory_order_release);
  for (auto& t : threads) t.join();

  out->threads = static_cast<uint32_t>(workers.size());
  for (auto& w : workers) {
    out->counters.Add(w->TakeShared(nullptr));
    out->latency.Merge(w->latency());
    if (out->fatal.empty()) out->fatal = w->fatal_error();
  }
  *window_s = o.duration_s;
}

void LivePrinter::Add(const Counters& c, const core::Histogram& interval, Phase phase) {
  const uint64_t now = core::NowNs();
  if (start_ns_ == 0) start_ns_ = last_ns_ = now;
  interval_.Merge(interval);
  if (now - last_ns_ < 1'000'000'000) return;
  const double secs = static_cast<double>(now - last_ns_) / 1e9;
  const uint64_t delivered = c.deliveries_all + c.cycles_all;
  const double rate = static_cast<double>(delivered - last_deliveries_) / secs;
  if (enabled_) {
    std::string line =
        LiveLine(static_cast<double>(now - start_ns_) / 1e9, PhaseName(phase), c, rate, interval_);
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  last_ns_ = now;
  last_deliveries_ = delivered;
  interval_.Reset();
}

}  // namespace ringcast::load
