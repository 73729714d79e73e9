// File: lsm/tree_get.h
// -----------------------------------------------------------------------------
//
// Point reads: GetRequest<S>, what Tree::Get() takes, and the read itself.
// Include lsmscan/lsm/tree.h to use them.
//
// A get is a reader of the tree, like a scan, and reads it through the
// tree's public interface only: it acquires a read view at the request's
// snapshot, looks the key up in the view's memory tables (newest first),
// then level by level: the one table of the level whose range holds the
// key (Manifest::FindTable()), that table's index block, then the one data
// block whose range holds it. The first version found wins; a tombstone
// means absent. Each block is read through the grid (verified, cached) and
// unpinned before the read view is released, so a table a compaction
// replaced meanwhile is freed only once the get is done with it.
//
// The callback always runs from a later Tick(), never inside Get().

#ifndef LSMSCAN_LSM_TREE_GET_H_
#define LSMSCAN_LSM_TREE_GET_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/grid.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/read_view.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {

template <Schema S>
class Tree;

// GetRequest<S>
//
// A caller-owned point read. Fill the inputs, call Tree::Get(), keep the
// request alive and unmoved until the callback has run.
template <Schema S>
struct GetRequest {
  using Key = typename S::Key;
  using Value = typename S::Value;

  // Inputs.
  Key key{};
  Snapshot snapshot = kSnapshotLatest;
  // block_size_bytes, aligned to kSectorSizeBytes; needed by copying
  // storages (pread, io_uring: InvalidArgument if null or misaligned), may
  // be nullptr for zero-copy ones (memory, mmap). AlignedBuffer::ForBlock()
  // makes one (storage/aligned_buffer.h); keep it for many gets.
  std::byte* frame = nullptr;
  void (*callback)(GetRequest* request) = nullptr;
  void* context = nullptr;

  // Outputs, valid in the callback. `found` is false if the key is absent or
  // its newest version is a tombstone.
  absl::Status status;
  bool found = false;
  Value value{};

  // Owned by the tree while in flight.
  Tree<S>* tree = nullptr;
  ReadView<S> view;
  uint32_t level = 0;
  Grid::Read read;
  Storage::NextTick next_tick;
};

