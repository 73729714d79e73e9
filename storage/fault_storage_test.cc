#include "lsmscan/storage/fault_storage.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

constexpr uint32_t kBlockSizeBytes = 4096;
constexpr BlockAddress kBlockCount = 32;

class FaultStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StorageOptions options;
    options.block_size_bytes = kBlockSizeBytes;
    options.block_count_max = 64;
    auto created = MemoryStorage::Create(options);
    ASSERT_TRUE(created.ok());
    inner_ = std::move(created).value();
    // Fill blocks 0..31 with their address in every byte.
    AlignedBuffer data(kBlockSizeBytes);
    for (BlockAddress address = 0; address < kBlockCount; address++) {
      std::memset(data.data(), static_cast<int>(address), kBlockSizeBytes);
      Storage::Write write;
      write.address = address;
      write.data = data.data();
      write.callback = [](Storage::Write* w) { ASSERT_TRUE(w->status.ok()); };
      inner_->SubmitWrite(&write);
      inner_->RunUntilIdle();
    }
  }

  struct Outcome {
    BlockAddress address;
    absl::Status status;
    int flipped_bits = 0;
  };

  // Reads every block at once through `storage`; returns completions in the
  // order they arrived.
  std::vector<Outcome> ReadAll(Storage* storage) {
    struct Probe {
      Storage::Read read;
      AlignedBuffer frame{kBlockSizeBytes};
      std::vector<Outcome>* outcomes;
    };
    std::vector<Outcome> outcomes;
    std::vector<std::unique_ptr<Probe>> probes;
    for (BlockAddress address = 0; address < kBlockCount; address++) {
      auto probe = std::make_unique<Probe>();
      probe->outcomes = &outcomes;
      probe->read.address = address;
      probe->read.buffer = probe->frame.data();
      probe->read.context = probe.get();
      probe->read.callback = [](Storage::Read* r) {
        auto* self = static_cast<Probe*>(r->context);
        Outcome outcome{r->address, r->status, 0};
        if (r->status.ok()) {
          for (uint32_t i = 0; i < kBlockSizeBytes; i++) {
            const auto byte = static_cast<uint8_t>(r->data[i]);
            outcome.flipped_bits +=
                __builtin_popcount(byte ^ static_cast<uint8_t>(r->address));
          }
        }
        self->outcomes->push_back(outcome);
      };
      storage->SubmitRead(&probe->read);
      probes.push_back(std::move(probe));
    }
    storage->RunUntilIdle();
    return outcomes;
  }

  std::unique_ptr<MemoryStorage> inner_;
};

TEST_F(FaultStorageTest, NoFaultsIsTransparentAndAlwaysCopying) {
  FaultStorage storage(inner_.get(), FaultOptions(), /*seed=*/1);
  EXPECT_FALSE(storage.zero_copy());  // Even over a zero-copy storage.
  EXPECT_EQ(storage.block_count(), kBlockCount);
  const std::vector<Outcome> outcomes = ReadAll(&storage);
  ASSERT_EQ(outcomes.size(), kBlockCount);
  for (BlockAddress i = 0; i < kBlockCount; i++) {
    EXPECT_EQ(outcomes[i].address, i);  // FIFO without delays.
    EXPECT_TRUE(outcomes[i].status.ok());
    EXPECT_EQ(outcomes[i].flipped_bits, 0);
  }
}

TEST_F(FaultStorageTest, ReadErrorsSurfaceAsStatus) {
  FaultOptions faults;
  faults.read_error_probability = 1;
  FaultStorage storage(inner_.get(), faults, /*seed=*/2);
  for (const Outcome& outcome : ReadAll(&storage)) {
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInternal);
  }
  EXPECT_EQ(storage.fault_stats().reads_failed, kBlockCount);
}

