// The storage contract, run against every backend.

#include "lsmscan/storage/storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/storage_testing.h"

namespace lsmscan {
namespace {

using ::lsmscan::testing::Backend;
using ::lsmscan::testing::BackendName;
using ::lsmscan::testing::StorageUnderTest;
using ::lsmscan::testing::TestStorageFactory;

constexpr uint32_t kBlockSizeBytes = 8192;

StorageOptions TestOptions() {
  StorageOptions options;
  options.block_size_bytes = kBlockSizeBytes;
  options.block_count_max = 256;
  return options;
}

// Fills a block with bytes derived from its address and a generation, so a
// stale or misplaced block is caught.
void FillPattern(std::byte* block, BlockAddress address, uint32_t generation) {
  for (uint32_t i = 0; i < kBlockSizeBytes; i++) {
    block[i] =
        static_cast<std::byte>((address * 131 + generation * 17 + i) & 0xff);
  }
}

bool HasPattern(const std::byte* block, BlockAddress address,
                uint32_t generation) {
  AlignedBuffer expected(kBlockSizeBytes);
  FillPattern(expected.data(), address, generation);
  return std::memcmp(block, expected.data(), kBlockSizeBytes) == 0;
}

// One read with its own frame, recording how it completed.
struct ReadProbe {
  Storage::Read read;
  AlignedBuffer frame{kBlockSizeBytes};
  bool completed = false;
  const bool* inside_submit = nullptr;
  bool completed_inside_submit = false;
  std::vector<BlockAddress>* completion_order = nullptr;
  std::vector<uint8_t> bytes;  // Copy of the data, for after the callback.

  void Submit(Storage* storage, BlockAddress address) {
    read = Storage::Read();
    read.address = address;
    read.buffer = frame.data();
    read.context = this;
    read.callback = [](Storage::Read* r) {
      auto* self = static_cast<ReadProbe*>(r->context);
      self->completed = true;
      if (self->inside_submit != nullptr && *self->inside_submit) {
        self->completed_inside_submit = true;
      }
      if (self->completion_order != nullptr) {
        self->completion_order->push_back(r->address);
      }
      if (r->status.ok()) {
        const auto* begin = reinterpret_cast<const uint8_t*>(r->data);
        self->bytes.assign(begin, begin + kBlockSizeBytes);
      }
    };
    storage->SubmitRead(&read);
  }
};

struct WriteProbe {
  Storage::Write write;
  AlignedBuffer data{kBlockSizeBytes};
  bool completed = false;

  void Submit(Storage* storage, BlockAddress address, uint32_t generation) {
    FillPattern(data.data(), address, generation);
    write = Storage::Write();
    write.address = address;
    write.data = data.data();
    write.context = this;
    write.callback = [](Storage::Write* w) {
      static_cast<WriteProbe*>(w->context)->completed = true;
    };
    storage->SubmitWrite(&write);
  }
};

class StorageTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    factory_ = std::make_unique<TestStorageFactory>(GetParam(), TestOptions());
    auto opened = factory_->Open(OpenMode::kCreate);
    ASSERT_TRUE(opened.ok()) << opened.status();
    storage_ = std::move(opened).value();
  }

  Storage* storage() { return storage_->get(); }

  // Writes `count` blocks from address 0 and waits for them.
  void WriteBlocks(BlockAddress count, uint32_t generation) {
    std::vector<WriteProbe> writes(count);
    for (BlockAddress address = 0; address < count; address++) {
      writes[address].Submit(storage(), address, generation);
    }
    storage()->RunUntilIdle();
    for (const WriteProbe& write : writes) {
      ASSERT_TRUE(write.completed);
      ASSERT_TRUE(write.write.status.ok()) << write.write.status;
    }
  }

  std::unique_ptr<TestStorageFactory> factory_;
  std::unique_ptr<StorageUnderTest> storage_;
};

