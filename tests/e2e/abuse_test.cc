// Attacks by one ordinary client on everyone else (the hardening issue), each
// performed for real: what the attacker sends, and what the server must do
// instead of what it did before. Where a test needs time to pass it runs the
// server in process on a ManualClock; the rest run the real binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

#include "proto/json_writer.h"
#include "proto/jwt.h"
#include "shard/shard_parts.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/temp_file.h"
#include "tests/support/ws_client.h"

#ifndef RINGCAST_BINARY
#error "RINGCAST_BINARY must name the built ringcast executable"
#endif

namespace ringcast::testing {
namespace {

constexpr char kSecret[] = "abuse-test-secret";

std::string StatusLineOf(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

// What a plain GET answers (status line only).
std::string GetStatus(uint16_t port, const std::string& target) {
  WsClient http;
  if (!http.ConnectTcp(port)) return "no connection";
  return StatusLineOf(
      http.RawHttp("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
}

// Sends a ping and reads until its pong (skipping other messages), waiting at most
// read_timeout_ms for each message.
::testing::AssertionResult PingPong(WsClient& c, uint64_t id,
                                    int read_timeout_ms = kReadTimeoutMs) {
  c.SendText(R"({"op":"ping","id":)" + std::to_string(id) + "}");
  const int64_t started_ms = NowMs();
  for (uint64_t read = 0;; ++read) {
    auto m = c.ReadMessage(read_timeout_ms);
    if (!m) {
      return ::testing::AssertionFailure()
             << "no pong after " << read << " other messages in " << NowMs() - started_ms << " ms; "
             << (c.eof() ? "EOF, " : "") << "closed with " << c.close_code().value_or(0) << " "
             << c.close_reason();
    }
    if (JsonString(*m, "op") == "pong" && JsonUint(*m, "id") == id) {
      return ::testing::AssertionSuccess();
    }
  }
}

constexpr uint64_t ShardPartsSweepFloor() { return shard::ShardParts::kTimerSweepFloor; }

// --- invalid UTF-8 in a user id ------------------------------------------

// Before: `?user=%FF` was accepted, and the attacker's publication carried
// "from":"\xFF": every subscriber of the room received a text frame that is
// not UTF-8 and closed with 1007. Now the handshake is refused with 400.
TEST(AbuseTest, UserIdThatIsNotUtf8IsRefusedAtTheHandshake) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "2"})) << child.Stderr();
  WsClient victim;
  ASSERT_TRUE(ConnectWelcomed(victim, child.port()));
  victim.SendText(R"({"op":"sub","room":"lobby","id":1})");
  ASSERT_TRUE(NextIsOk(victim, 1));

  for (const char* bad : {"%FF", "%C3%28", "%ED%A0%80" /* a surrogate */, "ok%F0%9F%98"}) {
    WsClient attacker;
    bool upgraded = attacker.Connect(child.port(), std::string("/ws?user=") + bad, "127.0.0.2");
    EXPECT_FALSE(upgraded) << bad << " was accepted as a user id";
    if (upgraded) {
      attacker.ReadWelcome();
      attacker.SendText(PubCommand("lobby", R"("hi")"));
    } else {
      EXPECT_NE(attacker.last_error().find("400"), std::string::npos)
          << bad << ": " << attacker.last_error();
    }
  }
  // The victim is still there and everything it received is UTF-8.
  WsClient friendly;
  ASSERT_TRUE(ConnectWelcomed(friendly, child.port(), "127.0.0.3"));
  friendly.SendText(PubCommand("lobby", R"("still here")"));
  while (true) {
    auto m = victim.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m) << "victim closed with " << victim.close_code().value_or(0);
    ASSERT_TRUE(proto::IsValidUtf8(*m)) << "the server sent a text frame that is not UTF-8";
    if (JsonField(*m, "data") == R"("still here")") break;
  }
  // A valid multi-byte id is fine.
  WsClient accented;
  ASSERT_TRUE(accented.Connect(child.port(), "/ws?user=J%C3%BCrgen", "127.0.0.4"))
      << accented.last_error();
  ASSERT_TRUE(accented.ReadWelcome());
  EXPECT_EQ(accented.user(), "J\xC3\xBCrgen");
}

