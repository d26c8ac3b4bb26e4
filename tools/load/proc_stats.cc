#include "tools/load/proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace ringcast::load {

namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// Fields 14 (utime) and 15 (stime) of a stat file, counted after the ")" that ends the name.
std::optional<double> StatCpuSeconds(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  if (!text) return std::nullopt;
  size_t paren = text->rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  unsigned long long utime = 0, stime = 0;
  // After ") " come field 3 (state) .. ; utime is the 12th token from there.
  if (std::sscanf(text->c_str() + paren + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
    return std::nullopt;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

std::optional<double> ProcessCpuSeconds(pid_t pid) {
  return StatCpuSeconds("/proc/" + std::to_string(pid) + "/stat");
}

std::optional<double> ThreadCpuSeconds(pid_t tid) {
  return StatCpuSeconds("/proc/self/task/" + std::to_string(tid) + "/stat");
}

std::optional<uint64_t> ProcessRssBytes(pid_t pid) {
  std::optional<std::string> text = ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!text) return std::nullopt;
  size_t at = text->find("VmRSS:");
  if (at == std::string::npos) return std::nullopt;
  unsigned long long kb = 0;
  if (std::sscanf(text->c_str() + at + 6, "%llu", &kb) != 1) return std::nullopt;
  return kb * 1024;
}

double ProcessesCpuSeconds(const std::vector<int>& pids) {
  double sum = 0;
  for (int pid : pids) sum += ProcessCpuSeconds(pid).value_or(0);
  return sum;
}

uint64_t ProcessesRssBytes(const std::vector<int>& pids) {
  uint64_t sum = 0;
  for (int pid : pids) sum += ProcessRssBytes(pid).value_or(0);
  return sum;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

uint64_t RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

}  // namespace ringcast::load
