// The bundled load generator against a real ringcast process: a short paced fanout must account
// for every delivery exactly (deliveries == expected, no gaps, no errors), and the JSON carries
// the fields scripts read. Both processes are children that ChildServer kills and reaps.
// Against two independent nodes (no Redis: nothing crosses between them), the generator must
// dial each connection's planned node, which each node's own counters confirm.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/e2e_helpers.h"
#include "tests/support/server_fixture.h"
#include "tests/support/ws_client.h"

#ifndef RINGCAST_LOAD_BINARY
#error "RINGCAST_LOAD_BINARY must name the built ringcast-load executable"
#endif

namespace ringcast::testing {
namespace {

// How long the generator may wait after the window for deliveries still in flight: it stops as
// soon as all have arrived, so this bound costs nothing on a quick machine. The default (2 s)
// was too short under ASan with CPU load: the server delivered 30k/s of the 100k/s asked, and
// the generator stopped with half of them still coming.
constexpr const char* kDrainS = "30";
constexpr int kLoadExitMs = 60000;

// A real two-shard ringcast for the generator to measure.
class LoadRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server.StartListening({"--shards", "2", "--no-pin", "--commands-per-second", "0"}))
        << server.Stderr();
    url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws";
  }

  ChildServer server{RINGCAST_BINARY};
  std::string url;
};

// Every message published in the window reached every receiver it was meant
// for, once and in order, without an error.
void ExpectExactAccounting(const std::string& out) {
  auto deliveries = JsonUint(out, "deliveries");
  auto expected = JsonUint(out, "expected_deliveries");
  ASSERT_TRUE(deliveries && expected) << out;
  EXPECT_EQ(*deliveries, *expected) << out;
  EXPECT_EQ(JsonUint(out, "gaps"), 0u) << out;
  EXPECT_EQ(JsonUint(out, "reorders"), 0u) << out;
  EXPECT_EQ(JsonUint(out, "errors"), 0u) << out;
}

// A paced run published exactly what its rate asks: `measured` messages due in the window,
// `all` with the warmup, none dropped, each to `receivers` subscribers. No timing is asserted:
// a generator the machine starves sends late, not fewer or more.
void ExpectPublishedAsPlanned(const std::string& out, uint64_t measured, uint64_t all,
                              uint64_t receivers) {
  EXPECT_EQ(JsonUint(out, "published"), measured) << out;
  EXPECT_EQ(JsonUint(out, "published_all"), all) << out;
  EXPECT_EQ(JsonUint(out, "not_sent"), 0u) << out;
  EXPECT_EQ(JsonUint(out, "expected_deliveries"), measured * receivers) << out;
}

TEST_F(LoadRunTest, FanoutCountsEveryDeliveryExactly) {
  ChildServer load(RINGCAST_LOAD_BINARY);
  ASSERT_TRUE(load.Spawn({"fanout",
                          "--url",
                          url,
                          "--rooms",
                          "2",
                          "--subs",
                          "100",
                          "--pubs",
                          "2",
                          "--rate",
                          "2000",
                          "--duration",
                          "2",
                          "--warmup",
                          "0.5",
                          "--drain",
                          kDrainS,
                          "--json",
                          "--quiet",
                          "--server-pid",
                          std::to_string(server.pid())}));
  ASSERT_EQ(load.WaitExit(kLoadExitMs), 0) << load.Stderr();
  const std::string out = load.Stdout();
  ExpectExactAccounting(out);
  // 2 publishers x 1000 msg/s x 2 s, each message to the 50 subscribers of its room, and 0.5 s
  // of warmup before. A paced message counts in the window it was due in (however late the
  // machine let the generator send it), so these hold exactly, and a generator that ignores its
  // rate sends some other number.
  ExpectPublishedAsPlanned(out, 2 * 1000 * 2, 2 * 1000 * 5 / 2, 50);
  EXPECT_EQ(JsonUint(out, "connections"), 102u) << out;
  for (const char* key : {"\"latency_us\"", "\"p50\"", "\"p999\"", "\"deliveries_per_s\"",
                          "\"busiest_thread_pct\"", "\"cpu_s_per_m_deliveries\""}) {
    EXPECT_NE(out.find(key), std::string::npos) << key << " missing in " << out;
  }
}

