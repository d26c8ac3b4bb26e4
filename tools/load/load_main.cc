// ringcast-load: the bundled load generator's command line. Parses flags, decides how many
// processes the connections need, runs the scenario (in this process, or in forked children
// when one process's file limit would be hit), and prints the table or --json. Only main
// exits; a bad command line is one line on stderr and status 2.
#include <signal.h>

#include <cstdio>
#include <memory>

#include "core/clock.h"
#include "tools/load/dialect.h"
#include "tools/load/multiproc.h"
#include "tools/load/options.h"
#include "tools/load/proc_stats.h"
#include "tools/load/report.h"
#include "tools/load/runner.h"

namespace {

using namespace ringcast::load;  // NOLINT: a main file

constexpr uint64_t kConnsPerProcess = 18000;

void RunHere(const LoadOptions& o, Report* report) {
  ServerWindow server;
  double server_cpu0 = 0;
  if (!o.server_pids.empty()) server.rss_before_bytes = ProcessesRssBytes(o.server_pids);
  LivePrinter live(o.live);
  RunHooks hooks;
  hooks.on_ready = [] { return ringcast::core::NowNs() + 20'000'000; };
  hooks.on_progress = [&](const Counters& c, const ringcast::core::Histogram& interval,
                          Phase phase) { live.Add(c, interval, phase); };
  hooks.on_window_edge = [&](bool start) {
    if (o.server_pids.empty()) return;
    if (start) {
      server_cpu0 = ProcessesCpuSeconds(o.server_pids);
    } else {
      server.cpu_s = ProcessesCpuSeconds(o.server_pids) - server_cpu0;
      server.rss_end_bytes = ProcessesRssBytes(o.server_pids);
    }
  };
  hooks.drain_done = [&](const Counters& c, uint64_t started) {
    return DrainComplete(o, c, o.threads, started, ringcast::core::NowNs());
  };
  Runner(o, 0, 1).Run(hooks, &report->result, &report->window_s);
  report->procs = 1;
  if (!o.server_pids.empty()) report->server = server;
}

}  // namespace

int main(int argc, char** argv) {
  LoadOptions o;
  bool help = false;
  if (auto err = ParseLoadArgs(argc, argv, &o, &help)) {
    std::fprintf(stderr, "ringcast-load: %s\n", err->c_str());
    return 2;
  }
  if (help) {
    std::fputs(kLoadUsage, stdout);
    return 0;
  }
  if (!MakeDialect(o.dialect)) {
    std::fprintf(stderr, "ringcast-load: unknown --dialect %s (known: native, socketio)\n",
                 o.dialect.c_str());
    return 2;
  }
  if (o.rcvbuf != 0) {
    // The kernel caps SO_RCVBUF at net.core.rmem_max without a word (212992 by default); a
    // buffer smaller than asked for would measure something else than the command line says.
    unsigned long max = 0;
    std::FILE* f = std::fopen("/proc/sys/net/core/rmem_max", "r");
    bool read = f != nullptr && std::fscanf(f, "%lu", &max) == 1;
    if (f != nullptr) std::fclose(f);
    if (read && o.rcvbuf > max) {
      std::fprintf(stderr,
                   "ringcast-load: --rcvbuf %u is above net.core.rmem_max (%lu), where the "
                   "kernel would cap it; raise it (sysctl -w net.core.rmem_max=%u) or ask less\n",
                   o.rcvbuf, max, o.rcvbuf);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();
  uint32_t procs = o.procs;
  if (procs == 0) {
    procs =
        static_cast<uint32_t>((o.planned_connections() + kConnsPerProcess - 1) / kConnsPerProcess);
    if (procs == 0) procs = 1;
  }
  Plan plan(o);
  auto report = std::make_unique<Report>();
  report->options = &o;
  report->plan = &plan;
  if (procs == 1) {
    RunHere(o, report.get());
  } else {
    std::string error;
    if (!RunProcesses(o, procs, report.get(), &error)) {
      std::fprintf(stderr, "ringcast-load: %s\n", error.c_str());
    }
  }
  if (o.json) {
    std::fputs(ReportJson(*report).c_str(), stdout);
    std::string warnings = ReportWarnings(*report);
    if (!warnings.empty()) std::fputs(warnings.c_str(), stderr);
  } else {
    PrintTable(stdout, *report);
  }
  if (!report->result.fatal.empty()) {
    std::fprintf(stderr, "ringcast-load: %s\n", report->result.fatal.c_str());
    return 1;
  }
  return 0;
}
