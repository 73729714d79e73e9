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

#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/table_memory.h"
#include "lsmscan/lsm/tree_options.h"

namespace lsmscan {

// ReadView<S>
//
// Memory tables in precedence order: the mutable table (only when reading
// the latest state), then immutable tables newest first. On equal keys an
// earlier table wins, then level 0 over level 1, and so on.
template <Schema S>
struct ReadView {
  Snapshot snapshot = 0;
  bool latest = false;
  bool active = false;
  // Pinned and sorted; null if not reading the latest state, or it was empty.
  TableMemory<S>* mutable_table = nullptr;
  std::array<TableMemory<S>*, kSealedTableCountMax> immutable_tables{};
  uint32_t immutable_count = 0;
};

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_READ_VIEW_H_