// The room of GET /api/presence comes percent-decoded from the query: it is
// echoed in the answer, so it must be UTF-8 too.
TEST(AbuseTest, PresenceRoomThatIsNotUtf8Gets400) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "2"})) << child.Stderr();
  EXPECT_EQ(GetStatus(child.port(), "/api/presence?room=%FF"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(GetStatus(child.port(), "/api/presence?room=lobby"), "HTTP/1.1 200 OK");
}

// --- a token that expires far in the future -------------------------------

// Before: the token's time left was turned into milliseconds with a
// multiply that overflowed: 2^61 s x 1000 is 0 modulo 2^64, so a token with
// exp = now + 2^61 (a valid JWT; exp is any NumericDate) was closed at once
// with 1008 "token expired", and its neighbours a second off a second later
// (or at once, when the deadline itself wrapped).
TEST(AbuseTest, TokenWithFarFutureExpStaysOpen) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1", "--jwt-secret", kSecret})) << child.Stderr();
  const int64_t now_s = static_cast<int64_t>(::time(nullptr));
  const int64_t wrap_s = int64_t{1} << 61;
  const std::vector<int64_t> exps = {now_s + wrap_s - 1,
                                     now_s + wrap_s,
                                     now_s + wrap_s + 1,
                                     now_s + 2 * wrap_s,
                                     std::numeric_limits<int64_t>::max(),
                                     int64_t{9007199254740991}};
  std::vector<WsClient> clients(exps.size());
  for (size_t i = 0; i < exps.size(); ++i) {
    std::string token = proto::SignJwtHs256(
        R"({"sub":"u)" + std::to_string(i) + R"(","exp":)" + std::to_string(exps[i]) + "}",
        kSecret);
    ASSERT_TRUE(clients[i].Connect(child.port(), "/ws?token=" + token, SourceIp(i)))
        << "exp " << exps[i] << ": " << clients[i].last_error();
    ASSERT_TRUE(clients[i].ReadWelcome()) << "exp " << exps[i];
  }
  // Past any wrapped delay of a second or two (rounding of now included).
  ::usleep(2'500'000);
  for (size_t i = 0; i < exps.size(); ++i) {
    EXPECT_TRUE(PingPong(clients[i], 5)) << "exp " << exps[i];
  }
}

// A token still closes its connection when it expires, however far off that
// was at connect (the expiry timer re-arms in steps of at most a minute).
TEST(AbuseTest, LongTokenStillClosesAtExpiry) {
  core::ManualClock clock(1'000'000, 1'700'000'000'000);
  auto options = TestServerOptions(1);
  options.jwt_secret = kSecret;
  options.ping_interval_ms = 0;
  options.idle_timeout_ms = 0;
  InProcessServer server(options, &clock);
  ASSERT_FALSE(server.Start().has_value());
  const int64_t now_s = 1'700'000'000;
  std::string token =
      proto::SignJwtHs256(R"({"sub":"u","exp":)" + std::to_string(now_s + 150) + "}", kSecret);
  WsClient c;
  ASSERT_TRUE(c.Connect(server.port(), "/ws?token=" + token)) << c.last_error();
  ASSERT_TRUE(c.ReadWelcome());
  for (int step = 0; step < 2; ++step) {  // 120 s: two re-arms, still open
    clock.Advance(60'000);
    ASSERT_TRUE(StatsTotal(server.port(), "connections").has_value());  // a round ran
    ASSERT_TRUE(PingPong(c, step + 1));
  }
  clock.Advance(31'000);
  EXPECT_EQ(c.WaitClose(kReadTimeoutMs), 1008);
  EXPECT_EQ(c.close_reason(), "token expired");
}

// Before: every connection's token-expiry entry stayed in the timer wheel
// until its token's exp, long after the connection closed: reconnect churn
// with day-long tokens grew the wheel by one entry per connection.
TEST(AbuseTest, ClosedConnectionsLeaveNoTimersBehind) {
  core::ManualClock clock(1'000'000, 1'700'000'000'000);
  auto options = TestServerOptions(1);
  options.jwt_secret = kSecret;
  InProcessServer server(options, &clock);
  ASSERT_FALSE(server.Start().has_value());
  std::string token = proto::SignJwtHs256(R"({"sub":"u","exp":1700086400})", kSecret);
  for (int i = 0; i < 300; ++i) {
    WsClient c;
    ASSERT_TRUE(c.Connect(server.port(), "/ws?token=" + token, SourceIp(i))) << c.last_error();
    ASSERT_TRUE(c.ReadWelcome());
    c.SendClose(1000);
    ASSERT_TRUE(c.WaitClose(kReadTimeoutMs));
  }
  ASSERT_TRUE(
      WaitUntil([&] { return StatsTotal(server.port(), "connections") == 1u; }, kReadTimeoutMs));
  // Past every connection timer's longest wait (keepalive 25 s, token re-check 60 s).
  for (int i = 0; i < 4; ++i) {
    clock.Advance(20'000);
    ASSERT_TRUE(StatsTotal(server.port(), "connections").has_value());
  }
  auto timers = StatsTotal(server.port(), "timers");
  ASSERT_TRUE(timers.has_value());
  EXPECT_LT(*timers, 10u) << "timer entries of closed connections are still pending";
}

// Before: a `req` that ended at once (no such user) still left its timeout's
// entry in the timer wheel for timeout_ms: 20000 of them with a 60 s timeout
// left 20000 entries, whatever the bound on pending requests. Now entries
// whose request or connection is gone are swept whenever the wheel doubles.
TEST(AbuseTest, RequestsThatEndAtOnceLeaveNoTimersBehind) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "1", "--commands-per-second", "0"}))
      << child.Stderr();
  WsClient attacker;
  ASSERT_TRUE(ConnectWelcomed(attacker, child.port()));
  std::string batch;
  for (int i = 0; i < 100; ++i) {
    batch += R"({"op":"req","to":"nobody","data":1,"timeout_ms":60000})"
             "\n";
  }
  for (int i = 0; i < 200; ++i) attacker.SendText(batch);
  // Every req above has been answered. The 20000 cost a Debug ASan server ~1.5 s of CPU, and
  // one loop round may read thousands of them before it sends a reply: on a starved machine
  // (a quarter of a core) no reply came for over 5 s, with the connection open and working.
  // What this test checks is what the timers hold afterwards, not how fast.
  ASSERT_TRUE(PingPong(attacker, 1, 60000));
  auto timers = StatsTotal(child.port(), "timers");
  ASSERT_TRUE(timers.has_value());
  EXPECT_LE(*timers, 2 * ShardPartsSweepFloor() + 16) << "timers of finished requests pile up";
}

