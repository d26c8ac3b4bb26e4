#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shard/config_options.h"
#include "shard/config_table.h"

namespace ringcast::shard {
namespace {

void ExpectSameNamespaces(const std::map<std::string, NamespaceOptions>& a,
                          const std::map<std::string, NamespaceOptions>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, ns] : a) {
    auto it = b.find(name);
    ASSERT_NE(it, b.end()) << name;
    EXPECT_EQ(ns.history_size, it->second.history_size) << name;
    EXPECT_EQ(ns.history_ttl_s, it->second.history_ttl_s) << name;
    EXPECT_EQ(ns.presence, it->second.presence) << name;
    EXPECT_EQ(ns.client_publish, it->second.client_publish) << name;
  }
}

// Every field of ServerOptions.
void ExpectSame(const ServerOptions& a, const ServerOptions& b) {
  EXPECT_EQ(a.listen_host, b.listen_host);
  EXPECT_EQ(a.port, b.port);
  EXPECT_EQ(a.shards, b.shards);
  EXPECT_EQ(a.node_id, b.node_id);
  EXPECT_EQ(a.pin_threads, b.pin_threads);
  EXPECT_EQ(a.max_message_bytes, b.max_message_bytes);
  EXPECT_EQ(a.max_queued_bytes, b.max_queued_bytes);
  EXPECT_EQ(a.max_head_bytes, b.max_head_bytes);
  EXPECT_EQ(a.max_connections_per_shard, b.max_connections_per_shard);
  EXPECT_EQ(a.max_subscriptions_per_connection, b.max_subscriptions_per_connection);
  EXPECT_EQ(a.commands_per_second, b.commands_per_second);
  EXPECT_EQ(a.command_burst, b.command_burst);
  EXPECT_EQ(a.rate_limit_grace_ms, b.rate_limit_grace_ms);
  EXPECT_EQ(a.max_body_bytes, b.max_body_bytes);
  EXPECT_EQ(a.max_pending_requests_per_connection, b.max_pending_requests_per_connection);
  EXPECT_EQ(a.max_pending_requests_per_user, b.max_pending_requests_per_user);
  EXPECT_EQ(a.max_pending_sends_per_connection, b.max_pending_sends_per_connection);
  EXPECT_EQ(a.ping_interval_ms, b.ping_interval_ms);
  EXPECT_EQ(a.idle_timeout_ms, b.idle_timeout_ms);
  EXPECT_EQ(a.handshake_timeout_ms, b.handshake_timeout_ms);
  EXPECT_EQ(a.drain_timeout_ms, b.drain_timeout_ms);
  EXPECT_EQ(a.jwt_secret, b.jwt_secret);
  EXPECT_EQ(a.allow_anonymous_user_param, b.allow_anonymous_user_param);
  EXPECT_EQ(a.api_key, b.api_key);
  EXPECT_EQ(a.events_room, b.events_room);
  EXPECT_EQ(a.origins, b.origins);
  EXPECT_EQ(a.presence_leave_delay_ms, b.presence_leave_delay_ms);
  ExpectSameNamespaces(a.namespaces, b.namespaces);
}

// Every setting away from its default, for the file and the flags.
constexpr char kFullFile[] = R"(
listen = "127.0.0.1:9100"
shards = 3
node_id = "edge-1"
pin_threads = false
origins = ["https://a.example", "http://b.example:8080"]

[limits]
max_message_bytes = 1024
max_queued_bytes = 4096
max_head_bytes = 512
max_connections_per_shard = 77
max_subscriptions_per_connection = 9
commands_per_second = 0
command_burst = 11
rate_limit_grace_ms = 12
max_body_bytes = 1000
max_pending_requests_per_connection = 13
max_pending_requests_per_user = 14
max_pending_sends_per_connection = 15

[keepalive]
ping_interval_ms = 100
idle_timeout_ms = 300
handshake_timeout_ms = 400

[shutdown]
drain_ms = 500

