// File: storage/base/intrusive_queue.h
// -----------------------------------------------------------------------------
//
// A FIFO of caller-owned nodes linked through their own `next` pointer, so
// queueing a request never allocates. Used for every request queue in lsmscan
// (storage submissions, completions, next-tick callbacks).
//
// Example:
//
//   struct Request { Request* next = nullptr; ... };
//   IntrusiveQueue<Request> queue;
//   queue.PushBack(&request);
//   while (Request* r = queue.PopFront()) { ... }
//
// Not thread-safe: one owner thread, like everything in lsmscan.

#ifndef LSMSCAN_STORAGE_BASE_INTRUSIVE_QUEUE_H_
#define LSMSCAN_STORAGE_BASE_INTRUSIVE_QUEUE_H_

#include <cstddef>
#include <utility>

#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// IntrusiveQueue<Node>
//
// `Node` must have a public `Node* next` member. A node may be in at most one
// queue at a time; its `next` is nullptr whenever it is in none.
template <typename Node>
class IntrusiveQueue {
 public:
  IntrusiveQueue() = default;
  IntrusiveQueue(const IntrusiveQueue&) = delete;
  IntrusiveQueue& operator=(const IntrusiveQueue&) = delete;
  IntrusiveQueue(IntrusiveQueue&& other) noexcept { *this = std::move(other); }
  IntrusiveQueue& operator=(IntrusiveQueue&& other) noexcept {
    LSMSCAN_ASSERT(empty());
    head_ = other.head_;
    tail_ = other.tail_;
    count_ = other.count_;
    other.head_ = nullptr;
    other.tail_ = nullptr;
    other.count_ = 0;
    return *this;
  }

  // IntrusiveQueue::PushBack()
  //
  // Appends `node`. REQUIRES: `node` is in no queue.
  void PushBack(Node* node) {
    LSMSCAN_ASSERT(node != nullptr);
    LSMSCAN_ASSERT(node->next == nullptr);
    LSMSCAN_ASSERT(node != tail_);
    if (tail_ == nullptr) {
      LSMSCAN_ASSERT(head_ == nullptr);
      head_ = node;
    } else {
      tail_->next = node;
    }
    tail_ = node;
    count_++;
  }

  // IntrusiveQueue::PopFront()
  //
  // Removes and returns the oldest node, or nullptr if the queue is empty.
  Node* PopFront() {
    Node* node = head_;
    if (node == nullptr) return nullptr;
    LSMSCAN_ASSERT(count_ > 0);
    head_ = node->next;
    if (head_ == nullptr) tail_ = nullptr;
    node->next = nullptr;
    count_--;
    return node;
  }

  // IntrusiveQueue::Remove()
  //
  // Removes `node` if present (linear in the queue length); returns whether
  // it was present.
  bool Remove(Node* node) {
    Node* previous = nullptr;
    for (Node* current = head_; current != nullptr; current = current->next) {
      if (current != node) {
        previous = current;
        continue;
      }
      if (previous == nullptr) {
        head_ = current->next;
      } else {
        previous->next = current->next;
      }
      if (tail_ == current) tail_ = previous;
      current->next = nullptr;
      count_--;
      return true;
    }
    return false;
  }

  Node* front() const { return head_; }
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return count_; }

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  size_t count_ = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_STORAGE_BASE_INTRUSIVE_QUEUE_H_
