// ScanTree's life cycle: every call in every state doc/scan.md lists
// (never Init()ed, Init() failed, idle, buffering, seeking with and without
// reads in flight, needs_data with reads in flight, ended, aborted, failed by
// a read error) either works or is a clear error: a Status, or an assertion
// naming the rule for the calls documented as programming errors. Nothing
// dereferences null, spins, or ends a scan silently.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_testing.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_testing.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"

namespace lsmscan {
namespace {

using Schema32 = Record32Schema;
using Value = Schema32::Value;
using Tree32 = Tree<Schema32>;
using Scan32 = ScanTree<Schema32>;
using ::lsmscan::testing::CompactBlocking;
using ::lsmscan::testing::PutWithBackPressure;
using ::lsmscan::testing::ReadBlocking;
using ::lsmscan::testing::SmallTreeOptions;

constexpr uint64_t kValueCount = 2000;  // Keys 0, 2, ..., 3998.
constexpr uint64_t kKeyLast = 2 * (kValueCount - 1);

// The states of doc/scan.md's life-cycle table.
enum class LifeState {
  kNeverInitialized,
  kInitFailed,
  kIdle,
  kBuffering,
  kSeeking,
  kSeekingReadsInFlight,
  kNeedsDataReadsInFlight,
  kEnded,
  kAborted,
  kFailed,
};

constexpr LifeState kAllStates[] = {
    LifeState::kNeverInitialized,
    LifeState::kInitFailed,
    LifeState::kIdle,
    LifeState::kBuffering,
    LifeState::kSeeking,
    LifeState::kSeekingReadsInFlight,
    LifeState::kNeedsDataReadsInFlight,
    LifeState::kEnded,
    LifeState::kAborted,
    LifeState::kFailed,
};

std::string LifeStateName(LifeState state) {
  switch (state) {
    case LifeState::kNeverInitialized:
      return "never_initialized";
    case LifeState::kInitFailed:
      return "init_failed";
    case LifeState::kIdle:
      return "idle";
    case LifeState::kBuffering:
      return "buffering";
    case LifeState::kSeeking:
      return "seeking";
    case LifeState::kSeekingReadsInFlight:
      return "seeking_reads_in_flight";
    case LifeState::kNeedsDataReadsInFlight:
      return "needs_data_reads_in_flight";
    case LifeState::kEnded:
      return "ended";
    case LifeState::kAborted:
      return "aborted";
    case LifeState::kFailed:
      return "failed";
  }
  return "unknown";
}

// What a test's Read() callback saw.
struct Calls {
  int count = 0;
  absl::Status status = absl::UnknownError("not called");
};

void CountCall(void* context, Scan32*, absl::Status status) {
  auto* calls = static_cast<Calls*>(context);
  calls->count++;
  calls->status = std::move(status);
}

// A tree of kValueCount values on disk, on a copying storage that holds
// every completion back 1 to 3 ticks (so reads stay in flight across
// calls), without a block cache.
class ScanLifeCycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StorageOptions storage_options;
    storage_options.block_size_bytes = 4096;
    storage_options.block_count_max = 1 << 14;
    auto inner = MemoryStorage::Create(storage_options);
    ASSERT_TRUE(inner.ok());
    inner_ = std::move(inner).value();
    storage_ = std::make_unique<FaultStorage>(inner_.get(), FaultOptions(),
                                              /*seed=*/7);
    TreeOptions options = SmallTreeOptions();
    options.cache_block_count = 0;
    auto tree = Tree32::Create(storage_.get(), options);
    ASSERT_TRUE(tree.ok());
    tree_ = std::move(tree).value();
    for (uint64_t i = 0; i < kValueCount; i++) {
      ASSERT_TRUE(
          PutWithBackPressure(tree_.get(), Schema32::Make(2 * i, i)).ok());
    }
    ASSERT_TRUE(CompactBlocking(tree_.get()).ok());
    storage_->set_options(Delays());
    auto buffer = ScanBuffer::ForTree(*tree_, {.read_ahead_blocks = 1});
    ASSERT_TRUE(buffer.ok());
    buffer_ = std::move(buffer).value();
  }

  static FaultOptions Delays() {
    FaultOptions faults;
    faults.delay_probability = 1;
    faults.delay_ticks_max = 3;
    return faults;
  }

  void Tick() { storage_->Tick(Storage::TickMode::kWaitForProgress); }