// More rooms than publishers: each publisher takes turns over its rooms with a
// sequence per room, so every room is published to and nothing reads as a gap.
TEST_F(LoadRunTest, FewerPublishersThanRoomsReachEveryRoomExactly) {
  ChildServer load(RINGCAST_LOAD_BINARY);
  ASSERT_TRUE(load.Spawn({"fanout", "--url", url, "--rooms", "20", "--subs", "100", "--pubs", "3",
                          "--rate", "3000", "--duration", "1.5", "--warmup", "0.5", "--drain",
                          kDrainS, "--json", "--quiet"}));
  ASSERT_EQ(load.WaitExit(kLoadExitMs), 0) << load.Stderr();
  const std::string out = load.Stdout();
  ExpectExactAccounting(out);
  // 3000 msg/s x 1.5 s (and 0.5 s of warmup), each to the 5 subscribers of one room.
  ExpectPublishedAsPlanned(out, 3000 * 3 / 2, 3000 * 2, 5);
  EXPECT_EQ(JsonUint(out, "foreign"), 0u) << out;
}

TEST_F(LoadRunTest, ClosedLoopAcrossTwoProcessesAddsUp) {
  ChildServer load(RINGCAST_LOAD_BINARY);
  ASSERT_TRUE(
      load.Spawn({"fanout", "--url",   url, "--rooms",  "3",     "--subs",     "60",     "--pubs",
                  "3",      "--rate",  "0", "--window", "2",     "--duration", "1",      "--warmup",
                  "0.3",    "--procs", "2", "--drain",  kDrainS, "--json",     "--quiet"}));
  ASSERT_EQ(load.WaitExit(kLoadExitMs), 0) << load.Stderr();
  const std::string out = load.Stdout();
  auto deliveries = JsonUint(out, "deliveries");
  ASSERT_TRUE(deliveries) << out;
  EXPECT_GT(*deliveries, 0u) << out;
  EXPECT_EQ(deliveries, JsonUint(out, "expected_deliveries")) << out;
  EXPECT_EQ(JsonUint(out, "gaps"), 0u) << out;
  EXPECT_EQ(JsonUint(out, "errors"), 0u) << out;
  EXPECT_EQ(JsonUint(out, "procs"), 2u) << out;
}

// Two plain ringcast nodes, not joined: a cluster-shaped target without Redis.
class LoadTwoNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (ChildServer* node : {&node1, &node2}) {
      ASSERT_TRUE(node->StartListening({"--shards", "2", "--no-pin", "--commands-per-second", "0"}))
          << node->Stderr();
    }
    url1 = "ws://127.0.0.1:" + std::to_string(node1.port()) + "/ws";
    url2 = "ws://127.0.0.1:" + std::to_string(node2.port()) + "/ws";
  }

  // Counters of GET /api/stats on one node; each call is one connection of its own.
  static uint64_t Stat(const ChildServer& node, const char* name) {
    std::optional<uint64_t> v = StatsTotal(node.port(), name);
    EXPECT_TRUE(v.has_value()) << name << " from port " << node.port();
    return v.value_or(0);
  }

  ChildServer node1{RINGCAST_BINARY};
  ChildServer node2{RINGCAST_BINARY};
  std::string url1, url2;
};

