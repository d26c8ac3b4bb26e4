// net::RedisConn against a real redis-server (tests/support/redis_process.h),
// driven by a real io_uring the way a shard drives it: completions by
// user_data, Flush once per round, Tick for time. Each wait is bounded.
#include "net/redis_conn.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/redis_process.h"

namespace ringcast::net {
namespace {

using testing::RedisProcess;

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string Text(const redisReply* r) {
  if (r == nullptr) return "<failed>";
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string s = "[";
      for (size_t i = 0; i < r->elements; ++i) s += (i ? "," : "") + Text(r->element[i]);
      return s + "]";
    }
    default:
      return std::string(r->str, r->len);
  }
}

struct Recorder : RedisEvents {
  std::vector<std::pair<uint64_t, std::string>> replies;
  std::vector<std::string> pushes;
  int ups = 0;
  int downs = 0;
  void OnRedisReply(uint32_t, uint64_t tag, const redisReply* reply) override {
    replies.emplace_back(tag, Text(reply));
  }
  void OnRedisPush(uint32_t, const redisReply& push) override { pushes.push_back(Text(&push)); }
  void OnRedisUp(uint32_t) override { ++ups; }
  void OnRedisDown(uint32_t) override { ++downs; }
};

RedisAddress AddressOf(const RedisProcess& redis) {
  RedisAddressResult r = ParseRedisUrl(redis.url());
  EXPECT_EQ(r.error, "");
  return r.address;
}

// One io_uring and the connections on it, pumped like a shard's loop.
class Loop {
 public:
  Loop() { EXPECT_EQ(ring_.Init(64), std::nullopt); }
  Uring* ring() { return &ring_; }
  void Add(RedisConn* c) { conns_.push_back(c); }
  // Runs rounds until done() or 10 s have passed; returns done().
  bool Until(const std::function<bool()>& done) {
    uint64_t deadline = NowMs() + 10000;
    while (!done()) {
      if (NowMs() > deadline) return false;
      Round();
    }
    return true;
  }
  // Runs rounds for `ms` (to let time-based behaviour happen).
  void For(uint64_t ms) {
    uint64_t end = NowMs() + ms;
    while (NowMs() < end) Round();
  }

 private:
  void Round() {
    for (RedisConn* c : conns_) c->Flush();
    __kernel_timespec ts{0, 5 * 1000 * 1000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(ring_.raw(), &cqe, 1, &ts, nullptr);
    uint64_t now = NowMs();
    ring_.DrainCompletions([&](const io_uring_cqe& e) {
      if (UserDataKind(e.user_data) != OpKind::kRedis) return;
      conns_[RedisConn::IndexOfSlot(UserDataSlot(e.user_data))]->OnCompletion(e, now);
    });
    for (RedisConn* c : conns_) c->Tick(now);
  }
  Uring ring_;
  std::vector<RedisConn*> conns_;
};

TEST(RedisConnFormatTest, FormatWritesWhatHiredisWrites) {
  std::vector<std::string_view> argv = {"SET", "key", std::string_view("a\0b\r\n", 5), ""};
  std::string ours;
  RedisConn::Format(&ours, argv);
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* theirs = nullptr;
  int n = redisFormatCommandArgv(&theirs, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  ASSERT_GT(n, 0);
  EXPECT_EQ(ours, std::string(theirs, static_cast<size_t>(n)));
  redisFreeCommand(theirs);
}

// A real redis-server and the loop the tests' connections run on.
class RedisConnTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.Start()) << redis_.error(); }

  // Puts `conn` on loop_ and starts connecting.
  void StartOnLoop(RedisConn& conn) {
    loop_.Add(&conn);
    conn.Start(NowMs());
  }
  // StartOnLoop, then runs loop_ until `conn` is up (10 s at most).
  ::testing::AssertionResult StartUntilUp(RedisConn& conn) {
    StartOnLoop(conn);
    if (loop_.Until([&] { return conn.IsUp(); })) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "not up: " << conn.last_error();
  }

  RedisProcess redis_;
  Loop loop_;
};

