#include "shard/metrics.h"

#include <algorithm>
#include <atomic>

#include "core/crc16.h"
#include "proto/json_writer.h"

namespace ringcast::shard {

namespace {

struct Metric {
  const char* name;  // without the ringcast_ prefix
  const char* help;
  bool counter;  // counter (…_total) or gauge
  std::atomic<uint64_t> ShardStats::*field;
};

constexpr Metric kMetrics[] = {
    {"connections", "Open connections.", false, &ShardStats::connections_open},
    {"rooms", "Rooms this shard owns (subscribed, or kept for history); not users' @ rooms.", false,
     &ShardStats::rooms},
    {"connections_accepted", "Connections accepted.", true, &ShardStats::connections_accepted},
    {"connections_rejected", "Connections refused without a slot (HTTP reserve full too).", true,
     &ShardStats::connections_rejected},
    {"upgrades_refused_full", "WebSocket upgrades refused with 503: the shard was full.", true,
     &ShardStats::upgrades_refused_full},
    {"accept_errors", "Accepts that failed (EMFILE, ENFILE, ...); retried next tick.", true,
     &ShardStats::accept_errors},
    {"handshakes_failed", "Handshakes refused or timed out.", true, &ShardStats::handshakes_failed},
    {"messages_in", "Commands received from clients.", true, &ShardStats::messages_in},
    {"messages_out", "Frames queued to clients (deliveries and replies).", true,
     &ShardStats::messages_out},
    {"publications", "Publications framed by their room's owner.", true, &ShardStats::publications},
    {"deliveries", "Publications queued to subscribers.", true, &ShardStats::deliveries},
    {"bytes_out", "Bytes written to clients.", true, &ShardStats::bytes_out},
    {"sends", "sendmsg calls (each carries every frame queued since the last).", true,
     &ShardStats::sends},
    {"send_frames", "Frames handed to sendmsg (send_frames / sends = frames per call).", true,
     &ShardStats::send_frames},
    {"short_sends", "sendmsg calls the kernel took only part of (resumed).", true,
     &ShardStats::short_sends},
    {"slow_consumer_closes", "Connections closed with 4000 (slow consumer).", true,
     &ShardStats::slow_consumer_closes},
    {"protocol_closes", "Connections closed for a protocol violation.", true,
     &ShardStats::protocol_closes},
    {"idle_closes", "Connections closed by the idle timeout.", true, &ShardStats::idle_closes},
    {"rate_limited", "Commands refused by the rate limit.", true, &ShardStats::rate_limited},
    {"rate_limit_closes", "Connections closed with 1008 for rate abuse.", true,
     &ShardStats::rate_limit_closes},
    {"publishers_paused", "Times a publisher stopped being read (backpressure).", true,
     &ShardStats::publishers_paused},
    {"paused_ms", "Milliseconds during which at least one publisher was paused.", true,
     &ShardStats::paused_ms},
    {"drained_while_paused",
     "Sends that emptied a queue while a publisher was paused (it resumed too late).", true,
     &ShardStats::drained_while_paused},
    {"queued_bytes", "Bytes waiting in connections' out-queues.", false, &ShardStats::queued_bytes},
    {"bus_queue_depth", "Cross-shard messages waiting for or from this shard.", false,
     &ShardStats::bus_depth},
    {"bus_overflowed", "Cross-shard messages that waited for a full ring.", true,
     &ShardStats::bus_overflowed},
    {"doorbells", "Wake-ups rung on sleeping shards (MSG_RING).", true, &ShardStats::doorbells},
    {"recv_enobufs", "Receives that found the buffer ring empty.", true, &ShardStats::recv_enobufs},
    {"history_rooms", "Rooms keeping history.", false, &ShardStats::history_rooms},
    {"history_messages", "Messages held in history.", false, &ShardStats::history_messages},
    {"history_bytes", "Bytes held in history.", false, &ShardStats::history_bytes},
    {"timers", "Pending timer entries (connections, requests).", false, &ShardStats::timers},
    {"history_rooms_evicted",
     "Idle history rooms forgotten at limits.max_idle_history_rooms or max_history_bytes.", true,
     &ShardStats::history_rooms_evicted},
    {"presence_leaves_pending",
     "Presence members gone whose leave waits out presence.leave_delay_ms.", false,
     &ShardStats::presence_leaves_pending},
    {"redis_connections", "Redis connections (cluster mode).", false,
     &ShardStats::redis_connections},
    {"redis_connections_up", "Redis connections that are connected.", false,
     &ShardStats::redis_connections_up},
    {"redis_reconnects", "Redis connections made again after a loss.", true,
     &ShardStats::redis_reconnects},
    {"redis_errors",
     "Redis commands failed, refused (queue full or down) or answered with an error.", true,
     &ShardStats::redis_errors},
    {"redis_publishes", "Publications handed to Redis.", true, &ShardStats::redis_publishes},
    {"redis_messages_in", "Messages received from Redis subscriptions.", true,
     &ShardStats::redis_messages_in},
    {"redis_bad_messages", "Messages on ringcast's channels that were not ringcast envelopes.",
     true, &ShardStats::redis_bad_messages},
    {"redis_pubsub_lag_ms", "Round trip of the last pub/sub probe through Redis (shard 0).", false,
     &ShardStats::redis_pubsub_lag_ms},
    {"redis_gaps", "Rooms whose subscribers were told `gap` after a Redis loss.", true,
     &ShardStats::redis_gaps},
    {"redis_local_only", "Publications delivered on this node only because Redis was down.", true,
     &ShardStats::redis_local_only},
    {"redis_redirects",
     "Redis Cluster: MOVED, ASK and TRYAGAIN answers followed, and subscriptions moved with "
     "their slot.",
     true, &ShardStats::redis_redirects},
    {"redis_cluster_masters", "Redis Cluster: masters serving slots, in the shards' slot maps.",
     false, &ShardStats::redis_cluster_masters},
    {"redis_cluster_slots", "Redis Cluster: hash slots with a known master, in the shards' maps.",
     false, &ShardStats::redis_cluster_slots},
};

uint64_t Read(const ShardStats* s, const Metric& m) {
  return (s->*m.field).load(std::memory_order_relaxed);
}

}  // namespace

std::string Metrics::RedisHealth() const {
  uint64_t conns = 0, up = 0;
  for (const ShardStats* s : shards_) {
    conns += s->redis_connections.load(std::memory_order_relaxed);
    up += s->redis_connections_up.load(std::memory_order_relaxed);
  }
  if (conns == 0) return "";
  std::string out = up == conns ? "redis: up\n"
                                : "redis: degraded (" + std::to_string(up) + " of " +
                                      std::to_string(conns) +
                                      " connections up): local delivery only where down\n";
  // Redis Cluster: each shard keeps its own slot map; the least complete one counts.
  uint64_t masters = 0, slots = core::kRedisSlots, redirects = 0;
  for (const ShardStats* s : shards_) {
    masters = std::max(masters, s->redis_cluster_masters.load(std::memory_order_relaxed));
    slots = std::min(slots, s->redis_cluster_slots.load(std::memory_order_relaxed));
    redirects += s->redis_redirects.load(std::memory_order_relaxed);
  }
  if (masters > 0) {
    out += "redis cluster: " + std::to_string(masters) + " masters, " + std::to_string(slots) +
           " of " + std::to_string(core::kRedisSlots) + " slots covered, " +
           std::to_string(redirects) + " redirects\n";
  }
  return out;
}

std::string Metrics::StatsJson() const {
  std::string out;
  proto::JsonWriter w(&out);
  w.BeginObject();
  w.Field("node", node_id_);
  w.Field("shards", static_cast<uint64_t>(shards_.size()));
  w.Key("total");
  w.BeginObject();
  for (const Metric& m : kMetrics) {
    uint64_t sum = 0;
    for (const ShardStats* s : shards_) sum += Read(s, m);
    w.Field(m.name, sum);
  }
  w.EndObject();
  w.Key("per_shard");
  w.BeginArray();
  for (const ShardStats* s : shards_) {
    w.BeginObject();
    for (const Metric& m : kMetrics) w.Field(m.name, Read(s, m));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.Flush();
  return out;
}

std::string Metrics::PrometheusText() const {
  std::string out;
  for (const Metric& m : kMetrics) {
    std::string name = std::string("ringcast_") + m.name + (m.counter ? "_total" : "");
    out += "# HELP " + name + " " + m.help + "\n";
    out += "# TYPE " + name + (m.counter ? " counter\n" : " gauge\n");
    uint64_t sum = 0;
    for (size_t i = 0; i < shards_.size(); ++i) {
      uint64_t v = Read(shards_[i], m);
      sum += v;
      out += name + "{shard=\"" + std::to_string(i) + "\"} " + std::to_string(v) + "\n";
    }
    out += name + "{shard=\"all\"} " + std::to_string(sum) + "\n";
  }
  return out;
}

}  // namespace ringcast::shard
