// File: scan/scan_testing.h
// -----------------------------------------------------------------------------
//
// Test support for scans (testonly): drive a ScanTree to the end with random
// probes and compare what it returns with a model, value by value; a fixture
// holding a tree on a storage with delayed completions.

#ifndef LSMSCAN_SCAN_SCAN_TESTING_H_
#define LSMSCAN_SCAN_SCAN_TESTING_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace testing {

// ReadBlocking(): scan/scan_blocking.h.
using ::lsmscan::ReadBlocking;

// ScanCheckOptions
struct ScanCheckOptions {
  double probe_probability = 0;  // After each value.
  // How far past the next expected key (in scan direction, in key units) a
  // probe goes, given the distance to the range's end; unset: anywhere up
  // to half of that distance.
  std::function<uint64_t(Prng* prng, uint64_t span)> probe_step;
  uint64_t value_count_max = UINT64_MAX;  // Stop early (then abort).
  // Runs after each value, before the next call on the scan (e.g. other
  // reads of the same storage); the value's bytes must be unchanged after
  // it (Next()'s contract: valid until the next call on the scan).
  std::function<void()> between_values;
  // Before the scan: an Init() that fails (a reversed range), checked to be
  // reported by Next() (End), status() and Read().
  double failed_init_probability = 0;
  // After each value: one of Abort(), Reset(), an Init() that fails (each
  // checked to end the scan cleanly, then the check stops), or an Init()
  // again over the rest of the range (the check goes on).
  double interrupt_probability = 0;
  // Before each Read(): try ReadResident() first (and Read() only if it
  // declines).
  double read_resident_probability = 0;
};

// ScanCheckResult
struct ScanCheckResult {
  absl::Status status;  // A read error, if the scan ended with one.
  uint64_t values = 0;
  uint64_t probes = 0;
  uint64_t failed_inits = 0;
  uint64_t interrupts = 0;      // Of which the last may have ended the check.
  bool stopped = false;         // Ended early by an interrupt.
  uint64_t resident_reads = 0;  // ReadResident() calls that made it ready.
  ScanStats stats;
};

// ScanChecker<S>
//
// Drives one scan and checks it against the model (see CheckScan()).
template <Schema S>
class ScanChecker {
 public:
  using Key = typename S::Key;
  using Value = typename S::Value;

  ScanChecker(Tree<S>* tree, ScanBuffer* buffer, Snapshot snapshot, Key key_min,
              Key key_max, Direction direction,
              const std::map<Key, Value>& model, Prng* prng,
              const ScanCheckOptions& options)
      : tree_(tree),
        buffer_(buffer),
        snapshot_(snapshot),
        key_min_(key_min),
        key_max_(key_max),
        direction_(direction),
        prng_(prng),
        options_(options) {
    for (auto it = model.lower_bound(key_min);
         it != model.end() && !(key_max < it->first); ++it) {
      expected_.push_back(&it->second);
    }
    if (direction == Direction::kDescending) {
      std::reverse(expected_.begin(), expected_.end());
    }
  }

