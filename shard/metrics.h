// Metrics: every shard's counters (ShardStats) as JSON for /api/stats and as
// Prometheus text for /metrics, per shard and in total. The counters are
// relaxed atomics written by their own shard, so any shard reads them all.
#pragma once

#include <string>
#include <vector>

#include "shard/shard_stats.h"

namespace ringcast::shard {

class Metrics {
 public:
  explicit Metrics(std::string node_id) : node_id_(std::move(node_id)) {}
  // Every shard's counters, in shard order (set before the shards run).
  void SetShards(std::vector<const ShardStats*> shards) { shards_ = std::move(shards); }

  std::string StatsJson() const;
  // Cluster mode's line for /healthz: "redis: up", or "redis: degraded (U of
  // N connections up)"; "" without --redis.
  std::string RedisHealth() const;
  std::string PrometheusText() const;

 private:
  std::string node_id_;
  std::vector<const ShardStats*> shards_;
};

}  // namespace ringcast::shard
