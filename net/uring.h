// Uring: one shard's io_uring, created on and used only by the shard thread.
//
// Set up with IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (kernel
// 6.1+): completions are only produced inside SubmitAndWait(), so the shard
// loop always ends in exactly one submit-and-wait. The CQ is sized 8x the SQ
// because multishot accept/recv produce many completions per submission, and
// IORING_FEAT_NODROP (5.5+) is required so an overflowing CQ never loses one.
// Debian's liburing 2.3 has no version macros: features are probed at run
// time (io_uring_get_probe). user_data packs {kind, generation, slot}.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/check.h"

namespace ringcast::net {

enum class OpKind : uint8_t {
  kAccept = 1,
  kRecv,
  kSend,
  kTick,
  kDoorbell,
  kCancel,
  kRedis,  // a RedisConn's connect, recv or send (net/redis_conn.h)
};

// 8 bits kind | 24 bits generation | 32 bits slot.
constexpr uint64_t PackUserData(OpKind kind, uint32_t slot, uint32_t gen) {
  return (uint64_t{static_cast<uint8_t>(kind)} << 56) | (uint64_t{gen & 0xffffffu} << 32) | slot;
}
constexpr OpKind UserDataKind(uint64_t ud) { return static_cast<OpKind>(ud >> 56); }
constexpr uint32_t UserDataSlot(uint64_t ud) { return static_cast<uint32_t>(ud); }
constexpr uint32_t UserDataGen(uint64_t ud) { return static_cast<uint32_t>(ud >> 32) & 0xffffffu; }
constexpr bool GenMatches(uint32_t full_gen, uint32_t packed_gen) {
  return (full_gen & 0xffffffu) == packed_gen;
}

class Uring {
 public:
  Uring() = default;
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // Returns a one-line error when io_uring or a required feature is missing.
  [[nodiscard]] std::optional<std::string> Init(unsigned sq_entries);

  // Never returns null: when the SQ is full it submits what is queued first.
  io_uring_sqe* GetSqe();
  // Submits queued SQEs and waits for at least wait_nr completions (or the
  // timeout, if given). Returns the number submitted or -errno.
  int SubmitAndWait(unsigned wait_nr);
  int Submit();
  // Submits and runs deferred task work without waiting (DEFER_TASKRUN posts
  // completions only when the ring is entered with GETEVENTS).
  int SubmitAndGetEvents();

  // Calls f(const io_uring_cqe&) for every ready completion, then marks them seen.
  template <class F>
  unsigned DrainCompletions(F&& f) {
    unsigned head;
    unsigned n = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      f(*cqe);
      ++n;
    }
    io_uring_cq_advance(&ring_, n);
    return n;
  }

  // Tears the ring down (from its own thread); also done by the destructor.
  void Exit();

  io_uring* raw() { return &ring_; }
  int fd() const { return ring_.ring_fd; }
  bool initialized() const { return initialized_; }

 private:
  io_uring ring_{};
  bool initialized_ = false;
};

}  // namespace ringcast::net