namespace get_internal {

// The value with `key` in ascending `values`, or null.
template <Schema S>
const typename S::Value* FindValue(std::span<const typename S::Value> values,
                                   const typename S::Key& key) {
  const auto it = std::partition_point(
      values.begin(), values.end(),
      [&](const typename S::Value& value) { return S::key_of(value) < key; });
  if (it == values.end() || key < S::key_of(*it)) return nullptr;
  return &*it;
}

// Releases the request's read view (if it holds one) and runs its callback.
template <Schema S>
void Finish(GetRequest<S>* request) {
  if (request->view.active) request->tree->ReleaseReadView(&request->view);
  request->callback(request);
}

// Whether the view's memory tables decide the key (found, or a tombstone).
template <Schema S>
bool FindInMemory(GetRequest<S>* request) {
  const ReadView<S>& view = request->view;
  const typename S::Value* value = nullptr;
  // Newest first: tables in view order, each table's runs newest first.
  for (uint32_t t = 0; value == nullptr && t < view.table_count; t++) {
    const ReadViewTable<S>& table = view.tables[t];
    for (uint32_t run = table.run_count; value == nullptr && run > 0; run--) {
      value = FindValue<S>(table.run(run - 1), request->key);
    }
  }
  if (value == nullptr) return false;
  request->found = !S::is_tombstone(*value);
  request->value = *value;
  return true;
}

template <Schema S>
void ReadCallback(Grid::Read* read);

template <Schema S>
void SubmitRead(GetRequest<S>* request, const BlockExpectation& expected) {
  request->read = Grid::Read();
  request->read.expected = expected;
  request->read.frame = request->frame;
  request->read.context = request;
  request->read.callback = &ReadCallback<S>;
  request->tree->grid().SubmitRead(&request->read);
}

// Reads the index block of the next level's table that may hold the key;
// past the last level, finishes (from the next tick).
template <Schema S>
void NextLevel(GetRequest<S>* request) {
  Tree<S>* tree = request->tree;
  for (; request->level < tree->level_count(); request->level++) {
    const std::optional<TableInfo<typename S::Key>> table =
        tree->manifest().FindTable(request->level, request->view.snapshot,
                                   request->key);
    if (!table.has_value()) continue;
    SubmitRead(request, {table->index_address, table->index_checksum,
                         BlockType::kIndex, 0});
    return;
  }
  tree->storage()->SubmitNextTick(&request->next_tick);
}

template <Schema S>
void Fail(GetRequest<S>* request, BlockRef block, absl::Status status) {
  block.Reset();  // Unpin before Finish() may free the block's table.
  request->status = std::move(status);
  Finish(request);
}

template <Schema S>
void OnIndex(GetRequest<S>* request) {
  using Key = typename S::Key;
  BlockRef block = std::move(request->read.block);
  absl::Status valid = ValidateIndexBlock<Key>(
      block.data(), request->tree->grid().block_size_bytes());
  if (!valid.ok()) {
    Fail(request, std::move(block), std::move(valid));
    return;
  }
  const IndexBlockView<Key> index(block.data());
  const std::span<const Key> keys_max = index.keys_max();
  const size_t i = static_cast<size_t>(
      std::partition_point(keys_max.begin(), keys_max.end(),
                           [&](const Key& key) { return key < request->key; }) -
      keys_max.begin());
  if (i == keys_max.size() || request->key < index.keys_min()[i]) {
    request->level++;  // The key falls between this table's blocks.
    NextLevel(request);
    return;
  }
  const BlockExpectation expected{index.addresses()[i], index.checksums()[i],
                                  BlockType::kData, 0};
  block.Reset();
  SubmitRead(request, expected);
}

template <Schema S>
void OnData(GetRequest<S>* request) {
  BlockRef block = std::move(request->read.block);
  absl::Status valid = ValidateDataBlock<S>(
      block.data(), request->tree->grid().block_size_bytes());
  if (!valid.ok()) {
    Fail(request, std::move(block), std::move(valid));
    return;
  }
  const typename S::Value* value =
      FindValue<S>(DataBlockValues<S>(block.data()), request->key);
  if (value == nullptr) {
    block.Reset();
    request->level++;
    NextLevel(request);
    return;
  }
  request->found = !S::is_tombstone(*value);
  request->value = *value;
  // Finish() releases the read view, which may free this block's table: the
  // block must be unpinned first.
  block.Reset();
  Finish(request);
}

template <Schema S>
void ReadCallback(Grid::Read* read) {
  auto* request = static_cast<GetRequest<S>*>(read->context);
  if (!read->status.ok()) {
    request->status = read->status;
    Finish(request);
    return;
  }
  if (read->expected.type == BlockType::kIndex) {
    OnIndex(request);
  } else {
    OnData(request);
  }
}

}  // namespace get_internal

// StartGet()
//
// Runs `request` against `tree` (Tree::Get() calls it): the callback runs
// from a later Tick(), with FailedPrecondition in `status` if the snapshot
// is not live, InvalidArgument if a copying storage gets no usable frame.
// REQUIRES: request->callback is set.
template <Schema S>
void StartGet(Tree<S>* tree, GetRequest<S>* request) {
  LSMSCAN_ASSERT(request->callback != nullptr);
  request->tree = tree;
  request->status = absl::OkStatus();
  request->found = false;
  request->level = 0;
  request->next_tick.context = request;
  request->next_tick.callback = [](Storage::NextTick* next_tick) {
    get_internal::Finish(static_cast<GetRequest<S>*>(next_tick->context));
  };
  if (!tree->storage()->zero_copy() &&
      (request->frame == nullptr ||
       reinterpret_cast<uintptr_t>(request->frame) % kSectorSizeBytes != 0)) {
    request->status = absl::InvalidArgumentError(
        "GetRequest::frame: a copying storage needs a block-sized frame "
        "aligned to kSectorSizeBytes (AlignedBuffer::ForBlock())");
    tree->storage()->SubmitNextTick(&request->next_tick);
    return;
  }
  absl::StatusOr<ReadView<S>> view = tree->AcquireReadView(request->snapshot);
  if (!view.ok()) {
    request->status = view.status();
    tree->storage()->SubmitNextTick(&request->next_tick);
    return;
  }
  request->view = *view;
  if (get_internal::FindInMemory(request)) {
    tree->storage()->SubmitNextTick(&request->next_tick);
    return;
  }
  get_internal::NextLevel(request);
}

}  // namespace lsmscan

#endif  // LSMSCAN_LSM_TREE_GET_H_