TEST_F(FaultStorageTest, CorruptionFlipsExactlyOneBitOfACopy) {
  FaultOptions faults;
  faults.read_corruption_probability = 1;
  FaultStorage storage(inner_.get(), faults, /*seed=*/3);
  EXPECT_FALSE(storage.zero_copy());
  for (const Outcome& outcome : ReadAll(&storage)) {
    ASSERT_TRUE(outcome.status.ok());
    EXPECT_EQ(outcome.flipped_bits, 1) << outcome.address;
  }
  // The inner storage's bytes are untouched.
  FaultStorage clean(inner_.get(), FaultOptions(), /*seed=*/4);
  for (const Outcome& outcome : ReadAll(&clean)) {
    EXPECT_EQ(outcome.flipped_bits, 0);
  }
}

TEST_F(FaultStorageTest, DelaysReorderCompletionsDeterministically) {
  FaultOptions faults;
  faults.delay_probability = 0.5;
  faults.delay_ticks_max = 5;
  auto order_for_seed = [&](uint64_t seed) {
    FaultStorage storage(inner_.get(), faults, seed);
    std::vector<BlockAddress> order;
    for (const Outcome& outcome : ReadAll(&storage)) {
      EXPECT_TRUE(outcome.status.ok());
      EXPECT_EQ(outcome.flipped_bits, 0);
      order.push_back(outcome.address);
    }
    EXPECT_GT(storage.fault_stats().completions_delayed, 0u);
    return order;
  };
  const std::vector<BlockAddress> first = order_for_seed(5);
  ASSERT_EQ(first.size(), kBlockCount);
  EXPECT_FALSE(std::is_sorted(first.begin(), first.end()));
  EXPECT_EQ(first, order_for_seed(5));
  EXPECT_NE(first, order_for_seed(6));
}

// A slow block's read completes exactly slow_block_ticks ticks late, last,
// even though the caller waits and nothing else is in flight.
TEST_F(FaultStorageTest, SlowBlocksCompleteLateEvenWhenNothingElseIsInFlight) {
  FaultOptions faults;
  faults.slow_blocks = {2};
  faults.slow_block_ticks = 50;
  FaultStorage storage(inner_.get(), faults, /*seed=*/7);
  Storage::Read read;
  AlignedBuffer frame(kBlockSizeBytes);
  bool done = false;
  read.address = 2;
  read.buffer = frame.data();
  read.context = &done;
  read.callback = [](Storage::Read* r) {
    ASSERT_TRUE(r->status.ok());
    *static_cast<bool*>(r->context) = true;
  };
  storage.SubmitRead(&read);
  int ticks = 0;
  while (!done) {
    storage.Tick(Storage::TickMode::kWaitForProgress);
    ticks++;
    ASSERT_LE(ticks, 60);
  }
  EXPECT_GE(ticks, 50);
  EXPECT_EQ(storage.fault_stats().slow_reads_completed, 1u);
  // Among the others, it arrives last.
  const std::vector<Outcome> outcomes = ReadAll(&storage);
  ASSERT_EQ(outcomes.size(), kBlockCount);
  EXPECT_EQ(outcomes.back().address, 2u);
  EXPECT_EQ(storage.fault_stats().slow_reads_completed, 2u);
}

TEST_F(FaultStorageTest, WritesAfterTheCrashPointAreAcknowledgedButLost) {
  FaultOptions faults;
  faults.write_count_max = 2;
  FaultStorage storage(inner_.get(), faults, /*seed=*/7);
  AlignedBuffer data(kBlockSizeBytes);
  std::memset(data.data(), 0xAB, kBlockSizeBytes);
  std::vector<Storage::Write> writes(4);
  for (BlockAddress i = 0; i < 4; i++) {
    writes[i].address = i;
    writes[i].data = data.data();
    writes[i].callback = [](Storage::Write*) {};
    storage.SubmitWrite(&writes[i]);
  }
  storage.RunUntilIdle();
  for (const Storage::Write& write : writes) EXPECT_TRUE(write.status.ok());
  EXPECT_TRUE(storage.crashed());
  EXPECT_EQ(storage.fault_stats().writes_dropped, 2u);
  // Only the first two reached the inner storage.
  for (BlockAddress address = 0; address < 4; address++) {
    const auto first_byte =
        static_cast<uint8_t>(inner_->device()->block(address)[0]);
    EXPECT_EQ(first_byte, address < 2 ? 0xAB : address) << address;
  }
}

