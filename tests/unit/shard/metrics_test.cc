// Metrics: /api/stats JSON and /metrics Prometheus text hold every exported
// counter of ShardStats, per shard and in total, with the values set.
#include "shard/metrics.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "shard/shard_stats.h"

namespace ringcast::shard {
namespace {

struct Counter {
  std::string_view name;  // as in docs/protocol.md (GET /api/stats)
  bool counter;           // Prometheus: ringcast_<name>_total; else a gauge ringcast_<name>
  std::atomic<uint64_t> ShardStats::*field;
};

// Every counter docs/protocol.md lists, with the ShardStats field behind it.
constexpr Counter kExported[] = {
    {"connections", false, &ShardStats::connections_open},
    {"connections_accepted", true, &ShardStats::connections_accepted},
    {"connections_rejected", true, &ShardStats::connections_rejected},
    {"upgrades_refused_full", true, &ShardStats::upgrades_refused_full},
    {"accept_errors", true, &ShardStats::accept_errors},
    {"handshakes_failed", true, &ShardStats::handshakes_failed},
    {"messages_in", true, &ShardStats::messages_in},
    {"messages_out", true, &ShardStats::messages_out},
    {"publications", true, &ShardStats::publications},
    {"deliveries", true, &ShardStats::deliveries},
    {"bytes_out", true, &ShardStats::bytes_out},
    {"sends", true, &ShardStats::sends},
    {"send_frames", true, &ShardStats::send_frames},
    {"short_sends", true, &ShardStats::short_sends},
    {"slow_consumer_closes", true, &ShardStats::slow_consumer_closes},
    {"protocol_closes", true, &ShardStats::protocol_closes},
    {"idle_closes", true, &ShardStats::idle_closes},
    {"rate_limited", true, &ShardStats::rate_limited},
    {"rate_limit_closes", true, &ShardStats::rate_limit_closes},
    {"publishers_paused", true, &ShardStats::publishers_paused},
    {"paused_ms", true, &ShardStats::paused_ms},
    {"drained_while_paused", true, &ShardStats::drained_while_paused},
    {"queued_bytes", false, &ShardStats::queued_bytes},
    {"bus_queue_depth", false, &ShardStats::bus_depth},
    {"bus_overflowed", true, &ShardStats::bus_overflowed},
    {"doorbells", true, &ShardStats::doorbells},
    {"recv_enobufs", true, &ShardStats::recv_enobufs},
    {"history_rooms", false, &ShardStats::history_rooms},
    {"history_messages", false, &ShardStats::history_messages},
    {"history_bytes", false, &ShardStats::history_bytes},
    {"timers", false, &ShardStats::timers},
    {"history_rooms_evicted", true, &ShardStats::history_rooms_evicted},
    {"presence_leaves_pending", false, &ShardStats::presence_leaves_pending},
    {"rooms", false, &ShardStats::rooms},
    {"redis_connections", false, &ShardStats::redis_connections},
    {"redis_connections_up", false, &ShardStats::redis_connections_up},
    {"redis_reconnects", true, &ShardStats::redis_reconnects},
    {"redis_errors", true, &ShardStats::redis_errors},
    {"redis_publishes", true, &ShardStats::redis_publishes},
    {"redis_messages_in", true, &ShardStats::redis_messages_in},
    {"redis_bad_messages", true, &ShardStats::redis_bad_messages},
    {"redis_pubsub_lag_ms", false, &ShardStats::redis_pubsub_lag_ms},
    {"redis_gaps", true, &ShardStats::redis_gaps},
    {"redis_local_only", true, &ShardStats::redis_local_only},
    {"redis_redirects", true, &ShardStats::redis_redirects},
    {"redis_cluster_masters", false, &ShardStats::redis_cluster_masters},
    {"redis_cluster_slots", false, &ShardStats::redis_cluster_slots},
};

constexpr size_t kShards = 3;

// Distinct, large values: shard s, counter i -> (s + 1) * 1e9 + i * 1000 + s.
uint64_t ValueOf(size_t shard, size_t i) {
  return (shard + 1) * 1'000'000'000ull + i * 1000 + shard;
}

class MetricsOutputTest : public testing::Test {
 protected:
  MetricsOutputTest() : metrics_("node-7") {
    std::vector<const ShardStats*> shards;
    for (size_t s = 0; s < kShards; ++s) {
      size_t i = 0;
      for (const Counter& c : kExported) (stats_[s].*c.field).store(ValueOf(s, i++));
      shards.push_back(&stats_[s]);
    }
    metrics_.SetShards(std::move(shards));
  }

