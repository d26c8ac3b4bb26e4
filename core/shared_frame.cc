#include "core/shared_frame.h"

#include <cstdlib>
#include <new>

namespace ringcast::core {

SharedFrame* SharedFrame::Create(size_t payload_bytes, std::string_view tag) {
  RC_CHECK(payload_bytes < (1u << 31));
  RC_CHECK(tag.size() <= UINT16_MAX);
  size_t total = sizeof(SharedFrame) + kMaxHeaderBytes + payload_bytes + tag.size();
  void* mem = std::malloc(total);
  RC_CHECK(mem != nullptr);
  auto* f = new (mem) SharedFrame();
  f->payload_bytes_ = static_cast<uint32_t>(payload_bytes);
  f->tag_bytes_ = static_cast<uint16_t>(tag.size());
  if (!tag.empty())
    std::memcpy(f->storage() + kMaxHeaderBytes + payload_bytes, tag.data(), tag.size());
  return f;
}

SharedFrame* SharedFrame::CreateRaw(std::string_view bytes) {
  SharedFrame* f = Create(bytes.size(), {});
  if (!bytes.empty()) std::memcpy(f->payload(), bytes.data(), bytes.size());
  f->Seal(nullptr, 0);
  return f;
}

void SharedFrame::Seal(const uint8_t* header, size_t header_bytes) {
  RC_CHECK(header_bytes <= kMaxHeaderBytes);
  head_offset_ = static_cast<uint16_t>(kMaxHeaderBytes - header_bytes);
  if (header_bytes > 0) std::memcpy(storage() + head_offset_, header, header_bytes);
  size_ = static_cast<uint32_t>(header_bytes + payload_bytes_);
}

void SharedFrame::Destroy(SharedFrame* f) {
  f->~SharedFrame();
  std::free(f);
}

}  // namespace ringcast::core
