// File: scan/scan_difference.h
// -----------------------------------------------------------------------------
//
// ScanDifference<Key>: the keys of the first source (A) that none of the
// others (B1, ..., Bn) yields: A minus (B1 or ... or Bn), in the sources'
// direction. (TigerBeetle declares merge_difference but does not implement
// it; RocksDB and LevelDB have no such operator.) An anti-join by probes:
// for each key a of A, every B behind a is moved to a (a few Next() steps,
// then a Probe()), so B's blocks between its keys and A's are skipped
// unread; a is returned unless some B's head equals it.
//
// A's head decides everything, so a pending A answers ReadAgain at once; a
// B is read only where A has keys, and only once probed to A's key.
//
// Example (ids with field A = 3 but not field B = 5):
//
//   ScanDifference<uint64_t> a_not_b;
//   ScanSource<uint64_t>* sources[] = {&a3, &b5};  // A first
//   CHECK_OK(a_not_b.Init(sources));
//
// The contract (states, errors, Probe, memory) is ScanCombinator's
// (scan/scan_combinator.h) and ScanSource's (scan/scan_source.h).

#ifndef LSMSCAN_SCAN_SCAN_DIFFERENCE_H_
#define LSMSCAN_SCAN_SCAN_DIFFERENCE_H_

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "lsmscan/scan/scan_combinator.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// ScanDifference<Key>
template <typename Key>
class ScanDifference final : public ScanCombinator<Key> {
 public:
  ScanDifference() = default;

  // ScanDifference::Init()
  //
  // `sources[0]` minus every other source: 2 to kScanSourceCountMax
  // sources (Init()ed, not yet read, one direction; see
  // ScanCombinator::InitSources() for the errors). The sources must outlive
  // this object, or its next Init().
  absl::Status Init(std::span<ScanSource<Key>* const> sources) {
    return this->InitSources(sources, 2);
  }

 private:
  using Head = typename ScanCombinator<Key>::Head;

  SourceNext<Key> NextFromHeads() override;

  // Moves subtrahend `i` to `a` (probing first if its head is unknown, so
  // that it does not read blocks before `a`); returns its head.
  Head Subtrahend(uint32_t i, const Key& a);
};

template <typename Key>
typename ScanDifference<Key>::Head ScanDifference<Key>::Subtrahend(
    uint32_t i, const Key& a) {
  auto& child = this->children_[i];
  if (child.head == Head::kUnknown) this->ProbeSource(i, a);
  Head head = this->Fill(i);
  if (head == Head::kKey && this->Before(child.key, a)) {
    head = this->CatchUp(i, a);
  } else if (head == Head::kPending) {
    this->ProbeSource(i, a);
  }
  return head;
}

template <typename Key>
SourceNext<Key> ScanDifference<Key>::NextFromHeads() {
  auto& children = this->children_;
  while (true) {
    const Head a_head = this->Fill(0);
    if (a_head == Head::kEnd) return {ScanNextKind::kEnd, Key{}};
    if (a_head == Head::kPending) return {ScanNextKind::kReadAgain, Key{}};
    const Key a = children[0].key;
    bool excluded = false;
    bool pending = false;
    for (uint32_t i = 1; i < this->source_count_ && !excluded; i++) {
      const Head head = Subtrahend(i, a);
      pending = pending || head == Head::kPending;
      excluded = head == Head::kKey && children[i].key == a;
    }
    if (excluded) {
      this->SetUnknown(0);  // a is in some B: skip it.
      continue;
    }
    if (pending) return {ScanNextKind::kReadAgain, Key{}};
    this->SetUnknown(0);
    return {ScanNextKind::kValue, a};
  }
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_DIFFERENCE_H_
