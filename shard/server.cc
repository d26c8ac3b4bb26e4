#include "shard/server.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <random>

#include "net/listener.h"
#include "shard/mesh.h"
#include "shard/metrics.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {

constexpr size_t kBusRingCapacity = 1 << 14;
constexpr int kListenBacklog = 4096;

std::string RandomNodeId() {
  std::random_device rd;
  uint32_t v = rd();
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", v);
  return buf;
}

void PinToCpu(std::thread& t, unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(t.native_handle(), sizeof(set), &set);  // best effort
}

}  // namespace

unsigned ShardCount(unsigned configured, long online_cpus) {
  if (configured != 0) return configured;
  return static_cast<unsigned>(std::clamp(online_cpus, 1L, static_cast<long>(kMaxShards)));
}

Server::Server(ServerOptions options, const core::Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

Server::~Server() {
  RequestStop();
  Wait();
}

std::optional<std::string> Server::Start() {
  RC_CHECK(shards_.empty());
  unsigned cpus = static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  unsigned n = ShardCount(options_.shards, sysconf(_SC_NPROCESSORS_ONLN));
  if (n > kMaxShards) return "--shards must be between 1 and " + std::to_string(kMaxShards);
  if (options_.node_id.empty()) options_.node_id = RandomNodeId();
  // Bind every listener first, so a bad address fails before any thread starts.
  std::vector<int> fds;
  uint16_t port = options_.port;
  for (unsigned i = 0; i < n; ++i) {
    net::ListenResult r = net::OpenListener(options_.listen_host, port, kListenBacklog);
    if (!r.error.empty()) {
      for (int fd : fds) close(fd);
      return r.error;
    }
    port = r.port;
    fds.push_back(r.fd);
  }
  port_ = port;
  mesh_ = std::make_unique<Mesh>(n, kBusRingCapacity);
  std::vector<std::future<std::optional<std::string>>> ready;
  metrics_ = std::make_unique<Metrics>(options_.node_id);
  std::vector<const ShardStats*> peers;
  for (unsigned i = 0; i < n; ++i) {
    shards_.push_back(
        std::make_unique<Shard>(i, options_, mesh_.get(), fds[i], &stop_, metrics_.get(), clock_));
    peers.push_back(&shards_.back()->stats());
  }
  metrics_->SetShards(std::move(peers));
  for (unsigned i = 0; i < n; ++i) {
    std::promise<std::optional<std::string>> promise;
    ready.push_back(promise.get_future());
    threads_.emplace_back(
        [shard = shards_[i].get(), p = std::move(promise)]() mutable { shard->Run(std::move(p)); });
    if (options_.pin_threads) PinToCpu(threads_.back(), i % cpus);
  }
  std::optional<std::string> error;
  for (auto& f : ready) {
    std::optional<std::string> e = f.get();
    if (e && !error) error = e;
  }
  if (error) {
    RequestStop();
    Wait();
    shards_.clear();
  }
  return error;
}

void Server::RequestStop() { stop_.store(true, std::memory_order_relaxed); }

void Server::Wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Every thread is gone: free what is still travelling between shards.
  for (auto& s : shards_) s->ReleaseInbound();
}

}  // namespace ringcast::shard
