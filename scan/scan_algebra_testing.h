// File: scan/scan_algebra_testing.h
// -----------------------------------------------------------------------------
//
// Test support for the scan algebra (testonly): drive a ScanSource or a
// ScanLookup to its end over several storages (one per tree), the key
// projection the tests use for index trees, and a world of trees and scans.

#ifndef LSMSCAN_SCAN_SCAN_ALGEBRA_TESTING_H_
#define LSMSCAN_SCAN_SCAN_ALGEBRA_TESTING_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_lookup.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace testing {

// IndexKey(), IndexProjection
//
// Index trees of Record32Schema pack (field, id) into one key: the field in
// bits 32..62, the id in bits 0..31. IndexProjection maps an entry to its
// id (and back, within the field of the scan's range).
inline uint64_t IndexKey(uint64_t field, uint64_t id) {
  return (field << 32) | id;
}

struct IndexProjection {
  using Key = uint64_t;
  static constexpr uint64_t kIdMask = 0xFFFFFFFFull;
  Key Project(const Record32Schema::Value& value) const {
    return Record32Schema::key_of(value) & kIdMask;
  }
  uint64_t TreeKey(const Key& id, const uint64_t& key_min) const {
    return (key_min & ~kIdMask) | (id & kIdMask);
  }
};

// TickAll()
//
// One turn of every storage that has work in flight (waiting for progress
// on each); false if none had any.
inline bool TickAll(std::span<Storage* const> storages) {
  bool any = false;
  for (Storage* storage : storages) {
    if (storage->pending_count() == 0) continue;
    any = true;
    storage->Tick(Storage::TickMode::kWaitForProgress);
  }
  return any;
}

// ReadBlocking()
//
// Read() and tick every storage until the callback; returns its status.
// Fails the test if the callback runs inside Read() or never runs.
template <typename Source>
absl::Status ReadBlocking(Source* source, std::span<Storage* const> storages) {
  struct Done {
    bool done = false;
    absl::Status status;
  } done;
  source->Read(
      [](void* context, auto*, absl::Status status) {
        auto* d = static_cast<Done*>(context);
        d->done = true;
        d->status = std::move(status);
      },
      &done);
  EXPECT_FALSE(done.done) << "Read() called back from inside the call";
  while (!done.done) {
    if (!TickAll(storages)) {
      ADD_FAILURE() << "Read() never called back";
      return absl::InternalError("Read() never called back");
    }
  }
  return done.status;
}

// SourceRun
struct SourceRun {
  absl::Status status;  // The error a Read() reported, if any.
  std::vector<uint64_t> keys;
  uint64_t read_agains = 0;
};

// Drain()
//
// Reads `source` to its end (or first error), collecting its keys.
template <typename Key>
SourceRun Drain(ScanSource<Key>* source, std::span<Storage* const> storages) {
  SourceRun run;
  bool read = source->state() == ScanState::kIdle ||
              source->state() == ScanState::kNeedsData;
  while (true) {
    if (read) {
      run.status = ReadBlocking(source, storages);
      if (!run.status.ok()) return run;
    }
    const SourceNext<Key> next = source->Next();
    read = next.kind == ScanNextKind::kReadAgain;
    if (next.kind == ScanNextKind::kEnd) return run;
    if (read) {
      EXPECT_EQ(source->state(), ScanState::kNeedsData);
      run.read_agains++;
      continue;
    }
    EXPECT_TRUE(run.keys.empty() || Before(source->direction(), run.keys.back(),
                                           static_cast<uint64_t>(next.key)))
        << "keys out of order";
    run.keys.push_back(next.key);
  }
}

// LookupRun<S>
template <Schema S>
struct LookupRun {
  absl::Status status;  // The error a Read() reported, if any.
  std::vector<typename S::Value> values;
  // The most lookups seen in flight after a Read() call.
  uint32_t in_flight_max = 0;
};

// DrainLookup()
//
// Reads `lookup` to its end (or first error), copying its values.
template <Schema S>
LookupRun<S> DrainLookup(ScanLookup<S>* lookup,
                         std::span<Storage* const> storages) {
  LookupRun<S> run;
  bool read = lookup->state() == ScanState::kIdle ||
              lookup->state() == ScanState::kNeedsData;
  while (true) {
    if (read) {
      struct Done {
        bool done = false;
        absl::Status status;
      } done;
      lookup->Read(
          [](void* context, ScanLookup<S>*, absl::Status status) {
            auto* d = static_cast<Done*>(context);
            d->done = true;
            d->status = std::move(status);
          },
          &done);
      EXPECT_FALSE(done.done) << "Read() called back from inside the call";
      run.in_flight_max =
          std::max(run.in_flight_max, lookup->in_flight_count());
      while (!done.done) {
        if (!TickAll(storages)) {
          ADD_FAILURE() << "Read() never called back";
          run.status = absl::InternalError("Read() never called back");
          return run;
        }
      }
      run.status = done.status;
      if (!run.status.ok()) return run;
    }
    const ScanNext<typename S::Value> next = lookup->Next();
    read = next.kind == ScanNextKind::kReadAgain;
    if (next.kind == ScanNextKind::kEnd) return run;
    if (!read) run.values.push_back(*next.value);
  }
}

// AlgebraWorld
//
// Trees, each on its own storage (4 KiB blocks), the scan buffers and
// sources of one test, destroyed in a safe order: combinators newest first
// (before the sources they read), then sources, then trees.
class AlgebraWorld {
 public:
  using Tree32 = Tree<Record32Schema>;
  using Source = ScanSource<uint64_t>;
  using TreeSource = ScanTreeSource<Record32Schema>;
  using IndexSource = ScanTreeSource<Record32Schema, IndexProjection>;

