// ringcast-sol: the speed-of-light server for bench/compare.sh. The least a single-threaded
// server must do to fan publications out the way ringcast's design says, built from ringcast's
// own pieces, so every compare table shows ringcast against its own limit rather than only
// against other people's servers.
//
// What it does: one io_uring (net::Uring) with multishot accept and multishot receives fed by
// a provided-buffer ring (net::BufferRing); the WebSocket handshake (net::ParseHttpHead,
// ValidateUpgrade, ComputeAcceptKey); client frames through net::FrameReader; the `sub`/`pub`
// subset that ringcast-load speaks, matched as plain strings (`welcome` on open, `ok` to a `sub`
// or `pub` with an id, `msg` to every member of the room, publisher included); each
// publication framed once (net::FrameWriter) into one core::SharedFrame that every member's
// queue points at through one plain count; at most one corked sendmsg in flight per connection
// over everything it has queued (256 frames at most), flushed at the end of every round.
//
// What it leaves out, on purpose: JSON parsing and escaping, limits and rate limits, owner
// shards and the bus, history, presence, timers and keepalive, replies in order, slow-consumer
// detection. The one guard is a simple cap: while more than kPauseBytes wait in the queues, a
// connection that publishes stops being read (its receive is cancelled) until they fall below
// three quarters of that (as ringcast: lower, the subscribers run dry first), so the overload
// rows measure it with bounded memory.
//
// The plain data and the command matching are in sol_parts.h.
//
// usage: ringcast-sol [--port N]   (listens on 127.0.0.1, default 19500). SIGTERM or SIGINT
// prints its counters (sendmsg calls, frames, bytes, pauses) to stderr and exits.
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/sol/sol_parts.h"
#include "core/check.h"
#include "core/shared_frame.h"
#include "core/wire.h"
#include "net/buffer_ring.h"
#include "net/frame_reader.h"
#include "net/frame_writer.h"
#include "net/handshake.h"
#include "net/http_head.h"
#include "net/listener.h"
#include "net/uring.h"

namespace ringcast::sol {
namespace {

constexpr unsigned kSqEntries = 4096;
constexpr uint16_t kBufferGroup = 1;
constexpr uint32_t kRecvBuffers = 512;
constexpr uint32_t kRecvBufferBytes = 16384;
constexpr size_t kSendBlocks = 128;
constexpr size_t kMaxHeadBytes = 8192;
constexpr size_t kMaxMessageBytes = 65536;
constexpr uint64_t kPauseBytes = uint64_t{128} << 20;  // as ringcast's backpressure mark
constexpr uint64_t kTickNs = 100'000'000;              // to notice a signal while idle

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

class Server final : public net::FrameSink {
 public:
  bool Start(uint16_t port) {
    if (auto err = ring_.Init(kSqEntries)) return Fail(*err);
    if (auto err = buffers_.Init(ring_.raw(), kBufferGroup, kRecvBuffers, kRecvBufferBytes)) {
      return Fail(*err);
    }
    net::ListenResult l = net::OpenListener("127.0.0.1", port, 4096);
    if (l.fd < 0) return Fail(l.error);
    listen_fd_ = l.fd;
    ArmAccept();
    ArmTick();
    std::fprintf(stderr, "ringcast-sol listening on 127.0.0.1:%u\n", l.port);
    return true;
  }

  void Run() {
    while (!g_stop) {
      ring_.DrainCompletions([this](const io_uring_cqe& cqe) { OnCompletion(cqe); });
      buffers_.Commit();
      EndRound();
      ring_.SubmitAndWait(1);
    }
    std::fprintf(
        stderr, "ringcast-sol: sends %llu frames %llu bytes %llu publications %llu pauses %llu\n",
        ull(sends_), ull(frames_sent_), ull(bytes_sent_), ull(publications_), ull(pauses_));
    // Partial frames hold reader contexts, which must be back before the reader goes.
    for (Conn& c : conns_) {
      if (c.live) reader_.Release(&c.ws);
    }
  }