[auth]
jwt_secret = "s3cret"
allow_anonymous_user_param = false

[api]
key = "k3y"

[events]
room = "$events"

[presence]
leave_delay_ms = 600

[namespaces.default]
history_size = 10

[namespaces.chat]
history_size = 100
history_ttl_s = 60
presence = false
client_publish = false
)";

class ConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& path : files_) ::unlink(path.c_str());
  }

  ConfigResult Build(std::vector<std::string> args) {
    args.insert(args.begin(), "ringcast");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ConfigResult r = BuildOptions(static_cast<int>(args.size()), argv.data(), &options_);
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << "error is not one line: " << r.error;
    if (!r.ok) {
      EXPECT_TRUE(r.exit_now);
      EXPECT_NE(r.exit_code, 0);
      EXPECT_FALSE(r.error.empty());
    }
    return r;
  }

  // Builds, expecting success without exit_now.
  void Ok(std::vector<std::string> args) {
    ConfigResult r = Build(args);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_FALSE(r.exit_now);
  }

  // Builds, expecting a failure; returns its line.
  std::string Error(std::vector<std::string> args) {
    ConfigResult r = Build(args);
    EXPECT_FALSE(r.ok) << "accepted";
    return r.error;
  }

  // A temporary TOML file holding `text`; removed after the test.
  std::string File(std::string_view text) {
    std::string path = ::testing::TempDir() + "ringcast_config_XXXXXX.toml";
    int fd = ::mkstemps(path.data(), 5);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    files_.push_back(path);
    return path;
  }

  std::string FileError(std::string_view text) { return Error({"--config", File(text)}); }

  ServerOptions options_;
  std::vector<std::string> files_;
};

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST_F(ConfigTest, NoArgumentsGiveServerOptionsDefaults) {
  options_.shards = 42;  // replaced, not merged
  Ok({});
  ExpectSame(options_, ServerOptions{});
}

TEST_F(ConfigTest, HelpDocumentsEveryFlagWithItsKeyAndDefault) {
  ConfigResult r = Build({"--help"});
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.exit_now);
  EXPECT_EQ(r.exit_code, 0);
  const char* lines[] = {
      "--listen HOST:PORT",
      "listen = \"0.0.0.0:8080\"",
      "--shards N",
      "shards = 0",
      "--node-id ID",
      "--pin-threads true|false",
      "--no-pin",
      "--origins LIST",
      "--max-message-bytes BYTES",
      "limits.max_message_bytes = 65536",
      "--max-queued-bytes BYTES",
      "limits.max_queued_bytes = 1048576",
      "--max-head-bytes BYTES",
      "--max-connections N",
      "limits.max_connections_per_shard = 0",
      "--http-reserve N",
      "limits.http_reserve_per_shard = 256",
      "--max-subscriptions-per-connection N",
      "--commands-per-second N",
      "--command-burst N",
      "--rate-limit-grace-ms MS",
      "--max-body-bytes BYTES",
      "--ping-interval-ms MS",
      "keepalive.ping_interval_ms = 25000",
      "--idle-timeout-ms MS",
      "--handshake-timeout-ms MS",
      "--drain-ms MS",
      "shutdown.drain_ms = 3000",
      "--jwt-secret SECRET",
      "auth.jwt_secret = \"\"",
      "--allow-anonymous-user-param true|false",
      "--api-key KEY",
      "api.key = \"\"",
      "--events-room ROOM",
      "events.room = \"\"",
      "--presence-leave-delay-ms MS",
      "--config FILE",
      "--print-config",
      "[namespaces.default]",
      "history_size = 0",
      "history_ttl_s = 0",
      "client_publish = true",
  };
  for (const char* line : lines) EXPECT_CONTAINS(r.output, line);
  EXPECT_EQ(r.output, HelpText());
}

