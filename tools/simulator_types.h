// File: tools/simulator_types.h
// -----------------------------------------------------------------------------
//
// The record schema the simulator writes, and the small helpers every part
// of it shares: a seeded choice, the digest's hash, how keys and snapshots
// are printed.
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#ifndef LSMSCAN_TOOLS_SIMULATOR_TYPES_H_
#define LSMSCAN_TOOLS_SIMULATOR_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/base/prng.h"

namespace lsmscan {
namespace simulator {

using Rec = Record32Schema;
using Key = Rec::Key;
using Value = Rec::Value;
using SimTree = Tree<Rec>;
using SimScan = ScanTree<Rec>;

constexpr Key kKeyMax = Rec::kKeyMax;
static_assert(kKeyMax == UINT64_MAX, "the record schemas take every key");
constexpr Key kBit63 = Key{1} << 63;

// One of `choices`, uniformly.
template <typename T, size_t N>
T Pick(Prng* prng, const T (&choices)[N]) {
  return choices[prng->Uniform(N)];
}

// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// For messages: a key, with kKeyMax shown as "max".
inline std::string KeyString(Key key) {
  return key == kKeyMax ? std::string("max") : absl::StrCat(key);
}

// For messages: a snapshot, with kSnapshotLatest shown as "latest".
inline std::string SnapshotString(Snapshot snapshot) {
  return snapshot == kSnapshotLatest ? std::string("latest")
                                     : absl::StrCat(snapshot);
}

}  // namespace simulator
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_SIMULATOR_TYPES_H_
