// History and recovery (docs/protocol.md, `sub` with `since`) over real shards.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

shard::ServerOptions HistoryOptions(uint32_t size, uint32_t ttl_s = 0) {
  auto options = TestServerOptions(2);
  options.namespaces["h"].history_size = size;
  options.namespaces["h"].history_ttl_s = ttl_s;
  return options;
}

struct Ok {
  uint64_t seq = 0;
  std::string epoch;
  std::optional<bool> recovered;
};

// Reads until the `ok` with `id`, collecting the `msg` seqs seen before it.
std::optional<Ok> ReadUntilOk(WsClient& c, uint64_t id, std::vector<uint64_t>* seqs) {
  while (true) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m) return std::nullopt;
    std::string op = JsonString(*m, "op");
    if (op == "msg" && seqs != nullptr) seqs->push_back(JsonUint(*m, "seq").value_or(0));
    if (op == "ok" && JsonUint(*m, "id") == id) {
      Ok ok;
      ok.seq = JsonUint(*m, "seq").value_or(UINT64_MAX);
      ok.epoch = JsonString(*m, "epoch");
      ok.recovered = JsonBool(*m, "recovered");
      return ok;
    }
  }
}

std::string SubSince(const std::string& room, uint64_t seq, const std::string& epoch, int id) {
  return R"({"op":"sub","room":")" + room + R"(","id":)" + std::to_string(id) +
         R"(,"since":{"seq":)" + std::to_string(seq) + R"(,"epoch":")" + epoch + R"("}})";
}

TEST(HistoryTest, PublicationsGetSeqAndSubOkCarriesSeqAndEpoch) {
  InProcessServer server(HistoryOptions(100));
  ASSERT_FALSE(server.Start().has_value());
  WsClient pub;
  ASSERT_TRUE(ConnectWelcomed(pub, server.port()));
  for (uint64_t n = 1; n <= 5; ++n) {
    pub.SendText(PubCommand("h:news", std::to_string(n), n));
    auto ok = ReadUntilOk(pub, n, nullptr);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->seq, n) << "pub ok carries the room's seq";
  }
  WsClient sub;
  ASSERT_TRUE(ConnectWelcomed(sub, server.port(), "127.0.0.2"));
  sub.SendText(R"({"op":"sub","room":"h:news","id":7})");
  auto ok = ReadUntilOk(sub, 7, nullptr);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->seq, 5u);
  EXPECT_FALSE(ok->epoch.empty());
  EXPECT_FALSE(ok->recovered.has_value()) << "recovered only answers a since";
  pub.SendText(PubCommand("h:news", "6"));
  auto m = sub.ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(m);
  EXPECT_EQ(JsonUint(*m, "seq"), 6u);
  EXPECT_EQ(JsonField(*m, "data"), "6");
}

TEST(HistoryTest, SinceReplaysMissedMessagesInOrderThenRecoveredTrue) {
  InProcessServer server(HistoryOptions(100));
  ASSERT_FALSE(server.Start().has_value());
  WsClient first, pub;
  ASSERT_TRUE(ConnectWelcomed(first, server.port(), "127.0.0.2"));
  ASSERT_TRUE(ConnectWelcomed(pub, server.port(), "127.0.0.3"));
  first.SendText(R"({"op":"sub","room":"h:r","id":1})");
  auto ok = ReadUntilOk(first, 1, nullptr);
  ASSERT_TRUE(ok);
  for (int n = 0; n < 9; ++n) pub.SendText(PubCommand("h:r", std::to_string(n)));
  // The last one's ok comes from the owner with its seq: all ten are in the history.
  pub.SendText(PubCommand("h:r", "9", 99));
  auto last = ReadUntilOk(pub, 99, nullptr);
  ASSERT_TRUE(last);
  ASSERT_EQ(last->seq, 10u);
  // A reconnecting client that had seen up to seq 4.
  WsClient again;
  ASSERT_TRUE(ConnectWelcomed(again, server.port(), "127.0.0.4"));
  again.SendText(SubSince("h:r", 4, ok->epoch, 2));
  std::vector<uint64_t> seqs;
  auto rec = ReadUntilOk(again, 2, &seqs);
  ASSERT_TRUE(rec);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(rec->recovered, true);
  EXPECT_EQ(rec->seq, 10u);
  EXPECT_EQ(rec->epoch, ok->epoch);
}