TEST_F(ConfigTest, HelpWinsOverLaterFlagsAndVersionPrints) {
  EXPECT_TRUE(Build({"-h", "--no-such-flag"}).exit_now);
  ConfigResult r = Build({"--version"});
  EXPECT_TRUE(r.ok && r.exit_now);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.rfind("ringcast 0.1.0", 0), 0u) << r.output;
}

TEST_F(ConfigTest, FlagTakesItsValueSeparatelyOrAfterEquals) {
  Ok({"--shards", "3", "--drain-ms=7"});
  EXPECT_EQ(options_.shards, 3u);
  EXPECT_EQ(options_.drain_timeout_ms, 7u);
  Ok({"--jwt-secret=a=b"});  // only the first '=' splits
  EXPECT_EQ(options_.jwt_secret, "a=b");
  Ok({"--node-id="});
  EXPECT_EQ(options_.node_id, "");
}

// The file test below checks each value of kFullFile; the flags must match it.
TEST_F(ConfigTest, EveryFlagSetsItsSetting) {
  Ok({"--config", File(kFullFile)});
  ServerOptions from_file = options_;
  // clang-format off
  Ok({"--listen", "127.0.0.1:9100", "--shards", "3", "--node-id", "edge-1", "--no-pin",
      "--origins", "https://a.example, http://b.example:8080", "--max-message-bytes", "1024",
      "--max-queued-bytes", "4096", "--max-head-bytes", "512", "--max-connections", "77",
      "--max-subscriptions-per-connection", "9", "--commands-per-second", "0",
      "--command-burst", "11", "--rate-limit-grace-ms", "12", "--max-body-bytes", "1000",
      "--max-pending-requests-per-connection", "13", "--max-pending-requests-per-user", "14",
      "--max-pending-sends-per-connection", "15",
      "--ping-interval-ms", "100", "--idle-timeout-ms", "300", "--handshake-timeout-ms", "400",
      "--drain-ms", "500", "--jwt-secret", "s3cret", "--allow-anonymous-user-param", "false",
      "--api-key", "k3y", "--events-room", "$events", "--presence-leave-delay-ms", "600"});
  // clang-format on
  from_file.namespaces.clear();  // namespaces are file-only
  ExpectSame(options_, from_file);
}

TEST_F(ConfigTest, FileSetsEverySetting) {
  Ok({"--config", File(kFullFile)});
  EXPECT_EQ(options_.listen_host, "127.0.0.1");
  EXPECT_EQ(options_.port, 9100);
  EXPECT_EQ(options_.shards, 3u);
  EXPECT_EQ(options_.node_id, "edge-1");
  EXPECT_FALSE(options_.pin_threads);
  EXPECT_EQ(options_.origins,
            (std::vector<std::string>{"https://a.example", "http://b.example:8080"}));
  EXPECT_EQ(options_.max_message_bytes, 1024u);
  EXPECT_EQ(options_.max_queued_bytes, 4096u);
  EXPECT_EQ(options_.max_head_bytes, 512u);
  EXPECT_EQ(options_.max_connections_per_shard, 77u);
  EXPECT_EQ(options_.max_subscriptions_per_connection, 9u);
  EXPECT_EQ(options_.commands_per_second, 0u);
  EXPECT_EQ(options_.command_burst, 11u);
  EXPECT_EQ(options_.rate_limit_grace_ms, 12u);
  EXPECT_EQ(options_.max_body_bytes, 1000u);
  EXPECT_EQ(options_.max_pending_requests_per_connection, 13u);
  EXPECT_EQ(options_.max_pending_requests_per_user, 14u);
  EXPECT_EQ(options_.max_pending_sends_per_connection, 15u);
  EXPECT_EQ(options_.ping_interval_ms, 100u);
  EXPECT_EQ(options_.idle_timeout_ms, 300u);
  EXPECT_EQ(options_.handshake_timeout_ms, 400u);
  EXPECT_EQ(options_.drain_timeout_ms, 500u);
  EXPECT_EQ(options_.jwt_secret, "s3cret");
  EXPECT_FALSE(options_.allow_anonymous_user_param);
  EXPECT_EQ(options_.api_key, "k3y");
  EXPECT_EQ(options_.events_room, "$events");
  EXPECT_EQ(options_.presence_leave_delay_ms, 600u);
  ASSERT_EQ(options_.namespaces.size(), 2u);
  EXPECT_EQ(options_.namespaces["default"].history_size, 10u);
  EXPECT_EQ(options_.namespaces["default"].history_ttl_s, 0u);  // unset keys keep defaults
  EXPECT_TRUE(options_.namespaces["default"].presence);
  EXPECT_EQ(options_.namespaces["chat"].history_size, 100u);
  EXPECT_EQ(options_.namespaces["chat"].history_ttl_s, 60u);
  EXPECT_FALSE(options_.namespaces["chat"].presence);
  EXPECT_FALSE(options_.namespaces["chat"].client_publish);
}