  // FrameSink.
  bool OnText(std::string_view text) override {
    Conn& c = conns_[current_];
    if (text.find("\"op\":\"pub\"") != std::string_view::npos) {
      Publish(StringAfter(text, "\"room\":\""), DataAfter(text));
      published_ = true;
    } else if (text.find("\"op\":\"sub\"") != std::string_view::npos) {
      std::string_view room = StringAfter(text, "\"room\":\"");
      rooms_[std::string(room)].push_back(Member{current_, c.gen});
    } else {
      return true;  // anything else is not part of the subset: ignored
    }
    if (std::string_view id = IdAfter(text); !id.empty()) {
      scratch_.assign("{\"op\":\"ok\",\"id\":").append(id).append("}");
      Enqueue(current_, writer_.Build(wire::Opcode::kText, scratch_));
    }
    return !c.dead;
  }
  bool OnPing(std::string_view) override { return true; }
  bool OnClose(uint16_t, std::string_view) override {
    Kill(current_);
    return false;
  }

 private:
  static unsigned long long ull(uint64_t v) { return v; }
  bool Fail(const std::string& err) {
    std::fprintf(stderr, "ringcast-sol: %s\n", err.c_str());
    return false;
  }

  void OnCompletion(const io_uring_cqe& cqe) {
    uint32_t slot = net::UserDataSlot(cqe.user_data);
    switch (net::UserDataKind(cqe.user_data)) {
      case net::OpKind::kAccept:
        if (!(cqe.flags & IORING_CQE_F_MORE)) ArmAccept();
        if (cqe.res >= 0) Accept(cqe.res);
        return;
      case net::OpKind::kRecv:
        return OnRecv(slot, cqe);
      case net::OpKind::kSend:
        return OnSent(slot, cqe.res);
      case net::OpKind::kTick:
        return ArmTick();
      default:
        return;
    }
  }

  void Accept(int fd) {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(conns_.size());
      conns_.emplace_back();
    }
    Conn& c = conns_[slot];
    c.fd = fd;
    c.live = true;
    ArmRecv(slot);
  }

  void OnRecv(uint32_t slot, const io_uring_cqe& cqe) {
    Conn& c = conns_[slot];
    if (!(cqe.flags & IORING_CQE_F_MORE)) c.recv_armed = false;
    if (cqe.res > 0) {
      auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
      if (!c.dead) OnBytes(slot, buffers_.View(bid, static_cast<size_t>(cqe.res)));
      buffers_.Return(bid);
    } else if (cqe.res != -ENOBUFS && cqe.res != -ECANCELED) {
      Kill(slot);  // EOF or a reset
    }
    if (!c.recv_armed && !c.dead && !c.paused) rearm_.push_back(slot);
    if (c.dead) MaybeFree(slot);
  }

  void OnBytes(uint32_t slot, std::string_view bytes) {
    Conn& c = conns_[slot];
    if (!c.open) {
      c.head.append(bytes);
      size_t end = c.head.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (c.head.size() > kMaxHeadBytes) Kill(slot);
        return;
      }
      std::string head = std::move(c.head);
      c.head = {};
      if (!Upgrade(slot, head)) return Kill(slot);
      bytes = std::string_view(head).substr(end + 4);
      if (bytes.empty()) return;
      return Feed(slot, std::string(bytes));  // head owns them
    }
    Feed(slot, bytes);
  }

  void Feed(uint32_t slot, std::string_view bytes) {
    current_ = slot;
    published_ = false;
    uint16_t code = 0;
    if (reader_.Feed(&conns_[slot].ws, bytes, this, &code) == net::FeedResult::kError) Kill(slot);
    if (published_) MaybePause(slot);
  }

  bool Upgrade(uint32_t slot, std::string_view head) {
    net::HttpRequest req;
    if (net::ParseHttpHead(head, kMaxHeadBytes, &req).status != net::HttpParseStatus::kComplete) {
      return false;
    }
    if (net::ValidateUpgrade(req).status != 0) return false;
    std::optional<std::string> accept = net::ComputeAcceptKey(req.Header("Sec-WebSocket-Key"));
    if (!accept) return false;
    Conn& c = conns_[slot];
    c.open = true;
    Enqueue(slot, core::SharedFrame::CreateRaw(net::BuildUpgradeResponse(*accept)));
    scratch_.assign("{\"op\":\"welcome\",\"sid\":\"")
        .append(std::to_string(slot))
        .append("\",\"user\":\"u\",\"node\":\"sol\",\"v\":1}");
    Enqueue(slot, writer_.Build(wire::Opcode::kText, scratch_));
    return true;
  }