  ScanCheckResult Run() {
    if (prng_->Chance(options_.failed_init_probability)) CheckFailedInit();
    const absl::Status init =
        scan_.Init(tree_, buffer_, snapshot_, key_min_, key_max_, direction_);
    EXPECT_TRUE(init.ok()) << init;
    if (!init.ok()) return result_;
    if (prng_->Chance(options_.probe_probability)) Probe(RandomProbeKey());
    bool read_pending = true;  // The first Read().
    while (true) {
      if (read_pending && prng_->Chance(options_.read_resident_probability)) {
        const ScanState before = scan_.state();
        if (scan_.ReadResident()) {
          EXPECT_EQ(scan_.state(), ScanState::kSeeking);
          result_.resident_reads++;
          read_pending = false;
        } else {
          EXPECT_EQ(scan_.state(), before) << "ReadResident() declined";
        }
      }
      if (read_pending) {
        const absl::Status read = ReadBlocking(&scan_, tree_->storage());
        if (!read.ok()) {
          result_.status = read;
          EXPECT_EQ(scan_.state(), ScanState::kAborted);
          break;
        }
        read_pending = false;
      }
      const ScanNext<Value> next = scan_.Next();
      if (next.kind == ScanNextKind::kReadAgain) {
        EXPECT_EQ(scan_.state(), ScanState::kNeedsData);
        if (prng_->Chance(options_.probe_probability)) Probe(RandomProbeKey());
        read_pending = scan_.state() == ScanState::kNeedsData;
        continue;
      }
      if (next.kind == ScanNextKind::kEnd) {
        EXPECT_EQ(position_, expected_.size())
            << "the scan ended early; next expected key "
            << S::key_of(*expected_[position_]);
        break;
      }
      if (!TakeValue(next.value)) break;
      if (result_.values >= options_.value_count_max) {
        scan_.Abort();
        break;
      }
      if (prng_->Chance(options_.interrupt_probability)) {
        if (!Interrupt(S::key_of(*expected_[position_ - 1]))) break;
        read_pending = true;
        continue;
      }
      if (prng_->Chance(options_.probe_probability)) Probe(RandomProbeKey());
    }
    result_.stats = scan_.stats();
    return result_;
  }

 private:
  // Checks one value; false (with a test failure) if it is wrong.
  bool TakeValue(const Value* value) {
    if (position_ >= expected_.size()) {
      ADD_FAILURE() << "the scan returned key " << S::key_of(*value)
                    << " past the end of the expected values";
      return false;
    }
    if (std::memcmp(value, expected_[position_], sizeof(Value)) != 0) {
      ADD_FAILURE() << "value " << position_ << ": got key "
                    << S::key_of(*value) << ", expected key "
                    << S::key_of(*expected_[position_]);
      return false;
    }
    position_++;
    result_.values++;
    if (!options_.between_values) return true;
    const Value copy = *value;
    options_.between_values();
    if (std::memcmp(value, &copy, sizeof(Value)) != 0) {
      ADD_FAILURE() << "value " << position_ - 1 << " (key " << S::key_of(copy)
                    << ") changed before the next call on the scan";
      return false;
    }
    return true;
  }

  void Probe(Key key) {
    result_.probes++;
    const absl::Status probed = scan_.Probe(key);
    EXPECT_TRUE(probed.ok()) << probed;
    while (position_ < expected_.size() &&
           Before(direction_, S::key_of(*expected_[position_]), key)) {
      position_++;
    }
  }

  // Somewhere from the next expected key to a little past the range.
  Key RandomProbeKey() {
    const bool ascending = direction_ == Direction::kAscending;
    const Key to = ascending ? key_max_ : key_min_;
    const Key from =
        position_ < expected_.size() ? S::key_of(*expected_[position_]) : to;
    const uint64_t span = ascending ? static_cast<uint64_t>(to - from)
                                    : static_cast<uint64_t>(from - to);
    const uint64_t step = options_.probe_step ? options_.probe_step(prng_, span)
                                              : prng_->Uniform(span / 2 + 3);
    if (ascending) {
      return from +
             static_cast<Key>(std::min<uint64_t>(step, UINT64_MAX - from));
    }
    return step > from ? Key{0} : from - static_cast<Key>(step);
  }

  // An Init() with a reversed range: the scan reports it everywhere.
  void CheckFailedInit() {
    result_.failed_inits++;
    const absl::Status init =
        scan_.Init(tree_, buffer_, snapshot_, Key{1}, Key{0}, direction_);
    EXPECT_TRUE(absl::IsInvalidArgument(init)) << init;
    EXPECT_EQ(scan_.Next().kind, ScanNextKind::kEnd);
    EXPECT_TRUE(absl::IsInvalidArgument(scan_.status())) << scan_.status();
    const absl::Status read = ReadBlocking(&scan_, tree_->storage());
    EXPECT_TRUE(absl::IsInvalidArgument(read)) << read;
    EXPECT_FALSE(buffer_->in_use());
  }

