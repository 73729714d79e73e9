// Per-read cost of the storage interface, per backend, beside the raw
// operations underneath it (memcpy from memory, pread(2) of the same file).
//
//   bazel run //bench:storage_benchmark
//
// Every variant reads 64 KiB blocks of the same 64 MiB of data, sequentially
// or at random addresses, and sums one byte per cache line of each block so
// zero-copy views are really read. Reads are issued `queue_depth` at a time
// (argument 2) and completed by Tick(): depth 1 shows the latency of one
// trip through the interface, depth 16 shows what overlapping buys.

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/mmap_storage.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/uring_storage.h"

namespace lsmscan {
namespace {

constexpr uint32_t kBlockSizeBytes = 64 << 10;
constexpr uint64_t kBlockCount = 1024;  // 64 MiB.
constexpr size_t kCacheLineBytes = 64;

StorageOptions BenchOptions() {
  StorageOptions options;
  options.block_size_bytes = kBlockSizeBytes;
  options.block_count_max = kBlockCount;
  return options;
}

std::string DataPath() {
  const char* directory = std::getenv("TEST_TMPDIR");
  return absl::StrCat(directory != nullptr ? directory : "/tmp",
                      "/lsmscan_storage_benchmark.blocks");
}

// Touches one byte per cache line, as a scan reading every record would.
uint64_t TouchBlock(const std::byte* block) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlockSizeBytes; i += kCacheLineBytes) {
    sum += static_cast<uint8_t>(block[i]);
  }
  return sum;
}

// The addresses one iteration reads: all blocks, in order or shuffled.
std::vector<BlockAddress> Addresses(bool random) {
  std::vector<BlockAddress> addresses(kBlockCount);
  for (BlockAddress i = 0; i < kBlockCount; i++) addresses[i] = i;
  if (random) {
    Prng prng(12345);
    for (size_t i = kBlockCount - 1; i > 0; i--) {
      std::swap(addresses[i], addresses[prng.Uniform(i + 1)]);
    }
  }
  return addresses;
}

// Writes the data file once per process (page cache warm afterwards).
void EnsureDataFile() {
  static bool written = false;
  if (written) return;
  PreadStorageOptions options{BenchOptions(), /*direct_io=*/false};
  auto storage = PreadStorage::Open(DataPath(), OpenMode::kCreate, options);
  LSMSCAN_ASSERT(storage.ok());
  AlignedBuffer block(kBlockSizeBytes);
  Prng prng(1);
  for (BlockAddress address = 0; address < kBlockCount; address++) {
    for (size_t i = 0; i < kBlockSizeBytes; i += 8) {
      const uint64_t word = prng.Next();
      std::memcpy(block.data() + i, &word, 8);
    }
    Storage::Write write;
    write.address = address;
    write.data = block.data();
    write.callback = [](Storage::Write* w) { LSMSCAN_ASSERT(w->status.ok()); };
    (*storage)->SubmitWrite(&write);
    (*storage)->RunUntilIdle();
  }
  LSMSCAN_ASSERT((*storage)->Close().ok());
  written = true;
}

void SetCounters(benchmark::State& state, uint64_t sum) {
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(
      static_cast<int64_t>(state.iterations() * kBlockCount));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * kBlockCount * kBlockSizeBytes));
}

void BM_RawMemcpy(benchmark::State& state) {
  const bool random = state.range(0) != 0;
  AlignedBuffer source(kBlockCount * kBlockSizeBytes);
  std::memset(source.data(), 1, source.size());
  AlignedBuffer target(kBlockSizeBytes);
  const std::vector<BlockAddress> addresses = Addresses(random);
  uint64_t sum = 0;
  for (auto _ : state) {
    for (BlockAddress address : addresses) {
      std::memcpy(target.data(), source.data() + address * kBlockSizeBytes,
                  kBlockSizeBytes);
      sum += TouchBlock(target.data());
    }
  }
  SetCounters(state, sum);
}
BENCHMARK(BM_RawMemcpy)->ArgName("random")->Arg(0)->Arg(1);

