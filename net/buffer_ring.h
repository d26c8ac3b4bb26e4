// BufferRing: a provided-buffer ring (IORING_REGISTER_PBUF_RING, kernel 5.19+)
// that feeds one shard's multishot receives.
//
// liburing 2.3 has no io_uring_setup_buf_ring, so the ring is mmap'ed,
// registered and filled by hand. Buffers are lent to the kernel; a receive
// completion names one buffer id, the shard consumes the bytes at once and
// hands the buffer back with Return(). Returns are batched and published to
// the kernel with one Commit() per loop round. Shard thread only.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast::net {

class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // count must be a power of two <= 32768.
  [[nodiscard]] std::optional<std::string> Init(io_uring* ring, uint16_t group_id, uint32_t count,
                                                uint32_t buffer_bytes);

  std::string_view View(uint16_t buffer_id, size_t bytes) const {
    return {buffers_ + size_t{buffer_id} * buffer_bytes_, bytes};
  }
  // Gives a consumed buffer back (visible to the kernel after Commit()).
  void Return(uint16_t buffer_id);
  void Commit();
  // Unregisters and unmaps (from the ring's thread); also done by the destructor.
  void Destroy();

  uint16_t group_id() const { return group_id_; }
  uint32_t buffer_bytes() const { return buffer_bytes_; }
  uint32_t count() const { return count_; }

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* buffers_ = nullptr;
  size_t ring_bytes_ = 0;
  size_t buffers_total_ = 0;
  uint32_t count_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint16_t group_id_ = 0;
  uint16_t pending_ = 0;
};

}  // namespace ringcast::net
