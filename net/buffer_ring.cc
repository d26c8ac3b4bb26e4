#include "net/buffer_ring.h"

#include <sys/mman.h>

#include <cstring>

#include "core/check.h"

namespace ringcast::net {

BufferRing::~BufferRing() { Destroy(); }

void BufferRing::Destroy() {
  if (br_ != nullptr) {
    io_uring_unregister_buf_ring(ring_, group_id_);
    munmap(br_, ring_bytes_);
    br_ = nullptr;
  }
  if (buffers_ != nullptr) munmap(buffers_, buffers_total_);
  buffers_ = nullptr;
}

std::optional<std::string> BufferRing::Init(io_uring* ring, uint16_t group_id, uint32_t count,
                                            uint32_t buffer_bytes) {
  RC_CHECK(br_ == nullptr);
  RC_CHECK(count > 0 && count <= 32768 && (count & (count - 1)) == 0);
  ring_ = ring;
  group_id_ = group_id;
  count_ = count;
  buffer_bytes_ = buffer_bytes;
  ring_bytes_ = sizeof(io_uring_buf) * count;
  void* mem =
      mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return std::string("buffer ring mmap failed: ") + std::strerror(errno);
  br_ = static_cast<io_uring_buf_ring*>(mem);
  buffers_total_ = size_t{count} * buffer_bytes;
  // Populated up front: the ring is a fixed per-shard cost, not a per-connection one.
  mem = mmap(nullptr, buffers_total_, PROT_READ | PROT_WRITE,
             MAP_ANONYMOUS | MAP_PRIVATE | MAP_POPULATE, -1, 0);
  if (mem == MAP_FAILED) return std::string("receive buffers mmap failed: ") + std::strerror(errno);
  buffers_ = static_cast<char*>(mem);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) {
    munmap(br_, ring_bytes_);
    br_ = nullptr;
    return std::string("registering the provided buffer ring failed: ") + std::strerror(-rc);
  }
  io_uring_buf_ring_init(br_);
  int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br_, buffers_ + size_t{i} * buffer_bytes, buffer_bytes,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br_, static_cast<int>(count));
  return std::nullopt;
}

void BufferRing::Return(uint16_t buffer_id) {
  RC_DCHECK(buffer_id < count_);
  io_uring_buf_ring_add(br_, buffers_ + size_t{buffer_id} * buffer_bytes_, buffer_bytes_, buffer_id,
                        io_uring_buf_ring_mask(count_), pending_);
  ++pending_;
  if (pending_ == count_) Commit();  // never let the batch wrap over itself
}

void BufferRing::Commit() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace ringcast::net
