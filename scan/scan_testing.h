// File: scan/scan_testing.h
// -----------------------------------------------------------------------------
//
// Test support for scans (testonly): drive a ScanTree to the end with random
// probes and compare what it returns with a model, value by value.

#ifndef LSMSCAN_SCAN_SCAN_TESTING_H_
#define LSMSCAN_SCAN_SCAN_TESTING_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace testing {

// ReadBlocking()
//
// Read() and tick the storage until the callback; returns its status.
template <Schema S>
absl::Status ReadBlocking(ScanTree<S>* scan, Storage* storage) {
  struct Done {
    bool done = false;
    absl::Status status;
  } done;
  scan->Read(
      [](void* context, ScanTree<S>*, absl::Status status) {
        auto* d = static_cast<Done*>(context);
        d->done = true;
        d->status = std::move(status);
      },
      &done);
  EXPECT_FALSE(done.done) << "Read() called back from inside the call";
  while (!done.done) storage->Tick(Storage::TickMode::kWaitForProgress);
  return done.status;
}

// ScanCheckOptions
struct ScanCheckOptions {
  double probe_probability = 0;           // After each value.
  uint64_t value_count_max = UINT64_MAX;  // Stop early (then abort).
  // Runs after each value, before the next call on the scan (e.g. other
  // reads of the same storage); the value's bytes must be unchanged after
  // it (Next()'s contract: valid until the next call on the scan).
  std::function<void()> between_values;
};

// ScanCheckResult
struct ScanCheckResult {
  absl::Status status;  // A read error, if the scan ended with one.
  uint64_t values = 0;
  uint64_t probes = 0;
  ScanStats stats;
};

// CheckScan()
//
// Scans [key_min, key_max] of `tree` at `snapshot` in `direction` and checks
// every value against `model` (the live values at that snapshot), probing
// ahead at random. Records a test failure (with the failing position) on
// any difference. Never fails on a read error: it returns it.
template <Schema S>
ScanCheckResult CheckScan(
    Tree<S>* tree, ScanBuffer* buffer, Snapshot snapshot,
    typename S::Key key_min, typename S::Key key_max, Direction direction,
    const std::map<typename S::Key, typename S::Value>& model, Prng* prng,
    const ScanCheckOptions& options = {}) {
  using Key = typename S::Key;
  using Value = typename S::Value;
  ScanCheckResult result;
  // The expected values in scan order.
  std::vector<const Value*> expected;
  for (auto it = model.lower_bound(key_min);
       it != model.end() && !(key_max < it->first); ++it) {
    expected.push_back(&it->second);
  }
  if (direction == Direction::kDescending) {
    std::reverse(expected.begin(), expected.end());
  }
  ScanTree<S> scan;
  const absl::Status init =
      scan.Init(tree, buffer, snapshot, key_min, key_max, direction);
  EXPECT_TRUE(init.ok()) << init;
  if (!init.ok()) return result;
  size_t position = 0;  // Into `expected`.
  auto probe = [&](Key key) {
    result.probes++;
    const absl::Status probed = scan.Probe(key);
    EXPECT_TRUE(probed.ok()) << probed;
    while (position < expected.size() &&
           Before(direction, S::key_of(*expected[position]), key)) {
      position++;
    }
  };
  auto random_probe_key = [&]() -> Key {
    // Somewhere from the next expected key to a little past the range.
    const Key from =
        position < expected.size()
            ? S::key_of(*expected[position])
            : (direction == Direction::kAscending ? key_max : key_min);
    const Key to = direction == Direction::kAscending ? key_max : key_min;
    const uint64_t span = direction == Direction::kAscending
                              ? static_cast<uint64_t>(to - from)
                              : static_cast<uint64_t>(from - to);
    const uint64_t step = prng->Uniform(span / 2 + 3);
    if (direction == Direction::kAscending) {
      return from +
             static_cast<Key>(std::min<uint64_t>(step, UINT64_MAX - from));
    }
    return step > from ? Key{0} : from - static_cast<Key>(step);
  };
  if (prng->Chance(options.probe_probability)) probe(random_probe_key());
  bool read_pending = true;  // The first Read().
  while (true) {
    if (read_pending) {
      const absl::Status read = ReadBlocking(&scan, tree->storage());
      if (!read.ok()) {
        result.status = read;
        EXPECT_EQ(scan.state(), ScanState::kAborted);
        break;
      }
      read_pending = false;
    }
    const ScanNext<Value> next = scan.Next();
    if (next.kind == ScanNextKind::kReadAgain) {
      EXPECT_EQ(scan.state(), ScanState::kNeedsData);
      if (prng->Chance(options.probe_probability)) probe(random_probe_key());
      read_pending = scan.state() == ScanState::kNeedsData;
      continue;
    }
    if (next.kind == ScanNextKind::kEnd) {
      EXPECT_EQ(position, expected.size())
          << "the scan ended early; next expected key "
          << S::key_of(*expected[position]);
      break;
    }
    if (position >= expected.size()) {
      ADD_FAILURE() << "the scan returned key " << S::key_of(*next.value)
                    << " past the end of the expected values";
      break;
    }
    if (std::memcmp(next.value, expected[position], sizeof(Value)) != 0) {
      ADD_FAILURE() << "value " << position << ": got key "
                    << S::key_of(*next.value) << ", expected key "
                    << S::key_of(*expected[position]);
      break;
    }
    position++;
    result.values++;
    if (options.between_values) {
      const Value copy = *next.value;
      options.between_values();
      if (std::memcmp(next.value, &copy, sizeof(Value)) != 0) {
        ADD_FAILURE() << "value " << position - 1 << " (key " << S::key_of(copy)
                      << ") changed before the next call on the scan";
        break;
      }
    }
    if (result.values >= options.value_count_max) {
      scan.Abort();
      break;
    }
    if (prng->Chance(options.probe_probability)) probe(random_probe_key());
  }
  result.stats = scan.stats();
  return result;
}

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_TESTING_H_