TEST_F(RedisConnTest, PipelinedCommandsAreAnsweredInOrder) {
  Recorder rec;
  RedisConn conn(loop_.ring(), 0, AddressOf(redis_), RedisRole::kCommands, {}, &rec, 1);
  ASSERT_TRUE(StartUntilUp(conn));
  EXPECT_EQ(rec.ups, 1);
  // 1000 commands queued in one round go out together.
  constexpr int kN = 1000;
  for (int i = 0; i < kN; ++i) ASSERT_TRUE(conn.Command({"INCR", "counter"}, uint64_t(i)));
  ASSERT_TRUE(conn.Command({"GET", "counter"}, kN));
  ASSERT_TRUE(conn.Command({"NOSUCHCOMMAND"}, kN + 1));
  ASSERT_TRUE(loop_.Until([&] { return rec.replies.size() == kN + 2; }));
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(rec.replies[size_t(i)].first, uint64_t(i));
    ASSERT_EQ(rec.replies[size_t(i)].second, std::to_string(i + 1));
  }
  EXPECT_EQ(rec.replies[kN].second, std::to_string(kN));
  EXPECT_EQ(rec.replies[kN + 1].second.rfind("ERR", 0), 0u) << rec.replies[kN + 1].second;
  EXPECT_EQ(conn.pending(), 0u);
}

TEST_F(RedisConnTest, BigValuesCrossManyReceives) {
  Recorder rec;
  RedisConn conn(loop_.ring(), 0, AddressOf(redis_), RedisRole::kCommands, {}, &rec, 1);
  ASSERT_TRUE(StartUntilUp(conn));
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = char('a' + i % 26);
  ASSERT_TRUE(conn.Command({"SET", "big", big}, 1));
  ASSERT_TRUE(conn.Command({"GET", "big"}, 2));
  ASSERT_TRUE(loop_.Until([&] { return rec.replies.size() == 2; }));
  EXPECT_EQ(rec.replies[0].second, "OK");
  EXPECT_TRUE(rec.replies[1].second == big);
}

TEST_F(RedisConnTest, FullQueueRefuses) {
  Recorder rec;
  RedisConnLimits limits;
  limits.max_pending = 4;
  RedisConn conn(loop_.ring(), 0, AddressOf(redis_), RedisRole::kCommands, limits, &rec, 1);
  ASSERT_TRUE(StartUntilUp(conn));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(conn.Command({"PING"}, uint64_t(i)));
  EXPECT_FALSE(conn.Command({"PING"}, 4));
  EXPECT_EQ(conn.refused(), 1u);
  ASSERT_TRUE(loop_.Until([&] { return rec.replies.size() == 4; }));
  EXPECT_TRUE(conn.Command({"PING"}, 5));  // room again once answered
}

TEST_F(RedisConnTest, KilledServerFailsPendingAtOnceAndReconnects) {
  Recorder rec;
  RedisConnLimits limits;
  limits.backoff_min_ms = 20;
  limits.backoff_max_ms = 100;
  RedisConn conn(loop_.ring(), 0, AddressOf(redis_), RedisRole::kCommands, limits, &rec, 7);
  ASSERT_TRUE(StartUntilUp(conn));
  // A command that Redis holds: only the failure can answer it.
  ASSERT_TRUE(conn.Command({"BLPOP", "nothing-here", "0"}, 42));
  loop_.For(50);
  ASSERT_TRUE(rec.replies.empty());
  redis_.Kill();
  ASSERT_TRUE(loop_.Until([&] { return rec.downs == 1; }));
  ASSERT_EQ(rec.replies.size(), 1u);
  EXPECT_EQ(rec.replies[0], std::make_pair(uint64_t{42}, std::string("<failed>")));
  EXPECT_FALSE(conn.Command({"PING"}, 1)) << "a command while down is refused, not queued";
  loop_.For(300);  // several refused reconnects, backing off
  EXPECT_FALSE(conn.IsUp());
  ASSERT_TRUE(redis_.Start()) << redis_.error();
  ASSERT_TRUE(loop_.Until([&] { return conn.IsUp(); })) << conn.last_error();
  EXPECT_EQ(rec.ups, 2);
  EXPECT_EQ(conn.reconnects(), 1u);
  ASSERT_TRUE(conn.Command({"SET", "k", "v"}, 2));
  ASSERT_TRUE(loop_.Until([&] { return rec.replies.size() == 2; }));
  EXPECT_EQ(rec.replies[1].second, "OK");
}

