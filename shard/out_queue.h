// OutQueue: one connection's queue of frames waiting to be sent.
//
// A delivering shard wraps each SharedFrame in one LocalFrame whose plain
// (non-atomic) count says how many of its connections still queue it (plus
// one while the shard is still fanning it out); when
// that count reaches zero the shard drops its single atomic reference. Each
// queued entry is a 16-byte OutNode from the shard's pool, so an idle
// connection's queue is two null pointers and a few counters. Send progress:
// bytes of the head frame already on the wire (head_offset). Shard thread only.
#pragma once

#include <cstdint>

#include "core/check.h"
#include "core/object_pool.h"
#include "core/shared_frame.h"

namespace ringcast::shard {

struct LocalFrame {
  core::SharedFrame* frame = nullptr;
  uint32_t refs = 0;
};

struct OutNode {
  LocalFrame* local = nullptr;
  OutNode* next = nullptr;
};

// The shard's allocators for queue entries; frees frames at refcount zero.
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
  OutNode* NewNode(LocalFrame* local) { return nodes_.New(OutNode{local, nullptr}); }
  void DeleteNode(OutNode* node) { nodes_.Delete(node); }
  size_t live_nodes() const { return nodes_.live(); }
  size_t live_frames() const { return locals_.live(); }

 private:
  core::ObjectPool<LocalFrame> locals_;
  core::ObjectPool<OutNode> nodes_;
};

class OutQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  uint64_t queued_bytes() const { return queued_bytes_; }
  OutNode* head() const { return head_; }
  uint32_t head_offset() const { return head_offset_; }

  void Push(FramePools* pools, LocalFrame* local) {
    OutNode* node = pools->NewNode(local);
    ++local->refs;
    queued_bytes_ += local->frame->size();
    if (tail_ == nullptr) {
      head_ = tail_ = node;
    } else {
      tail_->next = node;
      tail_ = node;
    }
  }

  // Marks bytes as sent: frees every fully sent entry, keeps the offset into
  // a partly sent one.
  void Consume(FramePools* pools, uint64_t bytes) {
    RC_CHECK(bytes <= queued_bytes_);
    queued_bytes_ -= bytes;
    while (bytes > 0) {
      RC_CHECK(head_ != nullptr);
      uint32_t left = head_->local->frame->size() - head_offset_;
      if (bytes < left) {
        head_offset_ += static_cast<uint32_t>(bytes);
        return;
      }
      bytes -= left;
      PopHead(pools);
    }
    // Zero-length frames at the head are complete too.
    while (head_ != nullptr && head_offset_ == 0 && head_->local->frame->size() == 0) PopHead(pools);
  }

  // Drops queued entries after the first `keep` nodes (those may be in
  // flight). A partly sent head is always kept: cutting it would corrupt the
  // stream before the close frame that follows.
  void DropAfter(FramePools* pools, uint32_t keep) {
    if (keep == 0 && head_offset_ > 0) keep = 1;
    OutNode* prev = nullptr;
    OutNode* node = head_;
    for (uint32_t i = 0; i < keep && node != nullptr; ++i) {
      prev = node;
      node = node->next;
    }
    while (node != nullptr) {
      OutNode* next = node->next;
      queued_bytes_ -= node->local->frame->size();
      ReleaseNode(pools, node);
      node = next;
    }
    if (prev == nullptr) {
      head_ = tail_ = nullptr;
      head_offset_ = 0;
    } else {
      prev->next = nullptr;
      tail_ = prev;
    }
  }

  void Clear(FramePools* pools) {
    head_offset_ = 0;
    DropAfter(pools, 0);
    queued_bytes_ = 0;
  }

 private:
  void PopHead(FramePools* pools) {
    OutNode* node = head_;
    head_ = node->next;
    if (head_ == nullptr) tail_ = nullptr;
    head_offset_ = 0;
    ReleaseNode(pools, node);
  }
  static void ReleaseNode(FramePools* pools, OutNode* node) {
    LocalFrame* local = node->local;
    pools->DeleteNode(node);
    pools->Unref(local);
  }

  OutNode* head_ = nullptr;
  OutNode* tail_ = nullptr;
  uint64_t queued_bytes_ = 0;
  uint32_t head_offset_ = 0;
};

}  // namespace ringcast::shard
