#include "lsmscan/scan/allocation_counter.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace lsmscan {
namespace testing {
namespace {

std::atomic<bool> counting{false};
std::atomic<uint64_t> allocations{0};

void Note() {
  if (counting.load(std::memory_order_relaxed)) {
    allocations.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace
}  // namespace testing
}  // namespace lsmscan

#if defined(__SANITIZE_ADDRESS__)

// The sanitizer's allocator serves every allocation function and operator
// new; its hook sees each allocation.
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, size_t),
    void (*free_hook)(const volatile void*));

namespace lsmscan {
namespace testing {
namespace {

void MallocHook(const volatile void*, size_t) { Note(); }
void FreeHook(const volatile void*) {}

// Installed before main() (and so before any test counts).
const int hooks_installed =
    __sanitizer_install_malloc_and_free_hooks(&MallocHook, &FreeHook);

}  // namespace

const char* AllocationCounterMechanism() {
  return hooks_installed != 0 ? "sanitizer allocation hook"
                              : "sanitizer allocation hook (not installed)";
}

}  // namespace testing
}  // namespace lsmscan

#else

// glibc's own allocator, under the names it exports for wrappers.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* memory, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);
void __libc_free(void* memory);

void* malloc(size_t size) noexcept {
  lsmscan::testing::Note();
  return __libc_malloc(size);
}

void* calloc(size_t count, size_t size) noexcept {
  lsmscan::testing::Note();
  return __libc_calloc(count, size);
}

void* realloc(void* memory, size_t size) noexcept {
  lsmscan::testing::Note();
  return __libc_realloc(memory, size);
}

void* reallocarray(void* memory, size_t count, size_t size) noexcept {
  lsmscan::testing::Note();
  size_t bytes = 0;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return __libc_realloc(memory, bytes);
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
  lsmscan::testing::Note();
  return __libc_memalign(alignment, size);
}

void* memalign(size_t alignment, size_t size) noexcept {
  lsmscan::testing::Note();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** memory, size_t alignment, size_t size) noexcept {
  lsmscan::testing::Note();
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  void* allocated = __libc_memalign(alignment, size);
  if (allocated == nullptr) return ENOMEM;
  *memory = allocated;
  return 0;
}

void* valloc(size_t size) noexcept {
  lsmscan::testing::Note();
  return __libc_valloc(size);
}

void* pvalloc(size_t size) noexcept {
  lsmscan::testing::Note();
  return __libc_pvalloc(size);
}

void free(void* memory) noexcept { __libc_free(memory); }
}  // extern "C"

namespace lsmscan {
namespace testing {

const char* AllocationCounterMechanism() {
  return "interposed glibc functions";
}

}  // namespace testing
}  // namespace lsmscan

#endif

namespace lsmscan {
namespace testing {

void StartCountingAllocations() {
  allocations.store(0, std::memory_order_relaxed);
  counting.store(true, std::memory_order_relaxed);
}

uint64_t StopCountingAllocations() {
  counting.store(false, std::memory_order_relaxed);
  return allocations.load(std::memory_order_relaxed);
}

}  // namespace testing
}  // namespace lsmscan
