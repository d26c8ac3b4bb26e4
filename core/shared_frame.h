// SharedFrame: one immutable, fully framed WebSocket message (header + payload)
// in a single allocation, shared by every subscriber on every shard.
//
// The owner shard builds it once; each shard that delivers it holds exactly
// one atomic reference, and fans it out to its own connections through a
// shard-local plain count (shard/out_queue.h). Bytes never change after
// Seal(), so any thread may read them; only refs_ is written concurrently.
// An optional tag (the room name) rides in the same allocation so a receiving
// shard can find its local subscribers without another allocation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/check.h"

namespace ringcast::core {

class SharedFrame {
 public:
  // Largest server-to-client WebSocket header (no mask): 2 + 8 bytes.
  static constexpr size_t kMaxHeaderBytes = 10;

  // Allocates room for a payload of payload_bytes and the tag; refs = 1.
  static SharedFrame* Create(size_t payload_bytes, std::string_view tag);
  // A frame holding raw bytes (e.g. an HTTP response), already complete.
  static SharedFrame* CreateRaw(std::string_view bytes);

  // Where the caller writes the payload before Seal().
  uint8_t* payload() { return storage() + kMaxHeaderBytes; }
  size_t payload_bytes() const { return payload_bytes_; }
  // Places the header just before the payload; the frame is then immutable.
  void Seal(const uint8_t* header, size_t header_bytes);

  const uint8_t* data() const { return storage() + head_offset_; }
  uint32_t size() const { return size_; }
  std::string_view tag() const {
    return {reinterpret_cast<const char*>(storage()) + kMaxHeaderBytes + payload_bytes_,
            tag_bytes_};
  }

  void Ref(uint32_t n = 1) { refs_.fetch_add(n, std::memory_order_relaxed); }
  // Drops one reference; the last one frees the frame.
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) Destroy(this);
  }
  uint32_t refs_approx() const { return refs_.load(std::memory_order_relaxed); }

 private:
  SharedFrame() = default;
  static void Destroy(SharedFrame* f);
  uint8_t* storage() { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* storage() const { return reinterpret_cast<const uint8_t*>(this + 1); }

  std::atomic<uint32_t> refs_{1};
  uint32_t size_ = 0;
  uint32_t payload_bytes_ = 0;
  uint16_t tag_bytes_ = 0;
  uint16_t head_offset_ = 0;
};

// Owns one reference to a SharedFrame: what a bus message carries, so a
// message dropped on any path still releases its frame. Move-only.
class FrameRef {
 public:
  FrameRef() = default;
  // Adopts one reference the caller already holds.
  explicit FrameRef(SharedFrame* frame) : frame_(frame) {}
  FrameRef(FrameRef&& other) noexcept : frame_(other.release()) {}
  FrameRef& operator=(FrameRef&& other) noexcept {
    if (this != &other) {
      reset();
      frame_ = other.release();
    }
    return *this;
  }
  FrameRef(const FrameRef&) = delete;
  FrameRef& operator=(const FrameRef&) = delete;
  ~FrameRef() { reset(); }

  SharedFrame* get() const { return frame_; }
  SharedFrame* operator->() const { return frame_; }
  explicit operator bool() const { return frame_ != nullptr; }
  // Hands the reference to the caller.
  [[nodiscard]] SharedFrame* release() {
    SharedFrame* f = frame_;
    frame_ = nullptr;
    return f;
  }
  void reset() {
    if (frame_ != nullptr) frame_->Unref();
    frame_ = nullptr;
  }

 private:
  SharedFrame* frame_ = nullptr;
};

}  // namespace ringcast::core
