#include "tools/load/multiproc.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/clock.h"
#include "tools/load/proc_stats.h"
#include "tools/load/runner.h"

namespace ringcast::load {

namespace {

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    if (n <= 0) return;  // the other side is gone; the reader notices by itself
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads one '\n'-terminated line, blocking; empty on EOF.
std::string ReadLineBlocking(int fd) {
  std::string line;
  char ch;
  while (read(fd, &ch, 1) == 1) {
    if (ch == '\n') return line;
    line.push_back(ch);
  }
  return line;
}

[[noreturn]] void ChildMain(const LoadOptions& options, uint32_t index, uint32_t procs, int up,
                            int down) {
  LoadOptions o = options;
  o.live = false;
  const uint64_t hard_drain_ns = static_cast<uint64_t>((o.drain_s + 10) * 1e9);
  RunHooks hooks;
  hooks.on_ready = [&] {
    WriteAll(up, "ready\n");
    std::string go = ReadLineBlocking(down);
    if (go.rfind("go ", 0) != 0) return core::NowNs();
    return static_cast<uint64_t>(std::stoull(go.substr(3)));
  };
  hooks.on_progress = [&](const Counters& c, const core::Histogram& interval, Phase) {
    ProcResult p;
    p.counters = c;
    p.latency = interval;
    WriteAll(up, EncodeResultLine('S', p));
  };
  hooks.on_window_edge = [](bool) {};
  hooks.drain_done = [&](const Counters&, uint64_t started) {
    pollfd pfd{down, POLLIN, 0};
    if (poll(&pfd, 1, 0) > 0) return true;  // "stop", or the parent is gone
    return core::NowNs() - started > hard_drain_ns;
  };
  auto result = std::make_unique<ProcResult>();
  double window_s = 0;
  Runner(o, index, procs).Run(hooks, result.get(), &window_s);
  WriteAll(up, EncodeResultLine('R', *result));
  _exit(0);
}

struct Child {
  pid_t pid = -1;
  int up = -1;    // we read
  int down = -1;  // we write
  std::string buffer;
  bool ready = false;
  bool done = false;
  bool dead = false;
  std::unique_ptr<ProcResult> latest = std::make_unique<ProcResult>();
  std::unique_ptr<ProcResult> result = std::make_unique<ProcResult>();
};

}  // namespace

bool RunProcesses(const LoadOptions& o, uint32_t procs, Report* report, std::string* error) {
  std::vector<Child> children(procs);
  ServerWindow server;
  double server_cpu0 = 0;
  if (!o.server_pids.empty()) server.rss_before_bytes = ProcessesRssBytes(o.server_pids);
  std::fflush(nullptr);
  for (uint32_t i = 0; i < procs; ++i) {
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) {
      *error = "pipe failed";
      return false;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(up[0]);
      close(down[1]);
      for (uint32_t j = 0; j < i; ++j) {
        close(children[j].up);
        close(children[j].down);
      }
      ChildMain(o, i, procs, up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    children[i].pid = pid;
    children[i].up = up[0];
    children[i].down = down[1];
    if (pid < 0) {
      *error = "fork failed";
      children[i].dead = true;
    }
  }

  LivePrinter live(o.live);
  core::Histogram pending;
  Phase phase = Phase::kConnect;
  uint64_t warm_end = 0, measure_end = 0, drain_started = 0, last_progress = core::NowNs();
  bool window_started = false, stop_sent = false;
  const uint64_t deadline =
      core::NowNs() + static_cast<uint64_t>((60 + 1.5 * double(o.planned_connections()) / o.ramp +
                                             o.warmup_s + o.duration_s + o.drain_s) *
                                            1e9);
  for (;;) {
    std::vector<pollfd> pfds;
    for (Child& c : children) pfds.push_back({c.dead || c.done ? -1 : c.up, POLLIN, 0});
    poll(pfds.data(), pfds.size(), 20);
    for (size_t i = 0; i < children.size(); ++i) {
      Child& c = children[i];
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = read(c.up, buf, sizeof(buf));
      if (n <= 0) {
        if (!c.done) c.dead = true;
        continue;
      }
      c.buffer.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = c.buffer.find('\n')) != std::string::npos) {
        std::string line = c.buffer.substr(0, nl);
        c.buffer.erase(0, nl + 1);
        char tag = 0;
        auto parsed = std::make_unique<ProcResult>();
        if (line == "ready") {
          c.ready = true;
        } else if (DecodeResultLine(line, &tag, parsed.get())) {
          if (tag == 'S') {
            pending.Merge(parsed->latency);
            c.latest->counters = parsed->counters;
          } else if (tag == 'R') {
            c.result = std::move(parsed);
            c.done = true;
          }
        }
      }
    }
    const uint64_t now = core::NowNs();
    size_t alive = 0, ready = 0, finished = 0;
    Counters sum;
    for (Child& c : children) {
      alive += !c.dead;
      ready += c.ready && !c.dead;
      finished += c.done || c.dead;
      sum.Add(c.done ? c.result->counters : c.latest->counters);
    }
    if (finished == children.size() || now > deadline) break;
    if (phase == Phase::kConnect && ready == alive) {
      const uint64_t start = now + 50'000'000;
      warm_end = start + static_cast<uint64_t>(o.warmup_s * 1e9);
      measure_end = warm_end + static_cast<uint64_t>(o.duration_s * 1e9);
      for (Child& c : children) WriteAll(c.down, "go " + std::to_string(start) + "\n");
      phase = Phase::kPublish;
    }
    if (phase == Phase::kPublish && !window_started && now >= warm_end) {
      window_started = true;
      if (!o.server_pids.empty()) server_cpu0 = ProcessesCpuSeconds(o.server_pids);
    }
    if (phase == Phase::kPublish && now >= measure_end) {
      if (!o.server_pids.empty()) {
        server.cpu_s = ProcessesCpuSeconds(o.server_pids) - server_cpu0;
        server.rss_end_bytes = ProcessesRssBytes(o.server_pids);
      }
      phase = Phase::kDrain;
      drain_started = now;
    }
    if (phase == Phase::kDrain && !stop_sent &&
        DrainComplete(o, sum, uint64_t{procs} * o.threads, drain_started, now)) {
      for (Child& c : children) WriteAll(c.down, "stop\n");
      stop_sent = true;
    }
    if (now - last_progress >= 100'000'000) {
      live.Add(sum, pending, phase);
      pending.Reset();
      last_progress = now;
    }
  }
  for (Child& c : children) {
    close(c.up);
    close(c.down);
    if (c.pid > 0) {
      if (!c.done) kill(c.pid, SIGKILL);
      waitpid(c.pid, nullptr, 0);
    }
  }
  report->procs = procs;
  report->window_s = o.duration_s;
  if (!o.server_pids.empty()) report->server = server;
  bool ok = true;
  for (Child& c : children) {
    if (!c.done) {
      ok = false;
      *error = "a generator process ended without a result";
      continue;
    }
    report->result.Merge(*c.result);
  }
  return ok;
}

}  // namespace ringcast::load
