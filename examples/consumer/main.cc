// A program using lsmscan from another Bazel workspace: it writes a tree to
// a file, checkpoints it, reopens it, reads a key, and scans it with the
// blocking iterator, both ways. It also includes its own "storage/storage.h",
// to show that lsmscan's headers ("lsmscan/storage/...") never collide with it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_iterator.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/pread_storage.h"
#include "storage/storage.h"

namespace {

using Schema = lsmscan::Record32Schema;  // 8-byte key, 23-byte payload.

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "consumer: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main() {
  const char* directory = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(directory != nullptr ? directory : "/tmp") +
      "/consumer.blocks";
  {
    auto storage =
        lsmscan::PreadStorage::Open(path, lsmscan::OpenMode::kCreate, {});
    if (!storage.ok()) return Fail(storage.status());
    auto tree = lsmscan::Tree<Schema>::Create(storage->get(), {});
    if (!tree.ok()) return Fail(tree.status());
    for (uint64_t key = 0; key < 100000; key++) {
      absl::Status put =
          lsmscan::PutWithBackPressure(tree->get(), Schema::Make(key, key));
      if (!put.ok()) return Fail(put);
    }
    absl::Status removed = (*tree)->Remove(17);
    if (!removed.ok()) return Fail(removed);
    absl::Status checkpointed = lsmscan::CheckpointBlocking(tree->get());
    if (!checkpointed.ok()) return Fail(checkpointed);
  }
  // Reopen: everything checkpointed is there.
  lsmscan::TreeOptions options;
  options.cache_block_count = 256;  // A block cache for the pread storage.
  auto storage =
      lsmscan::PreadStorage::Open(path, lsmscan::OpenMode::kOpenExisting, {});
  if (!storage.ok()) return Fail(storage.status());
  auto tree = lsmscan::Tree<Schema>::Open(storage->get(), options);
  if (!tree.ok()) return Fail(tree.status());
  // A point read on a copying storage needs a block frame: allocate it once.
  lsmscan::AlignedBuffer frame = lsmscan::AlignedBuffer::ForBlock(**storage);
  auto got = lsmscan::GetBlocking(tree->get(), 42, lsmscan::kSnapshotLatest,
                                  frame.data());
  if (!got.ok()) return Fail(got.status());
  if (!got->has_value()) return Fail(absl::NotFoundError("key 42"));
  auto buffer = lsmscan::ScanBuffer::ForTree(**tree);
  if (!buffer.ok()) return Fail(buffer.status());
  lsmscan::ScanIterator<Schema> it(tree->get(), buffer->get());
  uint64_t count = 0;
  for (it.Seek(10); it.Valid() && it.key() < 20; it.Next()) count++;
  if (!it.status().ok()) return Fail(it.status());
  uint64_t descending = 0;
  for (it.SeekForPrev(99999); it.Valid(); it.Prev()) descending++;
  if (!it.status().ok()) return Fail(it.status());
  std::printf(
      "consumer: keys 10..19 without the removed 17: %llu values; whole tree "
      "descending: %llu values (%s beside %s)\n",
      static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(descending), (*storage)->name(),
      consumer::StorageName());
  return count == 9 && descending == 99999 ? 0 : 1;
}