TEST_F(ConfigTest, FlagsOverrideTheFileWhereverConfigAppears) {
  std::string path = File("shards = 5\n[limits]\nmax_message_bytes = 2048\n");
  Ok({"--shards", "2", "--config", path});
  EXPECT_EQ(options_.shards, 2u);                  // the flag, though it came first
  EXPECT_EQ(options_.max_message_bytes, 2048u);    // the file
  EXPECT_EQ(options_.max_queued_bytes, 1u << 20);  // the default
  Ok({"--config=" + path, "--max-message-bytes=4096"});
  EXPECT_EQ(options_.shards, 5u);
  EXPECT_EQ(options_.max_message_bytes, 4096u);
}

TEST_F(ConfigTest, PinThreadsCanBeTurnedBackOnOverTheFile) {
  std::string path = File("pin_threads = false\n");
  Ok({"--config", path, "--pin-threads", "true"});
  EXPECT_TRUE(options_.pin_threads);
  Ok({"--config", path});
  EXPECT_FALSE(options_.pin_threads);
}

TEST_F(ConfigTest, LaterFlagWins) {
  Ok({"--shards", "2", "--shards", "4"});
  EXPECT_EQ(options_.shards, 4u);
}

TEST_F(ConfigTest, UnknownFlagIsNamed) {
  EXPECT_EQ(Error({"--no-such-flag"}), "unknown flag '--no-such-flag' (see ringcast --help)");
  EXPECT_EQ(Error({"--no-such-flag=3"}), "unknown flag '--no-such-flag' (see ringcast --help)");
  EXPECT_EQ(Error({"-x"}), "unknown flag '-x' (see ringcast --help)");
  EXPECT_EQ(Error({"stray"}), "unexpected argument 'stray' (see ringcast --help)");
  EXPECT_CONTAINS(Error({"--history-size", "5"}), "'--history-size'");  // namespaces: file only
}

TEST_F(ConfigTest, MissingValueIsNamed) {
  EXPECT_EQ(Error({"--shards"}), "--shards needs a value (N)");
  EXPECT_EQ(Error({"--listen", "--shards", "2"}), "--listen needs a value (HOST:PORT)");
  EXPECT_EQ(Error({"--config"}), "--config needs a value (FILE)");
  EXPECT_EQ(Error({"--no-pin=yes"}), "--no-pin takes no value");
  EXPECT_EQ(Error({"--print-config=1"}), "--print-config takes no value");
}