  // Brings `scan` (never Init()ed) into `state`. Its Read() callbacks count
  // into `calls`, which must outlive the scan's reads.
  void Enter(Scan32* scan, LifeState state, Calls* calls) {
    if (state == LifeState::kNeverInitialized) return;
    if (state == LifeState::kInitFailed) {
      ASSERT_EQ(scan->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 10, 9,
                           Direction::kAscending)
                    .code(),
                absl::StatusCode::kInvalidArgument);
      return;
    }
    ASSERT_TRUE(scan->Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0,
                           kKeyLast, Direction::kAscending)
                    .ok());
    if (state == LifeState::kIdle) return;
    if (state == LifeState::kFailed) {
      FaultOptions faults = Delays();
      faults.read_error_probability = 1;
      storage_->set_options(faults);
      scan->Read(&CountCall, calls);
      while (calls->count == 0) Tick();
      storage_->set_options(Delays());
      ASSERT_TRUE(absl::IsInternal(calls->status)) << calls->status;
      return;
    }
    scan->Read(&CountCall, calls);
    ASSERT_GT(scan->in_flight_count(), 0u);
    if (state == LifeState::kBuffering) return;
    while (calls->count == 0) Tick();
    ASSERT_TRUE(calls->status.ok());
    ASSERT_NO_FATAL_FAILURE(TakeUntil(scan, state));
    if (state == LifeState::kAborted) scan->Abort();
  }

  // From kSeeking, takes values (reading when asked) until the scan is in
  // `state`.
  void TakeUntil(Scan32* scan, LifeState state) {
    while (true) {
      const bool in_flight = scan->in_flight_count() > 0;
      switch (state) {
        case LifeState::kSeeking:
        case LifeState::kAborted:
          while (scan->in_flight_count() > 0) Tick();
          return;
        case LifeState::kSeekingReadsInFlight:
          if (in_flight && scan->state() == ScanState::kSeeking) return;
          break;
        case LifeState::kNeedsDataReadsInFlight:
          if (in_flight && scan->state() == ScanState::kNeedsData) return;
          break;
        default:
          break;
      }
      if (scan->state() == ScanState::kNeedsData) {
        ASSERT_TRUE(ReadBlocking(scan, storage_.get()).ok());
        continue;
      }
      const ScanNext<Value> next = scan->Next();
      if (next.kind == ScanNextKind::kEnd) {
        ASSERT_EQ(state, LifeState::kEnded) << "the scan ended first";
        return;
      }
    }
  }

  // The status() a scan in `state` has.
  static absl::StatusCode StatusIn(LifeState state) {
    switch (state) {
      case LifeState::kNeverInitialized:
        return absl::StatusCode::kFailedPrecondition;
      case LifeState::kInitFailed:
        return absl::StatusCode::kInvalidArgument;
      case LifeState::kFailed:
        return absl::StatusCode::kInternal;
      default:
        return absl::StatusCode::kOk;
    }
  }

  // Whether the scan in `state` has started and not ended.
  static bool Live(LifeState state) {
    return state == LifeState::kIdle || state == LifeState::kSeeking ||
           state == LifeState::kSeekingReadsInFlight ||
           state == LifeState::kNeedsDataReadsInFlight;
  }

  // Runs the scan to its end; returns the keys.
  std::vector<uint64_t> Drain(Scan32* scan) {
    std::vector<uint64_t> keys;
    if (scan->state() == ScanState::kIdle) {
      EXPECT_TRUE(ReadBlocking(scan, storage_.get()).ok());
    }
    while (true) {
      const ScanNext<Value> next = scan->Next();
      if (next.kind == ScanNextKind::kEnd) return keys;
      if (next.kind == ScanNextKind::kReadAgain) {
        EXPECT_TRUE(ReadBlocking(scan, storage_.get()).ok());
        continue;
      }
      keys.push_back(Schema32::key_of(*next.value));
    }
  }

  std::unique_ptr<MemoryStorage> inner_;
  std::unique_ptr<FaultStorage> storage_;
  std::unique_ptr<Tree32> tree_;
  std::unique_ptr<ScanBuffer> buffer_;
};

