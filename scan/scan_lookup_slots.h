// File: scan/scan_lookup_slots.h
// -----------------------------------------------------------------------------
//
// ScanLookupSlots<S, Owner>: the point reads of one ScanLookup
// (scan/scan_lookup.h). A fixed pool of slots, each a GetRequest (with a
// block frame of its own on a copying storage) and the state of its
// lookup; a ring of the slots in use, in the order their ids came (the
// oldest first: the order results are returned in); and a stack of the
// free slots. A slot is free, in the ring, or held apart by its owner (the
// value Next() returned last, a lookup dropped while in flight).
//
// Memory: Reset() allocates when asked for more slots or larger frames than
// any Reset() before; nothing else allocates.
//
// Thread safety: none (the owner's).

#ifndef LSMSCAN_SCAN_SCAN_LOOKUP_SLOTS_H_
#define LSMSCAN_SCAN_SCAN_LOOKUP_SLOTS_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree_get.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

template <Schema S, typename Owner>
class ScanLookupSlots {
 public:
  enum class SlotState : uint8_t {
    kFree,       // On the free stack.
    kInFlight,   // Its Get has not completed.
    kDone,       // Its Get completed: request.status, found, value.
    kCancelled,  // Dropped while in flight: freed when the Get completes.
  };

  struct Slot {
    GetRequest<S> request;  // request.context points to the slot.
    Owner* owner = nullptr;
    SlotState state = SlotState::kFree;
  };

  ScanLookupSlots() = default;
  ScanLookupSlots(const ScanLookupSlots&) = delete;
  ScanLookupSlots& operator=(const ScanLookupSlots&) = delete;

  // ScanLookupSlots::Reset()
  //
  // Makes `count` free slots (the ring empty) owned by `owner`, whose
  // requests call back `callback`, each with a frame of `frame_bytes`
  // (none if 0). REQUIRES: count > 0; no Get in flight on any slot.
  void Reset(uint32_t count, uint32_t frame_bytes, Owner* owner,
             void (*callback)(GetRequest<S>* request)) {
    LSMSCAN_ASSERT(count > 0);
    if (count > capacity_) {
      slots_ = std::make_unique<Slot[]>(count);
      ring_ = std::make_unique<uint32_t[]>(count);
      free_ = std::make_unique<uint32_t[]>(count);
      capacity_ = count;
    }
    const size_t frames_bytes = size_t{count} * frame_bytes;
    if (frames_.size() < frames_bytes) frames_ = AlignedBuffer(frames_bytes);
    count_ = count;
    for (uint32_t i = 0; i < count_; i++) {
      Slot& slot = slots_[i];
      slot.owner = owner;
      slot.state = SlotState::kFree;
      slot.request.frame =
          frame_bytes > 0 ? frames_.data() + size_t{i} * frame_bytes : nullptr;
      slot.request.callback = callback;
      slot.request.context = &slot;
      free_[i] = count_ - 1 - i;
    }
    free_count_ = count_;
    ring_head_ = ring_count_ = 0;
  }

  uint32_t count() const { return count_; }
  uint32_t free_count() const { return free_count_; }
  // Slots in the ring (results, complete or not).
  uint32_t ring_count() const { return ring_count_; }

  // ScanLookupSlots::Push()
  //
  // Takes a free slot, appends it to the ring (the newest) in state
  // kInFlight and returns it. REQUIRES: free_count() > 0.
  Slot& Push() {
    LSMSCAN_ASSERT(free_count_ > 0);
    LSMSCAN_ASSERT(ring_count_ < count_);
    const uint32_t index = free_[--free_count_];
    Slot& slot = slots_[index];
    LSMSCAN_ASSERT(slot.state == SlotState::kFree);
    slot.state = SlotState::kInFlight;
    ring_[(ring_head_ + ring_count_) % count_] = index;
    ring_count_++;
    return slot;
  }

  // The oldest slot of the ring. REQUIRES: ring_count() > 0.
  const Slot& head() const {
    LSMSCAN_ASSERT(ring_count_ > 0);
    return slots_[ring_[ring_head_]];
  }

  // ScanLookupSlots::PopHead()
  //
  // Removes the oldest slot from the ring and returns its index; the slot
  // is neither in the ring nor free until Free(index).
  // REQUIRES: ring_count() > 0.
  uint32_t PopHead() {
    LSMSCAN_ASSERT(ring_count_ > 0);
    const uint32_t index = ring_[ring_head_];
    ring_head_ = (ring_head_ + 1) % count_;
    ring_count_--;
    return index;
  }

  // Puts a slot that is in neither the ring nor the free stack back on the
  // free stack.
  void Free(uint32_t index) {
    LSMSCAN_ASSERT(index < count_);
    LSMSCAN_ASSERT(free_count_ < count_);
    slots_[index].state = SlotState::kFree;
    free_[free_count_++] = index;
  }

  Slot& at(uint32_t index) {
    LSMSCAN_ASSERT(index < count_);
    return slots_[index];
  }
  uint32_t IndexOf(const Slot* slot) const {
    const ptrdiff_t index = slot - slots_.get();
    LSMSCAN_ASSERT(index >= 0 && index < static_cast<ptrdiff_t>(count_));
    return static_cast<uint32_t>(index);
  }

 private:
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint32_t[]> ring_;  // Slot indices, oldest at ring_head_.
  std::unique_ptr<uint32_t[]> free_;  // A stack of slot indices.
  AlignedBuffer frames_;
  uint32_t capacity_ = 0;  // Slots allocated.
  uint32_t count_ = 0;     // Slots in use since Reset().
  uint32_t ring_head_ = 0;
  uint32_t ring_count_ = 0;
  uint32_t free_count_ = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_LOOKUP_SLOTS_H_
