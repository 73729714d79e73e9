// File: tools/fuzz/make_corpus.cc
// -----------------------------------------------------------------------------
//
// Writes the seed corpus of every fuzz target: a few small, valid inputs
// each (sealed blocks of every type, superblock pairs, scan programs, and
// whole files written by a real tree), as tools/fuzz/corpus/<target>/seed-*.
// The output is deterministic, so the files can be committed.
//
//   bazel run //tools/fuzz:make_corpus                # into the workspace
//   make_corpus --out=DIR                             # into DIR/<target>/
//   make_corpus --check=DIR                           # compare, exit 1 if
//   stale
//
// Files not named seed-* (regressions added by hand) are left alone.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lsmscan/lsm/block_header.h"
#include "lsmscan/lsm/checksum.h"
#include "lsmscan/lsm/data_block.h"
#include "lsmscan/lsm/index_block.h"
#include "lsmscan/lsm/manifest_codec.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/superblock.h"
#include "lsmscan/lsm/table_info.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"
#include "lsmscan/tools/fuzz/fuzz_util.h"
#include "lsmscan/tools/fuzz/scan_program.h"
#include "lsmscan/tools/fuzz/whole_file_options.h"

namespace lsmscan {
namespace fuzz {
namespace {

constexpr uint32_t kBlockSize = 4096;
constexpr uint32_t kSchemaId = 0x5eed;

// Target name -> seed files (name -> bytes).
using Corpus = std::map<std::string, std::map<std::string, std::string>>;

void Check(const absl::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "make_corpus: %s: %s\n", what,
               status.ToString().c_str());
  std::exit(1);
}

std::string Bytes(const std::byte* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// The used bytes of a sealed block.
std::string UsedBytes(const std::byte* block) {
  return Bytes(block, ReadHeader(block).size_bytes);
}

// A sealed data block of `keys` (in order; unsorted keys make a block the
// library would never write).
template <Schema S>
void SealDataBlock(const std::vector<uint64_t>& keys, std::byte* frame) {
  std::memset(frame, 0, kBlockSize);
  const std::vector<typename S::Value> values = [&] {
    std::vector<typename S::Value> out;
    for (uint64_t key : keys) {
      out.push_back(key % 5 == 4 ? S::tombstone(key) : S::Make(key, key * 3));
    }
    return out;
  }();
  BlockHeader header;
  header.block_type = BlockType::kData;
  header.address = 9;
  header.size_bytes = static_cast<uint32_t>(kBlockHeaderSizeBytes +
                                            values.size() * sizeof(values[0]));
  header.schema_id = kSchemaId;
  header.snapshot_min = 4;
  header.count = static_cast<uint32_t>(values.size());
  header.element_size = sizeof(values[0]);
  std::memcpy(frame, &header, sizeof(header));
  std::memcpy(frame + kBlockHeaderSizeBytes, values.data(),
              values.size() * sizeof(values[0]));
  SealBlock(frame, kBlockSize);
}

// A sealed index block of `count` data blocks with disjoint ranges.
template <typename Key>
void SealIndexBlock(uint32_t count, std::byte* frame) {
  IndexBlockBuilder<Key> builder;
  builder.Init(count);
  for (uint32_t i = 0; i < count; i++) {
    const Checksum128 checksum{0x1111 * (i + 1), 0x2222 * (i + 1)};
    builder.Add(checksum, 10 + i, static_cast<Key>(100 * i),
                static_cast<Key>(100 * i + 50));
  }
  builder.Seal(frame, kBlockSize, /*address=*/7, kSchemaId,
               /*snapshot_min=*/3, /*level=*/1);
}

// A sealed manifest block of `count` tables on levels [0, level_count).
template <typename Key>
void SealManifestBlock(uint32_t count, uint32_t level_count, std::byte* frame) {
  std::vector<TableInfo<Key>> infos;
  for (uint32_t i = 0; i < count; i++) {
    TableInfo<Key> info;
    info.key_min = static_cast<Key>(1000 * i);
    info.key_max = static_cast<Key>(1000 * i + 999);
    info.snapshot_min = 2 + i;
    info.index_address = 20 + i;
    info.index_checksum = Checksum128{0xabc + i, 0xdef + i};
    info.value_count = 100 + i;
    info.data_block_count = 1 + i % 3;
    info.level = static_cast<uint8_t>(i % level_count);
    infos.push_back(info);
  }
  EncodeManifestBlock<Key>(infos, frame, kBlockSize, /*address=*/5, kSchemaId);
}

void SealSuperblock(uint64_t sequence, uint32_t manifest_count,
                    uint32_t block_size, std::byte* frame, uint32_t copy = 0) {
  lsmscan::Superblock superblock;
  superblock.sequence = sequence;
  superblock.op = 10 * sequence + 1;
  superblock.block_size_bytes = block_size;
  superblock.schema_id = kSchemaId;
  superblock.key_size_bytes = 8;
  superblock.value_size_bytes = 32;
  superblock.level_count = 3;
  superblock.schema_name = "fuzz.schema";
  for (uint32_t i = 0; i < manifest_count; i++) {
    superblock.manifest_blocks.push_back(
        {2 + i, Checksum128{0x77 + i, 0x99 + i}});
  }
  EncodeSuperblock(superblock, frame, block_size, copy);
}

void BlockHeaderSeeds(Corpus* corpus) {
  auto& files = (*corpus)["block_header"];
  AlignedBuffer frame(kBlockSize);
  SealDataBlock<Record32Schema>({1, 2, 3}, frame.data());
  files["seed-data"] = "\x01" + UsedBytes(frame.data());
  files["seed-data-wrong-address"] = "\x03" + UsedBytes(frame.data());
  SealIndexBlock<uint64_t>(2, frame.data());
  files["seed-index"] = "\x01" + UsedBytes(frame.data());
  SealManifestBlock<uint64_t>(2, 3, frame.data());
  files["seed-manifest"] = "\x01" + UsedBytes(frame.data());
  SealSuperblock(1, 0, kBlockSize, frame.data());
  files["seed-superblock"] = std::string(1, '\0') + UsedBytes(frame.data());
  // A whole block, padding included, as verified.
  files["seed-superblock-whole-block"] =
      std::string(1, '\0') + Bytes(frame.data(), kBlockSize);
}

void DataBlockSeeds(Corpus* corpus) {
  auto& files = (*corpus)["data_block"];
  AlignedBuffer frame(kBlockSize);
  SealDataBlock<Record32Schema>({1, 5, 9, 12, 40}, frame.data());
  files["seed-record32"] = "\x02" + UsedBytes(frame.data());
  SealDataBlock<Record128Schema>({3, 4, 1000}, frame.data());
  files["seed-record128"] = "\x03" + UsedBytes(frame.data());
  SealDataBlock<Record32Schema>({7, 3, 3, 9}, frame.data());
  files["seed-unsorted"] = "\x02" + UsedBytes(frame.data());
  std::vector<uint64_t> keys;
  for (uint64_t key = 0;
       key < DataBlockValueCountMax<Record32Schema::Value>(kBlockSize); key++) {
    keys.push_back(key * 2);
  }
  SealDataBlock<Record32Schema>(keys, frame.data());
  files["seed-full"] = std::string(1, '\0') + UsedBytes(frame.data());
}

void IndexBlockSeeds(Corpus* corpus) {
  auto& files = (*corpus)["index_block"];
  AlignedBuffer frame(kBlockSize);
  SealIndexBlock<uint64_t>(3, frame.data());
  files["seed-u64"] = "\x04" + UsedBytes(frame.data());
  SealIndexBlock<uint32_t>(2, frame.data());
  files["seed-u32"] = "\x05" + UsedBytes(frame.data());
  SealIndexBlock<unsigned __int128>(4, frame.data());
  files["seed-u128"] = "\x06" + UsedBytes(frame.data());
  SealIndexBlock<uint64_t>(IndexBlockEntryCountMax(kBlockSize, 8),
                           frame.data());
  files["seed-u64-full"] = std::string(1, '\0') + UsedBytes(frame.data());
}

void ManifestSeeds(Corpus* corpus) {
  auto& files = (*corpus)["manifest"];
  AlignedBuffer frame(kBlockSize);
  SealManifestBlock<uint64_t>(3, 3, frame.data());
  files["seed-u64"] = std::string("\x03\x02", 2) + UsedBytes(frame.data());
  SealManifestBlock<unsigned __int128>(2, 7, frame.data());
  files["seed-u128"] = std::string("\x07\x03", 2) + UsedBytes(frame.data());
  SealManifestBlock<uint64_t>(ManifestEntryCountMax<uint64_t>(kBlockSize), 16,
                              frame.data());
  files["seed-u64-full"] = std::string("\x10\x00", 2) + UsedBytes(frame.data());
}

void SuperblockSeeds(Corpus* corpus) {
  auto& files = (*corpus)["superblock"];
  AlignedBuffer frame(8192);
  // The four copies in address order: slot 0 (blocks 0, 2) holds
  // `sequence_even`, slot 1 (blocks 1, 3) `sequence_odd`.
  auto copies = [&](char mode, uint64_t sequence_even, uint64_t sequence_odd,
                    uint32_t manifest_count, uint32_t block_size) {
    std::string out(1, mode);
    for (BlockAddress address = 0; address < kSuperblockCopyCount; address++) {
      const bool even = address % kSuperblockSlotCount == 0;
      SealSuperblock(even ? sequence_even : sequence_odd,
                     manifest_count + (even ? 0 : 1), block_size, frame.data(),
                     static_cast<uint32_t>(address / kSuperblockSlotCount));
      AppendFramedBlock(frame.data(), block_size, &out);
    }
    return out;
  };
  files["seed-fresh"] = copies('\0', 0, 1, 0, 4096);
  files["seed-manifest"] = copies('\0', 6, 5, 3, 4096);
  files["seed-8k"] = copies('\x10', 2, 3, 1, 8192);
  files["seed-4k-opened-as-8k"] = copies('\x10', 2, 3, 1, 4096);
  std::string torn = copies('\0', 8, 7, 2, 4096);
  torn[40] ^= 0x10;  // A bit of copy 0's body: its checksum fails.
  files["seed-torn"] = torn;
}

void ScanSeeds(Corpus* corpus) {
  auto& files = (*corpus)["scan"];
  {
    // Memory only: puts, removes, scans both ways with probes.
    ScanProgramWriter p(0x01, 0x02, 0x00);
    p.PutRange(0, 40, 1, 7);
    p.Remove(5);
    p.Put(7, 1);
    p.Scan(0, 100, kScanProbe, 11);
    p.Scan(3, 30, kScanDescending | kScanProbe, 12);
    p.Get(7, 0);
    files["seed-memory"] = p.bytes();
  }
  {
    // Several levels, snapshots, compactions, scans at a snapshot.
    ScanProgramWriter p(0x12, 0x05, 0x00);
    p.PutRange(0, 128, 2, 1);
    p.Compact();
    p.AcquireSnapshot();
    p.PutRange(1, 128, 3, 2);
    p.RemoveRange(10, 30, 1);
    p.Compact();
    p.Scan(0, 400, kScanHeldSnapshot | ScanReadAhead(1), 21);
    p.CompactAll();
    p.Scan(50, 300, kScanDescending | kScanProbe | ScanReadAhead(2), 22);
    p.ReleaseSnapshot(0);
    p.Scan(0, 1031, kScanWrites | kScanProbe, 23);
    files["seed-levels"] = p.bytes();
  }
  {
    // A copying storage with delays, checkpoints and a reopen.
    ScanProgramWriter p(0x02, 0x01, 0x15);
    p.PutRange(100, 100, 1, 3);
    p.Checkpoint();
    p.PutRange(150, 60, 2, 4);
    p.Remove(120);
    p.Scan(90, 260, kScanProbe | ScanReadAhead(3), 31);
    p.Reopen();
    p.Scan(0, 1031, kScanDescending, 32);
    p.Get(120, 0);
    files["seed-reopen"] = p.bytes();
  }
  {
    // Aborted and mid-scan-write scans over many small tables.
    ScanProgramWriter p(0x3f, 0x30, 0x09);
    for (uint16_t i = 0; i < 8; i++) {
      p.PutRange(static_cast<uint16_t>(i * 97), 60, 1, static_cast<uint8_t>(i));
      p.Compact();
    }
    p.Scan(0, 1031, kScanAbortEarly | kScanWrites, 40);
    p.Scan(200, 700, kScanDescending | kScanWrites | kScanProbe, 41);
    files["seed-abort"] = p.bytes();
  }
}

// The blocks of a device, framed, after a flags byte.
std::string FileBytes(MemoryDevice* device, uint8_t flags) {
  std::string out(1, static_cast<char>(flags));
  for (BlockAddress address = 0; address < device->block_count(); address++) {
    AppendFramedBlock(device->block(address), kWholeFileBlockSize, &out);
  }
  return out;
}

// A file written by a real tree: `values` puts (every seventh removed
// again), compacted as it goes, then checkpointed.
std::shared_ptr<MemoryDevice> WriteTree(uint32_t values) {
  using S = Record32Schema;
  StorageOptions options;
  options.block_size_bytes = kWholeFileBlockSize;
  options.block_count_max = 1024;
  absl::StatusOr<std::shared_ptr<MemoryDevice>> device =
      MemoryDevice::Create(options);
  Check(device.status(), "MemoryDevice::Create()");
  std::unique_ptr<MemoryStorage> storage = MemoryStorage::Open(*device);
  absl::StatusOr<std::unique_ptr<Tree<S>>> tree =
      Tree<S>::Create(storage.get(), WholeFileTreeOptions());
  Check(tree.status(), "Tree::Create()");
  Prng prng(values);
  for (uint32_t i = 0; i < values; i++) {
    const uint64_t key = prng.Uniform(1000);
    Check(PutWithBackPressure(tree->get(), S::Make(key, i)), "Put()");
    if (i % 7 == 6) {
      Check(PutWithBackPressure(tree->get(), S::tombstone(key)), "Remove()");
    }
  }
  Check(CheckpointBlocking(tree->get()), "Checkpoint()");
  tree->reset();
  return *device;
}

void WholeFileSeeds(Corpus* corpus) {
  auto& files = (*corpus)["whole_file"];
  const std::shared_ptr<MemoryDevice> empty = WriteTree(0);
  files["seed-empty"] = FileBytes(empty.get(), 0);
  const std::shared_ptr<MemoryDevice> small = WriteTree(40);
  files["seed-small"] = FileBytes(small.get(), 0);
  files["seed-small-fixup"] = FileBytes(small.get(), 1);
  files["seed-small-copying"] = FileBytes(small.get(), 2 | 8);
  const std::shared_ptr<MemoryDevice> levels = WriteTree(400);
  files["seed-levels"] = FileBytes(levels.get(), 0);
  files["seed-levels-fixup"] = FileBytes(levels.get(), 1 | 8);
  // The same files for the command-line tool (lsmscan_tool_fuzz.cc's flags:
  // bit 0 fixes up checksums, bit 1 tears the last block).
  auto& tool_files = (*corpus)["lsmscan_tool"];
  tool_files["seed-empty"] = FileBytes(empty.get(), 0);
  tool_files["seed-small"] = FileBytes(small.get(), 0);
  tool_files["seed-levels"] = FileBytes(levels.get(), 0);
  tool_files["seed-levels-fixup"] = FileBytes(levels.get(), 1);
  tool_files["seed-levels-torn-tail"] = FileBytes(levels.get(), 2);
}

Corpus MakeCorpus() {
  Corpus corpus;
  BlockHeaderSeeds(&corpus);
  DataBlockSeeds(&corpus);
  IndexBlockSeeds(&corpus);
  ManifestSeeds(&corpus);
  SuperblockSeeds(&corpus);
  ScanSeeds(&corpus);
  WholeFileSeeds(&corpus);
  return corpus;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file),
                     std::istreambuf_iterator<char>());
}

int Write(const Corpus& corpus, const std::filesystem::path& root) {
  size_t total = 0;
  for (const auto& [target, files] : corpus) {
    const std::filesystem::path directory = root / target;
    std::filesystem::create_directories(directory);
    // Seeds the generator no longer makes go.
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("seed-", 0) == 0 && files.count(name) == 0) {
        std::filesystem::remove(entry.path());
      }
    }
    for (const auto& [name, bytes] : files) {
      std::ofstream out(directory / name, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) {
        std::fprintf(stderr, "make_corpus: cannot write %s\n",
                     (directory / name).c_str());
        return 1;
      }
      total += bytes.size();
    }
    std::printf("make_corpus: %zu seeds in %s\n", files.size(),
                directory.c_str());
  }
  std::printf("make_corpus: %zu bytes in all\n", total);
  return 0;
}

