#include "shard/server.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <future>
#include <random>

#include "core/check.h"
#include "net/handshake.h"
#include "net/listener.h"
#include "shard/cluster_router.h"
#include "shard/fd_budget.h"
#include "shard/mesh.h"
#include "shard/metrics.h"
#include "shard/shard.h"

namespace ringcast::shard {

namespace {

constexpr int kListenBacklog = 4096;

std::string RandomNodeId() {
  std::random_device rd;
  uint32_t v = rd();
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", v);
  return buf;
}

// Numeric hosts only (config_table.cc): 127.0.0.0/8, ::1, and 127.x mapped into IPv6.
bool IsLoopbackHost(const std::string& host) {
  std::string h = host;
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return h.starts_with("127.") || h == "::1" || h.starts_with("::ffff:127.");
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
  // Connections are fds: fit the limits to the open-file limit, so that a
  // full shard answers 503 instead of leaving clients in the backlog.
  FdPlan fds_plan = PlanFds(RaiseOpenFileLimit(), n, options_.max_connections_per_shard,
                            options_.http_reserve_per_shard);
  if (!fds_plan.error.empty()) return fds_plan.error;
  options_.max_connections_per_shard = fds_plan.max_connections_per_shard;
  options_.http_reserve_per_shard = fds_plan.http_reserve_per_shard;
  warnings_.clear();
  if (!fds_plan.warning.empty()) warnings_.push_back(fds_plan.warning);
  if (options_.jwt_secret.empty() && options_.allow_anonymous_user_param &&
      !IsLoopbackHost(options_.listen_host)) {
    warnings_.push_back(
        "anonymous mode on " + options_.listen_host +
        ", beyond loopback: any client can claim any user id with ?user= and receive that "
        "user's send and req; set auth.jwt_secret (or auth.allow_anonymous_user_param = false) "
        "outside development");
  }
  // Cluster mode: every Redis URL resolved now, so a bad one fails here.
  redis_.clear();
  for (const std::string& url : options_.redis) {
    net::RedisAddressResult r = net::ParseRedisUrl(url);
    if (!r.error.empty()) return r.error;
    redis_.push_back(std::move(r.address));
  }
  if (options_.redis_cluster && redis_.size() > ClusterRouter::kMaxInstances) {
    return "--redis-cluster takes at most " + std::to_string(ClusterRouter::kMaxInstances) +
           " seed addresses, got " + std::to_string(redis_.size());
  }
  // The first SHA-1 initialises OpenSSL (its providers and about 2 MB of code
  // pages): do it now, checked against RFC 6455's example, rather than in the
  // first client's handshake.
  RC_CHECK(net::ComputeAcceptKey("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  // A port another process serves is refused, not shared (SO_REUSEPORT would
  // let us join it). With port 0 the first listener's port is new to everyone.
  if (std::string error = net::CheckNotServed(options_.listen_host, options_.port);
      !error.empty()) {
    return error;
  }
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
  mesh_ = std::make_unique<Mesh>(n, Mesh::RingCapacityFor(n));
  std::vector<std::future<std::optional<std::string>>> ready;
  metrics_ = std::make_unique<Metrics>(options_.node_id);
  std::vector<const ShardStats*> peers;
  for (unsigned i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, options_, mesh_.get(), fds[i], &stop_,
                                              metrics_.get(), clock_, redis_));
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
