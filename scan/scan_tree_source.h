// File: scan/scan_tree_source.h
// -----------------------------------------------------------------------------
//
// ScanTreeSource<S, P>: a ScanTree seen as a ScanSource, its values mapped to
// the algebra's keys by a projection P. The leaf of every scan expression.
//
// Projections. Two index scans intersect on what their entries point to,
// not on their own keys: an index tree keyed (field, id) scanned at one
// field value yields ids in order, and the projection (field, id) -> id is
// what the algebra compares. A projection P for schema S provides:
//
//   P::Key                                 the algebra's key (e.g. the id)
//   P::Key   Project(const S::Value&)      the key of a value
//   S::Key   TreeKey(const P::Key& key,    the tree key to Probe() the scan
//                    const S::Key& key_min) to so that its next value has a
//                                          projected key at or past `key`;
//                                          `key_min` is the scan's range
//                                          start (it carries the prefix)
//
// REQUIRES, over the scanned range: Project() is strictly increasing in the
// tree's key order, and TreeKey() is its inverse (TreeKey(Project(v),
// key_min) == key_of(v), and values with key >= TreeKey(k, key_min) are
// exactly those whose projection is >= k). For an index keyed (field, id)
// this holds for a range within one field value. A projection found going
// backwards (e.g. a range spanning two field values), or a key before the
// last probe, ends the source with FailedPrecondition instead of yielding
// keys out of order.
//
// Example (the index entries of field value 7, as ids, newest first):
//
//   struct IdOfEntry {
//     using Key = uint64_t;
//     Key Project(const IndexSchema::Value& v) const { return v.key.id; }
//     IndexKey TreeKey(Key id, const IndexKey& key_min) const {
//       return {key_min.field, id};
//     }
//   };
//   ScanTreeSource<IndexSchema, IdOfEntry> source;
//   CHECK_OK(source.Init(tree, buffer, snapshot, {7, 0}, {7, kIdMax},
//                        Direction::kDescending));