  void Publish(std::string_view room_name, std::string_view data) {
    auto it = rooms_.find(room_name);
    if (it == rooms_.end()) return;
    ++publications_;
    scratch_.assign("{\"op\":\"msg\",\"room\":\"")
        .append(room_name)
        .append("\",\"from\":\"u\",\"data\":")
        .append(data)
        .append("}");
    auto* local = new Local{writer_.Build(wire::Opcode::kText, scratch_), 1};
    std::vector<Member>& members = it->second;
    for (size_t i = 0; i < members.size();) {
      Member m = members[i];
      Conn& c = conns_[m.slot];
      if (!c.live || c.gen != m.gen || c.dead) {
        members[i] = members.back();  // gone: swap-removed here, the room's only cleanup
        members.pop_back();
        continue;
      }
      Push(m.slot, local);
      ++i;
    }
    Unref(local);
  }

  void Enqueue(uint32_t slot, core::SharedFrame* frame) {
    auto* local = new Local{frame, 1};
    Push(slot, local);
    Unref(local);
  }

  void Push(uint32_t slot, Local* local) {
    Conn& c = conns_[slot];
    ++local->refs;
    c.out.push_back(local);
    c.queued += local->frame->size();
    queued_total_ += local->frame->size();
    if (!c.dirty && !c.send_in_flight) {
      c.dirty = true;
      dirty_.push_back(slot);
    }
  }