TEST(HistoryTest, WrongEpochOrHistoryTooShortIsRecoveredFalse) {
  InProcessServer server(HistoryOptions(3));
  ASSERT_FALSE(server.Start().has_value());
  WsClient c;
  ASSERT_TRUE(ConnectWelcomed(c, server.port()));
  c.SendText(R"({"op":"sub","room":"h:short","id":1})");
  auto ok = ReadUntilOk(c, 1, nullptr);
  ASSERT_TRUE(ok);
  for (int n = 0; n < 10; ++n) c.SendText(PubCommand("h:short", std::to_string(n)));
  for (int n = 0; n < 10; ++n) ASSERT_TRUE(c.ReadMessage(kReadTimeoutMs));
  WsClient late;
  ASSERT_TRUE(ConnectWelcomed(late, server.port(), "127.0.0.2"));
  late.SendText(SubSince("h:short", 2, ok->epoch, 2));
  std::vector<uint64_t> seqs;
  auto rec = ReadUntilOk(late, 2, &seqs);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->recovered, false) << "seq 3..7 are gone";
  EXPECT_EQ(seqs, (std::vector<uint64_t>{8, 9, 10})) << "what is left is still sent, in order";
  WsClient other;
  ASSERT_TRUE(ConnectWelcomed(other, server.port(), "127.0.0.3"));
  other.SendText(SubSince("h:short", 9, "not-the-epoch", 3));
  seqs.clear();
  rec = ReadUntilOk(other, 3, &seqs);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->recovered, false);
  EXPECT_TRUE(seqs.empty()) << "another epoch's seqs mean nothing here";
}

TEST(HistoryTest, TtlExpiresHistory) {
  core::ManualClock clock;
  InProcessServer server(HistoryOptions(100, 1), &clock);
  ASSERT_FALSE(server.Start().has_value());
  WsClient c;
  ASSERT_TRUE(ConnectWelcomed(c, server.port()));
  c.SendText(PubCommand("h:ttl", "1", 1));
  auto ok = ReadUntilOk(c, 1, nullptr);
  ASSERT_TRUE(ok);
  c.SendText(R"({"op":"sub","room":"h:ttl","id":2})");
  auto sub_ok = ReadUntilOk(c, 2, nullptr);
  ASSERT_TRUE(sub_ok);
  // Past the TTL on the server's clock: the owner expires history when it
  // answers the next join, whatever its sweep has done.
  clock.Advance(1001);
  WsClient late;
  ASSERT_TRUE(ConnectWelcomed(late, server.port(), "127.0.0.2"));
  late.SendText(SubSince("h:ttl", 0, sub_ok->epoch, 3));
  std::vector<uint64_t> seqs;
  auto rec = ReadUntilOk(late, 3, &seqs);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->recovered, false);
  EXPECT_TRUE(seqs.empty());
}

TEST(HistoryTest, RoomsWithoutHistoryHaveNoSeq) {
  InProcessServer server(HistoryOptions(100));
  ASSERT_FALSE(server.Start().has_value());
  WsClient c;
  ASSERT_TRUE(ConnectWelcomed(c, server.port()));
  ASSERT_TRUE(Subscribe(c, "plain", 1));
  c.SendText(PubCommand("plain", "1", 2));
  // The echo and the ok may come in either order (the echo is a delivery).
  for (int i = 0; i < 2; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m);
    EXPECT_FALSE(JsonUint(*m, "seq").has_value()) << *m;
    if (JsonString(*m, "op") == "msg") {
      EXPECT_TRUE(IsMsg(m, "plain", c.user(), "1")) << *m;
    }
  }
}

