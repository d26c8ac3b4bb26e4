#include "tests/support/server_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "tests/support/ws_client.h"

extern char** environ;

namespace ringcast::testing {
namespace {

std::string MakeTempFile(const char* tag) {
  std::string path = std::string("/tmp/ringcast_child_") + tag + "_XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd >= 0) ::close(fd);
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

shard::ServerOptions TestServerOptions(unsigned shards) {
  shard::ServerOptions options;
  options.listen_host = "127.0.0.1";
  options.port = 0;
  options.shards = shards;
  options.pin_threads = false;
  options.drain_timeout_ms = 1000;
  // Tests pipeline thousands of commands on one connection; the tests of the
  // rate limit itself set it.
  options.commands_per_second = 0;
  return options;
}

InProcessServer::InProcessServer(shard::ServerOptions options)
    : server_(std::make_unique<shard::Server>(std::move(options))) {}

InProcessServer::InProcessServer(shard::ServerOptions options, core::ManualClock* clock)
    : server_(std::make_unique<shard::Server>(std::move(options), clock)), clock_(clock) {}

InProcessServer::~InProcessServer() { Stop(); }

std::optional<std::string> InProcessServer::Start() {
  auto error = server_->Start();
  started_ = !error.has_value();
  return error;
}

void InProcessServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  server_->RequestStop();
  if (clock_ == nullptr) {
    server_->Wait();
    return;
  }
  // A drain spreads its closes over server time: keep that time moving.
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    while (!done.load()) {
      clock_->Advance(50);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  server_->Wait();
  done.store(true);
  ticker.join();
}

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool WaitAccepting(uint16_t port, int timeout_ms) {
  return WaitUntil(
      [port] {
        int fd = ConnectLoopback(port);
        if (fd < 0) return false;
        ::close(fd);
        return true;
      },
      timeout_ms);
}

ChildServer::ChildServer(std::string binary)
    : binary_(std::move(binary)),
      stdout_path_(MakeTempFile("out")),
      stderr_path_(MakeTempFile("err")) {}

ChildServer::~ChildServer() {
  Kill();
  ::unlink(stdout_path_.c_str());
  ::unlink(stderr_path_.c_str());
}

bool ChildServer::Spawn(const std::vector<std::string>& args) {
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary_);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path_.c_str(),
                                   O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                   O_WRONLY | O_TRUNC, 0);
  // The child must not inherit signal masks or ignored signals from gtest.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, binary_.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return false;
  pid_ = pid;
  exited_ = false;
  exit_status_ = -1;
  return true;
}

bool ChildServer::StartListening(const std::vector<std::string>& extra_args, int ready_timeout_ms) {
  port_ = FreePort();
  if (port_ == 0) return false;
  std::vector<std::string> args = {"--listen", "127.0.0.1:" + std::to_string(port_)};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  if (!Spawn(args)) return false;
  int64_t deadline = NowMs() + ready_timeout_ms;
  while (NowMs() < deadline) {
    if (WaitAccepting(port_, 50)) return true;
    if (WaitExit(0) != -1) return false;  // the child died
  }
  return false;
}

void ChildServer::Signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int ChildServer::WaitExit(int timeout_ms) {
  if (pid_ <= 0) return -1;
  if (exited_) return exit_status_;
  auto reaped = [this] {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r != pid_) return false;
    exited_ = true;
    exit_status_ = DecodeStatus(status);
    return true;
  };
  // A pidfd becomes readable when the process exits: wait for that, not in steps.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    const int64_t deadline = NowMs() + timeout_ms;
    pollfd p{pidfd, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(deadline - NowMs(), 0)));
    } while (r < 0 && errno == EINTR);
    ::close(pidfd);
    return reaped() ? exit_status_ : -1;
  }
  return WaitUntil(reaped, timeout_ms) ? exit_status_ : -1;
}

void ChildServer::Kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exited_ = true;
  exit_status_ = DecodeStatus(status);
}

std::string ChildServer::Stdout() const { return ReadFile(stdout_path_); }
std::string ChildServer::Stderr() const { return ReadFile(stderr_path_); }

}  // namespace ringcast::testing
