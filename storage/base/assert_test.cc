#include "lsmscan/storage/base/assert.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "lsmscan/storage/base/status_macros.h"

namespace lsmscan {
namespace {

TEST(AssertTest, PassingAssertionsDoNothing) {
  int evaluated = 0;
  LSMSCAN_ASSERT(++evaluated == 1);
  LSMSCAN_ASSERT_MSG(evaluated == 1, "evaluated once");
  EXPECT_EQ(evaluated, 1);
}

TEST(AssertDeathTest, FailingAssertionAbortsWithConditionAndLocation) {
  const int count = 0;
  EXPECT_DEATH(LSMSCAN_ASSERT(count > 0),
               "assertion failed: count > 0 at .*assert_test.cc");
  EXPECT_DEATH(LSMSCAN_ASSERT_MSG(count > 0, "the queue is empty"),
               "count > 0 .*: the queue is empty");
  EXPECT_DEATH(LSMSCAN_UNREACHABLE(), "unreachable");
}

TEST(AssertDeathTest, ExpensiveAssertionsAreOnInTests) {
  EXPECT_TRUE(kVerify);
  EXPECT_DEATH(LSMSCAN_EXPENSIVE_ASSERT(1 + 1 == 3), "1 \\+ 1 == 3");
}

absl::Status FailIfNegative(int value) {
  if (value < 0) return absl::InvalidArgumentError("negative");
  return absl::OkStatus();
}

absl::StatusOr<int> Double(int value) {
  LSMSCAN_RETURN_IF_ERROR(FailIfNegative(value));
  return value * 2;
}

absl::StatusOr<int> Quadruple(int value) {
  LSMSCAN_ASSIGN_OR_RETURN(const int twice, Double(value));
  return twice * 2;
}

TEST(StatusMacrosTest, ReturnEarlyOnErrorAndPassValuesThrough) {
  EXPECT_EQ(Quadruple(3).value(), 12);
  const absl::StatusOr<int> failed = Quadruple(-1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(failed.status().message(), "negative");
}

}  // namespace
}  // namespace lsmscan
