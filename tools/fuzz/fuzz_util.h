// File: tools/fuzz/fuzz_util.h
// -----------------------------------------------------------------------------
//
// Shared pieces of lsmscan's fuzz targets (see doc/fuzzing.md):
//
//   * the libFuzzer entry point every target defines,
//   * FUZZ_CHECK, the check whose failure is a finding,
//   * FuzzInput, which hands a target's input out as integers (zeros once
//     it is used up, so every input is a valid program),
//   * HeapBlock, a block in a heap allocation of exactly its size, so
//     AddressSanitizer reports any read past it,
//   * the block framing shared by the multi-block targets and the corpus
//     generator: a block is stored as a 2-byte little-endian length and that
//     many bytes, the rest of the block being zero.

#ifndef LSMSCAN_TOOLS_FUZZ_FUZZ_UTIL_H_
#define LSMSCAN_TOOLS_FUZZ_FUZZ_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LSMSCAN_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LSMSCAN_FUZZ_ASAN 1
#endif
#if defined(LSMSCAN_FUZZ_ASAN)
#include <sanitizer/asan_interface.h>
#endif

// LLVMFuzzerTestOneInput()
//
// The entry point of a fuzz target: runs one input. Returns 0 (libFuzzer
// reserves other values). A finding aborts the process.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// FUZZ_CHECK(condition, message)
//
// Reports a finding: prints the condition, the place and `message` (a C
// string), then aborts, which libFuzzer and fuzz_main.cc record as a crash.
#define FUZZ_CHECK(condition, message)                                        \
  ((condition) ? static_cast<void>(0)                                         \
               : ::lsmscan::fuzz::CheckFailed(#condition, __FILE__, __LINE__, \
                                              (message)))

namespace lsmscan {
namespace fuzz {

// CheckFailed()
//
// FUZZ_CHECK's failure path. Never returns.
[[noreturn]] inline void CheckFailed(const char* condition, const char* file,
                                     int line, const std::string& message) {
  std::fprintf(stderr, "lsmscan fuzz: check failed: %s at %s:%d: %s\n",
               condition, file, line, message.c_str());
  std::fflush(stderr);
  std::abort();
}

// FuzzInput
//
// Reads a fuzz input front to back. Past its end every read returns zero,
// so a target never has to reject a short input.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // Bytes not read yet.
  size_t remaining() const { return size_ - position_; }
  bool empty() const { return remaining() == 0; }

  // The next byte (0 past the end).
  uint8_t Byte() { return position_ < size_ ? data_[position_++] : 0; }

  // The next `sizeof(T)` bytes as a little-endian unsigned integer.
  template <typename T>
  T Int() {
    T value = 0;
    for (size_t i = 0; i < sizeof(T); i++) {
      value |= static_cast<T>(static_cast<T>(Byte()) << (8 * i));
    }
    return value;
  }

  // A value in [0, bound) from the next byte (or two, for bounds > 256).
  // REQUIRES: bound > 0.
  uint32_t Below(uint32_t bound) {
    const uint32_t raw = bound > 256 ? Int<uint16_t>() : Byte();
    return raw % bound;
  }

  // Copies up to `count` bytes into `out`; returns how many were left.
  size_t Copy(std::byte* out, size_t count) {
    const size_t n = std::min(count, remaining());
    if (n > 0) std::memcpy(out, data_ + position_, n);
    position_ += n;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

// HeapBlock
//
// `size` zeroed bytes in their own heap allocation (16-byte aligned), so an
// AddressSanitizer build reports a read even one byte past the end.
class HeapBlock {
 public:
  explicit HeapBlock(size_t size)
      : bytes_(new std::byte[size]()), size_(size) {}

  std::byte* data() { return bytes_.get(); }
  const std::byte* data() const { return bytes_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  size_t size_;
};

// ReadFramedBlock()
//
// Reads one framed block (2-byte length, then the bytes) from `input` into
// `block` (block_size bytes, zeroed first). The length is cut to the block
// size and to what is left.
inline void ReadFramedBlock(FuzzInput* input, std::byte* block,
                            size_t block_size) {
  std::memset(block, 0, block_size);
  const size_t length = input->Int<uint16_t>();
  input->Copy(block, std::min(length, block_size));
}

// AppendFramedBlock()
//
// The inverse, for the corpus generator: appends `block` to `out` without
// its trailing zeros. REQUIRES: fewer than 65536 significant bytes.
inline void AppendFramedBlock(const std::byte* block, size_t block_size,
                              std::string* out) {
  size_t length = block_size;
  while (length > 0 && block[length - 1] == std::byte{0}) length--;
  if (length > 0xFFFF) CheckFailed("length <= 0xFFFF", __FILE__, __LINE__, "");
  out->push_back(static_cast<char>(length & 0xFF));
  out->push_back(static_cast<char>(length >> 8));
  out->append(reinterpret_cast<const char*>(block), length);
}

// PoisonBytes(), UnpoisonBytes()
//
// Mark memory that no correct reader touches (AddressSanitizer builds only;
// no-ops elsewhere). Unpoison before the memory is freed or unmapped.
inline void PoisonBytes(const void* address, size_t size) {
#if defined(LSMSCAN_FUZZ_ASAN)
  ASAN_POISON_MEMORY_REGION(address, size);
#else
  (void)address;
  (void)size;
#endif
}

inline void UnpoisonBytes(const void* address, size_t size) {
#if defined(LSMSCAN_FUZZ_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(address, size);
#else
  (void)address;
  (void)size;
#endif
}

// Sink()
//
// Consumes a value so the compiler cannot drop the reads that made it (the
// targets read every byte a decoder hands out, for the sanitizers).
inline void Sink(uint64_t value) {
  static volatile uint64_t sink;
  sink = sink + value;
}

}  // namespace fuzz
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_FUZZ_FUZZ_UTIL_H_
