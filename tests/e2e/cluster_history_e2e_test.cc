// Rooms with history in cluster mode end to end: real ringcast nodes (the
// binary, 2 shards each) through a real redis-server on loopback. Seq and
// epoch are Redis's, so they are one run per room across nodes, and a client
// recovers with `since` on any node. Every wait is bounded; the fixtures
// kill what they started.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "shard/cluster_envelope.h"
#include "shard/cluster_keys.h"
#include "shard/cluster_partitions.h"
#include "tests/support/cluster_nodes.h"
#include "tests/support/e2e_helpers.h"
#include "tests/support/redis_process.h"
#include "tests/support/server_fixture.h"
#include "tests/support/temp_file.h"
#include "tests/support/ws_client.h"

namespace ringcast::testing {
namespace {

constexpr char kHistoryToml[] = R"([namespaces.h]
history_size = 1000
)";

// `n` nodes on `redis` (2 shards each, tests/support/cluster_nodes.h) with
// the history namespace `h` and no command rate limit.
std::vector<std::unique_ptr<ClusterNode>> StartNodes(const RedisProcess& redis,
                                                     const TempFile& config, int n) {
  return StartClusterNodes(n, {redis.url(), config.path(), {"--commands-per-second", "0"}});
}

// A publication as a subscriber saw it.
struct Seen {
  uint64_t seq = 0;
  std::string data;
};

// Reads `n` msgs of `room` (anything else fails), in arrival order.
std::vector<Seen> ReadMsgs(WsClient& c, const std::string& room, size_t n) {
  std::vector<Seen> out;
  while (out.size() < n) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m) {
      ADD_FAILURE() << "only " << out.size() << " of " << n << " messages";
      break;
    }
    if (JsonString(*m, "op") != "msg" || JsonString(*m, "room") != room) {
      ADD_FAILURE() << "unexpected " << *m;
      break;
    }
    out.push_back({JsonUint(*m, "seq").value_or(0), JsonField(*m, "data")});
  }
  return out;
}

// Reads the `ok`s of ids 1..n (in any order) and returns their seqs.
std::vector<uint64_t> ReadPubOks(WsClient& c, uint64_t n) {
  std::vector<uint64_t> seqs(n + 1, 0);
  for (uint64_t i = 0; i < n; ++i) {
    auto m = c.ReadMessage(kReadTimeoutMs);
    if (!m || JsonString(*m, "op") != "ok") {
      ADD_FAILURE() << "expected an ok, got " << m.value_or("nothing");
      break;
    }
    uint64_t id = JsonUint(*m, "id").value_or(0);
    if (id == 0 || id > n) {
      ADD_FAILURE() << "unexpected " << *m;
      break;
    }
    seqs[id] = JsonUint(*m, "seq").value_or(0);
  }
  return seqs;
}

std::string SubSince(const std::string& room, uint64_t seq, const std::string& epoch, uint64_t id) {
  return R"({"op":"sub","room":")" + room + R"(","id":)" + std::to_string(id) +
         R"(,"since":{"seq":)" + std::to_string(seq) + R"(,"epoch":)" + JsonQuote(epoch) + "}}";
}

TEST(ClusterHistoryE2eTest, PublicationsFromEveryNodeGetOneRunOfSeqsInOneOrder) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  auto nodes = StartNodes(redis, config, 3);
  std::vector<std::unique_ptr<WsClient>> subs;
  for (size_t n = 0; n < nodes.size(); ++n) {
    subs.push_back(Connect(*nodes[n], "s" + std::to_string(n), n));
    ASSERT_TRUE(Subscribe(*subs.back(), "h:game", 1));
  }
  constexpr uint64_t kPer = 40;
  std::vector<std::unique_ptr<WsClient>> pubs;
  for (size_t n = 0; n < nodes.size(); ++n) {
    pubs.push_back(Connect(*nodes[n], "p" + std::to_string(n), 5 + n));
  }
  for (uint64_t i = 1; i <= kPer; ++i) {
    for (size_t n = 0; n < pubs.size(); ++n) {
      pubs[n]->SendText(
          PubCommand("h:game", "\"" + std::to_string(n) + "-" + std::to_string(i) + "\"", i));
    }
  }
  const uint64_t total = kPer * pubs.size();
  // Every ok carries a cluster-wide seq; together they are 1..total.
  std::set<uint64_t> ok_seqs;
  for (auto& p : pubs) {
    std::vector<uint64_t> seqs = ReadPubOks(*p, kPer);
    for (uint64_t i = 1; i <= kPer; ++i) {
      // One publisher's publications keep its order.
      if (i > 1) {
        EXPECT_GT(seqs[i], seqs[i - 1]);
      }
      ok_seqs.insert(seqs[i]);
    }
  }
  ASSERT_EQ(ok_seqs.size(), total);
  EXPECT_EQ(*ok_seqs.begin(), 1u);
  EXPECT_EQ(*ok_seqs.rbegin(), total);
  // Every node delivers 1..total in seq order, the same data at each seq.
  std::vector<Seen> first;
  for (auto& s : subs) {
    std::vector<Seen> seen = ReadMsgs(*s, "h:game", total);
    ASSERT_EQ(seen.size(), total);
    for (uint64_t i = 0; i < total; ++i) EXPECT_EQ(seen[i].seq, i + 1);
    if (first.empty()) {
      first = seen;
      continue;
    }
    for (uint64_t i = 0; i < total; ++i) EXPECT_EQ(seen[i].data, first[i].data) << i;
  }
}