TEST_F(ConfigTest, BadFlagValuesNameTheFlagAndTheRule) {
  EXPECT_EQ(Error({"--shards", "65"}), "--shards must be an integer from 0 to 64 (got '65')");
  EXPECT_CONTAINS(Error({"--max-message-bytes", "15"}),
                  "--max-message-bytes must be an integer from 16");
  EXPECT_CONTAINS(Error({"--max-message-bytes", "1k"}), "--max-message-bytes must be an integer");
  EXPECT_CONTAINS(Error({"--drain-ms", "-1"}), "--drain-ms must be an integer");
  EXPECT_CONTAINS(Error({"--drain-ms", "3600001"}),
                  "--drain-ms must be an integer from 0 to 3600000");
  EXPECT_CONTAINS(Error({"--handshake-timeout-ms", "0"}), "--handshake-timeout-ms");
  EXPECT_CONTAINS(Error({"--max-connections", "1073741825"}), "--max-connections");
  EXPECT_CONTAINS(Error({"--http-reserve", "65537"}),
                  "--http-reserve must be an integer from 0 to 65536");
  EXPECT_CONTAINS(Error({"--idle-timeout-ms", "99999999999999999999"}), "--idle-timeout-ms");
  EXPECT_EQ(Error({"--allow-anonymous-user-param", "yes"}),
            "--allow-anonymous-user-param must be true or false (got 'yes')");
  EXPECT_CONTAINS(Error({"--listen", "8080"}), "--listen must be HOST:PORT");
  EXPECT_CONTAINS(Error({"--listen", "127.0.0.1:65536"}), "--listen must be HOST:PORT");
  EXPECT_CONTAINS(Error({"--listen", "localhost:8080"}), "--listen must be HOST:PORT");
  EXPECT_CONTAINS(Error({"--listen", "[::1:8080"}), "--listen must be HOST:PORT");
  EXPECT_CONTAINS(Error({"--node-id", "has space"}), "--node-id must be");
  EXPECT_CONTAINS(Error({"--node-id", std::string(33, 'a')}), "--node-id must be");
  EXPECT_CONTAINS(Error({"--events-room", std::string(257, 'r')}), "--events-room must be");
  EXPECT_CONTAINS(Error({"--origins", "https://a.example/"}), "--origins must be");
  EXPECT_CONTAINS(Error({"--origins", "a.example"}), "--origins must be");
}

TEST_F(ConfigTest, SecretsAreNeverEchoedInErrors) {
  std::string error = Error({"--api-key", "tab\there"});
  EXPECT_CONTAINS(error, "--api-key must be");
  EXPECT_EQ(error.find("tab"), std::string::npos) << error;
  error = FileError("[auth]\njwt_secret = \"bell\\u0007x\"\n");
  EXPECT_CONTAINS(error, "auth.jwt_secret must be");
  EXPECT_EQ(error.find("bell"), std::string::npos) << error;
}

TEST_F(ConfigTest, ConfigFileProblemsNameTheFile) {
  std::string path = File("");
  EXPECT_CONTAINS(Error({"--config", path, "--config", path}), "--config given twice");
  EXPECT_EQ(Error({"--config", "/nonexistent/ringcast.toml"}),
            "/nonexistent/ringcast.toml: cannot read: No such file or directory");
  EXPECT_EQ(Error({"--config="}), "--config needs a file name");
  EXPECT_EQ(Error({"--config", "/"}), "/: cannot read: Is a directory");
  EXPECT_CONTAINS(Error({"--config", File(std::string(2 << 20, '#'))}), "larger than 1 MiB");
  std::string bad = File("shards = 2\n[limits\n");
  std::string error = Error({"--config", bad});
  EXPECT_EQ(error.rfind(bad + ":2:", 0), 0u) << "no file:line: " << error;
}

TEST_F(ConfigTest, UnknownKeysAreErrorsWithASuggestion) {
  std::string path = File("[limits]\nmax_mesage_bytes = 5\n");
  EXPECT_EQ(
      Error({"--config", path}),
      path + ": unknown key 'limits.max_mesage_bytes' (did you mean limits.max_message_bytes?)");
  EXPECT_CONTAINS(FileError("shard = 2\n"), "unknown key 'shard' (did you mean shards?)");
  EXPECT_CONTAINS(FileError("[limit]\nmax_message_bytes = 5\n"),
                  "unknown key 'limit' (did you mean limits?)");
  EXPECT_CONTAINS(FileError("completely_unrelated_thing = 1\n"),
                  "unknown key 'completely_unrelated_thing'");
  EXPECT_CONTAINS(FileError("[namespaces.chat]\nhistory = 5\n"),
                  "unknown key 'namespaces.chat.history'");
  EXPECT_CONTAINS(FileError("[api]\nkey = \"k\"\nsecret = \"s\"\n"), "unknown key 'api.secret'");
}