// Probe() in every state: it skips ahead in every live state; it changes
// nothing once the scan has ended, aborted or failed (or never started);
// during a Read() it is an assertion.
TEST_F(ScanLifeCycleTest, ProbeSkipsAheadInEveryState) {
  constexpr uint64_t kTarget = 3001;  // Between keys: the next is 3002.
  for (LifeState state : kAllStates) {
    SCOPED_TRACE(LifeStateName(state));
    Calls calls;
    auto scan = std::make_unique<Scan32>();
    ASSERT_NO_FATAL_FAILURE(Enter(scan.get(), state, &calls));
    if (state == LifeState::kBuffering) {
      EXPECT_DEATH((void)scan->Probe(kTarget),
                   "Probe\\(\\) while a Read\\(\\) is in flight");
      continue;
    }
    EXPECT_TRUE(scan->Probe(kTarget).ok());
    if (Live(state)) {
      EXPECT_EQ(scan->key_min(), kTarget);
      const std::vector<uint64_t> keys = Drain(scan.get());
      ASSERT_FALSE(keys.empty());
      EXPECT_EQ(keys.front(), kTarget + 1);
      EXPECT_EQ(keys.back(), kKeyLast);
      EXPECT_EQ(keys.size(), (kKeyLast - kTarget + 1) / 2);
    } else {
      EXPECT_EQ(scan->Next().kind, ScanNextKind::kEnd);
      EXPECT_EQ(scan->status().code(), StatusIn(state));
    }
  }
}

// Abort() in every state, then destruction: the scan ends at once (End,
// status() unchanged), a Read() in flight never calls back, a later Read()
// calls back with status() from a tick, and destruction waits for the reads
// in flight and frees the buffer.
TEST_F(ScanLifeCycleTest, AbortInEveryStateThenDestroy) {
  for (LifeState state : kAllStates) {
    SCOPED_TRACE(LifeStateName(state));
    Calls calls;
    auto scan = std::make_unique<Scan32>();
    ASSERT_NO_FATAL_FAILURE(Enter(scan.get(), state, &calls));
    const int calls_before = calls.count;
    const bool reads_in_flight = scan->in_flight_count() > 0;
    scan->Abort();
    EXPECT_EQ(scan->state(), ScanState::kAborted);
    EXPECT_EQ(scan->Next().kind, ScanNextKind::kEnd);
    EXPECT_EQ(scan->status().code(), StatusIn(state));
    EXPECT_EQ(scan->in_flight_count() > 0, reads_in_flight);
    if (state != LifeState::kNeverInitialized) {
      Calls after;
      scan->Read(&CountCall, &after);
      EXPECT_EQ(after.count, 0);  // Never from inside Read().
      while (after.count == 0) Tick();
      EXPECT_EQ(after.status.code(), StatusIn(state));
    }
    scan.reset();  // Waits for the reads in flight.
    EXPECT_EQ(calls.count, calls_before) << "an aborted read called back";
    EXPECT_FALSE(buffer_->in_use());
    if (state == LifeState::kBuffering ||
        state == LifeState::kSeekingReadsInFlight ||
        state == LifeState::kNeedsDataReadsInFlight) {
      EXPECT_TRUE(reads_in_flight);
    }
  }
}

// Reset() in every state gives back everything at once (the buffer is free
// for another scan) and leaves a cleanly ended scan: End, status() OK.
TEST_F(ScanLifeCycleTest, ResetInEveryStateReleasesEverything) {
  for (LifeState state : kAllStates) {
    SCOPED_TRACE(LifeStateName(state));
    Calls calls;
    Scan32 scan;
    ASSERT_NO_FATAL_FAILURE(Enter(&scan, state, &calls));
    const int calls_before = calls.count;
    scan.Reset();
    EXPECT_EQ(scan.in_flight_count(), 0u);
    EXPECT_FALSE(buffer_->in_use());
    EXPECT_EQ(scan.state(), ScanState::kAborted);
    EXPECT_TRUE(scan.status().ok());
    EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
    EXPECT_EQ(calls.count, calls_before) << "a reset read called back";
    if (state != LifeState::kNeverInitialized) {
      EXPECT_TRUE(ReadBlocking(&scan, storage_.get()).ok());
    }
    // The buffer serves another scan straight away.
    Scan32 other;
    ASSERT_TRUE(other
                    .Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0, 10,
                          Direction::kAscending)
                    .ok());
    EXPECT_EQ(Drain(&other), (std::vector<uint64_t>{0, 2, 4, 6, 8, 10}));
  }
}