TEST(ClusterHistoryE2eTest, AClientMovesToAnotherNodeAndRecoversWhilePublishingGoesOn) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  auto nodes = StartNodes(redis, config, 2);
  auto pub = Connect(*nodes[0], "pub", 1);
  uint64_t next_id = 0;
  auto publish = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ++next_id;
      pub->SendText(PubCommand("h:feed", std::to_string(next_id), next_id));
    }
  };
  auto client = Connect(*nodes[0], "mover", 2);
  client->SendText(R"({"op":"sub","room":"h:feed","id":1})");
  auto ok = client->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(ok && JsonString(*ok, "op") == "ok") << ok.value_or("nothing");
  const std::string epoch = JsonString(*ok, "epoch");
  ASSERT_FALSE(epoch.empty());
  publish(20);
  std::vector<Seen> before = ReadMsgs(*client, "h:feed", 20);
  ASSERT_EQ(before.size(), 20u);
  const uint64_t last = before.back().seq;
  client->Close();
  publish(30);  // missed while moving
  auto moved = Connect(*nodes[1], "mover", 3);
  moved->SendText(SubSince("h:feed", last, epoch, 2));
  publish(30);  // racing the recovery on the other node
  // Replay up to the ok, then live: every seq after `last` once, in order.
  // Where the replay ends depends on when the read met the racing batch;
  // the next batch after the ok is live either way.
  std::vector<uint64_t> got;
  bool recovered = false, answered = false;
  while (got.size() < 80 || !answered) {
    auto m = moved->ReadMessage(kReadTimeoutMs);
    ASSERT_TRUE(m) << "after " << got.size() << " messages";
    if (JsonString(*m, "op") == "ok") {
      ASSERT_FALSE(answered);
      answered = true;
      recovered = JsonBool(*m, "recovered").value_or(false);
      EXPECT_EQ(JsonString(*m, "epoch"), epoch);
      EXPECT_EQ(JsonUint(*m, "seq"), last + got.size()) << "the replay ends at the ok's seq";
      publish(20);
      continue;
    }
    ASSERT_EQ(JsonString(*m, "op"), "msg") << *m;
    got.push_back(JsonUint(*m, "seq").value_or(0));
    EXPECT_EQ(JsonField(*m, "data"), std::to_string(got.back()));
  }
  EXPECT_TRUE(recovered);
  EXPECT_EQ(got.size(), 80u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], last + 1 + i);
  std::vector<uint64_t> seqs = ReadPubOks(*pub, next_id);
  for (uint64_t i = 1; i <= next_id; ++i) EXPECT_EQ(seqs[i], i);
}