TEST_F(ConfigTest, WrongTypesAndRangesNameFileAndKey) {
  std::string path = File("[limits]\nmax_message_bytes = 8\n");
  EXPECT_EQ(Error({"--config", path}),
            path + ": limits.max_message_bytes must be an integer from 16 to 1073741824 (got 8)");
  EXPECT_CONTAINS(FileError("[limits]\nmax_message_bytes = \"64k\"\n"),
                  "limits.max_message_bytes must be an integer from 16 to 1073741824 "
                  "(got a string \"64k\")");
  EXPECT_CONTAINS(FileError("shards = 2.0\n"),
                  "shards must be an integer from 0 to 64 (got a float)");
  EXPECT_CONTAINS(FileError("shards = -1\n"), "shards must be an integer from 0 to 64 (got -1)");
  EXPECT_CONTAINS(FileError("pin_threads = 1\n"), "pin_threads must be true or false (got 1)");
  EXPECT_CONTAINS(FileError("pin_threads = \"false\"\n"), "pin_threads must be true or false");
  EXPECT_CONTAINS(FileError("node_id = 7\n"), "node_id must be");
  EXPECT_CONTAINS(FileError("listen = \"localhost\"\n"), "listen must be HOST:PORT");
  EXPECT_CONTAINS(FileError("listen = \"localhost\"\n"), "(got \"localhost\")");
  EXPECT_CONTAINS(FileError("limits = 5\n"), "limits must be a table ([limits])");
  EXPECT_CONTAINS(FileError("[keepalive]\nidle_timeout_ms = 86400001\n"),
                  "keepalive.idle_timeout_ms must be an integer from 0 to 86400000");
  EXPECT_CONTAINS(FileError("[events]\nroom = [\"a\"]\n"), "events.room must be");
}

TEST_F(ConfigTest, DottedKeysWorkLikeTables) {
  Ok({"--config", File("limits.max_message_bytes = 2048\nkeepalive.ping_interval_ms = 0\n")});
  EXPECT_EQ(options_.max_message_bytes, 2048u);
  EXPECT_EQ(options_.ping_interval_ms, 0u);
}

TEST_F(ConfigTest, ListenAcceptsIpv6AndPortOnly) {
  Ok({"--listen", "[::1]:9000"});
  EXPECT_EQ(options_.listen_host, "::1");
  EXPECT_EQ(options_.port, 9000);
  Ok({"--config", File("listen = \":0\"\n")});
  EXPECT_EQ(options_.listen_host, "0.0.0.0");
  EXPECT_EQ(options_.port, 0);
}

TEST_F(ConfigTest, OriginsTakeBothForms) {
  const std::vector<std::string> two = {"https://a.example", "https://b.example:8443"};
  Ok({"--origins", "https://a.example,https://b.example:8443"});
  EXPECT_EQ(options_.origins, two);
  Ok({"--origins", " https://a.example , ,https://b.example:8443 "});
  EXPECT_EQ(options_.origins, two);
  Ok({"--config", File("origins = \"https://a.example, https://b.example:8443\"\n")});
  EXPECT_EQ(options_.origins, two);
  std::string array = File("origins = [\"https://a.example\", \"https://b.example:8443\"]\n");
  Ok({"--config", array});
  EXPECT_EQ(options_.origins, two);
  Ok({"--config", array, "--origins", ""});  // an empty flag allows any Origin again
  EXPECT_TRUE(options_.origins.empty());
  EXPECT_CONTAINS(FileError("origins = [\"https://a.example\", 5]\n"), "origins must be");
  EXPECT_CONTAINS(FileError("origins = [\"https://a.example/path\"]\n"), "origins must be");
  EXPECT_CONTAINS(FileError("origins = 5\n"), "origins must be");
}