TEST_P(StorageTest, WriteThenReadRoundTrips) {
  EXPECT_EQ(storage()->block_count(), 0u);
  WriteBlocks(16, /*generation=*/1);
  EXPECT_EQ(storage()->block_count(), 16u);
  for (BlockAddress address = 0; address < 16; address++) {
    ReadProbe probe;
    probe.Submit(storage(), address);
    storage()->RunUntilIdle();
    ASSERT_TRUE(probe.completed);
    ASSERT_TRUE(probe.read.status.ok()) << probe.read.status;
    EXPECT_TRUE(HasPattern(probe.read.data, address, 1)) << address;
  }
  EXPECT_EQ(storage()->stats().write_count, 16u);
  EXPECT_EQ(storage()->stats().read_count, 16u);
}

TEST_P(StorageTest, OverwriteIsSeenByLaterReads) {
  WriteBlocks(4, /*generation=*/1);
  WriteBlocks(2, /*generation=*/2);
  for (BlockAddress address = 0; address < 4; address++) {
    ReadProbe probe;
    probe.Submit(storage(), address);
    storage()->RunUntilIdle();
    ASSERT_TRUE(probe.read.status.ok());
    EXPECT_TRUE(HasPattern(probe.read.data, address, address < 2 ? 2 : 1));
  }
}

TEST_P(StorageTest, ManyConcurrentReadsCompleteOutsideSubmit) {
  constexpr int kReadCount = 100;
  WriteBlocks(32, /*generation=*/3);
  bool inside_submit = false;
  std::vector<BlockAddress> order;
  std::vector<ReadProbe> probes(kReadCount);
  inside_submit = true;
  for (int i = 0; i < kReadCount; i++) {
    probes[i].inside_submit = &inside_submit;
    probes[i].completion_order = &order;
    probes[i].Submit(storage(), static_cast<BlockAddress>((i * 7) % 32));
  }
  inside_submit = false;
  EXPECT_EQ(storage()->pending_count(), static_cast<uint64_t>(kReadCount));
  for (const ReadProbe& probe : probes) EXPECT_FALSE(probe.completed);
  storage()->RunUntilIdle();
  EXPECT_EQ(storage()->pending_count(), 0u);
  ASSERT_EQ(order.size(), static_cast<size_t>(kReadCount));
  for (int i = 0; i < kReadCount; i++) {
    ASSERT_TRUE(probes[i].completed);
    EXPECT_FALSE(probes[i].completed_inside_submit);
    ASSERT_TRUE(probes[i].read.status.ok()) << probes[i].read.status;
    const BlockAddress address = static_cast<BlockAddress>((i * 7) % 32);
    EXPECT_TRUE(
        HasPattern(reinterpret_cast<const std::byte*>(probes[i].bytes.data()),
                   address, 3));
  }
}

// Reads blocks 7, 6, ..., 0, each submitted from the previous callback.
struct ReadChain {
  Storage* storage = nullptr;
  Storage::Read read;
  AlignedBuffer frame{kBlockSizeBytes};
  int remaining = 8;
  int depth = 0;
  int depth_max = 0;

  void SubmitNext() {
    read = Storage::Read();
    read.address = static_cast<BlockAddress>(remaining - 1);
    read.buffer = frame.data();
    read.context = this;
    read.callback = &ReadChain::Callback;
    storage->SubmitRead(&read);
  }

  static void Callback(Storage::Read* r) {
    auto* self = static_cast<ReadChain*>(r->context);
    self->depth++;
    self->depth_max = std::max(self->depth_max, self->depth);
    EXPECT_TRUE(r->status.ok());
    EXPECT_TRUE(HasPattern(r->data, r->address, 4));
    self->remaining--;
    if (self->remaining > 0) self->SubmitNext();
    self->depth--;
  }
};

TEST_P(StorageTest, CallbacksMaySubmitAgainWithoutReentrancy) {
  WriteBlocks(8, /*generation=*/4);
  ReadChain chain;
  chain.storage = storage();
  chain.SubmitNext();
  storage()->RunUntilIdle();
  EXPECT_EQ(chain.remaining, 0);
  EXPECT_EQ(chain.depth_max, 1);  // Never nested inside another callback.
}