// The crash model of a volatile write cache (crash_loses_unsynced_writes).
class FaultStorageCrashTest : public FaultStorageTest {
 protected:
  // Writes `byte` into every byte of `addresses`, one write each.
  static void WriteBlocks(Storage* storage,
                          const std::vector<BlockAddress>& addresses,
                          uint8_t byte) {
    AlignedBuffer data(kBlockSizeBytes);
    std::memset(data.data(), byte, kBlockSizeBytes);
    std::vector<Storage::Write> writes(addresses.size());
    for (size_t i = 0; i < addresses.size(); i++) {
      writes[i].address = addresses[i];
      writes[i].data = data.data();
      writes[i].callback = [](Storage::Write* w) {
        EXPECT_TRUE(w->status.ok()) << w->status;
      };
      storage->SubmitWrite(&writes[i]);
    }
    storage->RunUntilIdle();
  }

  // The first byte of each 512-byte sector of `address` on the device.
  std::vector<uint8_t> Sectors(BlockAddress address) {
    std::vector<uint8_t> sectors;
    for (uint32_t offset = 0; offset < kBlockSizeBytes; offset += 512) {
      sectors.push_back(
          static_cast<uint8_t>(inner_->device()->block(address)[offset]));
    }
    return sectors;
  }
};

TEST_F(FaultStorageCrashTest, UnsyncedWritesAreLostInAnySubsetSyncedOnesNot) {
  uint64_t lost = 0;
  uint64_t kept = 0;
  for (uint64_t seed = 1; seed <= 8; seed++) {
    SetUp();  // A fresh device: blocks 0..31 hold their address.
    FaultOptions faults;
    faults.crash_loses_unsynced_writes = true;
    faults.write_count_max = 24;
    {
      FaultStorage storage(inner_.get(), faults, seed);
      WriteBlocks(&storage, {0, 1, 2, 3, 4, 5, 6, 7}, 0xAA);
      ASSERT_TRUE(storage.Sync().ok());
      WriteBlocks(&storage, {8, 9, 10, 11, 12, 13, 14, 15}, 0xBB);
      WriteBlocks(&storage, {0, 1, 2, 3, 4, 5, 6, 7}, 0xCC);
      EXPECT_EQ(storage.unsynced_block_count(), 16u);
      EXPECT_FALSE(storage.crashed());
      WriteBlocks(&storage, {20}, 0xDD);  // The 25th write: the crash.
      EXPECT_TRUE(storage.crashed());
      WriteBlocks(&storage, {21}, 0xEE);  // After it: dropped.
    }
    for (BlockAddress address = 0; address < 8; address++) {
      const uint8_t byte = Sectors(address)[0];
      // Synced 0xAA, then 0xCC unsynced: either, never the original.
      ASSERT_TRUE(byte == 0xAA || byte == 0xCC) << address;
      (byte == 0xCC ? kept : lost)++;
    }
    for (BlockAddress address = 8; address < 16; address++) {
      const uint8_t byte = Sectors(address)[0];
      ASSERT_TRUE(byte == 0xBB || byte == address) << address;
      (byte == 0xBB ? kept : lost)++;
    }
    EXPECT_EQ(Sectors(21), std::vector<uint8_t>(8, 21));
  }
  // Over 8 seeds x 16 blocks, both outcomes.
  EXPECT_GT(lost, 20u);
  EXPECT_GT(kept, 20u);
}