  static uint64_t Total(size_t i) {
    uint64_t sum = 0;
    for (size_t s = 0; s < kShards; ++s) sum += ValueOf(s, i);
    return sum;
  }

  ShardStats stats_[kShards];
  Metrics metrics_;
};

// A new field in ShardStats must be added to the table above, to Metrics and
// to the docs.
TEST_F(MetricsOutputTest, TheTablesCoverEveryShardStatsField) {
  EXPECT_EQ(sizeof(ShardStats), std::size(kExported) * sizeof(std::atomic<uint64_t>));
}

TEST_F(MetricsOutputTest, StatsJsonHoldsEveryCounterPerShardAndInTotal) {
  std::string json = metrics_.StatsJson();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(std::string_view(doc["node"].get_string().value()), "node-7");
  EXPECT_EQ(doc["shards"].get_uint64().value(), kShards);

  simdjson::dom::object total = doc["total"].get_object().value();
  simdjson::dom::array per_shard = doc["per_shard"].get_array().value();
  ASSERT_EQ(per_shard.size(), kShards);
  EXPECT_EQ(total.size(), std::size(kExported)) << "no counter more, none less";
  for (size_t i = 0; i < std::size(kExported); ++i) {
    const Counter& c = kExported[i];
    SCOPED_TRACE(c.name);
    uint64_t got = 0;
    ASSERT_EQ(total[c.name].get_uint64().get(got), simdjson::SUCCESS);
    EXPECT_EQ(got, Total(i));
    for (size_t s = 0; s < kShards; ++s) {
      simdjson::dom::object shard = per_shard.at(s).get_object().value();
      EXPECT_EQ(shard.size(), std::size(kExported));
      ASSERT_EQ(shard[c.name].get_uint64().get(got), simdjson::SUCCESS);
      EXPECT_EQ(got, ValueOf(s, i));
    }
  }
}

TEST_F(MetricsOutputTest, PrometheusTextHoldsEveryCounterPerShardAndInTotal) {
  std::string text = metrics_.PrometheusText();
  for (size_t i = 0; i < std::size(kExported); ++i) {
    const Counter& c = kExported[i];
    std::string name = "ringcast_" + std::string(c.name) + (c.counter ? "_total" : "");
    SCOPED_TRACE(name);
    EXPECT_NE(text.find("# HELP " + name + " "), std::string::npos);
    EXPECT_NE(text.find("# TYPE " + name + (c.counter ? " counter\n" : " gauge\n")),
              std::string::npos);
    for (size_t s = 0; s < kShards; ++s) {
      std::string sample = "\n" + name + "{shard=\"" + std::to_string(s) + "\"} " +
                           std::to_string(ValueOf(s, i)) + "\n";
      EXPECT_NE(text.find(sample), std::string::npos) << sample;
    }
    std::string all = "\n" + name + "{shard=\"all\"} " + std::to_string(Total(i)) + "\n";
    EXPECT_NE(text.find(all), std::string::npos) << all;
  }
  // Every line is a comment or one sample of a known metric: 2 comments and
  // kShards + 1 samples per counter.
  size_t lines = 0;
  for (char ch : text) lines += ch == '\n' ? 1 : 0;
  EXPECT_EQ(lines, std::size(kExported) * (2 + kShards + 1));
  EXPECT_EQ(text.back(), '\n');
}

TEST_F(MetricsOutputTest, ValuesAreReadWhenAsked) {
  stats_[1].connections_open.store(42);
  std::string json = metrics_.StatsJson();
  EXPECT_NE(json.find("\"connections\":42"), std::string::npos) << json;
  EXPECT_NE(metrics_.PrometheusText().find("ringcast_connections{shard=\"1\"} 42\n"),
            std::string::npos);
}

}  // namespace
}  // namespace ringcast::shard