// --spread room: each room lives whole on one node, with its own publisher there, so every
// delivery is counted exactly, and each node framed exactly its own rooms' publications and
// queued each to exactly the 20 subscribers of that room, all of them local.
TEST_F(LoadTwoNodesTest, WholeRoomsPerNodeCountEveryDeliveryExactly) {
  ChildServer load(RINGCAST_LOAD_BINARY);
  ASSERT_TRUE(load.Spawn({"fanout",
                          "--url",
                          url1 + "," + url2,
                          "--spread",
                          "room",
                          "--rooms",
                          "4",
                          "--subs",
                          "80",
                          "--pubs",
                          "4",
                          "--rate",
                          "2000",
                          "--duration",
                          "1.5",
                          "--warmup",
                          "0.5",
                          "--drain",
                          kDrainS,
                          "--json",
                          "--quiet",
                          "--server-pid",
                          std::to_string(node1.pid()) + "," + std::to_string(node2.pid())}));
  ASSERT_EQ(load.WaitExit(kLoadExitMs), 0) << load.Stderr();
  const std::string out = load.Stdout();
  ExpectExactAccounting(out);
  EXPECT_GT(JsonUint(out, "deliveries").value_or(0), 0u) << out;
  EXPECT_EQ(JsonUint(out, "connections"), 84u) << out;
  for (const std::string& url : {url1, url2}) {
    const std::string share =
        "{\"url\":\"" + url + "\",\"connections_planned\":42,\"subscribers\":40,\"publishers\":2}";
    EXPECT_NE(out.find(share), std::string::npos) << share << " missing in " << out;
  }
  EXPECT_NE(out.find("\"cpu_s_per_m_deliveries\""), std::string::npos) << out;
  const uint64_t pubs1 = Stat(node1, "publications");
  const uint64_t pubs2 = Stat(node2, "publications");
  EXPECT_GT(pubs1, 0u);
  EXPECT_GT(pubs2, 0u);
  EXPECT_EQ(pubs1 + pubs2, JsonUint(out, "published_all")) << out;
  EXPECT_EQ(Stat(node1, "deliveries"), pubs1 * 20);
  EXPECT_EQ(Stat(node2, "deliveries"), pubs2 * 20);
}

// --pub-nodes 1 --sub-nodes 2: publishers dial only node 1 and subscribers only node 2. The
// nodes are not joined, so nothing is delivered, and the commands each node received show
// who came: every `pub` went to node 1, and node 2 got the 20 `sub`s and nothing else.
// (Accepted-connection counts would be racy: the start-up probe of ChildServer may be
// accepted by another shard's listener after a later stats request.)
TEST_F(LoadTwoNodesTest, PinnedRolesDialOnlyTheirNodes) {
  ChildServer load(RINGCAST_LOAD_BINARY);
  ASSERT_TRUE(load.Spawn({"fanout",      "--url",   url1,          "--url",  url2,
                          "--pub-nodes", "1",       "--sub-nodes", "2",      "--rooms",
                          "2",           "--subs",  "20",          "--pubs", "3",
                          "--rate",      "300",     "--duration",  "0.5",    "--warmup",
                          "0.2",         "--drain", "0.2",         "--json", "--quiet"}));
  ASSERT_EQ(load.WaitExit(kLoadExitMs), 0) << load.Stderr();
  const std::string out = load.Stdout();
  EXPECT_EQ(JsonUint(out, "connections_ready"), 23u) << out;
  EXPECT_GT(JsonUint(out, "expected_deliveries").value_or(0), 0u) << out;
  EXPECT_EQ(JsonUint(out, "deliveries"), 0u) << out;
  EXPECT_EQ(JsonUint(out, "errors"), 0u) << out;
  const std::optional<uint64_t> published = JsonUint(out, "published_all");
  ASSERT_GT(published.value_or(0), 0u) << out;
  // The generator has exited; the nodes may still be reading its last frames.
  EXPECT_TRUE(WaitUntil([&] { return StatsTotal(node1.port(), "messages_in") == published; },
                        kReadTimeoutMs))
      << Stat(node1, "messages_in") << " commands on node 1; " << out;
  EXPECT_EQ(Stat(node2, "messages_in"), 20u);
}

TEST(LoadTest, BadCommandLineIsOneLineAndStatus2) {
  ChildServer load(RINGCAST_LOAD_BINARY);
  ASSERT_TRUE(load.Spawn({"fanout", "--url", "http://127.0.0.1:1/ws"}));
  EXPECT_EQ(load.WaitExit(5000), 2);
  EXPECT_NE(load.Stderr().find("ws://"), std::string::npos) << load.Stderr();
}

}  // namespace
}  // namespace ringcast::testing
