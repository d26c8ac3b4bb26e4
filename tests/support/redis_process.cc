#include "tests/support/redis_process.h"

#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

// redis-server from PATH (posix_spawn needs a path).
std::string RedisServerPath() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/redis-server";
}

std::string ReplyText(const redisReply* r) {
  if (r == nullptr) return {};
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    default:
      return {};
  }
}

}  // namespace

RedisProcess::RedisProcess(RedisOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/ringcast-redis-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
}

RedisProcess::~RedisProcess() {
  Kill();
  child_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool RedisProcess::running() const { return child_ && child_->running(); }

bool RedisProcess::Start() {
  if (dir_.empty()) {
    error_ = "mkdtemp failed";
    return false;
  }
  if (running()) return true;
  if (port_ == 0) port_ = FreePort();
  if (port_ == 0) {
    error_ = "no free port";
    return false;
  }
  std::vector<std::string> args = {"--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_,
                                   "--save",
                                   "",
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "no",
                                   "--appendonly",
                                   options_.appendonly ? "yes" : "no"};
  if (options_.appendonly) args.insert(args.end(), {"--appendfsync", "always"});
  if (options_.cluster) {
    // The cluster bus would default to port + 10000, past 65535 for a high ephemeral port.
    if (cluster_port_ == 0) cluster_port_ = FreePort();
    args.insert(args.end(), {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                             "--cluster-node-timeout", "2000", "--cluster-port",
                             std::to_string(cluster_port_)});
  }
  args.insert(args.end(), options_.extra.begin(), options_.extra.end());
  child_ = std::make_unique<ChildServer>(RedisServerPath());
  if (!child_->Spawn(args)) {
    error_ = "cannot spawn " + RedisServerPath();
    return false;
  }
  const int64_t deadline = NowMs() + 10000;
  while (NowMs() < deadline) {
    if (child_->WaitExit(0) != -1) {
      error_ = "redis-server exited: " + child_->Stdout() + child_->Stderr();
      return false;
    }
    RedisSync probe(port_);
    if (probe.connected() && probe.Text({"PING"}) == "PONG") return true;
    ::usleep(20 * 1000);
  }
  error_ = "redis-server did not answer PING on port " + std::to_string(port_);
  return false;
}

void RedisProcess::Kill() {
  if (child_) child_->Kill();
}

bool RedisProcess::Restart() {
  Kill();
  return Start();
}

RedisSync::RedisSync(uint16_t port) {
  timeval tv{5, 0};
  ctx_ = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (ctx_ != nullptr && ctx_->err == 0) redisSetTimeout(ctx_, tv);
}

RedisSync::~RedisSync() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

RedisSync::Reply RedisSync::Command(const std::vector<std::string>& argv) {
  if (!connected()) return Reply(nullptr, freeReplyObject);
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  void* r = redisCommandArgv(ctx_, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  return Reply(static_cast<redisReply*>(r), freeReplyObject);
}

std::string RedisSync::Text(const std::vector<std::string>& argv) {
  Reply r = Command(argv);
  return ReplyText(r.get());
}

std::string RedisSync::Info(const std::string& section, const std::string& field) {
  return Field(Text({"INFO", section}), field);
}

std::string RedisSync::Field(const std::string& text, const std::string& field) {
  const std::string key = field + ":";
  size_t start = text.rfind(key, 0) == 0 ? 0 : text.find("\n" + key);
  if (start == std::string::npos) return {};
  if (text[start] == '\n') ++start;
  start += key.size();
  size_t end = text.find_first_of("\r\n", start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

RedisSubscriber::RedisSubscriber(uint16_t port, const std::string& channel, bool sharded) {
  timeval tv{5, 0};
  ctx_ = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (ctx_ == nullptr || ctx_->err != 0) return;
  redisSetTimeout(ctx_, tv);
  auto* r = static_cast<redisReply*>(redisCommand(ctx_, sharded ? "SSUBSCRIBE %b" : "SUBSCRIBE %b",
                                                  channel.data(), channel.size()));
  ok_ = r != nullptr && r->type == REDIS_REPLY_ARRAY;
  if (r != nullptr) freeReplyObject(r);
}

RedisSubscriber::~RedisSubscriber() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

std::string RedisSubscriber::Next() {
  if (!ok_) return "";
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return "";
  auto* r = static_cast<redisReply*>(raw);
  std::string out;
  // ["message" or "smessage", channel, payload]
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->str != nullptr) {
    out.assign(r->element[2]->str, r->element[2]->len);
  }
  freeReplyObject(r);
  return out;
}

RedisCluster::RedisCluster(int masters) {
  for (int i = 0; i < masters; ++i) {
    RedisOptions o;
    o.cluster = true;
    nodes_.push_back(std::make_unique<RedisProcess>(o));
  }
}

std::string RedisCluster::NodeId(int i) {
  RedisSync c(node(i).port());
  return c.Text({"CLUSTER", "MYID"});
}

bool RedisCluster::Start() {
  for (auto& n : nodes_) {
    if (!n->Start()) {
      error_ = n->error();
      return false;
    }
  }
  const int n = size();
  for (int i = 0; i < n; ++i) {
    RedisSync c(node(i).port());
    if (i > 0 && c.Text({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(0).port()),
                         std::to_string(node(0).cluster_port())}) != "OK") {
      error_ = "CLUSTER MEET failed";
      return false;
    }
    const int first = 16384 * i / n;
    const int last = 16384 * (i + 1) / n - 1;
    std::string r =
        c.Text({"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)});
    if (r != "OK") {
      error_ = "CLUSTER ADDSLOTSRANGE: " + r;
      return false;
    }
  }
  bool ok = WaitUntil(
      [&] {
        for (int i = 0; i < n; ++i) {
          RedisSync c(node(i).port());
          const std::string info = c.Text({"CLUSTER", "INFO"});
          if (RedisSync::Field(info, "cluster_state") != "ok") return false;
          if (RedisSync::Field(info, "cluster_known_nodes") != std::to_string(n)) return false;
        }
        return true;
      },
      20000);
  if (!ok) error_ = "the cluster did not reach cluster_state:ok";
  return ok;
}

std::string RedisCluster::Seeds() const {
  std::string out;
  for (const auto& n : nodes_) {
    if (!out.empty()) out += ",";
    out += n->address();
  }
  return out;
}

int RedisCluster::OwnerOf(int slot) {
  RedisSync c(node(0).port());
  auto r = c.Command({"CLUSTER", "SLOTS"});
  if (!r || r->type != REDIS_REPLY_ARRAY) return -1;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* range = r->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
    if (slot < range->element[0]->integer || slot > range->element[1]->integer) continue;
    const redisReply* master = range->element[2];
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2) return -1;
    const auto port = static_cast<uint16_t>(master->element[1]->integer);
    for (int k = 0; k < size(); ++k) {
      if (node(k).port() == port) return k;
    }
  }
  return -1;
}

bool RedisCluster::MoveSlot(int slot, int to) {
  const int from = OwnerOf(slot);
  if (from < 0) {
    error_ = "slot owner unknown";
    return false;
  }
  if (from == to) return true;
  const std::string s = std::to_string(slot);
  const std::string from_id = NodeId(from);
  const std::string to_id = NodeId(to);
  RedisSync dst(node(to).port());
  RedisSync src(node(from).port());
  if (dst.Text({"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}) != "OK" ||
      src.Text({"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}) != "OK") {
    error_ = "SETSLOT IMPORTING/MIGRATING failed";
    return false;
  }
  for (;;) {
    auto keys = src.Command({"CLUSTER", "GETKEYSINSLOT", s, "100"});
    if (!keys || keys->type != REDIS_REPLY_ARRAY) {
      error_ = "GETKEYSINSLOT failed";
      return false;
    }
    if (keys->elements == 0) break;
    std::vector<std::string> migrate = {
        "MIGRATE", "127.0.0.1", std::to_string(node(to).port()), "", "0", "5000", "KEYS"};
    for (size_t i = 0; i < keys->elements; ++i) {
      migrate.emplace_back(keys->element[i]->str, keys->element[i]->len);
    }
    std::string r = src.Text(migrate);
    if (r != "OK" && r != "NOKEY") {
      error_ = "MIGRATE: " + r;
      return false;
    }
  }
  // The target first, then the source, then the rest (as redis-cli does): the
  // source's MOVED never points at a target still importing, which would
  // send the client back.
  std::vector<int> order = {to, from};
  for (int i = 0; i < size(); ++i) {
    if (i != to && i != from) order.push_back(i);
  }
  for (int i : order) {
    RedisSync c(node(i).port());
    if (c.Text({"CLUSTER", "SETSLOT", s, "NODE", to_id}) != "OK") {
      error_ = "SETSLOT NODE failed on node " + std::to_string(i);
      return false;
    }
  }
  return true;
}

}  // namespace ringcast::testing
