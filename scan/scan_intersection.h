// File: scan/scan_intersection.h
// -----------------------------------------------------------------------------
//
// ScanIntersection<Key>: the keys that every source yields, in the sources'
// direction (TigerBeetle's merge_intersection). A zig-zag join: the source
// furthest ahead is the leader, and every source behind it (a laggard) is
// moved to the leader's key, by a few Next() steps and then a Probe(), so
// whole blocks and tables between the two are skipped unread. When every
// head agrees, the key is returned.
//
// One round of Next():
//
//   1. ask every source whose head is unknown (an ended source ends the
//      intersection);
//   2. candidate = the furthest head; if every head is pending: ReadAgain;
//   3. move every laggard to the candidate (CatchUp()); if one moved, go
//      to 1 (it may have overtaken the candidate);
//   4. every head equals the candidate: return it; if some are pending,
//      probe those to the candidate (their reads start there) and answer
//      ReadAgain, so that the Read() that follows reads them all at once.
//
// Inside an overlap every round starts with every head unknown and ends
// with every source agreeing: that round asks the sources in turn and
// returns their key without recording heads (NextFromHeads()); the first
// answer that differs hands over to the steps above. It then takes, from
// the sources' batches alone, the keys that agree after it (AgreeAhead()),
// which the next calls of Next() return without asking the sources.
//
// Example (ids with field A = 3 and field B = 5):
//
//   ScanIntersection<uint64_t> both;
//   ScanSource<uint64_t>* sources[] = {&a3, &b5};  // Init()ed sources
//   CHECK_OK(both.Init(sources));
//
// The contract (states, errors, Probe, memory) is ScanCombinator's
// (scan/scan_combinator.h) and ScanSource's (scan/scan_source.h).

#ifndef LSMSCAN_SCAN_SCAN_INTERSECTION_H_
#define LSMSCAN_SCAN_SCAN_INTERSECTION_H_

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "lsmscan/scan/scan_combinator.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// ScanIntersection<Key>
template <typename Key>
class ScanIntersection final : public ScanCombinator<Key> {
 public:
  ScanIntersection() = default;

  // ScanIntersection::Init()
  //
  // An intersection of 1 to kScanSourceCountMax `sources` (Init()ed, not
  // yet read, one direction; see ScanCombinator::InitSources() for the
  // errors). The sources must outlive this object, or its next Init().
  absl::Status Init(std::span<ScanSource<Key>* const> sources) {
    return this->InitSources(sources, 1);
  }

 private:
  using Head = typename ScanCombinator<Key>::Head;

  // Inside an overlap, every round starts with every head unknown (the
  // last key was returned) and ends with every source agreeing: this asks
  // the sources in turn and returns their key without recording a head.
  // At the first answer that differs (or is no key) it hands over to
  // Disagreed().
  SourceNext<Key> NextFromHeads() override;
  // Sources 0 to `i` - 1 answered `first`, source `i` answered `next`
  // (another key, or none): records them as heads and goes on with Round().
  SourceNext<Key> Disagreed(uint32_t i, const SourceNext<Key>& first,
                            const SourceNext<Key>& next);
  // The general round (the steps of the file comment).
  SourceNext<Key> Round();
  // After every source agreed on a key: while the next keys of every
  // source's batch are there and equal, moves them to the keys found ahead
  // (ScanCombinator::Next() returns them with no call to the sources).
  void AgreeAhead();
};

template <typename Key>
void ScanIntersection<Key>::AgreeAhead() {
  const uint32_t count = this->source_count_;
  auto& children = this->children_;
  LSMSCAN_ASSERT(this->results_begin_ == 0 && this->results_end_ == 0);
  // The keys every batch holds: compare that many fronts, no further.
  auto room = static_cast<uint32_t>(this->results_.size());
  for (uint32_t i = 0; i < count; i++) {
    room = std::min(room, children[i].batch_end - children[i].batch_begin);
  }
  const Key* first = children[0].batch.data() + children[0].batch_begin;
  // The longest prefix every batch shares with the first: each source in
  // turn narrows it (one tight loop per source, whatever their count).
  uint32_t agreed = room;
  for (uint32_t i = 1; i < count && agreed > 0; i++) {
    const Key* other = children[i].batch.data() + children[i].batch_begin;
    uint32_t same = 0;
    while (same < agreed && first[same] == other[same]) same++;
    agreed = same;
  }
  std::copy(first, first + agreed, this->results_.begin());
  for (uint32_t i = 0; i < count; i++) children[i].batch_begin += agreed;
  this->results_end_ = agreed;
}

template <typename Key>
SourceNext<Key> ScanIntersection<Key>::NextFromHeads() {
  const uint32_t count = this->source_count_;
  const uint64_t all = count == 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
  if (this->unknown_mask_ != all) return Round();
  const SourceNext<Key> first = this->Take(0);
  if (first.kind != ScanNextKind::kValue) return Disagreed(0, first, first);
  for (uint32_t i = 1; i < count; i++) {
    const SourceNext<Key> next = this->Take(i);
    if (next.kind != ScanNextKind::kValue || next.key != first.key) {
      return Disagreed(i, first, next);
    }
  }
  AgreeAhead();
  return first;  // Every head stays unknown.
}

template <typename Key>
SourceNext<Key> ScanIntersection<Key>::Disagreed(uint32_t i,
                                                 const SourceNext<Key>& first,
                                                 const SourceNext<Key>& next) {
  for (uint32_t j = 0; j < i; j++) this->Known(j, first);
  if (this->Known(i, next) == Head::kEnd) return {ScanNextKind::kEnd, Key{}};
  return Round();
}

template <typename Key>
SourceNext<Key> ScanIntersection<Key>::Round() {
  const uint32_t count = this->source_count_;
  auto& children = this->children_;
  while (true) {
    for (uint64_t unknown = this->unknown_mask_; unknown != 0;
         unknown &= unknown - 1) {
      const auto i = static_cast<uint32_t>(std::countr_zero(unknown));
      if (this->Fill(i) == Head::kEnd) return {ScanNextKind::kEnd, Key{}};
    }
    // The candidate: the furthest head.
    const Key* candidate = nullptr;
    uint32_t pending = 0;
    for (uint32_t i = 0; i < count; i++) {
      if (children[i].head == Head::kPending) {
        pending++;
      } else if (candidate == nullptr ||
                 this->Before(*candidate, children[i].key)) {
        candidate = &children[i].key;
      }
    }
    if (candidate == nullptr) return {ScanNextKind::kReadAgain, Key{}};
    const Key target = *candidate;  // CatchUp() rewrites the heads.
    bool moved = false;
    for (uint32_t i = 0; i < count; i++) {
      if (children[i].head != Head::kKey) continue;
      if (!this->Before(children[i].key, target)) continue;
      moved = true;
      if (this->CatchUp(i, target) == Head::kEnd) {
        return {ScanNextKind::kEnd, Key{}};
      }
    }
    if (moved) continue;
    if (pending == 0) {
      for (uint32_t i = 0; i < count; i++) this->SetUnknown(i);
      return {ScanNextKind::kValue, target};
    }
    for (uint32_t i = 0; i < count; i++) {
      if (children[i].head == Head::kPending) this->ProbeSource(i, target);
    }
    return {ScanNextKind::kReadAgain, Key{}};
  }
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_INTERSECTION_H_
