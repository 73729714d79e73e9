// File: scan/scan_combinator_heads.h
// -----------------------------------------------------------------------------
//
// ScanCombinator<Key>'s members that move a source's head: Refill() (a new
// batch of the source's keys, scan_combinator.h "Batches"), ProbeSource()
// (skips keys of the batch first, then probes the source) and CatchUp()
// (the zig-zag: a few steps, then a probe). Part of ScanCombinator: include
// lsmscan/scan/scan_combinator.h (which includes this file after the
// class; including this file alone works too).

#ifndef LSMSCAN_SCAN_SCAN_COMBINATOR_HEADS_H_
#define LSMSCAN_SCAN_SCAN_COMBINATOR_HEADS_H_

#include <algorithm>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "lsmscan/scan/scan_combinator.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

template <typename Key>
SourceNext<Key> ScanCombinator<Key>::Refill(uint32_t i) {
  Child& child = children_[i];
  // An ended source is never asked again (nor is it by heads: kEnd stays).
  if (child.batch_stop == ScanNextKind::kEnd)
    return {ScanNextKind::kEnd, Key{}};
  if (!child.batch_cut && child.batch_end == child.batch_size) {
    child.batch_size =
        std::min(2 * child.batch_size, kScanBatchKeyCountMax<Key>);
  }
  child.batch_cut = false;
  const SourceBatch got = child.source->NextBatch(
      std::span<Key>(child.batch.data(), child.batch_size));
  LSMSCAN_ASSERT(got.count <= child.batch_size);
  LSMSCAN_ASSERT(got.count == child.batch_size ||
                 got.stop != ScanNextKind::kValue);
  child.batch_stop = got.stop;
  child.batch_end = got.count;
  if (got.count == 0) {
    child.batch_begin = 0;
    return {got.stop, Key{}};
  }
  child.batch_begin = 1;
  return {ScanNextKind::kValue, child.batch[0]};
}

template <typename Key>
void ScanCombinator<Key>::ProbeSource(uint32_t i, const Key& target) {
  Child& child = children_[i];
  if (child.batch_begin < child.batch_end) {
    const uint32_t begin = child.batch_begin;
    while (child.batch_begin < child.batch_end &&
           Before(child.batch[child.batch_begin], target)) {
      child.batch_begin++;
    }
    if (child.batch_begin != begin) {
      // Read ahead for nothing: smaller batches for this source.
      child.batch_cut = true;
      child.batch_size = std::max(child.batch_size / 2, uint32_t{1});
    }
    if (child.batch_begin < child.batch_end) return;  // The next key.
  }
  if (child.batch_stop == ScanNextKind::kEnd) return;  // Nothing is left.
  if (child.has_probed && !Before(child.probed, target)) return;
  child.probed = target;
  child.has_probed = true;
  probe_count_++;
  absl::Status probed = child.source->Probe(target);
  if (!probed.ok() && error_.ok()) error_ = std::move(probed);
}

template <typename Key>
typename ScanCombinator<Key>::Head ScanCombinator<Key>::CatchUp(
    uint32_t i, const Key& target) {
  Child& child = children_[i];
  LSMSCAN_ASSERT(child.head == Head::kKey);
  LSMSCAN_ASSERT(Before(child.key, target));
  for (uint32_t step = 0; step < child.step_budget; step++) {
    SetUnknown(i);
    const Head head = Fill(i);
    if (head == Head::kPending) ProbeSource(i, target);
    if (head != Head::kKey) return head;
    if (!Before(child.key, target)) {
      child.step_budget =
          std::min(2 * child.step_budget, kScanCatchUpStepCount);
      return head;
    }
  }
  child.step_budget = std::max(child.step_budget / 2, uint32_t{1});
  ProbeSource(i, target);
  SetUnknown(i);
  const Head head = Fill(i);
  LSMSCAN_ASSERT(head != Head::kKey || !Before(children_[i].key, target));
  return head;
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_COMBINATOR_HEADS_H_