int CheckCorpus(const Corpus& corpus, const std::filesystem::path& root) {
  int stale = 0;
  for (const auto& [target, files] : corpus) {
    const std::filesystem::path directory = root / target;
    for (const auto& [name, bytes] : files) {
      const std::filesystem::path path = directory / name;
      if (!std::filesystem::exists(path) || ReadFile(path) != bytes) {
        std::fprintf(stderr, "make_corpus: %s is missing or stale\n",
                     path.c_str());
        stale++;
      }
    }
    if (!std::filesystem::is_directory(directory)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("seed-", 0) == 0 && files.count(name) == 0) {
        std::fprintf(stderr, "make_corpus: %s is no longer generated\n",
                     entry.path().c_str());
        stale++;
      }
    }
  }
  if (stale > 0) {
    std::fprintf(stderr,
                 "make_corpus: %d seed files differ from what the generator "
                 "writes; run `bazel run //tools/fuzz:make_corpus`\n",
                 stale);
    return 1;
  }
  std::printf("make_corpus: the seed corpus is up to date\n");
  return 0;
}

int Main(int argc, char** argv) {
  std::string out;
  std::string check;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    if (arg.rfind("--out=", 0) == 0) {
      out = arg.substr(6);
    } else if (arg.rfind("--check=", 0) == 0) {
      check = arg.substr(8);
    } else {
      std::fprintf(stderr, "usage: %s [--out=DIR | --check=DIR]\n", argv[0]);
      return 2;
    }
  }
  const Corpus corpus = MakeCorpus();
  if (!check.empty()) return CheckCorpus(corpus, check);
  if (out.empty()) {
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    if (workspace == nullptr) {
      std::fprintf(stderr, "make_corpus: pass --out=DIR (or use bazel run)\n");
      return 2;
    }
    out = std::string(workspace) + "/tools/fuzz/corpus";
  }
  return Write(corpus, out);
}

}  // namespace
}  // namespace fuzz
}  // namespace lsmscan

int main(int argc, char** argv) { return lsmscan::fuzz::Main(argc, argv); }