TEST_F(RedisConnTest, SubscriberGetsPushesAndIsProbed) {
  Recorder sub_rec, cmd_rec;
  RedisConnLimits limits;
  limits.probe_interval_ms = 30;
  limits.reply_timeout_ms = 2000;
  RedisConn sub(loop_.ring(), 0, AddressOf(redis_), RedisRole::kSubscriber, limits, &sub_rec, 1);
  RedisConn cmd(loop_.ring(), 1, AddressOf(redis_), RedisRole::kCommands, limits, &cmd_rec, 2);
  StartOnLoop(sub);
  StartOnLoop(cmd);
  ASSERT_TRUE(loop_.Until([&] { return sub.IsUp() && cmd.IsUp(); }));
  ASSERT_TRUE(sub.Command({"SUBSCRIBE", "a", "b"}, 0));
  ASSERT_TRUE(loop_.Until([&] { return sub_rec.pushes.size() == 2; }));
  EXPECT_EQ(sub_rec.pushes[0], "[subscribe,a,1]");
  EXPECT_EQ(sub_rec.pushes[1], "[subscribe,b,2]");
  ASSERT_TRUE(cmd.Command({"PUBLISH", "b", "hello"}, 1));
  ASSERT_TRUE(loop_.Until([&] { return sub_rec.pushes.size() == 3; }));
  EXPECT_EQ(sub_rec.pushes[2], "[message,b,hello]");
  EXPECT_EQ(cmd_rec.replies[0].second, "1");
  loop_.For(300);  // about ten probes, each answered: no pushes, no failure
  EXPECT_EQ(sub_rec.pushes.size(), 3u);
  EXPECT_EQ(sub.failures(), 0u);
  EXPECT_EQ(sub_rec.downs, 0);
}

TEST_F(RedisConnTest, SubscriberThatStopsAnsweringIsRestarted) {
  Recorder rec;
  RedisConnLimits limits;
  limits.probe_interval_ms = 30;
  limits.reply_timeout_ms = 150;
  limits.backoff_min_ms = 20;
  limits.backoff_max_ms = 50;
  RedisConn sub(loop_.ring(), 0, AddressOf(redis_), RedisRole::kSubscriber, limits, &rec, 1);
  ASSERT_TRUE(StartUntilUp(sub));
  ASSERT_TRUE(sub.Command({"SUBSCRIBE", "a"}, 0));
  ASSERT_TRUE(loop_.Until([&] { return rec.pushes.size() == 1; }));
  // A frozen Redis keeps the TCP connection open but answers nothing.
  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  ASSERT_TRUE(loop_.Until([&] { return rec.downs == 1; }));
  EXPECT_EQ(sub.last_error(), "no reply from Redis in time");
  ASSERT_EQ(kill(redis_.pid(), SIGCONT), 0);
  ASSERT_TRUE(loop_.Until([&] { return rec.ups == 2; }));
  // The new connection starts unsubscribed: the owner subscribes again.
  ASSERT_TRUE(sub.Command({"SUBSCRIBE", "a"}, 0));
  ASSERT_TRUE(loop_.Until([&] { return rec.pushes.size() == 2; }));
  EXPECT_EQ(rec.pushes[1], "[subscribe,a,1]");
}

TEST_F(RedisConnTest, ConnectRefusedBacksOffUntilRedisComes) {
  RedisAddress address = AddressOf(redis_);
  redis_.Kill();
  Recorder rec;
  RedisConnLimits limits;
  limits.backoff_min_ms = 10;
  limits.backoff_max_ms = 80;
  RedisConn conn(loop_.ring(), 0, address, RedisRole::kCommands, limits, &rec, 3);
  StartOnLoop(conn);
  loop_.For(400);
  EXPECT_FALSE(conn.IsUp());
  // Backing off: a handful of attempts in 400 ms, not a spin.
  EXPECT_GE(conn.failures(), 3u);
  EXPECT_LE(conn.failures(), 40u);
  EXPECT_EQ(rec.ups, 0);
  ASSERT_TRUE(redis_.Start()) << redis_.error();
  ASSERT_TRUE(loop_.Until([&] { return conn.IsUp(); })) << conn.last_error();
  EXPECT_EQ(conn.reconnects(), 0u) << "the first connection is not a reconnect";
}

TEST(RedisAddressTest, ParsesAndRefusesClearly) {
  EXPECT_EQ(ParseRedisUrl("redis://127.0.0.1:7000").address.ToString(), "127.0.0.1:7000");
  EXPECT_EQ(ParseRedisUrl("127.0.0.1").address.ToString(), "127.0.0.1:6379");
  EXPECT_EQ(ParseRedisUrl("redis://[::1]:7001").address.ToString(), "[::1]:7001");
  EXPECT_NE(ParseRedisUrl("rediss://h:1").error.find("TLS"), std::string::npos);
  EXPECT_NE(ParseRedisUrl("redis://u:p@h:1").error.find("password"), std::string::npos);
  EXPECT_NE(ParseRedisUrl("redis://h:1/3").error.find("database"), std::string::npos);
  EXPECT_NE(ParseRedisUrl("redis://h:99999").error.find("HOST:PORT"), std::string::npos);
  EXPECT_NE(ParseRedisUrl("").error, "");
}

}  // namespace
}  // namespace ringcast::net