// A seq that skips past the last one a node delivered (here a publication
// put on the room's channel by hand, as a lost message would look) makes the
// node tell its subscribers `gap` before delivering it; a seq it delivered
// already is dropped.
TEST(ClusterHistoryE2eTest, ASeqJumpSendsGapAndARepeatIsDropped) {
  RedisProcess redis;
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  auto nodes = StartNodes(redis, config, 1);
  auto client = Connect(*nodes[0], "watcher", 1);
  client->SendText(R"({"op":"sub","room":"h:jump","id":1})");
  auto ok = client->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(ok && JsonString(*ok, "op") == "ok") << ok.value_or("nothing");
  client->SendText(PubCommand("h:jump", "1", 2));
  std::vector<std::string> got;
  for (int i = 0; i < 2; ++i) got.push_back(client->ReadMessage(kReadTimeoutMs).value_or(""));
  std::sort(got.begin(), got.end());  // the echo and the ok, in either order
  ASSERT_EQ(JsonString(got[0], "op"), "msg") << got[0];
  ASSERT_EQ(JsonUint(got[0], "seq"), 1u);
  const std::string epoch = JsonString(*ok, "epoch");

  shard::ClusterPartitions partitions;
  shard::ClusterKeys keys(&partitions);
  RedisSync sync(redis.port());
  ASSERT_TRUE(sync.connected());
  auto inject = [&](uint64_t seq, const std::string& data) {
    shard::ClusterEnvelope e;
    e.node = "elsewhere";
    e.room = "h:jump";
    e.from = "ghost";
    e.seq = seq;
    e.epoch = epoch;
    e.data = data;
    std::string payload;
    e.Encode(&payload);
    return sync.Text({"PUBLISH", keys.RoomChannel("h:jump"), payload});
  };
  ASSERT_EQ(inject(1, "\"again\""), "1");  // delivered already: dropped
  ASSERT_EQ(inject(4, "\"four\""), "1");   // 2 and 3 never came
  auto gap = client->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(gap);
  EXPECT_EQ(JsonString(*gap, "op"), "gap") << *gap;
  EXPECT_EQ(JsonString(*gap, "room"), "h:jump");
  auto four = client->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(four);
  EXPECT_EQ(JsonUint(*four, "seq"), 4u) << *four;
  EXPECT_EQ(JsonField(*four, "data"), "\"four\"");
}

// Redis SIGKILLed: a publication to a history room is refused (no seq can be
// given), and after the restart a client that recovers learns whether the
// history survived: a new epoch without persistence, recovered:true with it.
void RecoverAcrossRedisRestart(bool appendonly) {
  RedisOptions options;
  options.appendonly = appendonly;
  RedisProcess redis(options);
  ASSERT_TRUE(redis.Start()) << redis.error();
  TempFile config(kHistoryToml);
  auto nodes = StartNodes(redis, config, 2);
  auto client = Connect(*nodes[0], "reader", 1);
  client->SendText(R"({"op":"sub","room":"h:log","id":1})");
  auto ok = client->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(ok && JsonString(*ok, "op") == "ok") << ok.value_or("nothing");
  const std::string epoch = JsonString(*ok, "epoch");
  auto pub = Connect(*nodes[1], "writer", 2);
  for (uint64_t i = 1; i <= 5; ++i) pub->SendText(PubCommand("h:log", std::to_string(i), i));
  std::vector<uint64_t> seqs = ReadPubOks(*pub, 5);
  ASSERT_EQ(ReadMsgs(*client, "h:log", 5).size(), 5u);

  redis.Kill();
  ASSERT_TRUE(WaitUntil([&] { return !RedisUp(nodes[1]->port()); }, 10000));
  pub->SendText(PubCommand("h:log", "6", 6));
  EXPECT_TRUE(NextIsError(*pub, "unavailable", 6));

  ASSERT_TRUE(redis.Start()) << redis.error();
  for (auto& node : nodes) ASSERT_TRUE(WaitUntil([&] { return RedisUp(node->port()); }, 10000));
  auto back = Connect(*nodes[1], "reader", 3);
  back->SendText(SubSince("h:log", seqs[5], epoch, 2));
  auto answer = back->ReadMessage(kReadTimeoutMs);
  ASSERT_TRUE(answer && JsonString(*answer, "op") == "ok") << answer.value_or("nothing");
  if (appendonly) {
    EXPECT_EQ(JsonBool(*answer, "recovered"), true) << *answer;
    EXPECT_EQ(JsonString(*answer, "epoch"), epoch);
    EXPECT_EQ(JsonUint(*answer, "seq"), 5u);
  } else {
    EXPECT_EQ(JsonBool(*answer, "recovered"), false) << *answer;
    EXPECT_NE(JsonString(*answer, "epoch"), epoch);
  }
}

TEST(ClusterHistoryE2eTest, RedisRestartWithoutPersistenceRecoversAsFalse) {
  RecoverAcrossRedisRestart(false);
}

TEST(ClusterHistoryE2eTest, RedisRestartWithAppendonlyRecoversAsTrue) {
  RecoverAcrossRedisRestart(true);
}

}  // namespace
}  // namespace ringcast::testing