  void MaybePause(uint32_t slot) {
    Conn& c = conns_[slot];
    if (queued_total_ <= kPauseBytes || c.paused || c.dead) return;
    c.paused = true;
    ++pauses_;
    paused_.push_back(slot);
    if (c.recv_armed) {
      io_uring_sqe* sqe = ring_.GetSqe();
      io_uring_prep_cancel64(sqe, net::PackUserData(net::OpKind::kRecv, slot, c.gen), 0);
      io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kCancel, 0, 0));
    }
  }

  void EndRound() {
    if (!paused_.empty() && queued_total_ < kPauseBytes / 4 * 3) {
      for (uint32_t slot : paused_) {
        Conn& c = conns_[slot];
        c.paused = false;
        if (c.live && !c.dead && !c.recv_armed) rearm_.push_back(slot);
      }
      paused_.clear();
    }
    for (uint32_t slot : rearm_) {
      Conn& c = conns_[slot];
      if (c.live && !c.dead && !c.recv_armed && !c.paused) ArmRecv(slot);
    }
    rearm_.clear();
    used_blocks_ = 0;
    for (uint32_t slot : dirty_) {
      Conn& c = conns_[slot];
      c.dirty = false;
      if (c.live && !c.dead && !c.send_in_flight && c.out_head < c.out.size()) Flush(slot);
    }
    dirty_.clear();
  }

  // One sendmsg over up to kMaxIov queued frames.
  void Flush(uint32_t slot) {
    Conn& c = conns_[slot];
    if (used_blocks_ == kSendBlocks) {
      ring_.Submit();  // SUBMIT_STABLE: the kernel has copied the msghdrs
      used_blocks_ = 0;
    }
    SendBlock& b = send_blocks_[used_blocks_++];
    size_t n = 0;
    uint32_t offset = c.head_offset;
    for (size_t i = c.out_head; i < c.out.size() && n < kMaxIov; ++i, ++n) {
      const core::SharedFrame* f = c.out[i]->frame;
      b.iov[n].iov_base = const_cast<uint8_t*>(f->data() + offset);
      b.iov[n].iov_len = f->size() - offset;
      offset = 0;
    }
    std::memset(&b.msg, 0, sizeof(b.msg));
    b.msg.msg_iov = b.iov;
    b.msg.msg_iovlen = n;
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_sendmsg(sqe, c.fd, &b.msg, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kSend, slot, c.gen));
    c.send_in_flight = true;
    c.in_flight = n;
    ++sends_;
  }

  void OnSent(uint32_t slot, int res) {
    Conn& c = conns_[slot];
    c.send_in_flight = false;
    if (res < 0) Kill(slot);
    if (c.dead) return MaybeFree(slot);
    bytes_sent_ += static_cast<uint64_t>(res);
    Consume(c, static_cast<uint64_t>(res));
    if (c.out_head < c.out.size()) {
      c.dirty = true;
      dirty_.push_back(slot);
    }
  }

  void Consume(Conn& c, uint64_t bytes) {
    c.queued -= bytes;
    queued_total_ -= bytes;
    while (bytes > 0) {
      Local* head = c.out[c.out_head];
      uint64_t left = head->frame->size() - c.head_offset;
      if (bytes < left) {
        c.head_offset += static_cast<uint32_t>(bytes);
        return;
      }
      bytes -= left;
      c.head_offset = 0;
      ++frames_sent_;
      Unref(head);
      ++c.out_head;
    }
    if (c.out_head == c.out.size()) {
      c.out.clear();
      c.out_head = 0;
    } else if (c.out_head >= kMaxIov && 2 * c.out_head >= c.out.size()) {
      // Under overload the queue never empties: drop the sent prefix, amortised O(1).
      c.out.erase(c.out.begin(), c.out.begin() + static_cast<ptrdiff_t>(c.out_head));
      c.out_head = 0;
    }
  }

  void Kill(uint32_t slot) {
    Conn& c = conns_[slot];
    if (c.dead) return;
    c.dead = true;
    shutdown(c.fd, SHUT_RDWR);
  }

  void MaybeFree(uint32_t slot) {
    Conn& c = conns_[slot];
    if (c.recv_armed || c.send_in_flight) return;
    for (size_t i = c.out_head; i < c.out.size(); ++i) Unref(c.out[i]);
    queued_total_ -= c.queued;
    reader_.Release(&c.ws);
    close(c.fd);
    uint32_t gen = c.gen + 1;
    c = Conn{};
    c.gen = gen;
    free_.push_back(slot);
  }

  void ArmAccept() {
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kAccept, 0, 0));
  }

  void ArmRecv(uint32_t slot) {
    Conn& c = conns_[slot];
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers_.group_id();
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kRecv, slot, c.gen));
    c.recv_armed = true;
  }

  void ArmTick() {
    tick_.tv_sec = 0;
    tick_.tv_nsec = kTickNs;
    io_uring_sqe* sqe = ring_.GetSqe();
    io_uring_prep_timeout(sqe, &tick_, 0, 0);
    io_uring_sqe_set_data64(sqe, net::PackUserData(net::OpKind::kTick, 0, 0));
  }

  // Heterogeneous lookup, so a publication's room is found without a copy.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  net::Uring ring_;
  net::BufferRing buffers_;
  net::FrameReader reader_{kMaxMessageBytes};
  net::FrameWriter writer_;
  int listen_fd_ = -1;
  __kernel_timespec tick_{};
  std::vector<Conn> conns_;
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, std::vector<Member>, Hash, std::equal_to<>> rooms_;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> rearm_;
  std::vector<uint32_t> paused_;
  std::unique_ptr<SendBlock[]> send_blocks_ = std::make_unique<SendBlock[]>(kSendBlocks);
  size_t used_blocks_ = 0;
  std::string scratch_;
  uint32_t current_ = 0;  // the connection whose frames the reader is feeding
  bool published_ = false;
  uint64_t queued_total_ = 0;
  uint64_t sends_ = 0;
  uint64_t frames_sent_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t publications_ = 0;
  uint64_t pauses_ = 0;
};

}  // namespace
}  // namespace ringcast::sol

int main(int argc, char** argv) {
  long port = 19500;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      char* end = nullptr;
      port = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || port < 1 || port > 65535) {
        std::fprintf(stderr, "ringcast-sol: bad --port %s (1-65535)\n", argv[i]);
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: ringcast-sol [--port N]   (listens on 127.0.0.1)\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = ringcast::sol::OnSignal;  // no SA_RESTART: the wait returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  ringcast::sol::Server server;
  if (!server.Start(static_cast<uint16_t>(port))) return 1;
  server.Run();
  return 0;
}