  // After a value with key `last`: a random life-cycle call. Returns true
  // if the scan goes on (Init() again over the rest of the range, starting
  // at `last`, which it returns again).
  bool Interrupt(Key last) {
    result_.interrupts++;
    const uint64_t kind = prng_->Uniform(4);
    if (kind == 3) {
      const bool ascending = direction_ == Direction::kAscending;
      const absl::Status init =
          scan_.Init(tree_, buffer_, snapshot_, ascending ? last : key_min_,
                     ascending ? key_max_ : last, direction_);
      EXPECT_TRUE(init.ok()) << init;
      position_--;  // `last` comes again.
      if (ascending) {
        key_min_ = last;
      } else {
        key_max_ = last;
      }
      return init.ok();
    }
    absl::StatusCode code = absl::StatusCode::kOk;
    if (kind == 0) scan_.Abort();
    if (kind == 1) scan_.Reset();
    if (kind == 2) {
      code = absl::StatusCode::kInvalidArgument;
      EXPECT_EQ(
          scan_.Init(tree_, buffer_, snapshot_, Key{1}, Key{0}, direction_)
              .code(),
          code);
    }
    EXPECT_EQ(scan_.state(), ScanState::kAborted);
    EXPECT_EQ(scan_.Next().kind, ScanNextKind::kEnd);
    EXPECT_EQ(scan_.status().code(), code);
    EXPECT_EQ(ReadBlocking(&scan_, tree_->storage()).code(), code);
    if (kind != 0) {
      EXPECT_FALSE(buffer_->in_use());
    }
    result_.stopped = true;
    return false;
  }

  Tree<S>* tree_;
  ScanBuffer* buffer_;
  Snapshot snapshot_;
  Key key_min_;
  Key key_max_;
  Direction direction_;
  Prng* prng_;
  const ScanCheckOptions& options_;
  std::vector<const Value*> expected_;  // In scan order.
  size_t position_ = 0;                 // Into expected_.
  ScanTree<S> scan_;
  ScanCheckResult result_;
};

// CheckScan()
//
// Scans [key_min, key_max] of `tree` at `snapshot` in `direction` and checks
// every value against `model` (the live values at that snapshot), probing
// ahead and calling the life cycle at random (see ScanCheckOptions).
// Records a test failure (with the failing position) on any difference.
// Never fails on a read error: it returns it.
template <Schema S>
ScanCheckResult CheckScan(
    Tree<S>* tree, ScanBuffer* buffer, Snapshot snapshot,
    typename S::Key key_min, typename S::Key key_max, Direction direction,
    const std::map<typename S::Key, typename S::Value>& model, Prng* prng,
    const ScanCheckOptions& options = {}) {
  ScanChecker<S> checker(tree, buffer, snapshot, key_min, key_max, direction,
                         model, prng, options);
  return checker.Run();
}

// DelayedTreeFixture
//
// A googletest fixture for scans that must cope with late completions: a
// Record32 tree with SmallTreeOptions() on a fresh fault-wrapped storage of
// 4 KiB blocks whose reads complete after random delays
// (Backend::kFaultDelays). The test fills the tree.
class DelayedTreeFixture : public ::testing::Test {
 protected:
  using Tree32 = Tree<Record32Schema>;

  // Creates the storage and an empty tree whose block cache holds
  // `cache_block_count` blocks (0: none). A failure is a fatal test failure.
  void CreateDelayedTree(uint32_t cache_block_count) {
    StorageOptions storage_options = SmallStorageOptions();
    factory_ = std::make_unique<TestStorageFactory>(Backend::kFaultDelays,
                                                    storage_options);
    absl::StatusOr<std::unique_ptr<StorageUnderTest>> storage =
        factory_->Open(OpenMode::kCreate);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = std::move(storage).value();
    TreeOptions options = SmallTreeOptions();
    options.cache_block_count = cache_block_count;
    absl::StatusOr<std::unique_ptr<Tree32>> tree =
        Tree32::Create(storage_->get(), options);
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(tree).value();
  }

  std::unique_ptr<TestStorageFactory> factory_;
  std::unique_ptr<StorageUnderTest> storage_;
  std::unique_ptr<Tree32> tree_;
};

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TESTING_H_
