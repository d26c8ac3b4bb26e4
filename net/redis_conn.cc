#include "net/redis_conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/check.h"

namespace ringcast::net {

namespace {

constexpr std::string_view kPingArgv[] = {"PING"};
constexpr std::span<const std::string_view> kPing(kPingArgv);

bool IsPong(const redisReply& r) {
  if (r.type == REDIS_REPLY_STATUS) return std::string_view(r.str, r.len) == "PONG";
  // In subscribe mode RESP2 answers PING with ["pong", ""].
  return r.type == REDIS_REPLY_ARRAY && r.elements >= 1 &&
         r.element[0]->type == REDIS_REPLY_STRING &&
         std::string_view(r.element[0]->str, r.element[0]->len) == "pong";
}

}  // namespace

RedisConn::RedisConn(Uring* ring, uint32_t index, RedisAddress address, RedisRole role,
                     RedisConnLimits limits, RedisEvents* events, uint64_t seed)
    : ring_(ring),
      index_(index),
      address_(std::move(address)),
      role_(role),
      limits_(limits),
      events_(events),
      random_(seed | 1),
      recv_bytes_(role == RedisRole::kSubscriber ? kSubscriberRecvBytes : kCommandRecvBytes),
      recv_buf_(std::make_unique_for_overwrite<char[]>(recv_bytes_)) {
  RC_CHECK(index < (uint32_t{1} << 30));
  RC_CHECK(limits.backoff_min_ms > 0 && limits.backoff_min_ms <= limits.backoff_max_ms);
}

RedisConn::~RedisConn() {
  if (fd_ >= 0) close(fd_);
  if (reader_ != nullptr) redisReaderFree(reader_);
}

void RedisConn::Format(std::string* out, std::span<const std::string_view> argv) {
  out->push_back('*');
  out->append(std::to_string(argv.size()));
  out->append("\r\n");
  for (std::string_view a : argv) {
    out->push_back('$');
    out->append(std::to_string(a.size()));
    out->append("\r\n");
    out->append(a);
    out->append("\r\n");
  }
}

uint64_t RedisConn::UserData(Op op) const {
  return PackUserData(OpKind::kRedis, SlotOf(index_, op), gen_);
}

void RedisConn::Start(uint64_t now_ms) {
  now_ms_ = now_ms;
  RC_CHECK(state_ == State::kIdle);
  Connect();
}

void RedisConn::Stop() {
  stopped_ = true;
  if (state_ == State::kUp || state_ == State::kConnecting) Fail("stopping");
}

void RedisConn::Connect() {
  RC_CHECK(!Busy());
  ++gen_;
  fd_ = socket(address_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    Fail(std::string("socket: ") + std::strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  state_ = State::kConnecting;
  connect_started_ms_ = now_ms_;
  connect_busy_ = true;
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_connect(sqe, fd_, reinterpret_cast<const sockaddr*>(&address_.addr),
                        address_.addr_len);
  io_uring_sqe_set_data64(sqe, UserData(Op::kConnect));
}

void RedisConn::OnCompletion(const io_uring_cqe& cqe, uint64_t now_ms) {
  now_ms_ = now_ms;
  bool current = GenMatches(gen_, UserDataGen(cqe.user_data));
  switch (static_cast<Op>(UserDataSlot(cqe.user_data) & 3)) {
    case Op::kConnect:
      connect_busy_ = false;
      if (current && state_ == State::kConnecting) OnConnected(cqe.res);
      break;
    case Op::kRecv:
      recv_busy_ = false;
      if (current && state_ == State::kUp) OnReceived(cqe.res);
      break;
    case Op::kSend:
      send_busy_ = false;
      if (current && state_ == State::kUp) {
        OnSent(cqe.res);
      } else {
        in_flight_.clear();  // an earlier socket's send: its bytes are moot
        in_flight_sent_ = 0;
      }
      break;
  }
}

void RedisConn::OnConnected(int res) {
  if (res < 0) {
    Fail(std::string("connect: ") + std::strerror(-res));
    return;
  }
  state_ = State::kUp;
  attempts_ = 0;
  if (ever_up_) ++reconnects_;
  ever_up_ = true;
  last_input_ms_ = now_ms_;
  probing_ = false;
  if (reader_ != nullptr) redisReaderFree(reader_);
  reader_ = redisReaderCreate();
  RC_CHECK(reader_ != nullptr);
  ArmRecv();
  events_->OnRedisUp(index_);
}

void RedisConn::ArmRecv() {
  recv_busy_ = true;
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_recv(sqe, fd_, recv_buf_.get(), recv_bytes_, 0);
  io_uring_sqe_set_data64(sqe, UserData(Op::kRecv));
}

void RedisConn::OnReceived(int res) {
  if (res <= 0) {
    Fail(res == 0 ? std::string("closed by Redis") : std::string("recv: ") + std::strerror(-res));
    return;
  }
  last_input_ms_ = now_ms_;
  if (redisReaderFeed(reader_, recv_buf_.get(), static_cast<size_t>(res)) != REDIS_OK) {
    Fail("bad reply from Redis");
    return;
  }
  uint32_t gen = gen_;
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
      Fail(std::string("bad reply from Redis: ") + reader_->errstr);
      return;
    }
    if (reply == nullptr) break;
    HandleReply(static_cast<redisReply*>(reply));
    freeReplyObject(reply);
    if (gen != gen_ || state_ != State::kUp) return;  // a handler or the reply failed it
  }
  ArmRecv();
}

void RedisConn::HandleReply(redisReply* reply) {
  if (role_ == RedisRole::kSubscriber) {
    if (IsPong(*reply)) {
      probing_ = false;
      return;
    }
    events_->OnRedisPush(index_, *reply);
    return;
  }
  if (pending_.empty()) {
    Fail("reply to no command");
    return;
  }
  Pending p = pending_.front();
  pending_.pop_front();
  if (p.tag == kProbeTag) return;
  events_->OnRedisReply(index_, p.tag, reply);
}

bool RedisConn::Command(std::span<const std::string_view> argv, uint64_t tag) {
  RC_DCHECK(tag != kProbeTag);
  if (state_ != State::kUp || pending_.size() >= limits_.max_pending ||
      out_.size() >= limits_.max_queued_bytes) {
    ++refused_;
    return false;
  }
  Format(&out_, argv);
  if (role_ == RedisRole::kCommands) pending_.push_back(Pending{tag, now_ms_});
  return true;
}

void RedisConn::Flush() {
  if (state_ != State::kUp || send_busy_ || out_.empty()) return;
  in_flight_.swap(out_);
  out_.clear();
  in_flight_sent_ = 0;
  SubmitSend();
}

void RedisConn::SubmitSend() {
  send_busy_ = true;
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_send(sqe, fd_, in_flight_.data() + in_flight_sent_,
                     in_flight_.size() - in_flight_sent_, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, UserData(Op::kSend));
}

void RedisConn::OnSent(int res) {
  if (res < 0) {
    Fail(std::string("send: ") + std::strerror(-res));
    return;
  }
  in_flight_sent_ += static_cast<size_t>(res);
  if (in_flight_sent_ < in_flight_.size()) {
    SubmitSend();  // a short send: the rest, in order, before anything newer
    return;
  }
  in_flight_.clear();
  in_flight_sent_ = 0;
  Flush();
}

void RedisConn::Fail(std::string reason) {
  bool was_up = state_ == State::kUp;
  last_error_ = std::move(reason);
  ++failures_;
  if (fd_ >= 0) {
    // Ends the receive and send in flight; their completions come back with
    // this socket's generation and only clear the busy flags.
    shutdown(fd_, SHUT_RDWR);
    if (connect_busy_) {
      io_uring_sqe* sqe = ring_->GetSqe();
      io_uring_prep_cancel64(sqe, UserData(Op::kConnect), 0);
      io_uring_sqe_set_data64(sqe, PackUserData(OpKind::kCancel, 0, 0));
    }
    close(fd_);
    fd_ = -1;
  }
  ++gen_;  // from here on, this socket's completions are bookkeeping
  state_ = State::kBackoff;
  out_.clear();
  probing_ = false;
  retry_at_ms_ = now_ms_ + NextBackoffMs();
  std::deque<Pending> failed;
  failed.swap(pending_);
  for (const Pending& p : failed) {
    if (p.tag != kProbeTag) events_->OnRedisReply(index_, p.tag, nullptr);
  }
  if (was_up) events_->OnRedisDown(index_);
}

uint32_t RedisConn::NextBackoffMs() {
  uint32_t shift = attempts_ < 16 ? attempts_ : 16;
  ++attempts_;
  uint64_t ceiling = uint64_t{limits_.backoff_min_ms} << shift;
  if (ceiling > limits_.backoff_max_ms) ceiling = limits_.backoff_max_ms;
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  // Half fixed, half random: nodes that lost Redis together do not return together.
  return static_cast<uint32_t>(ceiling / 2 + random_ % (ceiling / 2 + 1));
}

void RedisConn::Tick(uint64_t now_ms) {
  now_ms_ = now_ms;
  switch (state_) {
    case State::kIdle:
      return;
    case State::kConnecting:
      if (now_ms - connect_started_ms_ >= limits_.connect_timeout_ms) Fail("connect timed out");
      return;
    case State::kBackoff:
      if (!stopped_ && !Busy() && now_ms >= retry_at_ms_) Connect();
      return;
    case State::kUp:
      break;
  }
  bool waiting = probing_ || !pending_.empty();
  uint64_t oldest = probing_ ? probe_sent_ms_ : UINT64_MAX;
  if (!pending_.empty() && pending_.front().queued_ms < oldest) oldest = pending_.front().queued_ms;
  if (waiting && now_ms - oldest >= limits_.reply_timeout_ms) {
    Fail("no reply from Redis in time");
    return;
  }
  if (now_ms - last_input_ms_ < limits_.probe_interval_ms) return;
  if (role_ == RedisRole::kSubscriber) {
    if (probing_) return;
    Format(&out_, kPing);
    probing_ = true;
    probe_sent_ms_ = now_ms;
  } else {
    if (!pending_.empty()) return;
    Format(&out_, kPing);
    pending_.push_back(Pending{kProbeTag, now_ms});
  }
  last_input_ms_ = now_ms;  // one probe per interval
  Flush();
}

}  // namespace ringcast::net
