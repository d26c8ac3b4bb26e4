// CompactVector: a vector of a small trivially copyable T that holds its
// first element inline, in the room std::vector spends on its three pointers.
//
// For lists that almost always have one element and exist once per
// connection or per room (a connection's subscriptions, which for an idle
// user is its personal room alone; a personal room's subscribers): a
// std::vector puts that one element in a heap block of its own, 16 bytes of
// mimalloc's smallest class, per list (docs/design.md, Memory per idle
// connection). Here capacity 1 is the inline element; a second element moves
// the list to a heap array that doubles as it grows and, like std::vector,
// is kept until the list is destroyed. Elements are contiguous either way, so
// walking one (fan-out) is a plain loop over data()..data() + size(). At most
// 2^32 - 1 elements. Moves leave the source empty; no copies. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "core/check.h"

namespace ringcast::core {

template <class T>
class CompactVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

 public:
  CompactVector() = default;
  CompactVector(const CompactVector&) = delete;
  CompactVector& operator=(const CompactVector&) = delete;
  CompactVector(CompactVector&& other) noexcept { TakeFrom(other); }
  CompactVector& operator=(CompactVector&& other) noexcept {
    if (this != &other) {
      FreeHeap();
      TakeFrom(other);
    }
    return *this;
  }
  ~CompactVector() { FreeHeap(); }

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // 1 while the elements fit inline (and for a new list, whose one inline
  // element is unused), else the heap array's length.
  uint32_t capacity() const { return capacity_; }
  bool on_heap() const { return capacity_ > 1; }

  T* data() { return on_heap() ? heap_ : &one_; }
  const T* data() const { return on_heap() ? heap_ : &one_; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

  T& operator[](size_t i) {
    RC_DCHECK(i < size_);
    return data()[i];
  }
  const T& operator[](size_t i) const {
    RC_DCHECK(i < size_);
    return data()[i];
  }
  T& back() {
    RC_DCHECK(size_ > 0);
    return data()[size_ - 1];
  }
  const T& back() const {
    RC_DCHECK(size_ > 0);
    return data()[size_ - 1];
  }

  void push_back(const T& value) {
    if (size_ == capacity_) Grow();
    data()[size_++] = value;
  }
  void pop_back() {
    RC_DCHECK(size_ > 0);
    --size_;
  }
  void clear() { size_ = 0; }

 private:
  void Grow() {
    RC_CHECK(capacity_ <= UINT32_MAX / 2);
    const uint32_t grown = capacity_ * 2;
    T* array = static_cast<T*>(::operator new(sizeof(T) * grown));
    std::memcpy(static_cast<void*>(array), data(), sizeof(T) * size_);
    FreeHeap();
    heap_ = array;
    capacity_ = grown;
  }
  void FreeHeap() {
    if (on_heap()) ::operator delete(heap_);
  }
  void TakeFrom(CompactVector& other) {
    if (other.on_heap()) {
      heap_ = other.heap_;
    } else if (other.size_ > 0) {
      std::memcpy(static_cast<void*>(&one_), &other.one_, sizeof(T));
    }
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.size_ = 0;
    other.capacity_ = 1;
  }

  union {
    T one_;
    T* heap_ = nullptr;
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = 1;
};

}  // namespace ringcast::core