// --- replies parked behind an unanswered request --------------------------

// Before: with one `req` left unanswered, every later reply parked behind it
// uncounted; commands kept coming and the server grew without bound (tens
// of MiB in seconds), whatever --max-queued-bytes said. Now parked replies
// count as queued output: past the limit the connection is closed with 4000.
TEST(AbuseTest, RepliesParkedBehindAnUnansweredRequestCountAsQueued) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening(
      {"--shards", "1", "--max-queued-bytes", "65536", "--commands-per-second", "0"}))
      << child.Stderr();
  WsClient mute;  // receives the request and never answers
  ASSERT_TRUE(mute.Connect(child.port(), "/ws?user=mute")) << mute.last_error();
  ASSERT_TRUE(mute.ReadWelcome());
  WsClient attacker;
  ASSERT_TRUE(attacker.Connect(child.port(), "/ws?user=attacker", "127.0.0.2"));
  ASSERT_TRUE(attacker.ReadWelcome());
  attacker.SendText(R"({"op":"req","to":"mute","data":1,"timeout_ms":60000,"id":1})");
  // 20000 pings: their replies (and tickets) would hold about 2 MB.
  std::string batch;
  for (int i = 0; i < 100; ++i)
    batch += R"({"op":"ping","id":2})"
             "\n";
  for (int i = 0; i < 200 && !attacker.send_failed(); ++i) attacker.SendText(batch);
  EXPECT_EQ(attacker.WaitClose(kReadTimeoutMs), 4000);
  EXPECT_EQ(attacker.close_reason(), "too many replies waiting");
  // The user it targeted is unharmed.
  EXPECT_TRUE(PingPong(mute, 9)) << "the request's target was harmed";
}

// The same over HTTP: requests pipelined behind one whose answer comes from
// another shard (a presence query) all parked, uncounted, however many. Now
// no further request is read once queued and parked answers pass the limit.
TEST(AbuseTest, HttpAnswersParkedBehindAPendingOneCountAsQueued) {
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--shards", "2", "--max-queued-bytes", "1024"}))
      << child.Stderr();
  constexpr size_t kRequests = 2000;
  std::string burst;
  // Rooms owned by either shard: at least one answer waits for the other one.
  for (int i = 0; i < 8; ++i) {
    burst +=
        "GET /api/presence?room=r" + std::to_string(i) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  }
  for (size_t i = 0; i < kRequests; ++i) burst += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  WsClient pipeliner;
  ASSERT_TRUE(pipeliner.ConnectTcp(child.port()));
  pipeliner.SendRaw(burst);
  ASSERT_TRUE(pipeliner.WaitEof(kReadTimeoutMs)) << "the pipeliner was never cut off";
  size_t answered = 0;
  for (size_t at = pipeliner.raw_input().find("HTTP/1.1 200 OK\r\n"); at != std::string::npos;
       at = pipeliner.raw_input().find("HTTP/1.1 200 OK\r\n", at + 1)) {
    ++answered;
  }
  // (How many answers arrive before the close varies: the close may reset the
  // connection while requests it did not read are still in its socket.)
  EXPECT_LT(answered, kRequests / 2) << "answered far past 1024 queued and parked bytes";
}

// --- history rooms from fresh names ---------------------------------------

constexpr char kHistoryToml[] = R"([namespaces.h]
history_size = 100
)";