TEST_F(ConfigTest, RedisIsRepeatableAndAList) {
  const std::vector<std::string> two = {"redis://127.0.0.1:7000", "redis://127.0.0.1:7001"};
  Ok({});
  EXPECT_TRUE(options_.redis.empty()) << "a single node by default";
  Ok({"--redis", "redis://127.0.0.1:7000", "--shards", "2", "--redis", "redis://127.0.0.1:7001"});
  EXPECT_EQ(options_.redis, two);
  Ok({"--redis", "redis://127.0.0.1:7000,redis://127.0.0.1:7001"});
  EXPECT_EQ(options_.redis, two);
  Ok({"--config", File("[cluster]\nredis = [\"redis://127.0.0.1:7000\", "
                       "\"redis://127.0.0.1:7001\"]\nreply_timeout_ms = 800\n")});
  EXPECT_EQ(options_.redis, two);
  EXPECT_EQ(options_.redis_reply_timeout_ms, 800u);
  EXPECT_CONTAINS(Error({"--redis", "redis://a b"}), "--redis must be Redis URLs");
  EXPECT_CONTAINS(Error({"--redis-reply-timeout-ms", "1"}), "--redis-reply-timeout-ms must be");
  EXPECT_EQ(options_.redis_presence_ttl_ms, 15000u);
  Ok({"--config", File("[cluster]\npresence_ttl_ms = 1500\n")});
  EXPECT_EQ(options_.redis_presence_ttl_ms, 1500u);
  EXPECT_CONTAINS(Error({"--redis-presence-ttl-ms", "299"}), "--redis-presence-ttl-ms must be");
}

TEST_F(ConfigTest, NamespacesAreCheckedByName) {
  Ok({"--config", File("[namespaces.\"live.scores\"]\nhistory_size = 3\n[namespaces.x]\n")});
  EXPECT_EQ(options_.namespaces["live.scores"].history_size, 3u);
  EXPECT_EQ(options_.namespaces["x"].history_size, 0u);
  EXPECT_TRUE(options_.namespaces["x"].client_publish);
  EXPECT_CONTAINS(FileError("[namespaces.\"a:b\"]\nhistory_size = 3\n"),
                  "namespace name \"a:b\" must be a non-empty room prefix without ':'");
  EXPECT_CONTAINS(FileError("[namespaces.\"\"]\nhistory_size = 3\n"), "namespace name \"\"");
  EXPECT_CONTAINS(FileError("namespaces = 3\n"), "namespaces must be tables");
  EXPECT_CONTAINS(FileError("[namespaces]\nchat = 3\n"), "namespaces.chat must be a table");
  EXPECT_CONTAINS(
      FileError("[namespaces.chat]\nhistory_size = 1000001\n"),
      "namespaces.chat.history_size must be an integer from 0 to 1000000 (got 1000001)");
  EXPECT_CONTAINS(FileError("[namespaces.chat]\npresence = \"no\"\n"),
                  "namespaces.chat.presence must be true or false (got a string)");
}

TEST_F(ConfigTest, PrintConfigRoundTripsThroughAFile) {
  std::string path = File(std::string(kFullFile) + "[namespaces.\"odd name\"]\npresence = false\n");
  // Secrets come from the flags below: the printed file redacts them.
  ConfigResult r = Build({"--config", path, "--listen", "[::]:9200", "--jwt-secret", "",
                          "--api-key", "", "--print-config"});
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(r.exit_now);
  EXPECT_EQ(r.exit_code, 0);
  ServerOptions printed = options_;
  EXPECT_EQ(printed.listen_host, "::");
  EXPECT_EQ(printed.namespaces.size(), 3u);
  EXPECT_EQ(r.output, FormatConfig(printed));

  Ok({"--config", File(r.output)});
  ExpectSame(options_, printed);
}

TEST_F(ConfigTest, PrintConfigOfTheDefaultsRoundTrips) {
  ConfigResult r = Build({"--print-config"});
  ASSERT_TRUE(r.ok && r.exit_now) << r.error;
  Ok({"--config", File(r.output)});
  ExpectSame(options_, ServerOptions{});
}

