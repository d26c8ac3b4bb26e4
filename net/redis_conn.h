// RedisConn: one RESP connection to one Redis instance, driven by the shard's
// own io_uring (no thread, no second event loop: docs/design.md, Cluster mode).
//
// Connect is an IORING_OP_CONNECT on a non-blocking socket; input is one
// IORING_OP_RECV at a time into the connection's own buffer (16 KiB for
// commands; 1 MiB for a subscriber: one receive a round bounds how many
// publications a round takes in, hence how many frames each send to a client
// gathers, and with 16 KiB a node under load sent one frame per sendmsg),
// parsed by hiredis's redisReader; output is every command formatted since the last
// send, sent as one IORING_OP_SEND (pipelining: N commands cost one syscall).
// Commands are formatted in place as RESP arrays of bulk strings, the bytes
// redisFormatCommandArgv writes (a unit test holds the two equal) without its
// malloc per command. Replies match a FIFO of caller tags and go to
// RedisEvents::OnRedisReply.
//
// Two roles. kCommands: request/reply. kSubscriber: carries SUBSCRIBE,
// SSUBSCRIBE and their UNSUBSCRIBEs, whose confirmations and messages arrive
// as pushes (OnRedisPush); the FIFO is unused.
//
// Bounds and faults: at most limits.max_pending commands wait for replies and
// at most limits.max_queued_bytes wait to be sent; past either, and whenever
// the connection is not up, Command() refuses (the caller answers
// `unavailable`), so nothing queues without bound and nothing hangs. On any
// failure (connect refused or timed out, reset, EOF, unparsable reply, a
// reply overdue by reply_timeout_ms) every pending command fails at once
// (OnRedisReply with a null reply), the socket is shut down, and a new
// connect follows after a jittered exponential backoff. An idle connection is
// probed with PING every probe_interval_ms (PING is allowed in RESP2
// subscribe mode), so a subscriber connection that stops answering is found
// and restarted like any other failure. Timing is checked by Tick(), called
// once per round (the shard's 20 ms tick bounds how late).
//
// Buffers stay with the object across reconnects: a new connect starts only
// once the kernel has returned the previous socket's receive and send, and a
// completion of an earlier socket (its generation in user_data) is only
// bookkeeping. Shard thread only; the object must outlive its ring's
// operations (the shard tears the ring down first).
#pragma once

#include <hiredis/hiredis.h>
#include <liburing.h>

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/redis_address.h"
#include "net/uring.h"

namespace ringcast::net {

// What a RedisConn reports, with the index it was created with.
class RedisEvents {
 public:
  virtual ~RedisEvents() = default;
  // The reply to the command queued with `tag`; null when it failed without
  // one (the connection went down). An error reply is a reply (REDIS_REPLY_ERROR).
  virtual void OnRedisReply(uint32_t conn, uint64_t tag, const redisReply* reply) = 0;
  // A subscriber connection's push: subscribe confirmations, messages.
  virtual void OnRedisPush(uint32_t conn, const redisReply& push) = 0;
  // The connection is up (first time or again) / went down.
  virtual void OnRedisUp(uint32_t conn) = 0;
  virtual void OnRedisDown(uint32_t conn) = 0;
};

enum class RedisRole : uint8_t { kCommands, kSubscriber };

struct RedisConnLimits {
  uint32_t max_pending = 65536;                // commands awaiting replies
  size_t max_queued_bytes = size_t{16} << 20;  // formatted, not yet handed to the kernel
  uint32_t connect_timeout_ms = 2000;
  uint32_t reply_timeout_ms = 5000;   // the oldest command (or probe) unanswered this long: restart
  uint32_t probe_interval_ms = 1000;  // PING after this long without input
  uint32_t backoff_min_ms = 50;
  uint32_t backoff_max_ms = 2000;
};

class RedisConn {
 public:
  RedisConn(Uring* ring, uint32_t index, RedisAddress address, RedisRole role,
            RedisConnLimits limits, RedisEvents* events, uint64_t seed);
  ~RedisConn();
  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;

  enum class State : uint8_t { kIdle, kConnecting, kUp, kBackoff };