#ifndef LSMSCAN_SCAN_SCAN_TREE_SOURCE_H_
#define LSMSCAN_SCAN_SCAN_TREE_SOURCE_H_

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {

// KeyProjection<P, S>
//
// The shape of a projection (its promises are in the file comment).
template <typename P, typename S>
concept KeyProjection = Schema<S> &&
    requires(const P& projection, const typename S::Value& value,
             const typename P::Key& key, const typename S::Key& tree_key) {
  requires std::totally_ordered<typename P::Key>;
  requires std::is_trivially_copyable_v<typename P::Key>;
  { projection.Project(value) } -> std::same_as<typename P::Key>;
  { projection.TreeKey(key, tree_key) } -> std::same_as<typename S::Key>;
};

// IdentityProjection<S>
//
// The tree's own key: for scans of a tree keyed by what the algebra
// compares (an objects tree keyed by id).
template <Schema S>
struct IdentityProjection {
  using Key = typename S::Key;
  Key Project(const typename S::Value& value) const { return S::key_of(value); }
  typename S::Key TreeKey(const Key& key, const typename S::Key&) const {
    return key;
  }
};

// ScanTreeSource<S, P>
template <Schema S, typename P = IdentityProjection<S>>
requires KeyProjection<P, S>
class ScanTreeSource final : public ScanSource<typename P::Key> {
 public:
  using Key = typename P::Key;
  using TreeKey = typename S::Key;
  using Value = typename S::Value;
  using ReadCallback = typename ScanSource<Key>::ReadCallback;

  ScanTreeSource() = default;

  // ScanTreeSource::Init()
  //
  // Prepares a scan of [key_min, key_max] of `tree` at `snapshot` in
  // `direction` (ScanTree::Init(); no I/O), yielding the projections of its
  // values. Errors: those of ScanTree::Init(); FailedPrecondition while a
  // combinator or lookup reads this source.
  absl::Status Init(Tree<S>* tree, ScanBuffer* buffer, Snapshot snapshot,
                    const TreeKey& key_min, const TreeKey& key_max,
                    Direction direction, const P& projection = P()) {
    if (this->claimed()) {
      return absl::FailedPreconditionError(
          "Init() of a source that a combinator or lookup reads");
    }
    LSMSCAN_RETURN_IF_ERROR(
        scan_.Init(tree, buffer, snapshot, key_min, key_max, direction));
    tree_ = tree;
    projection_ = projection;
    range_key_min_ = key_min;
    has_key_last_ = false;
    has_probed_ = false;
    value_ = nullptr;
    error_ = absl::OkStatus();
    error_delivered_ = false;
    return absl::OkStatus();
  }

  void Read(ReadCallback callback, void* context) override {
    LSMSCAN_ASSERT(callback != nullptr);
    LSMSCAN_ASSERT_MSG(tree_ != nullptr, "Read() before Init()");
    callback_ = callback;
    callback_context_ = context;
    value_ = nullptr;
    scan_.Read(&ScanTreeSource::ScanReadCallback, this);
  }

  SourceNext<Key> Next() override {
    if (!error_.ok()) {
      return {error_delivered_ ? ScanNextKind::kEnd : ScanNextKind::kReadAgain,
              Key{}};
    }
    const ScanNext<Value> next = scan_.Next();
    if (next.kind != ScanNextKind::kValue) {
      value_ = nullptr;
      return {next.kind, Key{}};
    }
    const Key key = projection_.Project(*next.value);
    const Direction direction = scan_.direction();
    if ((has_key_last_ && !Before(direction, key_last_, key)) ||
        (has_probed_ && Before(direction, key, probed_))) {
      FailProjection();
      return {ScanNextKind::kReadAgain, Key{}};
    }
    key_last_ = key;
    has_key_last_ = true;
    value_ = next.value;
    return {ScanNextKind::kValue, key};
  }

  // The keys of a resident stretch in one call: the merge's current run
  // projected in a loop (ScanTree::TakeRun()), with no virtual call and no
  // merge step per key. The first key goes through Next() (errors, the
  // check against the last probe); after it each key need only follow the
  // one before. value() is the value of the last key stored.
  SourceBatch NextBatch(std::span<Key> keys) override {
    if (keys.empty()) return {0, ScanNextKind::kValue};
    const SourceNext<Key> first = ScanTreeSource::Next();
    if (first.kind != ScanNextKind::kValue) return {0, first.kind};
    keys[0] = first.key;
    const Direction direction = scan_.direction();
    Key last = first.key;
    const Value* value = value_;
    uint32_t count = 1;
    while (count < keys.size()) {
      std::span<const Value> run = scan_.TakeRun(keys.size() - count);
      if (run.empty()) {  // A merge step or a stop: one Next().
        const ScanNext<Value> next = scan_.Next();
        if (next.kind != ScanNextKind::kValue) {
          key_last_ = last;
          value_ = nullptr;
          return {count, next.kind};
        }
        run = std::span<const Value>(next.value, 1);
      }
      const bool in_order = direction == Direction::kAscending
                                ? ProjectRun<Direction::kAscending>(
                                      run, keys.data(), &count, &last, &value)
                                : ProjectRun<Direction::kDescending>(
                                      run, keys.data(), &count, &last, &value);
      if (!in_order) {
        key_last_ = last;
        FailProjection();
        return {count, ScanNextKind::kReadAgain};
      }
    }
    key_last_ = last;
    value_ = value;
    return {count, ScanNextKind::kValue};
  }

  absl::Status Probe(const Key& key) override {
    value_ = nullptr;
    if (!error_.ok()) return absl::OkStatus();  // Ended: Read() reports it.
    if (!has_probed_ || Before(scan_.direction(), probed_, key)) {
      probed_ = key;
      has_probed_ = true;
    }
    return scan_.Probe(projection_.TreeKey(key, range_key_min_));
  }

  void Abort() override {
    value_ = nullptr;
    error_delivered_ = true;  // An error found by Next() stays status().
    scan_.Abort();
  }

  ScanState state() const override {
    // An error found by Next() is delivered by the next Read().
    if (!error_.ok() && !error_delivered_) return ScanState::kNeedsData;
    return scan_.state();
  }
  const absl::Status& status() const override {
    return error_.ok() ? scan_.status() : error_;
  }
  Direction direction() const override { return scan_.direction(); }
  Storage* storage() const override {
    LSMSCAN_ASSERT_MSG(tree_ != nullptr, "storage() before Init()");
    return tree_->storage();
  }
  ScanStats stats() const override { return scan_.stats(); }

  // ScanTreeSource::value()
  //
  // The value whose projection Next() returned last (NextBatch(): the
  // last key stored); null after any other answer. Valid until the next
  // call on this source (as ScanTree's). A combinator reads its sources
  // ahead in batches: there, this is not the value of the key it yields.
  const Value* value() const { return value_; }
  // The underlying scan (its state, range and statistics).
  const ScanTree<S>& scan() const { return scan_; }

 private:
  void FailProjection() {
    error_ = absl::FailedPreconditionError(absl::StrCat(
        "the projection of the scan of [", KeyText(scan_.key_min()), ", ",
        KeyText(scan_.key_max()),
        "] is not strictly increasing in scan order, or its TreeKey() "
        "does not invert it: a scan's range must map to ordered keys (e.g. "
        "one field value of an index)"));
    value_ = nullptr;
    scan_.Abort();
  }

  // Appends the keys of `run`'s values (tombstones skipped) to `keys` at
  // `*count`, in scan order, each after `*last`; `*value` is the value of
  // the last key appended. False at a key that does not follow the one
  // before (the projection is not increasing). One loop per direction,
  // with the cursor in locals: NextBatch()'s inner loop.
  template <Direction D>
  bool ProjectRun(std::span<const Value> run, Key* keys, uint32_t* count,
                  Key* last, const Value** value) const {
    uint32_t n = *count;
    Key previous = *last;
    const Value* previous_value = *value;
    bool in_order = true;
    const size_t size = run.size();
    for (size_t i = 0; i < size; i++) {
      const Value& v = D == Direction::kAscending ? run[i] : run[size - 1 - i];
      if (S::is_tombstone(v)) continue;
      const Key key = projection_.Project(v);
      if (!Before(D, previous, key)) {
        in_order = false;
        break;
      }
      keys[n++] = key;
      previous = key;
      previous_value = &v;
    }
    *count = n;
    *last = previous;
    *value = previous_value;
    return in_order;
  }

  template <typename K>
  static std::string KeyText(const K& key) {
    if constexpr (std::is_integral_v<K>) {
      return absl::StrCat(key);
    } else {
      return "...";
    }
  }

  static void ScanReadCallback(void* context, ScanTree<S>*,
                               absl::Status status) {
    auto* self = static_cast<ScanTreeSource*>(context);
    if (!self->error_.ok()) {
      status = self->error_;
      self->error_delivered_ = true;
    }
    self->callback_(self->callback_context_, self, std::move(status));
  }

  ScanTree<S> scan_;
  Tree<S>* tree_ = nullptr;
  P projection_{};
  TreeKey range_key_min_{};
  ReadCallback callback_ = nullptr;
  void* callback_context_ = nullptr;
  Key key_last_{};
  bool has_key_last_ = false;
  // The furthest key probed to: later keys may not come before it.
  Key probed_{};
  bool has_probed_ = false;
  const Value* value_ = nullptr;
  // A projection found going backwards: delivered by the next Read().
  absl::Status error_;
  bool error_delivered_ = false;
};

}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TREE_SOURCE_H_