TEST_F(ConfigTest, PrintConfigRedactsSecretsAndRefusesThemBack) {
  ConfigResult r =
      Build({"--jwt-secret", "hunter2-jwt", "--api-key", "hunter2-api", "--print-config"});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output.find("hunter2"), std::string::npos) << r.output;
  EXPECT_CONTAINS(r.output, "jwt_secret = \"<redacted>\"");
  EXPECT_CONTAINS(r.output, "key = \"<redacted>\"");

  std::string printed = File(r.output);
  EXPECT_EQ(Error({"--config", printed}),
            printed +
                ": auth.jwt_secret is \"<redacted>\", the placeholder --print-config "
                "prints: put the real secret back");
  EXPECT_CONTAINS(Error({"--config", printed, "--jwt-secret", "real"}), printed + ": api.key is");
  Ok({"--config", printed, "--jwt-secret", "real", "--api-key", "real2"});
  EXPECT_EQ(options_.jwt_secret, "real");
  EXPECT_EQ(options_.api_key, "real2");
}

TEST_F(ConfigTest, IdleTimeoutMustOutlastThePingInterval) {
  EXPECT_EQ(Error({"--idle-timeout-ms", "1000"}),
            "--idle-timeout-ms 1000 must be greater than keepalive.ping_interval_ms = 25000 "
            "(default) (or set either to 0): quiet clients would be closed before being pinged");
  std::string path = File("[keepalive]\nping_interval_ms = 5000\n");
  EXPECT_CONTAINS(Error({"--config", path, "--idle-timeout-ms", "5000"}),
                  "keepalive.ping_interval_ms = 5000 in " + path);
  Ok({"--idle-timeout-ms", "1000", "--ping-interval-ms", "0"});
  Ok({"--idle-timeout-ms", "0", "--ping-interval-ms", "3600000"});
}

TEST_F(ConfigTest, RedisClusterNeedsSeeds) {
  EXPECT_FALSE(options_.redis_cluster);
  EXPECT_EQ(Error({"--redis-cluster", "true"}),
            "--redis-cluster needs the cluster's seed addresses in cluster.redis");
  Ok({"--redis", "127.0.0.1:7000,127.0.0.1:7001", "--redis-cluster", "true"});
  EXPECT_TRUE(options_.redis_cluster);
  Ok({"--config", File("[cluster]\nredis = [\"127.0.0.1:7000\"]\nredis_cluster = true\n")});
  EXPECT_TRUE(options_.redis_cluster);
  EXPECT_CONTAINS(Error({"--redis-cluster", "yes"}), "must be true or false");
}

TEST_F(ConfigTest, AFailureLeavesTheOptionsUntouched) {
  options_.shards = 7;
  Error({"--shards", "3", "--bogus"});
  Error({"--shards", "3", "--config", File("bogus = 1\n")});
  EXPECT_EQ(options_.shards, 7u);
}

// FormatConfig opens a [section] where the key prefix changes, so a section
// split in two would print twice and the file would not parse back.
TEST(ConfigTableTest, KeysAndFlagsAreUniqueAndSectionsContiguous) {
  std::set<std::string_view> keys, flags, closed_sections;
  std::string_view section;
  for (const config_internal::Option& o : config_internal::Options()) {
    EXPECT_TRUE(keys.insert(o.key).second) << o.key;
    EXPECT_TRUE(flags.insert(o.flag).second) << o.flag;
    size_t dot = o.key.find('.');
    std::string_view prefix = dot == std::string_view::npos ? "" : o.key.substr(0, dot);
    if (prefix != section) {
      closed_sections.insert(section);
      EXPECT_FALSE(closed_sections.contains(prefix)) << o.key << ": [" << prefix << "] split";
      section = prefix;
    }
  }
}

}  // namespace
}  // namespace ringcast::shard