TEST_P(StorageTest, RunsOfConsecutiveReadsInBothDirections) {
  // io_uring merges runs like these into vectored reads (up to
  // kMergedReadCountMax blocks each): every block must still land in its
  // own buffer.
  WriteBlocks(80, /*generation=*/11);
  std::vector<ReadProbe> probes(120);
  for (int i = 0; i < 80; i++) probes[i].Submit(storage(), i);  // Up.
  for (int i = 0; i < 40; i++)
    probes[80 + i].Submit(storage(), 79 - i);  // Down.
  storage()->RunUntilIdle();
  for (int i = 0; i < 120; i++) {
    const BlockAddress address = i < 80 ? i : 79 - (i - 80);
    ASSERT_TRUE(probes[i].read.status.ok()) << probes[i].read.status;
    EXPECT_TRUE(
        HasPattern(reinterpret_cast<const std::byte*>(probes[i].bytes.data()),
                   address, 11))
        << "read " << i << " of block " << address;
  }
}

TEST_P(StorageTest, NextTickRunsOnTheFollowingTickInOrder) {
  std::vector<int> order;
  struct Tagged {
    Storage::NextTick next_tick;
    int tag;
    std::vector<int>* order;
  };
  Tagged first{{}, 1, &order};
  Tagged second{{}, 2, &order};
  for (Tagged* tagged : {&first, &second}) {
    tagged->next_tick.context = tagged;
    tagged->next_tick.callback = [](Storage::NextTick* n) {
      auto* self = static_cast<Tagged*>(n->context);
      self->order->push_back(self->tag);
    };
    storage()->SubmitNextTick(&tagged->next_tick);
  }
  EXPECT_TRUE(order.empty());
  storage()->RunUntilIdle();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// in_tick() tells a callback it runs inside Tick(): true in read, write and
// next-tick callbacks, false outside.
TEST_P(StorageTest, InTickIsTrueExactlyInsideCallbacks) {
  WriteBlocks(1, /*generation=*/1);
  struct Seen {
    Storage* storage;
    int calls = 0;
    bool always_in_tick = true;
  } seen{storage()};
  Storage::NextTick next_tick;
  next_tick.context = &seen;
  next_tick.callback = [](Storage::NextTick* n) {
    auto* s = static_cast<Seen*>(n->context);
    s->calls++;
    s->always_in_tick = s->always_in_tick && s->storage->in_tick();
  };
  AlignedBuffer frame(TestOptions().block_size_bytes);
  Storage::Read read;
  read.address = 0;
  read.buffer = frame.data();
  read.context = &seen;
  read.callback = [](Storage::Read* r) {
    auto* s = static_cast<Seen*>(r->context);
    s->calls++;
    s->always_in_tick = s->always_in_tick && s->storage->in_tick();
  };
  EXPECT_FALSE(storage()->in_tick());
  storage()->SubmitNextTick(&next_tick);
  storage()->SubmitRead(&read);
  storage()->RunUntilIdle();
  EXPECT_EQ(seen.calls, 2);
  EXPECT_TRUE(seen.always_in_tick);
  EXPECT_FALSE(storage()->in_tick());
}

TEST_P(StorageTest, DataSurvivesCloseAndReopenAfterSync) {
  WriteBlocks(10, /*generation=*/5);
  ASSERT_TRUE(storage()->Sync().ok());
  ASSERT_TRUE(storage()->Close().ok());
  storage_.reset();
  auto reopened = factory_->Open(OpenMode::kOpenExisting);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  storage_ = std::move(reopened).value();
  EXPECT_EQ(storage()->block_count(), 10u);
  for (BlockAddress address = 0; address < 10; address++) {
    ReadProbe probe;
    probe.Submit(storage(), address);
    storage()->RunUntilIdle();
    ASSERT_TRUE(probe.read.status.ok()) << probe.read.status;
    EXPECT_TRUE(HasPattern(probe.read.data, address, 5));
  }
}

TEST_P(StorageTest, ReadPastTheEndIsOutOfRange) {
  WriteBlocks(3, /*generation=*/6);
  ReadProbe probe;
  probe.Submit(storage(), 3);
  storage()->RunUntilIdle();
  ASSERT_TRUE(probe.completed);
  EXPECT_EQ(probe.read.status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(probe.read.data, nullptr);
  EXPECT_EQ(storage()->stats().error_count, 1u);
}

TEST_P(StorageTest, WritePastBlockCountMaxIsOutOfRange) {
  WriteProbe write;
  write.Submit(storage(), TestOptions().block_count_max, 1);
  storage()->RunUntilIdle();
  ASSERT_TRUE(write.completed);
  EXPECT_EQ(write.write.status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(storage()->block_count(), 0u);
}

TEST_P(StorageTest, MisalignedWriteIsInvalidArgument) {
  AlignedBuffer data(kBlockSizeBytes + 8);
  Storage::Write write;
  write.address = 0;
  write.data = data.data() + 8;
  bool completed = false;
  write.context = &completed;
  write.callback = [](Storage::Write* w) {
    *static_cast<bool*>(w->context) = true;
  };
  storage()->SubmitWrite(&write);
  EXPECT_FALSE(completed);
  storage()->RunUntilIdle();
  EXPECT_TRUE(completed);
  EXPECT_EQ(write.status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StorageTest, MisalignedOrMissingReadBufferIsInvalidArgumentWhenCopying) {
  WriteBlocks(1, /*generation=*/7);
  if (storage()->zero_copy()) {
    // Zero-copy backends ignore the buffer: a null one is fine.
    Storage::Read read;
    read.address = 0;
    read.callback = [](Storage::Read*) {};
    storage()->SubmitRead(&read);
    storage()->RunUntilIdle();
    EXPECT_TRUE(read.status.ok()) << read.status;
    EXPECT_TRUE(HasPattern(read.data, 0, 7));
    return;
  }
  AlignedBuffer frame(kBlockSizeBytes + 8);
  for (std::byte* buffer :
       {static_cast<std::byte*>(nullptr), frame.data() + 8}) {
    Storage::Read read;
    read.address = 0;
    read.buffer = buffer;
    read.callback = [](Storage::Read*) {};
    storage()->SubmitRead(&read);
    storage()->RunUntilIdle();
    EXPECT_EQ(read.status.code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_P(StorageTest, ClosedStorageRejectsRequests) {
  WriteBlocks(1, /*generation=*/8);
  ASSERT_TRUE(storage()->Close().ok());
  EXPECT_TRUE(storage()->Close().ok());  // Idempotent.
  ReadProbe probe;
  probe.Submit(storage(), 0);
  WriteProbe write;
  write.Submit(storage(), 0, 9);
  storage()->RunUntilIdle();
  EXPECT_EQ(probe.read.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(write.write.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage()->Sync().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(StorageTest, ShortReadOfATruncatedFileIsDataLoss) {
  const Backend backend = GetParam();
  const bool copying_file =
      backend == Backend::kPread || backend == Backend::kPreadDirect ||
      backend == Backend::kUring || backend == Backend::kUringDirect;
  if (!copying_file) {
    GTEST_SKIP() << "only copying file backends can observe a short read "
                    "(a truncated mmap faults with SIGBUS; see mmap_storage.h)";
  }
  WriteBlocks(2, /*generation=*/10);
  ASSERT_TRUE(storage()->Sync().ok());
  // Someone else cuts the file in the middle of block 1.
  ASSERT_EQ(truncate(factory_->path().c_str(), kBlockSizeBytes + 4096), 0);
  ReadProbe probe;
  probe.Submit(storage(), 1);
  storage()->RunUntilIdle();
  EXPECT_EQ(probe.read.status.code(), absl::StatusCode::kDataLoss)
      << probe.read.status;
  // Read together (a merged read on io_uring): block 0 is whole, block 1 is
  // cut short.
  ReadProbe first;
  ReadProbe second;
  first.Submit(storage(), 0);
  second.Submit(storage(), 1);
  storage()->RunUntilIdle();
  EXPECT_TRUE(first.read.status.ok()) << first.read.status;
  EXPECT_EQ(second.read.status.code(), absl::StatusCode::kDataLoss)
      << second.read.status;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StorageTest,
                         ::testing::ValuesIn(testing::AllBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return BackendName(info.param);
                         });

TEST(StorageOptionsTest, RejectsBadGeometry) {
  StorageOptions options;
  EXPECT_TRUE(ValidateStorageOptions(options).ok());
  options.block_size_bytes = 3000;
  EXPECT_EQ(ValidateStorageOptions(options).code(),
            absl::StatusCode::kInvalidArgument);
  options.block_size_bytes = 2048;
  EXPECT_EQ(ValidateStorageOptions(options).code(),
            absl::StatusCode::kInvalidArgument);
  options.block_size_bytes = kBlockSizeBytesMax * 2;
  EXPECT_EQ(ValidateStorageOptions(options).code(),
            absl::StatusCode::kInvalidArgument);
  options = StorageOptions();
  options.block_count_max = 0;
  EXPECT_EQ(ValidateStorageOptions(options).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StorageOpenTest, OpeningAMissingFileIsNotFound) {
  for (Backend backend : {Backend::kPread, Backend::kUring, Backend::kMmap}) {
    TestStorageFactory factory(backend, TestOptions());
    auto opened = factory.Open(OpenMode::kOpenExisting);
    ASSERT_FALSE(opened.ok()) << BackendName(backend);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kNotFound);
  }
}

// Read-only open (pread): reads work, writes are refused before they reach
// the file, Sync() succeeds, and the file's bytes never change.
TEST(StorageOpenTest, PreadReadOnlyReadsAndNeverWrites) {
  TestStorageFactory factory(Backend::kPread, TestOptions());
  {
    auto created = factory.Open(OpenMode::kCreate);
    ASSERT_TRUE(created.ok()) << created.status();
    for (BlockAddress address = 0; address < 3; address++) {
      WriteProbe write;
      write.Submit(created->get()->get(), address, /*generation=*/5);
      created->get()->get()->RunUntilIdle();
      ASSERT_TRUE(write.write.status.ok()) << write.write.status;
    }
    ASSERT_TRUE(created->get()->get()->Close().ok());
  }
  const auto file_bytes = [&] {
    std::vector<char> bytes(3 * kBlockSizeBytes + 1);
    const int fd = open(factory.path().c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    const ssize_t size = pread(fd, bytes.data(), bytes.size(), 0);
    close(fd);
    bytes.resize(size < 0 ? 0 : static_cast<size_t>(size));
    return bytes;
  };
  const std::vector<char> before = file_bytes();
  ASSERT_EQ(before.size(), 3 * kBlockSizeBytes);

  PreadStorageOptions options;
  options.storage = TestOptions();
  auto opened =
      PreadStorage::Open(factory.path(), OpenMode::kReadOnly, options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Storage* storage = opened->get();
  EXPECT_EQ(storage->block_count(), 3u);
  ReadProbe read;
  read.Submit(storage, 2);
  storage->RunUntilIdle();
  ASSERT_TRUE(read.read.status.ok()) << read.read.status;
  EXPECT_TRUE(HasPattern(read.read.data, 2, 5));
  for (BlockAddress address : {BlockAddress{1}, BlockAddress{3}}) {
    WriteProbe write;
    write.Submit(storage, address, /*generation=*/6);
    storage->RunUntilIdle();
    ASSERT_TRUE(write.completed);
    EXPECT_EQ(write.write.status.code(), absl::StatusCode::kFailedPrecondition)
        << write.write.status;
    EXPECT_NE(write.write.status.message().find("read-only"),
              std::string::npos);
  }
  EXPECT_EQ(storage->block_count(), 3u);
  EXPECT_TRUE(storage->Sync().ok());
  EXPECT_TRUE(storage->Close().ok());
  EXPECT_EQ(file_bytes(), before);
}

TEST(StorageOpenTest, ReadOnlyOfAMissingFileIsNotFound) {
  PreadStorageOptions options;
  options.storage = TestOptions();
  auto opened =
      PreadStorage::Open(testing::TestTempDirectory() + "/no-such-file",
                         OpenMode::kReadOnly, options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kNotFound);
}

TEST(StorageOpenTest, OtherFileBackendsRefuseReadOnly) {
  for (Backend backend : {Backend::kUring, Backend::kMmap}) {
    TestStorageFactory factory(backend, TestOptions());
    ASSERT_TRUE(factory.Open(OpenMode::kCreate).ok());
    auto opened = factory.Open(OpenMode::kReadOnly);
    ASSERT_FALSE(opened.ok()) << BackendName(backend);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace lsmscan
