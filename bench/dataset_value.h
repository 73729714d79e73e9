// File: bench/dataset_value.h
// -----------------------------------------------------------------------------
//
// The lsmscan value a Dataset operation writes, shared by every lsmscan
// benchmark that loads a Dataset (compare, scan_benchmark, fence_benchmark),
// so that they all build the same trees.

#ifndef LSMSCAN_BENCH_DATASET_VALUE_H_
#define LSMSCAN_BENCH_DATASET_VALUE_H_

#include "lsmscan/bench/dataset.h"
#include "lsmscan/lsm/schema.h"

namespace lsmscan {
namespace bench {

// DatasetValue()
//
// The value `operation` writes: S's tombstone of its key for a removal,
// else its key with `dataset`'s payload for (key, version).
// REQUIRES: S is a record schema whose Value has `key` and a `payload`
// array of dataset.payload_size_bytes() bytes.
template <Schema S>
typename S::Value DatasetValue(const Dataset& dataset,
                               const Operation& operation) {
  if (operation.remove) return S::tombstone(operation.key);
  typename S::Value value{};
  value.key = operation.key;
  dataset.Payload(operation.key, operation.version, value.payload.data());
  return value;
}

}  // namespace bench
}  // namespace lsmscan

#endif  // LSMSCAN_BENCH_DATASET_VALUE_H_
