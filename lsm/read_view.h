// File: lsm/read_view.h
// -----------------------------------------------------------------------------
//
// What a reader (a scan, a get) holds while it reads the tree at one
// snapshot: the snapshot, registered as live so no table it can see is freed,
// and the memory tables it reads, pinned so none is changed or reused.
// Tree::AcquireReadView() makes one; Tree::ReleaseReadView() gives it back.

#ifndef LSMSCAN_LSM_READ_VIEW_H_
#define LSMSCAN_LSM_READ_VIEW_H_

#include <array>
#include <cstdint>
#include <span>

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/base/assert.h"

namespace lsmscan {

// ReadViewTable<S>
//
// A memory table a read view pins, and how many of its runs (the runs that
// existed when the view was taken; later ones are not the view's).
template <Schema S>
struct ReadViewTable {
  TableMemory<S>* table = nullptr;
  uint32_t run_count = 0;

  // Run `index` of the view, 0 the oldest: ascending, unique keys.
  std::span<const typename S::Value> run(uint32_t index) const {
    LSMSCAN_ASSERT(index < run_count);
    return table->run(index);
  }
};

// ReadView<S>
//
// Memory tables in precedence order: the mutable table (only when reading
// the latest state, and only if it holds anything), then the sealed ones,
// newest first. Within a table a newer run wins over an older one; on equal
// keys an earlier table wins, then level 0 over level 1, and so on.
template <Schema S>
struct ReadView {
  Snapshot snapshot = 0;
  bool latest = false;
  bool active = false;
  std::array<ReadViewTable<S>, kSealedTableCountMax> tables{};
  uint32_t table_count = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_READ_VIEW_H_
