#include "lsmscan/lsm/compaction_pace.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace lsmscan {
namespace {

constexpr uint64_t kValueSize = 32;
constexpr uint64_t kStepMax = 4096;

TEST(CompactionPaceTest, EachWriteAccruesItsDebtAtThePace) {
  CompactionPace pace(kValueSize, kStepMax);
  EXPECT_EQ(pace.pace(), 2u);
  pace.NoteWrite();
  pace.NoteWrite();
  EXPECT_EQ(pace.debt_bytes(), 2 * 2 * kValueSize);
  // A step after writes is the debt, and pays it.
  EXPECT_EQ(pace.TakeStep(/*overloaded=*/false, UINT64_MAX), 4 * kValueSize);
  EXPECT_EQ(pace.debt_bytes(), 0u);
}

TEST(CompactionPaceTest, AStepIsBoundedByTheStepMaxAndTheRoom) {
  CompactionPace pace(kValueSize, kStepMax);
  for (int i = 0; i < 1000; i++) pace.NoteWrite();  // 64,000 bytes owed.
  EXPECT_EQ(pace.TakeStep(false, UINT64_MAX), kStepMax);
  EXPECT_EQ(pace.debt_bytes(), 64'000u - kStepMax);
  pace.NoteWrite();
  EXPECT_EQ(pace.TakeStep(false, 100), 100u);  // The job holds the rest.
}

TEST(CompactionPaceTest, IdleAndOverloadedTicksTakeAFullStep) {
  CompactionPace pace(kValueSize, kStepMax);
  EXPECT_EQ(pace.TakeStep(false, UINT64_MAX), kStepMax);  // No write since.
  pace.NoteWrite();
  EXPECT_EQ(pace.TakeStep(/*overloaded=*/true, UINT64_MAX), kStepMax);
  EXPECT_EQ(pace.debt_bytes(), 0u);
}

TEST(CompactionPaceTest, PaceFollowsAmplificationAndDoublesPerTableBehind) {
  CompactionPace pace(kValueSize, kStepMax);
  for (int i = 0; i < 100; i++) pace.NoteWrite();  // 3,200 bytes written.
  pace.NoteWork(10 * 3200);                        // Amplification 10.
  pace.Reprice(/*unflushed_tables=*/1);
  EXPECT_EQ(pace.pace(), 12u);
  pace.Reprice(2);
  EXPECT_EQ(pace.pace(), 24u);
  pace.Reprice(3);
  EXPECT_EQ(pace.pace(), 48u);
  pace.Reprice(0);
  EXPECT_EQ(pace.pace(), 12u);
  pace.Forgive();
  EXPECT_EQ(pace.debt_bytes(), 0u);
}

}  // namespace
}  // namespace lsmscan
