// File: scan/allocation_counter.h
// -----------------------------------------------------------------------------
//
// Test support (testonly): counts every heap allocation the process makes
// while counting is on, whatever path it takes: every form of operator new
// (plain, array, nothrow, aligned), malloc, calloc, realloc, reallocarray,
// aligned_alloc, posix_memalign, memalign, valloc, pvalloc, and whatever
// libraries allocate through them.
//
// How: in a normal build, allocation_counter.cc defines glibc's allocation
// functions in the test binary, which interposes them for the whole process
// (glibc supports replacing malloc this way; libstdc++'s operator new calls
// malloc and aligned_alloc); each counts, then calls glibc's own
// (__libc_malloc, ...). Under AddressSanitizer, whose allocator replaces
// them all, it installs the sanitizer's allocation hook instead, which sees
// every allocation of that allocator. AllocationCounterTest checks that each
// path above is counted, so a path that escapes fails the test.
//
// Link it with alwayslink: nothing refers to the interposed functions.

#ifndef LSMSCAN_SCAN_ALLOCATION_COUNTER_H_
#define LSMSCAN_SCAN_ALLOCATION_COUNTER_H_

#include <cstdint>

namespace lsmscan {
namespace testing {

// StartCountingAllocations(), StopCountingAllocations()
//
// Counts the allocations made between the two calls (in any thread);
// Stop returns the count.
void StartCountingAllocations();
uint64_t StopCountingAllocations();

// How allocations are counted in this build: "interposed glibc functions"
// or "sanitizer allocation hook".
const char* AllocationCounterMechanism();

}  // namespace testing
}  // namespace lsmscan

#endif  // LSMSCAN_SCAN_ALLOCATION_COUNTER_H_
