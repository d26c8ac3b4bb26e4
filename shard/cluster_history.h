// ClusterHistory: seq, epoch and history of rooms with history in cluster
// mode, kept in Redis by two Lua scripts so that every node sees one
// unbroken run of seqs per room (RoomHistory is the single-node equivalent).
//
// Publish, one EVALSHA per publication, on the room's meta hash and stream
// (ClusterKeys; one slot):
//   1. epoch = HGET meta epoch; when missing (never published, expired,
//      evicted, or Redis restarted without persistence) the caller's fresh
//      candidate becomes the epoch, seq restarts at 0 and the old stream is
//      deleted: a lost meta key starts a new epoch, never a silent reuse.
//   2. seq = HINCRBY meta seq 1; the envelope is the caller's prefix, seq,
//      suffix (SplitMsgAtSeq), so the seq is inside the JSON subscribers get.
//   3. XADD stream MAXLEN = history_size "<seq>-0" t now m envelope. The id
//      is the seq, so "XRANGE stream <since+1>-0 +" is exactly what a client
//      that saw `since` missed. Should the stream hold a larger id (a stream
//      restored without its meta), the script starts a new epoch instead.
//   4. PEXPIRE stream (history_ttl) and meta (its own, longer TTL: losing
//      the seq of a quiet room costs every client a `recovered:false`).
//   5. PUBLISH or SPUBLISH (Redis Cluster) the caller's channel message,
//      given as parts (MessagePart) among which the script puts the seq
//      and epoch it just assigned; returns {seq, epoch}. The message format
//      is the backplane's (ClusterEnvelope); the script only fills it in.
// Lua scripts may not draw random numbers in Redis 7, hence the candidate
// epoch from the caller (NewEpoch: 64 random bits in hex).
//
// Read (subscribe and recovery), one EVALSHA: returns the current epoch and
// seq (creating the epoch as above if missing, so `ok` always has one) and,
// for a client that names its epoch and seq, the stored entries after that
// seq (at most history_size, those younger than history_ttl) and whether
// recovery is proven complete: same epoch, and the entries returned are
// exactly since+1 .. seq without a hole. Anything else is recovered:false;
// entries are still returned when the epoch matches, as the single-node
// broker does.
//
// Builds argv vectors and parses replies; the backplane sends them.
// Immutable after construction: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shard/cluster_keys.h"
#include "shard/cluster_script.h"

namespace ringcast::shard {

// From the room's namespace (history_size, history_ttl_s).
struct HistorySettings {
  uint32_t max_messages = 0;  // > 0
  uint64_t entry_ttl_ms = 0;  // 0: entries stay until pushed out
  uint64_t meta_ttl_ms = 0;   // 0: the meta hash never expires
};

// The `msg` envelope (proto::WriteMsg) with a seq cut out of it: the script
// writes prefix + seq + suffix.
struct MsgAroundSeq {
  std::string prefix;
  std::string suffix;
};
MsgAroundSeq SplitMsgAtSeq(std::string_view room, std::string_view from,
                           std::string_view data_json);

// One piece of the channel message the publish script sends: literal bytes,
// or a value only the script knows (the seq in decimal, the epoch as is, or
// the epoch as "<length>:<bytes>").
struct MessagePart {
  enum class Kind : char { kText = 't', kSeq = 'q', kEpoch = 'e', kEpochPrefixed = 'E' };
  Kind kind = Kind::kText;
  std::string text;  // kText only
};
// What the script sends for these parts (the same rules as its Lua).
std::string RenderMessage(std::span<const MessagePart> parts, uint64_t seq, std::string_view epoch);

struct PublishedSeq {
  uint64_t seq = 0;
  std::string epoch;
};

struct HistoryEntry {
  uint64_t seq = 0;
  std::string envelope;
};

struct HistoryRead {
  std::string epoch;
  uint64_t seq = 0;
  bool recovered = false;  // only meaningful when the read named a `since`
  std::vector<HistoryEntry> entries;
};

struct Since {
  uint64_t seq = 0;
  std::string_view epoch;
};

class ClusterHistory {
 public:
  ClusterHistory();

  const RedisScript& publish_script() const { return publish_; }
  const RedisScript& read_script() const { return read_; }

  // `sharded`: SPUBLISH (Redis Cluster) rather than PUBLISH. `candidate_epoch`:
  // NewEpoch(). `msg`: the envelope kept in the stream; `message`: what goes
  // on the room's channel.
  std::vector<std::string> Publish(const RoomKeys& keys, const HistorySettings& settings,
                                   std::string_view candidate_epoch, uint64_t now_ms, bool sharded,
                                   const MsgAroundSeq& msg,
                                   std::span<const MessagePart> message) const;
  [[nodiscard]] static std::optional<PublishedSeq> ParsePublish(const redisReply* reply);

  std::vector<std::string> Read(const RoomKeys& keys, const HistorySettings& settings,
                                std::string_view candidate_epoch, uint64_t now_ms,
                                std::optional<Since> since) const;
  [[nodiscard]] static std::optional<HistoryRead> ParseRead(const redisReply* reply);

  // A fresh epoch name from 64 random bits (core::SecureRandom).
  static std::string NewEpoch(uint64_t random_bits);

 private:
  RedisScript publish_;
  RedisScript read_;
};

}  // namespace ringcast::shard
