// ShardStats: one shard's counters. Written only by the shard thread (plain
// load + store, no read-modify-write), read by anyone with relaxed loads, so
// counting costs the hot path nothing but a store.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringcast::shard {

struct ShardStats {
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};   // no slot, not even in the HTTP reserve
  std::atomic<uint64_t> upgrades_refused_full{0};  // 503: max_connections_per_shard reached
  std::atomic<uint64_t> accept_errors{0};          // accept failed (EMFILE, ENFILE, ...)
  std::atomic<uint64_t> handshakes_failed{0};
  std::atomic<uint64_t> messages_in{0};   // commands received
  std::atomic<uint64_t> publications{0};  // frames built by this shard as owner
  std::atomic<uint64_t> deliveries{0};    // frames queued to local connections
  std::atomic<uint64_t> messages_out{0};  // every frame queued (deliveries, replies)
  std::atomic<uint64_t> queued_bytes{0};  // gauge: bytes waiting in out-queues
  std::atomic<uint64_t> bus_depth{0};     // gauge: bus messages waiting for this shard
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> sends{0};        // sendmsg calls
  std::atomic<uint64_t> send_frames{0};  // frames (iovecs) handed to those calls
  std::atomic<uint64_t> short_sends{0};
  std::atomic<uint64_t> slow_consumer_closes{0};
  std::atomic<uint64_t> protocol_closes{0};
  std::atomic<uint64_t> idle_closes{0};
  std::atomic<uint64_t> publishers_paused{0};     // backpressure: reading stopped
  std::atomic<uint64_t> paused_ms{0};             // time at least one publisher was paused
  std::atomic<uint64_t> drained_while_paused{0};  // queues emptied while a publisher was held
  std::atomic<uint64_t> rate_limited{0};          // commands refused by the token bucket
  std::atomic<uint64_t> rate_limit_closes{0};
  std::atomic<uint64_t> recv_enobufs{0};
  std::atomic<uint64_t> bus_overflowed{0};  // bus messages that waited in overflow
  std::atomic<uint64_t> doorbells{0};
  std::atomic<uint64_t> history_rooms{0};     // owned rooms that keep history
  std::atomic<uint64_t> history_messages{0};  // as of the last sweep
  std::atomic<uint64_t> history_bytes{0};
  std::atomic<uint64_t> timers{0};                   // timer wheel entries, as of this round
  std::atomic<uint64_t> history_rooms_evicted{0};    // idle history rooms forgotten at a limit
  std::atomic<uint64_t> presence_leaves_pending{0};  // gauge: leaves waiting out their delay
  std::atomic<uint64_t> rooms{0};  // gauge: owned rooms, personal rooms ("@user") not counted
  // Cluster mode (shard/backplane.h); all 0 without --redis.
  std::atomic<uint64_t> redis_connections{0};     // gauge: Redis connections of this shard
  std::atomic<uint64_t> redis_connections_up{0};  // gauge: of them, connected
  std::atomic<uint64_t> redis_reconnects{0};      // connections made again after a loss
  std::atomic<uint64_t> redis_errors{0};          // failed or refused commands, error replies
  std::atomic<uint64_t> redis_publishes{0};       // publications handed to Redis
  std::atomic<uint64_t> redis_messages_in{0};     // messages received from subscriptions
  std::atomic<uint64_t> redis_bad_messages{0};    // messages on our channels we could not read
  std::atomic<uint64_t> redis_pubsub_lag_ms{0};   // gauge: last probe's round trip (shard 0)
  std::atomic<uint64_t> redis_gaps{0};            // rooms whose subscribers were sent `gap`
  std::atomic<uint64_t> redis_local_only{0};      // publications delivered locally: Redis down
  // Redis Cluster (--redis-cluster) only.
  std::atomic<uint64_t> redis_redirects{0};  // MOVED/ASK/TRYAGAIN followed, subscriptions moved
  std::atomic<uint64_t> redis_cluster_masters{
      0};  // gauge: masters serving slots, per the shard's map
  std::atomic<uint64_t> redis_cluster_slots{0};  // gauge: slots with a known master (of 16384)
};

inline void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline void Drop(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

}  // namespace ringcast::shard
