// File: tools/fuzz/scan_program.h
// -----------------------------------------------------------------------------
//
// The encoding of scan_fuzz.cc's programs, shared with the corpus generator
// (which writes programs with ScanProgramWriter).
//
//   program   := config_a config_b config_c op*
//   op        := opcode operands      (opcode taken modulo kScanOpcodeCount)
//
//   opcode       operation        operands
//   0, 1, 2      put              key:u16 seed:u8
//   3            remove           key:u16
//   4            put range        start:u16 count-1:u8 step-1:u8 seed:u8
//   5            remove range     start:u16 count-1:u8 step-1:u8 seed:u8
//   6            compact
//   7            compact all
//   8            checkpoint
//   9            acquire snapshot
//   10           release snapshot which:u8
//   11, 12, 13   scan             key_a:u16 key_b:u16 flags:u8 seed:u32
//   14           get              key:u16 which:u8
//   15           reopen
//
// Integers are little-endian and taken modulo their range (keys modulo
// kScanKeySpace, or kScanKeySpace + 8 for scan and get keys, so ranges
// reach past the data; count-1 modulo 128; step-1 modulo 4). Scan flags:
// bit 0 descending; bits 1-7 shifted right once choose the snapshot (even:
// latest; odd: held snapshot (which/2) mod held); bits 2-3 read-ahead
// blocks; bit 4 probe; bit 5 write during the scan; bit 6 abort after
// seed mod 64 values. The config bytes are described in scan_fuzz.cc.

#ifndef LSMSCAN_TOOLS_FUZZ_SCAN_PROGRAM_H_
#define LSMSCAN_TOOLS_FUZZ_SCAN_PROGRAM_H_

#include <cstdint>
#include <string>

namespace lsmscan {
namespace fuzz {

inline constexpr uint32_t kScanKeySpace = 1024;
inline constexpr uint8_t kScanOpcodeCount = 16;

// ScanOp
//
// What an opcode means (several opcodes share the frequent operations).
enum class ScanOp : uint8_t {
  kPut,
  kRemove,
  kPutRange,
  kRemoveRange,
  kCompact,
  kCompactAll,
  kCheckpoint,
  kAcquireSnapshot,
  kReleaseSnapshot,
  kScan,
  kGet,
  kReopen,
};

// DecodeScanOp()
//
// The operation of an opcode byte.
inline ScanOp DecodeScanOp(uint8_t byte) {
  static constexpr ScanOp kOps[kScanOpcodeCount] = {
      ScanOp::kPut,
      ScanOp::kPut,
      ScanOp::kPut,
      ScanOp::kRemove,
      ScanOp::kPutRange,
      ScanOp::kRemoveRange,
      ScanOp::kCompact,
      ScanOp::kCompactAll,
      ScanOp::kCheckpoint,
      ScanOp::kAcquireSnapshot,
      ScanOp::kReleaseSnapshot,
      ScanOp::kScan,
      ScanOp::kScan,
      ScanOp::kScan,
      ScanOp::kGet,
      ScanOp::kReopen,
  };
  return kOps[byte % kScanOpcodeCount];
}

// Scan flags (see the file comment).
inline constexpr uint8_t kScanDescending = 1;
inline constexpr uint8_t kScanHeldSnapshot = 2;  // Snapshot 0 of those held.
inline constexpr uint8_t kScanProbe = 16;
inline constexpr uint8_t kScanWrites = 32;
inline constexpr uint8_t kScanAbortEarly = 64;

// ScanReadAhead()
//
// The scan flag bits for `blocks` (0..3) of read-ahead.
constexpr uint8_t ScanReadAhead(uint8_t blocks) {
  return static_cast<uint8_t>((blocks & 3) << 2);
}

// ScanProgramWriter
//
// Appends operations to a program, for the corpus generator.
class ScanProgramWriter {
 public:
  // Starts a program with the three config bytes.
  ScanProgramWriter(uint8_t config_a, uint8_t config_b, uint8_t config_c) {
    Byte(config_a);
    Byte(config_b);
    Byte(config_c);
  }

  void Put(uint16_t key, uint8_t seed) {
    Byte(0);
    U16(key);
    Byte(seed);
  }
  void Remove(uint16_t key) {
    Byte(3);
    U16(key);
  }
  // Puts `count` (1..128) keys from `start`, `step` (1..4) apart.
  void PutRange(uint16_t start, uint8_t count, uint8_t step, uint8_t seed) {
    Range(4, start, count, step, seed);
  }
  void RemoveRange(uint16_t start, uint8_t count, uint8_t step) {
    Range(5, start, count, step, 0);
  }
  void Compact() { Byte(6); }
  void CompactAll() { Byte(7); }
  void Checkpoint() { Byte(8); }
  void AcquireSnapshot() { Byte(9); }
  void ReleaseSnapshot(uint8_t which) {
    Byte(10);
    Byte(which);
  }
  void Scan(uint16_t key_a, uint16_t key_b, uint8_t flags, uint32_t seed) {
    Byte(11);
    U16(key_a);
    U16(key_b);
    Byte(flags);
    for (int i = 0; i < 4; i++) Byte(static_cast<uint8_t>(seed >> (8 * i)));
  }
  void Get(uint16_t key, uint8_t which) {
    Byte(14);
    U16(key);
    Byte(which);
  }
  void Reopen() { Byte(15); }

  const std::string& bytes() const { return bytes_; }

 private:
  void Byte(uint8_t byte) { bytes_.push_back(static_cast<char>(byte)); }
  void U16(uint16_t value) {
    Byte(static_cast<uint8_t>(value));
    Byte(static_cast<uint8_t>(value >> 8));
  }
  void Range(uint8_t opcode, uint16_t start, uint8_t count, uint8_t step,
             uint8_t seed) {
    Byte(opcode);
    U16(start);
    Byte(static_cast<uint8_t>(count - 1));
    Byte(static_cast<uint8_t>(step - 1));
    Byte(seed);
  }

  std::string bytes_;
};

}  // namespace fuzz
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_FUZZ_SCAN_PROGRAM_H_
