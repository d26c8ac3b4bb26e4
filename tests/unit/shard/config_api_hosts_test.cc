// api.hosts / --api-hosts: Host names as a Host header spells them, in both
// forms (comma-separated flag, TOML array or string), refused when they could
// never match a Host header, and printed back by --print-config.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "shard/config_options.h"

namespace ringcast::shard {
namespace {

class ApiHostsConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& path : files_) ::unlink(path.c_str());
  }
  ConfigResult Build(std::vector<std::string> args) {
    args.insert(args.begin(), "ringcast");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return BuildOptions(static_cast<int>(args.size()), argv.data(), &options_);
  }
  std::string File(std::string_view text) {
    std::string path = ::testing::TempDir() + "ringcast_hosts_XXXXXX.toml";
    int fd = ::mkstemps(path.data(), 5);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    files_.push_back(path);
    return path;
  }
  ServerOptions options_;
  std::vector<std::string> files_;
};

TEST_F(ApiHostsConfigTest, DefaultIsEmpty) {
  ASSERT_TRUE(Build({}).ok);
  EXPECT_TRUE(options_.api_hosts.empty());
}

TEST_F(ApiHostsConfigTest, TakesBothForms) {
  const std::vector<std::string> three = {"api.example.com", "127.0.0.1:8080", "[::1]"};
  ConfigResult r = Build({"--api-hosts", " api.example.com, 127.0.0.1:8080 ,[::1]"});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(options_.api_hosts, three);
  r = Build({"--config", File("[api]\nhosts = [\"api.example.com\", \"127.0.0.1:8080\", "
                              "\"[::1]\"]\n")});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(options_.api_hosts, three);
  r = Build({"--config", File("[api]\nhosts = \"api.example.com,127.0.0.1:8080,[::1]\"\n")});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(options_.api_hosts, three);
}

TEST_F(ApiHostsConfigTest, RefusesWhatNoHostHeaderHolds) {
  for (std::string bad : {"https://api.example.com", "api.example.com/", "::1", "[::1", "host:port",
                          "host:123456", "a b"}) {
    ConfigResult r = Build({"--api-hosts", bad});
    EXPECT_FALSE(r.ok) << bad;
    EXPECT_NE(r.error.find("--api-hosts must be host names"), std::string::npos) << r.error;
  }
  ConfigResult r = Build({"--config", File("[api]\nhosts = [\"ok.example\", 5]\n")});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("api.hosts must be"), std::string::npos) << r.error;
}

TEST_F(ApiHostsConfigTest, PrintConfigReadsBack) {
  ConfigResult r = Build({"--api-hosts", "api.example.com,[::1]:9", "--print-config"});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(r.output.find("hosts = [\"api.example.com\", \"[::1]:9\"]"), std::string::npos)
      << r.output;
  options_ = ServerOptions{};
  r = Build({"--config", File(r.output)});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(options_.api_hosts, (std::vector<std::string>{"api.example.com", "[::1]:9"}));
}

}  // namespace
}  // namespace ringcast::shard