void BM_RawPread(benchmark::State& state) {
  EnsureDataFile();
  const bool random = state.range(0) != 0;
  const int fd = open(DataPath().c_str(), O_RDONLY);
  LSMSCAN_ASSERT(fd >= 0);
  AlignedBuffer target(kBlockSizeBytes);
  const std::vector<BlockAddress> addresses = Addresses(random);
  uint64_t sum = 0;
  for (auto _ : state) {
    for (BlockAddress address : addresses) {
      const ssize_t got = pread(fd, target.data(), kBlockSizeBytes,
                                static_cast<off_t>(address * kBlockSizeBytes));
      LSMSCAN_ASSERT(got == kBlockSizeBytes);
      sum += TouchBlock(target.data());
    }
  }
  close(fd);
  SetCounters(state, sum);
}
BENCHMARK(BM_RawPread)->ArgName("random")->Arg(0)->Arg(1);

enum class Kind { kMemory, kPread, kUring, kMmap };

std::unique_ptr<Storage> OpenStorage(Kind kind) {
  if (kind == Kind::kMemory) {
    auto storage = MemoryStorage::Create(BenchOptions());
    LSMSCAN_ASSERT(storage.ok());
    AlignedBuffer block(kBlockSizeBytes);
    std::memset(block.data(), 1, kBlockSizeBytes);
    for (BlockAddress address = 0; address < kBlockCount; address++) {
      std::memcpy((*storage)->device()->block(address), block.data(),
                  kBlockSizeBytes);
    }
    (*storage)->device()->set_block_count(kBlockCount);
    return MemoryStorage::Open((*storage)->device());
  }
  EnsureDataFile();
  if (kind == Kind::kPread) {
    PreadStorageOptions options{BenchOptions(), /*direct_io=*/false};
    auto storage =
        PreadStorage::Open(DataPath(), OpenMode::kOpenExisting, options);
    LSMSCAN_ASSERT(storage.ok());
    return std::move(storage).value();
  }
  if (kind == Kind::kUring) {
    UringStorageOptions options;
    options.storage = BenchOptions();
    auto storage =
        UringStorage::Open(DataPath(), OpenMode::kOpenExisting, options);
    LSMSCAN_ASSERT(storage.ok());
    return std::move(storage).value();
  }
  MmapStorageOptions options;
  options.storage = BenchOptions();
  auto storage =
      MmapStorage::Open(DataPath(), OpenMode::kOpenExisting, options);
  LSMSCAN_ASSERT(storage.ok());
  return std::move(storage).value();
}

// One in-flight read slot: its frame and the running sum it adds to.
struct Slot {
  Storage::Read read;
  AlignedBuffer frame{kBlockSizeBytes};
  uint64_t* sum = nullptr;
  bool busy = false;
};

void ReadCallback(Storage::Read* read) {
  auto* slot = static_cast<Slot*>(read->context);
  LSMSCAN_ASSERT(read->status.ok());
  *slot->sum += TouchBlock(read->data);
  slot->busy = false;
}

void BM_Storage(benchmark::State& state, Kind kind) {
  const bool random = state.range(0) != 0;
  const auto queue_depth = static_cast<size_t>(state.range(1));
  std::unique_ptr<Storage> storage = OpenStorage(kind);
  const std::vector<BlockAddress> addresses = Addresses(random);
  uint64_t sum = 0;
  std::vector<Slot> slots(queue_depth);
  for (Slot& slot : slots) {
    slot.sum = &sum;
    slot.read.context = &slot;
    slot.read.callback = &ReadCallback;
  }
  for (auto _ : state) {
    size_t next = 0;
    while (next < addresses.size()) {
      for (Slot& slot : slots) {
        if (slot.busy || next == addresses.size()) continue;
        slot.busy = true;
        slot.read.address = addresses[next++];
        slot.read.buffer = slot.frame.data();
        storage->SubmitRead(&slot.read);
      }
      storage->Tick(Storage::TickMode::kWaitForProgress);
    }
    storage->RunUntilIdle();
  }
  SetCounters(state, sum);
  state.SetLabel(storage->name());
}

void StorageArgs(benchmark::internal::Benchmark* benchmark) {
  benchmark->ArgNames({"random", "queue_depth"});
  for (int random : {0, 1}) {
    for (int depth : {1, 16}) benchmark->Args({random, depth});
  }
}

BENCHMARK_CAPTURE(BM_Storage, memory, Kind::kMemory)->Apply(StorageArgs);
BENCHMARK_CAPTURE(BM_Storage, pread, Kind::kPread)->Apply(StorageArgs);
BENCHMARK_CAPTURE(BM_Storage, uring, Kind::kUring)->Apply(StorageArgs);
BENCHMARK_CAPTURE(BM_Storage, mmap, Kind::kMmap)->Apply(StorageArgs);

}  // namespace
}  // namespace lsmscan

BENCHMARK_MAIN();