  // Starts the first connect.
  void Start(uint64_t now_ms);
  // Queues a command; its reply goes to OnRedisReply(tag). False (nothing
  // queued) when the connection is not up or its bounds are reached.
  [[nodiscard]] bool Command(std::span<const std::string_view> argv, uint64_t tag);
  [[nodiscard]] bool Command(std::initializer_list<std::string_view> argv, uint64_t tag) {
    return Command(std::span<const std::string_view>(argv.begin(), argv.size()), tag);
  }
  // Hands everything queued to the kernel in one send, unless one is in flight.
  void Flush();
  // The completions of this connection's operations (the OpKind::kRedis* kinds).
  void OnCompletion(const io_uring_cqe& cqe, uint64_t now_ms);
  // Connect timeout, reply timeout, probes and reconnects.
  void Tick(uint64_t now_ms);
  // Shuts the socket down for good (the shard is stopping).
  void Stop();

  bool IsUp() const { return state_ == State::kUp; }
  State state() const { return state_; }
  RedisRole role() const { return role_; }
  std::string address() const { return address_.ToString(); }
  uint64_t reconnects() const { return reconnects_; }  // successful connects after the first
  uint64_t failures() const { return failures_; }
  uint64_t refused() const { return refused_; }  // commands refused (down or full)
  size_t pending() const { return pending_.size(); }
  const std::string& last_error() const { return last_error_; }

  // Sub-operation in the user_data's slot field: index << 2 | op.
  enum class Op : uint8_t { kConnect = 0, kRecv = 1, kSend = 2 };
  static constexpr uint32_t SlotOf(uint32_t index, Op op) {
    return (index << 2) | static_cast<uint32_t>(op);
  }
  static constexpr uint32_t IndexOfSlot(uint32_t slot) { return slot >> 2; }

  // Appends one RESP command (an array of bulk strings) to `out`.
  static void Format(std::string* out, std::span<const std::string_view> argv);

 private:
  struct Pending {
    uint64_t tag;
    uint64_t queued_ms;
  };
  static constexpr uint64_t kProbeTag = ~uint64_t{0};

  void Connect();
  void OnConnected(int res);
  void OnReceived(int res);
  void OnSent(int res);
  void ArmRecv();
  void SubmitSend();
  void HandleReply(redisReply* reply);
  // Fails every pending command, shuts the socket, schedules the reconnect.
  void Fail(std::string reason);
  bool Busy() const { return connect_busy_ || recv_busy_ || send_busy_; }
  uint64_t UserData(Op op) const;
  uint32_t NextBackoffMs();

  Uring* const ring_;
  const uint32_t index_;
  const RedisAddress address_;
  const RedisRole role_;
  const RedisConnLimits limits_;
  RedisEvents* const events_;

  State state_ = State::kIdle;
  int fd_ = -1;
  uint32_t gen_ = 0;  // bumped per socket: completions of older sockets are bookkeeping only
  bool connect_busy_ = false;
  bool recv_busy_ = false;
  bool send_busy_ = false;
  bool ever_up_ = false;
  bool stopped_ = false;
  uint64_t now_ms_ = 0;
  uint64_t connect_started_ms_ = 0;
  uint64_t retry_at_ms_ = 0;
  uint64_t last_input_ms_ = 0;
  bool probing_ = false;        // subscriber role: a PING is unanswered
  uint64_t probe_sent_ms_ = 0;  // since then
  uint32_t attempts_ = 0;       // failed connects in a row
  uint64_t random_;
  uint64_t reconnects_ = 0;
  uint64_t failures_ = 0;
  uint64_t refused_ = 0;
  std::string last_error_;

  redisReader* reader_ = nullptr;
  std::deque<Pending> pending_;
  std::string out_;        // formatted, not yet sent
  std::string in_flight_;  // being sent
  size_t in_flight_sent_ = 0;
  static constexpr size_t kCommandRecvBytes = size_t{16} << 10;
  static constexpr size_t kSubscriberRecvBytes = size_t{1024} << 10;
  const size_t recv_bytes_;
  std::unique_ptr<char[]> recv_buf_;
};

}  // namespace ringcast::net
