// File: scan/scan_union.h
// -----------------------------------------------------------------------------
//
// ScanUnion<Key>: every key that at least one source yields, once, in the
// sources' direction (TigerBeetle's merge_union). A k-way merge of the
// sources' heads in a tournament tree (scan/tournament_tree.h); a key that
// several sources yield is returned once.
//
// A union can answer only when it knows every source's next key: a source
// waiting for data might hold the smallest one. So Next() asks every
// source whose head is unknown, and answers ReadAgain if any of them is
// pending; the Read() that follows reads all of those at once.
//
// Example (ids with field A = 7, 8 or 9, newest first):
//
//   ScanUnion<uint64_t> field_a;
//   ScanSource<uint64_t>* values[] = {&a7, &a8, &a9};  // Init()ed sources
//   CHECK_OK(field_a.Init(values));
//   field_a.Read(&OnRead, &state);  // then Next() until ReadAgain or End
//
// The contract (states, errors, Probe, memory) is ScanCombinator's
// (scan/scan_combinator.h) and ScanSource's (scan/scan_source.h).

#ifndef LSMSCAN_SCAN_SCAN_UNION_H_
#define LSMSCAN_SCAN_SCAN_UNION_H_

#include <bit>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "lsmscan/scan/scan_combinator.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/tournament_tree.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// ScanUnion<Key>
template <typename Key>
class ScanUnion final : public ScanCombinator<Key> {
 public:
  ScanUnion() = default;

  // ScanUnion::Init()
  //
  // A union of 1 to kScanSourceCountMax `sources` (Init()ed, not yet read,
  // one direction; see ScanCombinator::InitSources() for the errors). The
  // sources must outlive this object, or its next Init().
  absl::Status Init(std::span<ScanSource<Key>* const> sources) {
    absl::Status status = this->InitSources(sources, 1);
    if (!status.ok()) return status;
    merge_.Reset(this->source_count_, this->direction());
    has_key_last_ = false;
    return absl::OkStatus();
  }

 private:
  using Head = typename ScanCombinator<Key>::Head;

  SourceNext<Key> NextFromHeads() override;

  // Asks every source whose head is unknown and updates the merge; false
  // if one of them is pending. (No head is pending on entry: a pending head
  // makes Next() answer ReadAgain, and Read() or Probe() make it unknown.)
  bool FillMerge();

  TournamentTree<Key, kScanSourceCountMax> merge_;
  Key key_last_{};
  bool has_key_last_ = false;
};

template <typename Key>
bool ScanUnion<Key>::FillMerge() {
  bool pending = false;
  uint64_t unknown = this->unknown_mask_;
  while (unknown != 0) {
    const auto i = static_cast<uint32_t>(std::countr_zero(unknown));
    unknown &= unknown - 1;
    const Head head = this->Fill(i);
    pending = pending || head == Head::kPending;
    const HeadKind kind = head == Head::kKey   ? HeadKind::kKey
                          : head == Head::kEnd ? HeadKind::kEnd
                                               : HeadKind::kPending;
    merge_.Set(i, kind, this->children_[i].key);
    merge_.Replay(i);
  }
  return !pending;
}

template <typename Key>
SourceNext<Key> ScanUnion<Key>::NextFromHeads() {
  while (true) {
    if (!FillMerge()) return {ScanNextKind::kReadAgain, Key{}};
    const uint32_t winner = merge_.winner();
    LSMSCAN_ASSERT(merge_.kind(winner) != HeadKind::kPending);
    if (merge_.kind(winner) == HeadKind::kEnd) {
      return {ScanNextKind::kEnd, Key{}};
    }
    const Key key = merge_.key(winner);
    // The winner's next key is asked for on the next call (or now, for a
    // duplicate): its leaf keeps `key` until then.
    this->SetUnknown(winner);
    if (has_key_last_ && key == key_last_) continue;  // Another source's.
    key_last_ = key;
    has_key_last_ = true;
    return {ScanNextKind::kValue, key};
  }
}

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_UNION_H_