// Init() again in every state starts the new scan (a Read() in flight
// never calls back); a rejected Init() ends the previous scan too, and the
// scan then reports the Init() error.
TEST_F(ScanLifeCycleTest, InitInEveryStateEndsThePreviousScan) {
  for (bool valid : {true, false}) {
    for (LifeState state : kAllStates) {
      SCOPED_TRACE(absl::StrCat(LifeStateName(state), valid ? "" : " bad"));
      Calls calls;
      Scan32 scan;
      ASSERT_NO_FATAL_FAILURE(Enter(&scan, state, &calls));
      const int calls_before = calls.count;
      const absl::Status init =
          scan.Init(tree_.get(), buffer_.get(), kSnapshotLatest, 100,
                    valid ? 110 : 99, Direction::kDescending);
      EXPECT_EQ(calls.count, calls_before);
      if (valid) {
        ASSERT_TRUE(init.ok());
        EXPECT_EQ(Drain(&scan),
                  (std::vector<uint64_t>{110, 108, 106, 104, 102, 100}));
        continue;
      }
      EXPECT_EQ(init.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(scan.state(), ScanState::kAborted);
      EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
      EXPECT_FALSE(buffer_->in_use());
      EXPECT_EQ(calls.count, calls_before);
    }
  }
}

// Rescan() in every state: a live scan restarts on the new range and
// direction, keeping its read view (reads in flight are absorbed); a scan
// that is not live is a FailedPrecondition that changes nothing; during a
// Read() it is an assertion.
TEST_F(ScanLifeCycleTest, RescanInEveryState) {
  for (LifeState state : kAllStates) {
    SCOPED_TRACE(LifeStateName(state));
    Calls calls;
    Scan32 scan;
    ASSERT_NO_FATAL_FAILURE(Enter(&scan, state, &calls));
    if (state == LifeState::kBuffering) {
      EXPECT_DEATH((void)scan.Rescan(100, 110, Direction::kDescending),
                   "Rescan\\(\\) while a Read\\(\\) is in flight");
      continue;
    }
    const int calls_before = calls.count;
    const ScanState state_before = scan.state();
    const absl::Status rescan = scan.Rescan(100, 110, Direction::kDescending);
    EXPECT_EQ(calls.count, calls_before);
    if (Live(state)) {
      ASSERT_TRUE(rescan.ok()) << rescan;
      EXPECT_EQ(scan.state(), ScanState::kIdle);
      EXPECT_EQ(scan.direction(), Direction::kDescending);
      EXPECT_EQ(scan.Rescan(11, 10, Direction::kAscending).code(),
                absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(Drain(&scan),
                (std::vector<uint64_t>{110, 108, 106, 104, 102, 100}));
      EXPECT_EQ(calls.count, calls_before) << "an absorbed read called back";
      continue;
    }
    EXPECT_EQ(rescan.code(), absl::StatusCode::kFailedPrecondition) << rescan;
    EXPECT_EQ(scan.state(), state_before);
    EXPECT_EQ(scan.status().code(), StatusIn(state));
    EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
  }
}

// Next() and Read() in every state: what the table in doc/scan.md says.
TEST_F(ScanLifeCycleTest, NextAndReadInEveryState) {
  for (LifeState state : kAllStates) {
    SCOPED_TRACE(LifeStateName(state));
    Calls calls;
    Scan32 scan;
    ASSERT_NO_FATAL_FAILURE(Enter(&scan, state, &calls));
    Calls read;
    switch (state) {
      case LifeState::kNeverInitialized:
        EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
        EXPECT_EQ(scan.status().code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_DEATH(scan.Read(&CountCall, &read), "never Init\\(\\)ed");
        break;
      case LifeState::kIdle:
      case LifeState::kBuffering:
        EXPECT_DEATH(scan.Next(), "Next\\(\\) before Read\\(\\) completed");
        if (state == LifeState::kBuffering) {
          EXPECT_DEATH(scan.Read(&CountCall, &read),
                       "Read\\(\\) is allowed only");
        }
        break;
      case LifeState::kSeeking:
      case LifeState::kSeekingReadsInFlight:
        EXPECT_EQ(scan.Next().kind, ScanNextKind::kValue);
        EXPECT_DEATH(scan.Read(&CountCall, &read),
                     "Read\\(\\) is allowed only");
        break;
      case LifeState::kNeedsDataReadsInFlight:
        EXPECT_EQ(scan.Next().kind, ScanNextKind::kReadAgain);
        EXPECT_TRUE(ReadBlocking(&scan, storage_.get()).ok());
        EXPECT_EQ(scan.state(), ScanState::kSeeking);
        break;
      case LifeState::kEnded:
        EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
        EXPECT_TRUE(scan.status().ok());
        break;
      case LifeState::kInitFailed:
      case LifeState::kAborted:
      case LifeState::kFailed:
        EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
        EXPECT_EQ(scan.status().code(), StatusIn(state));
        scan.Read(&CountCall, &read);
        EXPECT_EQ(read.count, 0);  // Never from inside Read().
        while (read.count == 0) Tick();
        EXPECT_EQ(read.status.code(), StatusIn(state));
        break;
    }
  }
}

// Regression (issue 13, item 5): Read() after a failed Init() dereferenced
// null; Next() answered End with an OK status, a silently empty scan.
TEST_F(ScanLifeCycleTest, AFailedInitIsReportedByReadAndStatus) {
  Scan32 scan;
  EXPECT_EQ(scan.Init(tree_.get(), buffer_.get(), kSnapshotLatest, 10, 9,
                      Direction::kAscending)
                .code(),
            absl::StatusCode::kInvalidArgument);
  Calls calls;
  scan.Read(&CountCall, &calls);
  EXPECT_EQ(calls.count, 0);
  while (calls.count == 0) Tick();
  EXPECT_EQ(calls.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
  // A buffer that does not fit is an error too, and so is none at all.
  EXPECT_EQ(scan.Init(tree_.get(), nullptr, kSnapshotLatest, 0, 9,
                      Direction::kAscending)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
}

// Regression (issue 13, item 5): a rejected re-Init() left the previous
// scan running on its old range.
TEST_F(ScanLifeCycleTest, ARejectedReInitEndsThePreviousScan) {
  Scan32 scan;
  ASSERT_TRUE(scan.Init(tree_.get(), buffer_.get(), kSnapshotLatest, 0,
                        kKeyLast, Direction::kAscending)
                  .ok());
  ASSERT_TRUE(ReadBlocking(&scan, storage_.get()).ok());
  ASSERT_EQ(scan.Next().kind, ScanNextKind::kValue);
  EXPECT_EQ(scan.Init(tree_.get(), buffer_.get(), kSnapshotLatest, 20, 10,
                      Direction::kAscending)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scan.state(), ScanState::kAborted);
  EXPECT_EQ(scan.Next().kind, ScanNextKind::kEnd);
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(buffer_->in_use());
}

// Regression (issue 13, item 5): destroying, resetting or re-Init()ing a
// scan with reads in flight from inside a storage callback span forever in
// Release() when the scan's reads were in the batch being delivered; it is
// an assertion that says what to do instead, and doing that (Abort() in the
// callback, release after it) works.
TEST_F(ScanLifeCycleTest, ReleasingInACallbackWithReadsInFlightAsserts) {
  enum class How { kReset, kInit, kDestroy };
  struct Context {
    Scan32* scan;
    Tree32* tree;
    ScanBuffer* buffer;
    How how;
  };
  storage_->set_options(FaultOptions());  // No delays: one batch.
  AlignedBuffer frame(4096);
  for (How how : {How::kReset, How::kInit, How::kDestroy}) {
    SCOPED_TRACE(static_cast<int>(how));
    auto scan = std::make_unique<Scan32>();
    Context context{scan.get(), tree_.get(), buffer_.get(), how};
    // A read of another reader, completing in the same batch as the scan's
    // reads and just before them.
    Storage::Read read;
    read.address = 0;
    read.buffer = frame.data();
    read.context = &context;
    read.callback = [](Storage::Read* r) {
      auto* c = static_cast<Context*>(r->context);
      ASSERT_GT(c->scan->in_flight_count(), 0u);
      switch (c->how) {
        case How::kReset:
          c->scan->Reset();
          break;
        case How::kInit:
          (void)c->scan->Init(c->tree, c->buffer, kSnapshotLatest, 0, 1,
                              Direction::kAscending);
          break;
        case How::kDestroy:
          delete c->scan;
          break;
      }
    };
    storage_->SubmitRead(&read);
    Calls calls;
    ASSERT_NO_FATAL_FAILURE(Enter(scan.get(), LifeState::kBuffering, &calls));
    EXPECT_DEATH(Tick(), "from inside a storage callback");
    // The death test ran in a child: here the reads are still queued. What
    // to do instead: Abort() in the callback, release after it.
    read.callback = [](Storage::Read* r) {
      static_cast<Context*>(r->context)->scan->Abort();
    };
    Tick();
    EXPECT_EQ(scan->state(), ScanState::kAborted);
    scan.reset();  // Waits for the reads.
    EXPECT_EQ(calls.count, 0);
    EXPECT_FALSE(buffer_->in_use());
  }
}

}  // namespace
}  // namespace lsmscan