  AlgebraWorld() = default;
  AlgebraWorld(const AlgebraWorld&) = delete;
  AlgebraWorld& operator=(const AlgebraWorld&) = delete;
  virtual ~AlgebraWorld() { DestroyScans(); }

  static StorageOptions TestStorageOptions() {
    StorageOptions options;
    options.block_size_bytes = 4096;
    options.block_count_max = 1 << 16;
    return options;
  }

  // TreeOptions::background_compaction of the trees added from now on.
  bool background_compaction = true;

  // An empty tree of SmallTreeOptions() shape on a new storage.
  Tree32* AddEmptyTree(Backend backend = Backend::kMemory,
                       uint32_t cache_block_count = 64, uint64_t seed = 1) {
    factories_.push_back(std::make_unique<TestStorageFactory>(
        backend, TestStorageOptions(), seed + factories_.size()));
    auto storage = factories_.back()->Open(OpenMode::kCreate);
    EXPECT_TRUE(storage.ok()) << storage.status();
    storages_.push_back(std::move(storage).value());
    TreeOptions options = SmallTreeOptions();
    options.cache_block_count = cache_block_count;
    options.background_compaction = background_compaction;
    auto tree = Tree32::Create(storages_.back()->get(), options);
    EXPECT_TRUE(tree.ok()) << tree.status();
    trees_.push_back(std::move(tree).value());
    storage_pointers_.push_back(storages_.back()->get());
    return trees_.back().get();
  }

  // A tree holding `keys` (payload seed = position), compacted to disk but
  // for the last `in_memory` keys, left in the memory tables.
  Tree32* AddTree(const std::vector<uint64_t>& keys, size_t in_memory = 0,
                  Backend backend = Backend::kMemory,
                  uint32_t cache_block_count = 64) {
    Tree32* tree = AddEmptyTree(backend, cache_block_count);
    for (size_t i = 0; i < keys.size(); i++) {
      if (i == keys.size() - in_memory) {
        EXPECT_TRUE(CompactBlocking(tree).ok());
      }
      EXPECT_TRUE(
          PutWithBackPressure(tree, Record32Schema::Make(keys[i], i)).ok());
    }
    if (in_memory == 0) {
      EXPECT_TRUE(CompactBlocking(tree).ok());
    }
    return tree;
  }

  // Adds a storage made elsewhere to those TickAll() drives.
  void AddStorage(Storage* storage) { storage_pointers_.push_back(storage); }

  ScanBuffer* NewBuffer(const Tree32& tree, uint32_t read_ahead_blocks = 1) {
    auto buffer = ScanBuffer::ForTree(
        tree, ScanBufferOptions{.read_ahead_blocks = read_ahead_blocks});
    EXPECT_TRUE(buffer.ok());
    buffers_.push_back(std::move(buffer).value());
    return buffers_.back().get();
  }

  // A scan of [key_min, key_max] of `tree`, keyed by the tree's keys.
  TreeSource* Scan(Tree32* tree, uint64_t key_min, uint64_t key_max,
                   Direction direction = Direction::kAscending,
                   Snapshot snapshot = kSnapshotLatest) {
    auto source = std::make_unique<TreeSource>();
    const absl::Status status = source->Init(tree, NewBuffer(*tree), snapshot,
                                             key_min, key_max, direction);
    EXPECT_TRUE(status.ok()) << status;
    TreeSource* result = source.get();
    sources_.push_back(std::move(source));
    return result;
  }

  // A scan of the ids [id_min, id_max] of `field` in an index tree.
  IndexSource* IndexScan(Tree32* tree, uint64_t field, uint64_t id_min,
                         uint64_t id_max,
                         Direction direction = Direction::kAscending,
                         Snapshot snapshot = kSnapshotLatest) {
    auto source = std::make_unique<IndexSource>();
    const absl::Status status =
        source->Init(tree, NewBuffer(*tree), snapshot, IndexKey(field, id_min),
                     IndexKey(field, id_max), direction);
    EXPECT_TRUE(status.ok()) << status;
    IndexSource* result = source.get();
    sources_.push_back(std::move(source));
    return result;
  }

  // A combinator of `inputs` (ScanUnion, ScanIntersection, ...).
  template <typename Combinator>
  Combinator* Combine(std::vector<Source*> inputs) {
    auto combinator = std::make_unique<Combinator>();
    const absl::Status status = combinator->Init(inputs);
    EXPECT_TRUE(status.ok()) << status;
    Combinator* result = combinator.get();
    combinators_.push_back(std::move(combinator));
    return result;
  }

  SourceRun RunToEnd(Source* source) { return Drain(source, storages()); }
  absl::Status Read(Source* source) { return ReadBlocking(source, storages()); }

  // Destroys every source and combinator (newest combinators first).
  void DestroyScans() {
    while (!combinators_.empty()) combinators_.pop_back();
    while (!sources_.empty()) sources_.pop_back();
  }

  std::span<Storage* const> storages() const { return storage_pointers_; }
  // The fault wrapper of the i-th tree's storage (Backend::kFaultDelays),
  // else nullptr.
  FaultStorage* fault(size_t i) const { return storages_[i]->fault(); }

 private:
  std::vector<std::unique_ptr<TestStorageFactory>> factories_;
  std::vector<std::unique_ptr<StorageUnderTest>> storages_;
  std::vector<Storage*> storage_pointers_;
  std::vector<std::unique_ptr<Tree32>> trees_;
  std::vector<std::unique_ptr<ScanBuffer>> buffers_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<std::unique_ptr<Source>> combinators_;
};

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_SCAN_ALGEBRA_TESTING_H_