// Before: every publication to a fresh name in a history namespace created a
// history room that stayed as long as its history (with no TTL: forever);
// 5000 names left 5000 rooms after the client was gone. Now rooms kept only
// for their history are bounded per shard, the least recently used go first.
TEST(AbuseTest, HistoryRoomsFromFreshNamesAreBounded) {
  TempFile config(kHistoryToml);
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(
      child.StartListening({"--config", config.path(), "--shards", "2", "--max-idle-history-rooms",
                            "100", "--commands-per-second", "0"}))
      << child.Stderr();
  WsClient attacker;
  ASSERT_TRUE(ConnectWelcomed(attacker, child.port()));
  for (int i = 1; i <= 2000; ++i) {
    attacker.SendText(PubCommand("h:fresh-" + std::to_string(i), "1", i));
  }
  for (int i = 1; i <= 2000; ++i) ASSERT_TRUE(NextIsOk(attacker, i)) << i;
  attacker.Close();
  auto rooms = StatsTotal(child.port(), "history_rooms");
  ASSERT_TRUE(rooms.has_value());
  EXPECT_LE(*rooms, 200u) << "two shards, at most 100 idle history rooms each";
  EXPECT_GE(StatsTotal(child.port(), "history_rooms_evicted").value_or(0), 1800u);
}

// A room forgotten at the bound comes back with a new epoch: a client that
// recovers across the loss is told recovered:false, never a false true.
TEST(AbuseTest, ForgottenHistoryRoomRecoversAsFalse) {
  TempFile config(kHistoryToml);
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(
      child.StartListening({"--config", config.path(), "--shards", "1", "--max-idle-history-rooms",
                            "10", "--commands-per-second", "0"}))
      << child.Stderr();
  WsClient c;
  ASSERT_TRUE(ConnectWelcomed(c, child.port()));
  c.SendText(R"({"op":"sub","room":"h:mine","id":1})");
  ASSERT_TRUE(NextIsOk(c, 1));
  c.SendText(PubCommand("h:mine", "1", 2));
  std::string epoch;
  uint64_t seq = 0;
  while (seq == 0) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    if (JsonString(*m, "op") == "ok" && JsonUint(*m, "id") == 2u) seq = *JsonUint(*m, "seq");
  }
  c.SendText(R"({"op":"unsub","room":"h:mine","id":3})");
  c.SendText(R"({"op":"sub","room":"h:mine","id":4})");  // learns the epoch
  ASSERT_TRUE(NextIsOk(c, 3));
  auto ok = c.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(ok);
  epoch = JsonString(*ok, "epoch");
  ASSERT_FALSE(epoch.empty()) << *ok;
  c.SendText(R"({"op":"unsub","room":"h:mine","id":5})");
  ASSERT_TRUE(NextIsOk(c, 5));
  for (int i = 0; i < 50; ++i) c.SendText(PubCommand("h:other-" + std::to_string(i), "1", 100 + i));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(NextIsOk(c, 100 + i));
  c.SendText(R"({"op":"sub","room":"h:mine","id":6,"since":{"seq":)" + std::to_string(seq) +
             R"(,"epoch":")" + epoch + R"("}})");
  auto again = c.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(again);
  EXPECT_EQ(JsonString(*again, "op"), "ok") << *again;
  EXPECT_EQ(JsonBool(*again, "recovered"), false) << *again;
  EXPECT_NE(JsonString(*again, "epoch"), epoch) << *again;
}

// History bytes are bounded per shard even in rooms with subscribers: the
// oldest messages go first.
TEST(AbuseTest, HistoryBytesAreBounded) {
  TempFile config(R"([namespaces.h]
history_size = 100000
)");
  ChildServer child(RINGCAST_BINARY);
  ASSERT_TRUE(child.StartListening({"--config", config.path(), "--shards", "1",
                                    "--max-history-bytes", "65536", "--commands-per-second", "0"}))
      << child.Stderr();
  WsClient c;
  ASSERT_TRUE(ConnectWelcomed(c, child.port()));
  c.SendText(R"({"op":"sub","room":"h:big","id":1})");
  ASSERT_TRUE(NextIsOk(c, 1));
  const std::string data = "\"" + std::string(1000, 'x') + "\"";
  for (int i = 0; i < 500; ++i) {
    c.SendText(R"({"op":"pub","room":"h:big","echo":false,"data":)" + data + "}");
  }
  ASSERT_TRUE(PingPong(c, 2));
  // history_bytes is a gauge of the once-a-second sweep.
  ASSERT_TRUE(
      WaitUntil([&] { return StatsTotal(child.port(), "history_messages").value_or(0) > 0; },
                kReadTimeoutMs));
  EXPECT_LE(StatsTotal(child.port(), "history_bytes").value_or(UINT64_MAX), 65536u);
  EXPECT_GE(StatsTotal(child.port(), "history_messages").value_or(0), 50u);
}

}  // namespace
}  // namespace ringcast::testing