// Recovery while a publisher keeps publishing: replay then live messages
// form one run of seqs with no gap and no duplicate, for rooms owned by
// either shard and subscribers on either shard.
TEST(HistoryTest, NoGapNoDuplicateWhileRecoveringUnderLoad) {
  InProcessServer server(HistoryOptions(100000));
  ASSERT_FALSE(server.Start().has_value());
  constexpr int kRooms = 6;
  std::atomic<bool> stop{false};
  std::vector<std::string> rooms;
  for (int r = 0; r < kRooms; ++r) rooms.push_back("h:load-" + std::to_string(r));
  WsClient pub;
  ASSERT_TRUE(ConnectWelcomed(pub, server.port(), "127.0.0.9"));
  // A round publishes once to every room; the last publication of a round carries an id and
  // the next round waits for its ok, so the server is never more than a round behind and the
  // stream goes on for as long as the test recovers.
  std::atomic<uint64_t> rounds{0};
  std::string publisher_problem;
  std::thread publisher([&] {
    for (uint64_t n = 1; !stop.load(); ++n) {
      for (int r = 0; r < kRooms; ++r) {
        pub.SendText(PubCommand(rooms[r], std::to_string(n),
                                r + 1 == kRooms ? std::optional<uint64_t>(n) : std::nullopt));
      }
      if (!ReadUntilOk(pub, n, nullptr)) {
        publisher_problem = "no ok for round " + std::to_string(n);
        return;
      }
      rounds.store(n);
    }
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop, publisher};
  // Well into the stream before the first recovery.
  ASSERT_TRUE(WaitUntil([&] { return rounds.load() >= 50; }, kReadTimeoutMs))
      << "the publisher is stuck at round " << rounds.load();
  for (int r = 0; r < kRooms; ++r) {
    for (int k = 0; k < 3; ++k) {
      WsClient c;
      ASSERT_TRUE(ConnectWelcomed(c, server.port(), SourceIp(r * 3 + k)));
      // Learn the epoch and a recent seq, then recover from a bit before it.
      c.SendText(R"({"op":"sub","room":")" + rooms[r] + R"(","id":1})");
      auto first = ReadUntilOk(c, 1, nullptr);
      ASSERT_TRUE(first);
      c.SendText(R"({"op":"unsub","room":")" + rooms[r] + R"(","id":2})");
      std::vector<uint64_t> ignored;
      ASSERT_TRUE(ReadUntilOk(c, 2, &ignored));
      uint64_t since = first->seq > 20 ? first->seq - 20 : 0;
      c.SendText(SubSince(rooms[r], since, first->epoch, 3));
      std::vector<uint64_t> seqs;
      auto rec = ReadUntilOk(c, 3, &seqs);
      ASSERT_TRUE(rec);
      EXPECT_EQ(rec->recovered, true);
      // Drop messages that were still in flight from before the unsub.
      while (!seqs.empty() && seqs.front() != since + 1) seqs.erase(seqs.begin());
      // The replay alone covers since+1 .. first->seq, before any live message is read.
      EXPECT_GE(seqs.size(), first->seq - since) << rooms[r] << " replayed too little";
      for (int i = 0; i < 200; ++i) {
        auto m = c.ReadMessage(kReadTimeoutMs);
        ASSERT_TRUE(m);
        seqs.push_back(JsonUint(*m, "seq").value_or(0));
      }
      for (size_t i = 0; i < seqs.size(); ++i) {
        ASSERT_EQ(seqs[i], since + 1 + i) << rooms[r] << " at " << i;
      }
    }
  }
  stop = true;
  publisher.join();
  EXPECT_EQ(publisher_problem, "");
}

}  // namespace
}  // namespace ringcast::testing
