// File: storage/base/assert.h
// -----------------------------------------------------------------------------
//
// Assertions that survive optimised builds (TigerBeetle's TIGER_STYLE).
//
// Two error channels exist in lsmscan. Operating errors (bad arguments, I/O
// faults, corruption, limits reached) return `absl::Status`. Programming
// errors (a broken invariant, a call in the wrong state) are assertions: they
// print the condition, the file and the line, then abort. Unlike `assert()`,
// `LSMSCAN_ASSERT` is not emptied by `-DNDEBUG`, so `-c opt` keeps it.
//
// A second tier, `LSMSCAN_EXPENSIVE_ASSERT`, holds O(n) checks (sortedness of
// a whole block, a full manifest walk). It is on in non-optimised builds
// (tests) and under `--config=verify`, and compiles to nothing otherwise.
//
// Example:
//
//   void Pop() {
//     LSMSCAN_ASSERT(count_ > 0);
//     LSMSCAN_EXPENSIVE_ASSERT(IsSorted());
//     ...
//   }

#ifndef LSMSCAN_STORAGE_BASE_ASSERT_H_
#define LSMSCAN_STORAGE_BASE_ASSERT_H_

static_assert(__cplusplus >= 202002L, "lsmscan requires C++20 (-std=c++20)");

#if !defined(NDEBUG) || (defined(LSMSCAN_VERIFY) && LSMSCAN_VERIFY)
#define LSMSCAN_VERIFY_ENABLED 1
#else
#define LSMSCAN_VERIFY_ENABLED 0
#endif

namespace lsmscan {
namespace internal {

// AssertFail()
//
// Prints "lsmscan: assertion failed: <condition> at <file>:<line>" (and the
// message, if any) to stderr, then aborts. Never returns.
[[noreturn]] void AssertFail(const char* condition, const char* file, int line,
                             const char* message);

}  // namespace internal

// kVerify
//
// True when the expensive assertion tier is compiled in.
inline constexpr bool kVerify = LSMSCAN_VERIFY_ENABLED != 0;

}  // namespace lsmscan

// LSMSCAN_ASSERT(condition)
//
// Aborts with a message unless `condition` holds. Always on.
#define LSMSCAN_ASSERT(condition)                                        \
  (__builtin_expect(static_cast<bool>(condition), 1)                     \
       ? static_cast<void>(0)                                            \
       : ::lsmscan::internal::AssertFail(#condition, __FILE__, __LINE__, \
                                         nullptr))

// LSMSCAN_ASSERT_MSG(condition, message)
//
// As LSMSCAN_ASSERT, with a constant message saying what went wrong.
#define LSMSCAN_ASSERT_MSG(condition, message)                           \
  (__builtin_expect(static_cast<bool>(condition), 1)                     \
       ? static_cast<void>(0)                                            \
       : ::lsmscan::internal::AssertFail(#condition, __FILE__, __LINE__, \
                                         (message)))

// LSMSCAN_EXPENSIVE_ASSERT(condition)
//
// As LSMSCAN_ASSERT, but only when LSMSCAN_VERIFY_ENABLED: for O(n) checks.
// `condition` is not evaluated otherwise.
#if LSMSCAN_VERIFY_ENABLED
#define LSMSCAN_EXPENSIVE_ASSERT(condition) LSMSCAN_ASSERT(condition)
#else
#define LSMSCAN_EXPENSIVE_ASSERT(condition) static_cast<void>(0)
#endif

// LSMSCAN_UNREACHABLE()
//
// Marks a point control never reaches (an exhaustive switch); aborts if it
// does.
#define LSMSCAN_UNREACHABLE() \
  ::lsmscan::internal::AssertFail("unreachable", __FILE__, __LINE__, nullptr)

#endif  // LSMSCAN_STORAGE_BASE_ASSERT_H_
