// OutQueue: one connection's queue of frames waiting to be sent.
//
// A delivering shard wraps each SharedFrame in one LocalFrame whose plain
// (non-atomic) count says how many of its connections still queue it (plus
// one while the shard is still fanning it out); when that count reaches zero
// the shard drops its single atomic reference.
//
// Entries are LocalFrame pointers in 128-byte chunks from the shard's pool,
// so a connection's queue is contiguous in runs of 15: under overload
// thousands of frames wait per connection, and walking one pointer per entry
// through a linked list of nodes (allocated interleaved with every other
// subscriber's) missed the cache on every frame. An idle connection holds no
// chunk: its queue is two null pointers and a few counters. Send progress:
// bytes of the head frame already on the wire (head_offset). Shard thread only.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "core/object_pool.h"
#include "core/shared_frame.h"

namespace ringcast::shard {

struct LocalFrame {
  core::SharedFrame* frame = nullptr;
  uint32_t refs = 0;
};

// Two cache lines exactly. Entries are written before they are read, so a new
// chunk is left uninitialised (the pool would otherwise zero 128 bytes each).
struct alignas(64) OutChunk {
  static constexpr uint32_t kEntries = 15;
  OutChunk() {}  // NOLINT: deliberately no member initialisers
  LocalFrame* entries[kEntries];
  OutChunk* next;
};
static_assert(sizeof(OutChunk) == 128);

// The shard's allocators for queue chunks; frees frames at refcount zero.
class FramePools {
 public:
  // The caller holds the first reference for as long as it fans the frame
  // out, so a queue that drops the frame mid-loop (a slow consumer) cannot
  // free it under the loop's feet; it calls Unref() when done.
  LocalFrame* Wrap(core::SharedFrame* frame) { return locals_.New(LocalFrame{frame, 1}); }
  void Unref(LocalFrame* local) {
    RC_CHECK(local->refs > 0);
    if (--local->refs == 0) {
      local->frame->Unref();
      locals_.Delete(local);
    }
  }
  OutChunk* NewChunk() { return chunks_.New(); }
  void DeleteChunk(OutChunk* chunk) { chunks_.Delete(chunk); }
  size_t live_chunks() const { return chunks_.live(); }
  size_t live_frames() const { return locals_.live(); }

 private:
  core::ObjectPool<LocalFrame> locals_;
  core::ObjectPool<OutChunk> chunks_;
};

class OutQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  uint64_t queued_bytes() const { return queued_bytes_; }
  uint32_t head_offset() const { return head_offset_; }

  void Push(FramePools* pools, LocalFrame* local) {
    if (tail_ == nullptr) {
      head_ = tail_ = pools->NewChunk();
      head_->next = nullptr;
      head_index_ = tail_count_ = 0;
    } else if (tail_count_ == OutChunk::kEntries) {
      OutChunk* chunk = pools->NewChunk();
      chunk->next = nullptr;
      tail_->next = chunk;
      tail_ = chunk;
      tail_count_ = 0;
    }
    tail_->entries[tail_count_++] = local;
    ++local->refs;
    queued_bytes_ += local->frame->size();
  }

  // Fills up to max_iov iovecs with the queued bytes from the head (past
  // head_offset) on; returns how many, with their byte total in *bytes.
  size_t Gather(iovec* iov, size_t max_iov, uint64_t* bytes) const {
    size_t n = 0;
    uint64_t total = 0;
    uint32_t offset = head_offset_;
    uint32_t index = head_index_;
    for (const OutChunk* chunk = head_; chunk != nullptr && n < max_iov; chunk = chunk->next) {
      uint32_t end = chunk == tail_ ? tail_count_ : OutChunk::kEntries;
      for (; index < end && n < max_iov; ++index) {
        const core::SharedFrame* f = chunk->entries[index]->frame;
        iov[n].iov_base = const_cast<uint8_t*>(f->data() + offset);
        iov[n].iov_len = f->size() - offset;
        total += f->size() - offset;
        offset = 0;
        ++n;
      }
      index = 0;
    }
    *bytes = total;
    return n;
  }

  // Marks bytes as sent: frees every fully sent entry, keeps the offset into
  // a partly sent one.
  void Consume(FramePools* pools, uint64_t bytes) {
    RC_CHECK(bytes <= queued_bytes_);
    queued_bytes_ -= bytes;
    while (bytes > 0) {
      RC_CHECK(head_ != nullptr);
      uint32_t left = Head()->frame->size() - head_offset_;
      if (bytes < left) {
        head_offset_ += static_cast<uint32_t>(bytes);
        return;
      }
      bytes -= left;
      PopHead(pools);
    }
    // Zero-length frames at the head are complete too.
    while (head_ != nullptr && head_offset_ == 0 && Head()->frame->size() == 0) PopHead(pools);
  }

  // Drops queued entries after the first `keep` (those may be in flight). A
  // partly sent head is always kept: cutting it would corrupt the stream
  // before the close frame that follows.
  void DropAfter(FramePools* pools, uint32_t keep) {
    if (keep == 0 && head_offset_ > 0) keep = 1;
    if (head_ == nullptr) return;
    // Find the chunk and index of the first entry to drop.
    OutChunk* chunk = head_;
    uint32_t index = head_index_;
    for (uint32_t left = keep; left > 0;) {
      uint32_t end = chunk == tail_ ? tail_count_ : OutChunk::kEntries;
      uint32_t step = std::min(left, end - index);
      index += step;
      left -= step;
      if (left == 0) break;
      if (chunk == tail_) return;  // fewer than keep entries: nothing to drop
      chunk = chunk->next;
      index = 0;
    }
    if (chunk == tail_ && index == tail_count_) return;
    // Release the rest of this chunk, then every later chunk.
    OutChunk* at = chunk;
    uint32_t at_index = index;
    for (OutChunk* c = chunk; c != nullptr;) {
      uint32_t end = c == tail_ ? tail_count_ : OutChunk::kEntries;
      for (uint32_t i = (c == at ? at_index : 0); i < end; ++i) {
        queued_bytes_ -= c->entries[i]->frame->size();
        pools->Unref(c->entries[i]);
      }
      OutChunk* next = c->next;
      if (c != at) pools->DeleteChunk(c);
      c = next;
    }
    if (keep == 0) {
      pools->DeleteChunk(at);
      head_ = tail_ = nullptr;
      head_index_ = tail_count_ = 0;
      head_offset_ = 0;
    } else {
      at->next = nullptr;
      tail_ = at;
      tail_count_ = static_cast<uint16_t>(at_index);
    }
  }

  void Clear(FramePools* pools) {
    head_offset_ = 0;
    DropAfter(pools, 0);
    queued_bytes_ = 0;
  }

 private:
  LocalFrame* Head() const { return head_->entries[head_index_]; }

  void PopHead(FramePools* pools) {
    pools->Unref(Head());
    head_offset_ = 0;
    ++head_index_;
    if (head_ == tail_ && head_index_ == tail_count_) {
      pools->DeleteChunk(head_);
      head_ = tail_ = nullptr;
      head_index_ = tail_count_ = 0;
    } else if (head_index_ == OutChunk::kEntries) {
      OutChunk* next = head_->next;
      pools->DeleteChunk(head_);
      head_ = next;
      head_index_ = 0;
    }
  }

  OutChunk* head_ = nullptr;
  OutChunk* tail_ = nullptr;
  uint64_t queued_bytes_ = 0;
  uint32_t head_offset_ = 0;
  uint16_t head_index_ = 0;  // first live entry of head_
  uint16_t tail_count_ = 0;  // entries used in tail_
};

}  // namespace ringcast::shard