TEST_F(FaultStorageCrashTest, TheWriteAtTheCrashPointIsTornBySector) {
  uint64_t mixed = 0;
  for (uint64_t seed = 1; seed <= 8; seed++) {
    SetUp();
    FaultOptions faults;
    faults.crash_loses_unsynced_writes = true;
    faults.write_count_max = 0;
    {
      FaultStorage storage(inner_.get(), faults, seed);
      WriteBlocks(&storage, {5}, 0x77);
      EXPECT_EQ(storage.fault_stats().writes_torn, 1u);
    }
    const std::vector<uint8_t> sectors = Sectors(5);
    bool has_new = false;
    bool has_old = false;
    for (uint8_t byte : sectors) {
      ASSERT_TRUE(byte == 0x77 || byte == 5);
      (byte == 0x77 ? has_new : has_old) = true;
    }
    // Each sector is whole: its last byte agrees with its first.
    for (uint32_t i = 0; i < sectors.size(); i++) {
      EXPECT_EQ(static_cast<uint8_t>(inner_->device()->block(5)[i * 512 + 511]),
                sectors[i]);
    }
    if (has_new && has_old) mixed++;
  }
  EXPECT_GT(mixed, 3u);
}

TEST_F(FaultStorageCrashTest, ACrashAtASyncComesBeforeTheSync) {
  FaultOptions faults;
  faults.crash_loses_unsynced_writes = true;
  faults.crash_on_sync = true;
  faults.unsynced_loss_probability = 1;  // Every unsynced write is lost.
  faults.write_count_max = 2;
  {
    FaultStorage storage(inner_.get(), faults, /*seed=*/3);
    WriteBlocks(&storage, {1, 2}, 0x99);
    EXPECT_FALSE(storage.crashed());
    EXPECT_TRUE(storage.Sync().ok());  // The crash: the sync never happens.
    EXPECT_TRUE(storage.crashed());
    EXPECT_EQ(storage.fault_stats().unsynced_writes_lost, 2u);
  }
  EXPECT_EQ(Sectors(1), std::vector<uint8_t>(8, 1));
  EXPECT_EQ(Sectors(2), std::vector<uint8_t>(8, 2));
}

TEST_F(FaultStorageCrashTest, ACleanCloseLosesNothing) {
  FaultOptions faults;
  faults.crash_loses_unsynced_writes = true;
  faults.unsynced_loss_probability = 1;
  {
    FaultStorage storage(inner_.get(), faults, /*seed=*/4);
    WriteBlocks(&storage, {3, 40}, 0x55);  // 40: a new block.
  }
  EXPECT_EQ(Sectors(3), std::vector<uint8_t>(8, 0x55));
  EXPECT_EQ(Sectors(40), std::vector<uint8_t>(8, 0x55));
}

TEST_F(FaultStorageTest, WriteErrorsAreNotApplied) {
  FaultOptions faults;
  faults.write_error_probability = 1;
  FaultStorage storage(inner_.get(), faults, /*seed=*/8);
  AlignedBuffer data(kBlockSizeBytes);
  std::memset(data.data(), 0xCD, kBlockSizeBytes);
  Storage::Write write;
  write.address = 5;
  write.data = data.data();
  write.callback = [](Storage::Write*) {};
  storage.SubmitWrite(&write);
  storage.RunUntilIdle();
  EXPECT_EQ(write.status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(static_cast<uint8_t>(inner_->device()->block(5)[0]), 5);
}

TEST_F(FaultStorageTest, MoreRequestsThanSlotsFailFromTheNextTick) {
  FaultOptions faults;
  faults.request_count_max = 2;
  FaultStorage storage(inner_.get(), faults, /*seed=*/9);
  std::vector<Storage::Read> reads(5);
  std::vector<AlignedBuffer> frames;
  int completed = 0;
  for (Storage::Read& read : reads) {
    frames.emplace_back(kBlockSizeBytes);
    read.address = 1;
    read.buffer = frames.back().data();
    read.context = &completed;
    read.callback = [](Storage::Read* r) {
      (*static_cast<int*>(r->context))++;
    };
    storage.SubmitRead(&read);
  }
  EXPECT_EQ(completed, 0);  // Never inside the submit call.
  storage.RunUntilIdle();
  EXPECT_EQ(completed, 5);
  int exhausted = 0;
  for (const Storage::Read& read : reads) {
    if (absl::IsResourceExhausted(read.status)) {
      exhausted++;
    } else {
      EXPECT_TRUE(read.status.ok()) << read.status;
    }
  }
  EXPECT_EQ(exhausted, 3);
}

}  // namespace
}  // namespace lsmscan
