#include "lsmscan/tools/simulator_lib.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lsmscan/lsm/direction.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_options.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_tree.h"
#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/base/assert.h"
#include "lsmscan/storage/base/prng.h"
#include "lsmscan/storage/fault_storage.h"
#include "lsmscan/storage/memory_storage.h"
#include "lsmscan/storage/storage.h"

namespace lsmscan {
namespace simulator {

void SimulatorStats::Add(const SimulatorStats& other) {
  ops += other.ops;
  puts += other.puts;
  overwrites += other.overwrites;
  removes += other.removes;
  backpressure += other.backpressure;
  gets += other.gets;
  scans_started += other.scans_started;
  scans_completed += other.scans_completed;
  scans_aborted += other.scans_aborted;
  scans_failed += other.scans_failed;
  aborts_mid_read += other.aborts_mid_read;
  reads_after_abort += other.reads_after_abort;
  probes += other.probes;
  probes_backward += other.probes_backward;
  read_agains += other.read_agains;
  values_checked += other.values_checked;
  gets_failed += other.gets_failed;
  snapshots_acquired += other.snapshots_acquired;
  snapshots_released += other.snapshots_released;
  compactions += other.compactions;
  compact_alls += other.compact_alls;
  checkpoints += other.checkpoints;
  checkpoints_durable += other.checkpoints_durable;
  work_failed += other.work_failed;
  out_of_space += other.out_of_space;
  busy_rejections += other.busy_rejections;
  deepest_level = std::max(deepest_level, other.deepest_level);
  live_tables_max = std::max(live_tables_max, other.live_tables_max);
  faults.reads_failed += other.faults.reads_failed;
  faults.writes_failed += other.faults.writes_failed;
  faults.reads_corrupted += other.faults.reads_corrupted;
  faults.completions_delayed += other.faults.completions_delayed;
  faults.writes_dropped += other.faults.writes_dropped;
  crashes += other.crashes;
  mid_checkpoint_crashes += other.mid_checkpoint_crashes;
  restarts += other.restarts;
  open_retries += other.open_retries;
  recovered_values += other.recovered_values;
  divergences += other.divergences;
  ticks += other.ticks;
  seconds += other.seconds;
}

std::string FormatStats(const SimulatorStats& s) {
  const double ops_per_second = s.seconds > 0 ? s.ops / s.seconds : 0;
  return absl::StrFormat(
      "ops:        %d in %.2f s (%.0f ops/s), %d ticks\n"
      "writes:     %d puts, %d overwrites, %d removes, %d back-pressured\n"
      "gets:       %d (%d ended by an injected fault)\n"
      "scans:      %d started, %d completed, %d aborted (%d mid-read, %d "
      "read after abort), %d ended by an injected fault\n"
      "            %d probes (%d backward, no-ops), %d read-agains\n"
      "values:     %d checked against the model\n"
      "snapshots:  %d acquired, %d released\n"
      "work:       %d compactions, %d compact-alls, %d checkpoints (%d "
      "durable), %d ended by a fault (%d out of space), %d refused while "
      "busy\n"
      "trees:      up to %d levels holding tables, up to %d live tables\n"
      "faults:     %d read errors, %d bit flips, %d write errors, %d "
      "delayed completions, %d writes dropped by crashes\n"
      "crashes:    %d survived (%d mid-checkpoint), %d clean restarts, %d "
      "open retries, %d values checked after reopening\n"
      "divergences: %d",
      s.ops, s.seconds, ops_per_second, s.ticks, s.puts, s.overwrites,
      s.removes, s.backpressure, s.gets, s.gets_failed, s.scans_started,
      s.scans_completed, s.scans_aborted, s.aborts_mid_read,
      s.reads_after_abort, s.scans_failed, s.probes, s.probes_backward,
      s.read_agains, s.values_checked, s.snapshots_acquired,
      s.snapshots_released, s.compactions, s.compact_alls, s.checkpoints,
      s.checkpoints_durable, s.work_failed, s.out_of_space, s.busy_rejections,
      s.deepest_level, s.live_tables_max, s.faults.reads_failed,
      s.faults.reads_corrupted, s.faults.writes_failed,
      s.faults.completions_delayed, s.faults.writes_dropped, s.crashes,
      s.mid_checkpoint_crashes, s.restarts, s.open_retries, s.recovered_values,
      s.divergences);
}

std::string ReproCommand(uint64_t seed, uint64_t ops,
                         const SimulatorOptions& options) {
  return absl::StrCat("bazel run //tools:simulator -- --seed=", seed,
                      " --ops=", ops,
                      options.open_faults ? " --open_faults" : "");
}

namespace {

using Rec = Record32Schema;
using Key = Rec::Key;
using Value = Rec::Value;
using SimTree = Tree<Rec>;
using SimScan = ScanTree<Rec>;

constexpr Key kKeyMax = Rec::kKeyMax;
constexpr uint64_t kBlockCountMax = uint64_t{1} << 16;
// A request outstanding for this many ticks is a hang.
constexpr uint64_t kHangTicks = 2'000'000;
// Attempts at an operation that injected faults may fail (open, verify).
constexpr uint32_t kRetryMax = 2000;

// -----------------------------------------------------------------------------
// Configuration.

// Config
//
// Everything the seed decides before the first operation.
struct Config {
  StorageOptions storage;
  TreeOptions tree;
  // A plain, zero-copy MemoryStorage: no faults, no crashes (clean restarts
  // only). Covers the grid's verified-view path.
  bool zero_copy = false;
  // A device of a few hundred blocks: compactions and checkpoints run out
  // of space (ResourceExhausted), and must leave the tree intact.
  bool small_device = false;
  FaultOptions faults;  // write_count_max stays UINT64_MAX here.
  bool crashes = false;
  uint64_t crash_interval = 0;  // Mean operations between crashes.
  uint64_t key_space = 0;       // Keys are mostly in [0, key_space).
  uint32_t scan_slots = 0;      // ScanTree objects in flight at most.
  uint32_t get_slots = 0;
  uint32_t snapshot_max = 0;  // Snapshots held at once at most.
  uint32_t read_ahead_max = 0;
  double probe_probability = 0;           // Per step of a scan.
  double abort_probability = 0;           // Per step of a scan.
  double abort_mid_read_probability = 0;  // Per step with a read in flight.
};

// One of `choices`, uniformly.
template <typename T, size_t N>
T Pick(Prng* prng, const T (&choices)[N]) {
  return choices[prng->Uniform(N)];
}

// A random tree shape (see doc/reliability.md for the ranges).
TreeOptions RandomTreeOptions(Prng* prng) {
  TreeOptions options;
  options.level_count =
      static_cast<uint32_t>(prng->Chance(0.05) ? 1 : prng->Range(2, 7));
  options.growth_factor = static_cast<uint32_t>(prng->Range(2, 8));
  options.table_data_block_count_max =
      static_cast<uint32_t>(prng->Range(1, 16));
  options.memory_table_value_count_max =
      prng->Chance(0.2) ? 0 : static_cast<uint32_t>(prng->Range(8, 3000));
  options.immutable_table_count_max = static_cast<uint32_t>(
      prng->Chance(0.1) ? prng->Range(5, kImmutableTableCountMax)
                        : prng->Range(1, 4));
  options.cache_block_count =
      prng->Chance(0.3) ? 0 : static_cast<uint32_t>(prng->Range(1, 128));
  options.compaction_write_frame_count =
      static_cast<uint32_t>(prng->Range(1, 4));
  return options;
}

// Random fault probabilities and crash frequency for a fault seed.
void RandomFaults(Prng* prng, Config* config) {
  FaultOptions& faults = config->faults;
  // Enough for every scan slot's levels at the deepest read-ahead, so the
  // wrapper never refuses a request for want of slots.
  faults.request_count_max = 16384;
  if (prng->Chance(0.75)) {
    const double read_rates[] = {0, 0.0005, 0.002, 0.01, 0.03};
    faults.read_error_probability = Pick(prng, read_rates);
    faults.read_corruption_probability = Pick(prng, read_rates);
  }
  const double delay_rates[] = {0, 0.1, 0.3, 0.6, 0.9};
  faults.delay_probability = Pick(prng, delay_rates);
  faults.delay_ticks_max = static_cast<uint32_t>(prng->Range(1, 8));
  if (prng->Chance(0.25)) {
    const double write_rates[] = {0.0005, 0.002, 0.01};
    faults.write_error_probability = Pick(prng, write_rates);
  }
  config->crashes = prng->Chance(0.6);
  config->crash_interval = prng->Range(500, 6000);
}

// Everything a seed decides up front.
Config RandomConfig(Prng* prng) {
  Config config;
  config.storage.block_size_bytes =
      static_cast<uint32_t>(4096u << prng->Uniform(3));
  config.storage.block_count_max = kBlockCountMax;
  config.tree = RandomTreeOptions(prng);
  config.small_device = prng->Chance(0.08);
  if (config.small_device) {
    config.storage.block_count_max = prng->Range(24, 200);
  }
  const uint64_t magnitude = uint64_t{1} << prng->Range(5, 14);
  config.key_space = magnitude + prng->Uniform(magnitude);
  config.zero_copy = prng->Chance(0.15);
  if (!config.zero_copy) RandomFaults(prng, &config);
  config.scan_slots = static_cast<uint32_t>(prng->Range(1, 8));
  config.get_slots = static_cast<uint32_t>(prng->Range(1, 4));
  config.snapshot_max = static_cast<uint32_t>(prng->Range(0, 6));
  config.read_ahead_max = static_cast<uint32_t>(
      prng->Chance(0.1) ? kReadAheadBlocksMax : prng->Range(0, 4));
  const double probe_rates[] = {0, 0.01, 0.05, 0.2};
  config.probe_probability = Pick(prng, probe_rates);
  const double abort_rates[] = {0, 0.002, 0.01, 0.05};
  config.abort_probability = Pick(prng, abort_rates);
  config.abort_mid_read_probability = Pick(prng, abort_rates);
  return config;
}

// The configuration in one line.
std::string DescribeConfig(const Config& c) {
  std::string storage =
      c.zero_copy
          ? std::string("memory (zero-copy, no faults)")
          : absl::StrFormat(
                "fault{read_error=%g bit_flip=%g write_error=%g delay=%g/%d "
                "crashes=%s/%d ops}",
                c.faults.read_error_probability,
                c.faults.read_corruption_probability,
                c.faults.write_error_probability, c.faults.delay_probability,
                c.faults.delay_ticks_max, c.crashes ? "yes" : "no",
                c.crash_interval);
  return absl::StrFormat(
      "block=%dKiB%s levels=%d growth=%d table_blocks=%d memtable=%d "
      "immutables=%d cache=%d write_frames=%d read_ahead<=%d keys=%d "
      "scans<=%d gets<=%d snapshots<=%d probe=%g abort=%g/%g storage=%s",
      c.storage.block_size_bytes / 1024,
      c.small_device
          ? absl::StrCat(" device=", c.storage.block_count_max, "blocks")
          : std::string(),
      c.tree.level_count, c.tree.growth_factor,
      c.tree.table_data_block_count_max, c.tree.memory_table_value_count_max,
      c.tree.immutable_table_count_max, c.tree.cache_block_count,
      c.tree.compaction_write_frame_count, c.read_ahead_max, c.key_space,
      c.scan_slots, c.get_slots, c.snapshot_max, c.probe_probability,
      c.abort_probability, c.abort_mid_read_probability, storage);
}

// -----------------------------------------------------------------------------
// The model.

// Model
//
// The reference the tree must match: every version of every key, tagged with
// the sequence number of the write that made it (one per applied write, from
// 1). A read "at sequence s" sees, for each key, its newest version written
// at or before s; a tombstone version means "absent".
class Model {
 public:
  // The sequence number of the last applied write (0: none since Reset()).
  uint64_t seq() const { return seq_; }
  uint64_t version_count() const { return version_count_; }

  // Model::Apply()
  //
  // Records a put or a tombstone as the next write.
  void Apply(const Value& value) {
    seq_++;
    versions_[Rec::key_of(value)].push_back(
        Version{seq_, !Rec::is_tombstone(value), value});
    version_count_++;
  }

  // Model::Get()
  //
  // The value of `key` at `seq`, or nullopt if absent.
  std::optional<Value> Get(Key key, uint64_t seq) const {
    auto it = versions_.find(key);
    if (it == versions_.end()) return std::nullopt;
    return LiveAt(it->second, seq);
  }

  // Model::Next()
  //
  // The first value live at `seq` from `from` towards `bound` (both
  // inclusive) in `direction`, or nullopt.
  std::optional<Value> Next(uint64_t seq, Key from, Key bound,
                            Direction direction) const {
    if (direction == Direction::kAscending) return NextUp(seq, from, bound);
    return NextDown(seq, from, bound);
  }

  // Model::MapAt()
  //
  // Every live value at `seq`.
  std::map<Key, Value> MapAt(uint64_t seq) const {
    std::map<Key, Value> map;
    for (const auto& [key, versions] : versions_) {
      std::optional<Value> value = LiveAt(versions, seq);
      if (value.has_value()) map.emplace(key, *value);
    }
    return map;
  }

  // Model::Reset()
  //
  // Forgets every version; `map` becomes the state at sequence 0.
  void Reset(const std::map<Key, Value>& map) {
    versions_.clear();
    seq_ = 0;
    version_count_ = 0;
    for (const auto& [key, value] : map) {
      versions_[key].push_back(Version{0, true, value});
      version_count_++;
    }
  }

  // Model::Prune()
  //
  // Drops the versions no read at a sequence >= `seq_min` can see.
  void Prune(uint64_t seq_min) {
    for (auto it = versions_.begin(); it != versions_.end();) {
      PruneKey(&it->second, seq_min);
      it = it->second.empty() ? versions_.erase(it) : std::next(it);
    }
  }

 private:
  struct Version {
    uint64_t seq;
    bool live;
    Value value;
  };

  static std::optional<Value> LiveAt(const std::vector<Version>& versions,
                                     uint64_t seq) {
    for (size_t i = versions.size(); i > 0; i--) {
      const Version& version = versions[i - 1];
      if (version.seq > seq) continue;
      if (!version.live) return std::nullopt;
      return version.value;
    }
    return std::nullopt;
  }

  std::optional<Value> NextUp(uint64_t seq, Key from, Key bound) const {
    if (bound < from) return std::nullopt;
    for (auto it = versions_.lower_bound(from);
         it != versions_.end() && it->first <= bound; ++it) {
      std::optional<Value> value = LiveAt(it->second, seq);
      if (value.has_value()) return value;
    }
    return std::nullopt;
  }

  std::optional<Value> NextDown(uint64_t seq, Key from, Key bound) const {
    if (from < bound) return std::nullopt;
    for (auto it = versions_.upper_bound(from); it != versions_.begin();) {
      --it;
      if (it->first < bound) break;
      std::optional<Value> value = LiveAt(it->second, seq);
      if (value.has_value()) return value;
    }
    return std::nullopt;
  }

  void PruneKey(std::vector<Version>* versions, uint64_t seq_min) {
    // Keep the newest version at or before seq_min and everything after.
    size_t keep = 0;
    for (size_t i = versions->size(); i > 0; i--) {
      if ((*versions)[i - 1].seq <= seq_min) {
        keep = i - 1;
        break;
      }
    }
    // An oldest tombstone nobody can read past is the same as nothing.
    if (!(*versions)[keep].live && (*versions)[keep].seq <= seq_min) keep++;
    version_count_ -= keep;
    versions->erase(versions->begin(),
                    versions->begin() + static_cast<ptrdiff_t>(keep));
  }

  std::map<Key, std::vector<Version>> versions_;
  uint64_t seq_ = 0;
  uint64_t version_count_ = 0;
};

// -----------------------------------------------------------------------------
// The workload.

enum class OpKind : uint8_t {
  kWrite,
  kGet,
  kScan,
  kAcquire,
  kRelease,
  kCompact,
  kCompactAll,
  kCheckpoint,
  kRestart,
};

enum class PhaseKind : uint8_t {
  kWriteHeavy,
  kRangeHeavy,
  kPointHeavy,
  kMixed
};
enum class KeyDistribution : uint8_t { kUniform, kSequential, kHotSpot };

// For messages and logs.
const char* PhaseName(PhaseKind phase) {
  switch (phase) {
    case PhaseKind::kWriteHeavy:
      return "write-heavy";
    case PhaseKind::kRangeHeavy:
      return "range-heavy";
    case PhaseKind::kPointHeavy:
      return "point-heavy";
    case PhaseKind::kMixed:
      return "mixed";
  }
  return "unknown";
}

const char* DistributionName(KeyDistribution distribution) {
  switch (distribution) {
    case KeyDistribution::kUniform:
      return "uniform";
    case KeyDistribution::kSequential:
      return "sequential";
    case KeyDistribution::kHotSpot:
      return "hot-spot";
  }
  return "unknown";
}

// Workload
//
// Which operation comes next and on which key. Phases of random length
// switch the mix (write-, range-, point-heavy, mixed), the key
// distribution and the share of removes.
class Workload {
 public:
  explicit Workload(uint64_t key_space) : key_space_(key_space) {}

  // Workload::NextOp()
  //
  // The kind of the next operation (starting a new phase when one ends).
  OpKind NextOp(Prng* prng) {
    if (phase_left_ == 0) NewPhase(prng);
    phase_left_--;
    const uint64_t roll = prng->Uniform(100000);
    if (roll < 400) return OpKind::kAcquire;
    if (roll < 800) return OpKind::kRelease;
    if (roll < 2300) return OpKind::kCompact;
    if (roll < 2360) return OpKind::kCompactAll;
    if (roll < 2960) return OpKind::kCheckpoint;
    if (roll < 2980) return OpKind::kRestart;
    const uint64_t mix = prng->Uniform(100);
    if (mix < write_percent_) return OpKind::kWrite;
    if (mix < write_percent_ + get_percent_) return OpKind::kGet;
    return OpKind::kScan;
  }

  // Workload::NextKey()
  //
  // A key from the phase's distribution.
  Key NextKey(Prng* prng) {
    if (prng->Chance(0.005)) {  // The ends of the key space.
      const Key edges[] = {0, 1, kKeyMax - 1, kKeyMax};
      return Pick(prng, edges);
    }
    switch (distribution_) {
      case KeyDistribution::kUniform:
        return prng->Uniform(key_space_);
      case KeyDistribution::kSequential:
        cursor_ = (cursor_ + prng->Range(1, 2)) % key_space_;
        return cursor_;
      case KeyDistribution::kHotSpot:
        if (prng->Chance(0.9)) {
          return (hot_base_ + prng->Uniform(hot_width_)) % key_space_;
        }
        return prng->Uniform(key_space_);
    }
    LSMSCAN_UNREACHABLE();
  }

  double remove_probability() const { return remove_probability_; }
  uint64_t key_space() const { return key_space_; }
  std::string Describe() const {
    return absl::StrFormat("%s phase, %s keys, %.0f%% removes",
                           PhaseName(phase_), DistributionName(distribution_),
                           remove_probability_ * 100);
  }

 private:
  void NewPhase(Prng* prng) {
    phase_ = static_cast<PhaseKind>(prng->Uniform(4));
    distribution_ = static_cast<KeyDistribution>(prng->Uniform(3));
    phase_left_ = prng->Range(200, 3000);
    const double remove_rates[] = {0.02, 0.1, 0.2, 0.35};
    remove_probability_ = Pick(prng, remove_rates);
    hot_base_ = prng->Uniform(key_space_);
    hot_width_ = std::max<uint64_t>(1, key_space_ / prng->Range(20, 200));
    cursor_ = prng->Uniform(key_space_);
    switch (phase_) {
      case PhaseKind::kWriteHeavy:
        SetMix(85, 10);
        break;
      case PhaseKind::kRangeHeavy:
        SetMix(45, 5);
        break;
      case PhaseKind::kPointHeavy:
        SetMix(45, 50);
        break;
      case PhaseKind::kMixed:
        SetMix(60, 20);
        break;
    }
  }

  void SetMix(uint64_t write_percent, uint64_t get_percent) {
    write_percent_ = write_percent;
    get_percent_ = get_percent;
  }

  uint64_t key_space_;
  PhaseKind phase_ = PhaseKind::kMixed;
  KeyDistribution distribution_ = KeyDistribution::kUniform;
  uint64_t phase_left_ = 0;
  uint64_t write_percent_ = 60;
  uint64_t get_percent_ = 20;
  double remove_probability_ = 0.1;
  uint64_t hot_base_ = 0;
  uint64_t hot_width_ = 1;
  uint64_t cursor_ = 0;
};

// -----------------------------------------------------------------------------
// Clients of the tree, as the simulator tracks them.

enum class ScanOutcome : uint8_t { kCompleted, kAborted, kFailed };

// ScanSlot
//
// One ScanTree (with its own ScanBuffer), and what it must return: the live
// values of the model at `model_seq` in [key_min, key_max], in `direction`,
// from `start` on (probes move it), after `last`.
struct ScanSlot {
  std::unique_ptr<SimScan> scan;
  std::unique_ptr<ScanBuffer> buffer;
  bool active = false;
  bool quiet = false;  // Verification scans: no probes, no aborts.
  uint64_t id = 0;
  // A Read() whose callback has not been handled yet.
  bool read_pending = false;
  bool read_done = false;
  bool read_after_abort = false;
  bool unexpected_callback = false;
  uint64_t read_tick = 0;
  absl::Status read_status;
  // The expected output.
  uint64_t model_seq = 0;
  Snapshot snapshot = kSnapshotLatest;
  Key key_min = 0;
  Key key_max = 0;
  Direction direction = Direction::kAscending;
  Key start = 0;
  std::optional<Key> last;
  uint32_t speed = 1;
  uint64_t values = 0;
  ScanOutcome outcome = ScanOutcome::kCompleted;
  absl::Status end_status;
};

// Records a Read() completion in its slot (or that it was not expected).
void OnScanRead(void* context, SimScan* /*scan*/, absl::Status status) {
  auto* slot = static_cast<ScanSlot*>(context);
  if (!slot->read_pending || slot->read_done) {
    slot->unexpected_callback = true;
    return;
  }
  slot->read_done = true;
  slot->read_status = std::move(status);
}

// GetSlot
//
// One GetRequest in flight, and the model sequence it must match.
struct GetSlot {
  GetRequest<Rec> request;
  AlignedBuffer frame;
  bool in_flight = false;
  bool done = false;
  bool unexpected_callback = false;
  uint64_t model_seq = 0;
  uint64_t start_tick = 0;
};

// Records a get's completion in its slot (or that it was not expected).
void OnGetDone(GetRequest<Rec>* request) {
  auto* slot = static_cast<GetSlot*>(request->context);
  if (!slot->in_flight || slot->done) {
    slot->unexpected_callback = true;
    return;
  }
  slot->done = true;
}

// HeldSnapshot
//
// A snapshot acquired from the tree, and the model sequence it shows.
struct HeldSnapshot {
  Snapshot snapshot = 0;
  uint64_t model_seq = 0;
};

enum class WorkKind : uint8_t { kCompact, kCompactAll, kCheckpoint };

const char* WorkName(WorkKind kind) {
  switch (kind) {
    case WorkKind::kCompact:
      return "compact";
    case WorkKind::kCompactAll:
      return "compact-all";
    case WorkKind::kCheckpoint:
      return "checkpoint";
  }
  return "unknown";
}

// WorkState
//
// The Compact(), CompactAll() or Checkpoint() in flight, and what its
// callback saw.
struct WorkState {
  bool in_flight = false;
  bool done = false;
  WorkKind kind = WorkKind::kCompact;
  absl::Status status;
  uint64_t start_tick = 0;
  // At the callback: the tree's flush count (which sealed tables reached
  // disk) and the writes the storage had dropped (a crashed checkpoint).
  uint64_t flushes = 0;
  uint64_t writes_dropped = 0;
};

// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// For messages: a key, with kKeyMax shown as "max".
std::string KeyString(Key key) {
  return key == kKeyMax ? std::string("max") : absl::StrCat(key);
}

// For messages: a snapshot, with kSnapshotLatest shown as "latest".
std::string SnapshotString(Snapshot snapshot) {
  return snapshot == kSnapshotLatest ? std::string("latest")
                                     : absl::StrCat(snapshot);
}

// -----------------------------------------------------------------------------
// The simulator.

class Simulator {
 public:
  explicit Simulator(const SimulatorOptions& options);
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Runs the whole simulation once.
  SimulatorResult Run();

 private:
  // Set-up and tear-down.
  // (Re)opens the storage stack on the device (creating it the first time).
  void CreateStorage();
  // Creates or opens the tree; false (after Fail()) if that is impossible.
  bool OpenTree(bool create);
  // Destroys scans, tree and storages (clients must be stopped).
  void CloseTree();
  // Ends the run whatever its state; leaks the tree if clients hang.
  void Teardown();
  // Picks the operation after which the next crash is armed.
  void ScheduleCrash();
  // Starts seal tracking over for a new tree: its durable state is now.
  void ResetSealTracking();

  // The event loop.
  // One operation, a few scan steps, 1..3 ticks, then crash handling.
  void Step();
  // Issues one operation of the workload.
  void IssueOp();
  // Ticks the storage once and handles what completed.
  void TickOnce(Storage::TickMode mode);
  // Calls that must be refused are refused (rarely: they cost a buffer).
  void CheckContracts();
  bool Crashed() const { return fault_ != nullptr && fault_->crashed(); }
  // Fails the run if a request is outstanding for too long.
  void CheckHangs();
  // Drains every client, checks everything, checkpoints and reopens.
  void Finish();

  // Writes.
  // One put or remove, applied to the model iff the tree took it.
  void DoWrite();
  // Answers ResourceExhausted: compaction, idle scans, snapshots.
  void RelieveBackPressure();
  // Records the model sequence of each seal the tree made since last time.
  void NoteSeals();
  // Drops model versions no reader or crash can need any more.
  void MaybePrune();

  // Gets.
  void StartGet(Key key, Snapshot snapshot, uint64_t model_seq, GetSlot* slot);
  void StartRandomGet();
  // Checks the gets that completed.
  void ProcessGets();
  void CheckGet(GetSlot* slot);

  // Snapshots.
  void AcquireSnapshot();
  void ReleaseSnapshot(size_t index);

  // Compaction and checkpoints.
  // Starts `kind` if the tree is idle (else sometimes checks it is refused).
  void StartWork(WorkKind kind);
  absl::Status CallWork(WorkKind kind);
  void ExpectBusy(WorkKind kind);
  static void OnWorkDone(void* context, absl::Status status);
  // Checks the work that completed; a durable checkpoint moves durable_seq_.
  void ProcessWork();
  void NoteTreeShape();
  // Arms a crash inside the work about to start, when one is due.
  void MaybeSetCrashPoint(WorkKind kind);
  void SetCrashPoint(uint64_t writes_from_now);

  // Scans.
  void StartRandomScan();
  void RandomRange(Key* key_min, Key* key_max);
  // Init()s `slot`'s scan and what it must return; false after Fail().
  bool InitScan(ScanSlot* slot, Snapshot snapshot, uint64_t model_seq,
                Key key_min, Key key_max, Direction direction);
  void DriveScans();
  // Advances one scan by one step of its state machine.
  void DriveScan(ScanSlot* slot);
  // Handles a completed Read(); true iff the scan may take values now.
  bool OnReadDone(ScanSlot* slot);
  // Maybe probes, then Read()s unless the probe made that unnecessary.
  void PrepareRead(ScanSlot* slot);
  void IssueRead(ScanSlot* slot);
  // Up to `speed` Next() calls, each value checked.
  void TakeValues(ScanSlot* slot);
  // Checks one value against the model; false after Fail().
  bool CheckValue(ScanSlot* slot, const Value& value);
  // The value the scan must return next, or nullopt at its end.
  std::optional<Value> ExpectedNext(const ScanSlot& slot) const;
  void CheckEnd(ScanSlot* slot);
  void ProbeScan(ScanSlot* slot);
  // A probe key; `*backward` says it lies before the range (a no-op).
  Key RandomProbeKey(const ScanSlot& slot, bool* backward);
  void AbortScan(ScanSlot* slot, bool mid_read);
  void EndScan(ScanSlot* slot, ScanOutcome outcome, absl::Status status);
  // Destroys idle scan objects (releasing their read views).
  void ReleaseIdleScans(double probability);
  void EnsureScanObjects(ScanSlot* slot);

  // Crashes, restarts and verification.
  // Stops clients, reopens the device and checks the recovered tree.
  void Restart(bool crash);
  // Aborts scans and waits for gets and background work.
  void StopClients();
  // Ticks until `done()`; false (after Fail()) on a hang.
  bool WaitFor(const char* what, const std::function<bool()>& done);
  // The whole tree equals the model: a full scan and some gets.
  void VerifyAll(const char* why);
  ScanSlot* verify_slot();
  // One attempt at the full scan; on a fault, narrows the range past the
  // keys already checked and returns false.
  bool VerifyScanPass(ScanSlot* slot, Direction direction, Key* key_min,
                      Key* key_max);
  void VerifyGets(uint32_t count);
  // Takes a durable checkpoint (retrying faults); false if none fits.
  bool Checkpoint();

  // Checking helpers.
  // Whether a fault this run injects (or a crash) explains `status`.
  bool ExpectedError(const absl::Status& status, bool writes) const;
  // Records the first divergence; the run then winds down.
  void Fail(const std::string& message);
  // Mixes an event into the run's digest.
  void Trace(uint64_t a, uint64_t b = 0);
  template <typename... Args>
  void Log(const absl::FormatSpec<Args...>& format, const Args&... args);

  SimulatorOptions options_;
  Prng config_prng_;
  Config config_;
  Prng prng_;         // Every decision of the run.
  Prng fault_seeds_;  // One seed per FaultStorage incarnation.
  Workload workload_;
  SimulatorResult result_;
  SimulatorStats& stats_;

  // The storage stack and the tree.
  std::shared_ptr<MemoryDevice> device_;
  std::unique_ptr<MemoryStorage> memory_;
  std::unique_ptr<FaultStorage> fault_;
  Storage* storage_ = nullptr;
  std::unique_ptr<SimTree> tree_;

  // The model, and which of its states a crash must recover.
  Model model_;
  std::vector<uint64_t> seal_seqs_;  // [k]: model seq at the tree's k-th seal.
  uint64_t seals_seen_ = 0;
  uint64_t durable_seq_ = 0;
  uint64_t writes_since_prune_ = 0;

  // Clients.
  std::vector<std::unique_ptr<ScanSlot>> scans_;
  std::unique_ptr<ScanSlot> verify_scan_;
  std::vector<std::unique_ptr<GetSlot>> gets_;
  std::unique_ptr<GetSlot> verify_get_;
  std::vector<HeldSnapshot> snapshots_;
  WorkState work_;
  uint64_t next_scan_id_ = 1;

  // Crashes.
  uint64_t crash_due_op_ = UINT64_MAX;
  bool crash_point_set_ = false;

  uint64_t tables_at_close_ = 0;  // Live tables when the tree was closed.
  uint64_t ops_issued_ = 0;
  uint64_t ticks_ = 0;
  bool failed_ = false;
};

Simulator::Simulator(const SimulatorOptions& options)
    : options_(options),
      config_prng_(Mix(options.seed) ^ 0xC0FF1Eull),
      config_(RandomConfig(&config_prng_)),
      prng_(Mix(options.seed ^ 0x5EED5EEDull)),
      fault_seeds_(Mix(options.seed ^ 0xFA17FA17ull)),
      workload_(config_.key_space),
      stats_(result_.stats) {
  result_.config = DescribeConfig(config_);
  result_.digest = Mix(options.seed);
}

template <typename... Args>
void Simulator::Log(const absl::FormatSpec<Args...>& format,
                    const Args&... args) {
  if (!options_.verbose || !options_.log) return;
  options_.log(
      absl::StrCat("op ", ops_issued_, ": ", absl::StrFormat(format, args...)));
}

void Simulator::Trace(uint64_t a, uint64_t b) {
  result_.digest = Mix(result_.digest ^ Mix(a + 0x9E3779B97F4A7C15ull * b));
}

void Simulator::Fail(const std::string& message) {
  if (failed_) return;
  failed_ = true;
  result_.ok = false;
  result_.failed_at_op = ops_issued_;
  result_.failure =
      absl::StrCat("at op ", ops_issued_, " (tick ", ticks_, "): ", message);
  stats_.divergences++;
  Log("FAILURE: %s", message);
}

bool Simulator::ExpectedError(const absl::Status& status, bool writes) const {
  const FaultOptions& f = config_.faults;
  const bool crashed = Crashed();
  if (absl::IsDataLoss(status)) {
    return f.read_corruption_probability > 0 || crashed;
  }
  if (absl::IsInternal(status)) {
    return f.read_error_probability > 0 ||
           (writes && f.write_error_probability > 0);
  }
  // A small device fills up: only writers may run out of blocks.
  if (absl::IsResourceExhausted(status)) return writes && config_.small_device;
  return absl::IsOutOfRange(status) && crashed;
}

// --- Set-up and tear-down ----------------------------------------------------

SimulatorResult Simulator::Run() {
  const auto begin = std::chrono::steady_clock::now();
  Log("seed %d: %s", options_.seed, result_.config);
  CreateStorage();
  if (OpenTree(/*create=*/true)) {
    ScheduleCrash();
    while (!failed_ && ops_issued_ < options_.ops) Step();
    if (!failed_) Finish();
  }
  Teardown();
  stats_.ticks = ticks_;
  stats_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
          .count();
  return result_;
}

void Simulator::CreateStorage() {
  if (device_ == nullptr) {
    absl::StatusOr<std::shared_ptr<MemoryDevice>> device =
        MemoryDevice::Create(config_.storage);
    LSMSCAN_ASSERT_MSG(device.ok(), "cannot reserve the memory device");
    device_ = std::move(device).value();
  }
  memory_ = MemoryStorage::Open(device_);
  storage_ = memory_.get();
  if (config_.zero_copy) return;
  fault_ = std::make_unique<FaultStorage>(memory_.get(), config_.faults,
                                          fault_seeds_.Next());
  storage_ = fault_.get();
}

bool Simulator::OpenTree(bool create) {
  if (fault_ != nullptr) {
    // Recovery reads without faults unless asked (see doc/reliability.md).
    FaultOptions quiet = config_.faults;
    quiet.write_error_probability = 0;
    if (!options_.open_faults || create) {
      quiet.read_error_probability = 0;
      quiet.read_corruption_probability = 0;
    }
    // Open() reads every table's index block and fails on any fault: keep
    // the chance that one attempt succeeds above about a third.
    const double cap = 0.5 / static_cast<double>(2 + tables_at_close_);
    quiet.read_error_probability = std::min(quiet.read_error_probability, cap);
    quiet.read_corruption_probability =
        std::min(quiet.read_corruption_probability, cap);
    fault_->set_options(quiet);
  }
  for (uint32_t attempt = 0; attempt < kRetryMax; attempt++) {
    absl::StatusOr<std::unique_ptr<SimTree>> tree =
        create ? SimTree::Create(storage_, config_.tree)
               : SimTree::Open(storage_, config_.tree);
    if (tree.ok()) {
      tree_ = std::move(tree).value();
      if (fault_ != nullptr) fault_->set_options(config_.faults);
      ResetSealTracking();
      return true;
    }
    Trace(0x0FE2, static_cast<uint64_t>(tree.status().code()));
    Log("%s failed: %s", create ? "create" : "open", tree.status().ToString());
    if (!(options_.open_faults && !create &&
          ExpectedError(tree.status(), false))) {
      Fail(absl::StrCat(create ? "Tree::Create" : "Tree::Open",
                        " failed: ", tree.status().ToString()));
      return false;
    }
    stats_.open_retries++;
  }
  Fail("Tree::Open failed under read faults on every attempt");
  return false;
}

void Simulator::ResetSealTracking() {
  seal_seqs_.assign(1, model_.seq());
  seals_seen_ = 0;
  durable_seq_ = model_.seq();
}

void Simulator::ScheduleCrash() {
  crash_point_set_ = false;
  crash_due_op_ = UINT64_MAX;
  if (fault_ == nullptr || !config_.crashes) return;
  crash_due_op_ = ops_issued_ + prng_.Range(config_.crash_interval / 2,
                                            config_.crash_interval * 3 / 2);
}

void Simulator::CloseTree() {
  tables_at_close_ = 0;
  if (tree_ != nullptr) {
    for (uint32_t level = 0; level < tree_->level_count(); level++) {
      tables_at_close_ += tree_->manifest().live_table_count(level);
    }
  }
  for (auto& slot : scans_) slot->scan.reset();
  if (verify_scan_ != nullptr) verify_scan_->scan.reset();
  snapshots_.clear();
  tree_.reset();
  if (fault_ != nullptr) {
    const FaultStats& faults = fault_->fault_stats();
    stats_.faults.reads_failed += faults.reads_failed;
    stats_.faults.writes_failed += faults.writes_failed;
    stats_.faults.reads_corrupted += faults.reads_corrupted;
    stats_.faults.completions_delayed += faults.completions_delayed;
    stats_.faults.writes_dropped += faults.writes_dropped;
  }
  fault_.reset();
  memory_.reset();
  storage_ = nullptr;
}

void Simulator::Teardown() {
  if (tree_ == nullptr) {
    CloseTree();
    return;
  }
  // After a failure, clients may still be in flight: wait for them, and
  // leak the tree rather than trip its destructor's checks if they hang.
  for (auto& slot : scans_) slot->scan.reset();
  auto busy = [&] {
    for (const auto& slot : gets_) {
      if (slot->in_flight) return true;
    }
    return work_.in_flight || tree_->busy();
  };
  for (uint64_t i = 0; i < kHangTicks && busy(); i++) {
    TickOnce(Storage::TickMode::kWaitForProgress);
  }
  if (busy()) {
    (void)tree_.release();
    (void)fault_.release();
    (void)memory_.release();
    return;
  }
  CloseTree();
}

// --- The event loop ----------------------------------------------------------

void Simulator::Step() {
  IssueOp();
  if (!failed_) DriveScans();
  const uint64_t ticks = prng_.Range(1, 3);
  for (uint64_t i = 0; i < ticks && !failed_; i++) {
    TickOnce(Storage::TickMode::kPoll);
  }
  if (!failed_ && Crashed()) Restart(/*crash=*/true);
  if (!failed_) CheckHangs();
}

void Simulator::IssueOp() {
  ops_issued_++;
  stats_.ops++;
  if (options_.progress != nullptr) *options_.progress = ops_issued_;
  if (ops_issued_ >= crash_due_op_ && ops_issued_ - crash_due_op_ >= 2000 &&
      !crash_point_set_ && !tree_->busy()) {
    SetCrashPoint(prng_.Uniform(40));  // Whatever writes come next.
  }
  if (prng_.Chance(0.002)) CheckContracts();
  const OpKind kind = workload_.NextOp(&prng_);
  Trace(ops_issued_, static_cast<uint64_t>(kind));
  switch (kind) {
    case OpKind::kWrite:
      return DoWrite();
    case OpKind::kGet:
      return StartRandomGet();
    case OpKind::kScan:
      return StartRandomScan();
    case OpKind::kAcquire:
      return AcquireSnapshot();
    case OpKind::kRelease:
      if (snapshots_.empty()) return;
      return ReleaseSnapshot(prng_.Uniform(snapshots_.size()));
    case OpKind::kCompact:
      return StartWork(WorkKind::kCompact);
    case OpKind::kCompactAll:
      return StartWork(WorkKind::kCompactAll);
    case OpKind::kCheckpoint:
      return StartWork(WorkKind::kCheckpoint);
    case OpKind::kRestart:
      return Restart(/*crash=*/false);
  }
}

void Simulator::CheckContracts() {
  // A snapshot nobody acquired: every call at it is refused.
  constexpr Snapshot kNeverLive = kSnapshotLatest - 1;
  if (!absl::IsInvalidArgument(tree_->ReleaseSnapshot(kNeverLive))) {
    return Fail("ReleaseSnapshot() of a snapshot never acquired succeeded");
  }
  SimScan scan;
  ScanSlot* busy = nullptr;
  for (auto& slot : scans_) {
    if (slot->active) busy = slot.get();
  }
  if (busy != nullptr) {
    const absl::Status status =
        scan.Init(tree_.get(), busy->buffer.get(), kSnapshotLatest, 0, 1,
                  Direction::kAscending);
    if (!absl::IsFailedPrecondition(status)) {
      return Fail(
          absl::StrCat("Init() with a buffer in use: ", status.ToString()));
    }
  }
  absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
      ScanBuffer::ForTree(*tree_);
  LSMSCAN_ASSERT_MSG(buffer.ok(), "ScanBuffer::ForTree failed");
  const absl::Status dead = scan.Init(tree_.get(), buffer->get(), kNeverLive, 0,
                                      1, Direction::kAscending);
  if (!absl::IsFailedPrecondition(dead)) {
    Fail(
        absl::StrCat("Init() at a snapshot never acquired: ", dead.ToString()));
  }
}

ScanSlot* Simulator::verify_slot() {
  if (verify_scan_ == nullptr) {
    verify_scan_ = std::make_unique<ScanSlot>();
    verify_scan_->quiet = true;
  }
  return verify_scan_.get();
}

void Simulator::TickOnce(Storage::TickMode mode) {
  storage_->Tick(mode);
  ticks_++;
  NoteSeals();
  ProcessGets();
  ProcessWork();
}

void Simulator::CheckHangs() {
  for (const auto& slot : scans_) {
    if (slot->active && slot->read_pending && !slot->read_done &&
        ticks_ - slot->read_tick > kHangTicks) {
      return Fail(absl::StrCat("scan #", slot->id, " read never completed"));
    }
  }
  for (const auto& slot : gets_) {
    if (slot->in_flight && !slot->done &&
        ticks_ - slot->start_tick > kHangTicks) {
      return Fail("a get never completed");
    }
  }
  if (work_.in_flight && !work_.done &&
      ticks_ - work_.start_tick > 20 * kHangTicks) {
    Fail(absl::StrCat(WorkName(work_.kind), " never completed"));
  }
}

bool Simulator::WaitFor(const char* what, const std::function<bool()>& done) {
  const uint64_t begin = ticks_;
  while (!failed_ && !done()) {
    if (ticks_ - begin > 20 * kHangTicks) {
      Fail(absl::StrCat("hang while waiting for ", what));
      return false;
    }
    TickOnce(Storage::TickMode::kWaitForProgress);
  }
  return !failed_;
}

void Simulator::Finish() {
  Log("finishing: draining clients");
  auto idle = [&] {
    for (const auto& slot : scans_) {
      if (slot->active) return false;
    }
    for (const auto& slot : gets_) {
      if (slot->in_flight) return false;
    }
    return !work_.in_flight;
  };
  const uint64_t begin = ticks_;
  while (!failed_ && !idle()) {
    if (ticks_ - begin > 20 * kHangTicks) return Fail("hang while draining");
    DriveScans();
    TickOnce(Storage::TickMode::kPoll);
  }
  if (!failed_ && Crashed()) Restart(/*crash=*/true);
  if (failed_) return;
  crash_due_op_ = UINT64_MAX;
  if (fault_ != nullptr) fault_->set_options(config_.faults);
  VerifyAll("final state");
  if (!failed_ && Checkpoint()) Restart(/*crash=*/false);
}

// --- Writes ------------------------------------------------------------------

void Simulator::DoWrite() {
  NoteSeals();
  const Key key = workload_.NextKey(&prng_);
  const bool remove = prng_.Chance(workload_.remove_probability());
  const Value value =
      remove ? Rec::tombstone(key) : Rec::Make(key, prng_.Next());
  const absl::Status status = remove ? tree_->Remove(key) : tree_->Put(value);
  NoteSeals();
  Trace(key, static_cast<uint64_t>(status.code()));
  if (absl::IsResourceExhausted(status)) {
    stats_.backpressure++;
    Log("put %d: back-pressure", key);
    return RelieveBackPressure();
  }
  if (!status.ok()) return Fail(absl::StrCat("Put: ", status.ToString()));
  const bool live = model_.Get(key, model_.seq()).has_value();
  if (remove) {
    stats_.removes++;
  } else if (live) {
    stats_.overwrites++;
  } else {
    stats_.puts++;
  }
  model_.Apply(value);
  Log("%s %d (seq %d)", remove ? "remove" : "put", key, model_.seq());
  writes_since_prune_++;
  MaybePrune();
}

void Simulator::RelieveBackPressure() {
  if (!tree_->busy()) StartWork(WorkKind::kCompact);
  // Finished scans keep their read view (and its memory tables) until they
  // are initialised again or destroyed.
  ReleaseIdleScans(0.5);
  if (!snapshots_.empty() && prng_.Chance(0.2)) ReleaseSnapshot(0);
}

void Simulator::NoteSeals() {
  const uint64_t seals = tree_->stats().seals;
  while (seals_seen_ < seals) {
    seal_seqs_.push_back(model_.seq());
    seals_seen_++;
  }
}

void Simulator::MaybePrune() {
  if (writes_since_prune_ < config_.key_space / 2 + 1024) return;
  writes_since_prune_ = 0;
  const uint64_t flushes = tree_->stats().flushes;
  uint64_t seq_min = std::min(durable_seq_, seal_seqs_.at(flushes));
  for (const HeldSnapshot& held : snapshots_) {
    seq_min = std::min(seq_min, held.model_seq);
  }
  for (const auto& slot : scans_) {
    if (slot->active) seq_min = std::min(seq_min, slot->model_seq);
  }
  for (const auto& slot : gets_) {
    if (slot->in_flight) seq_min = std::min(seq_min, slot->model_seq);
  }
  model_.Prune(seq_min);
}

// --- Gets --------------------------------------------------------------------

void Simulator::StartRandomGet() {
  GetSlot* free_slot = nullptr;
  for (auto& slot : gets_) {
    if (!slot->in_flight) free_slot = slot.get();
  }
  if (free_slot == nullptr) {
    if (gets_.size() >= config_.get_slots) return;
    gets_.push_back(std::make_unique<GetSlot>());
    free_slot = gets_.back().get();
    free_slot->frame = AlignedBuffer(config_.storage.block_size_bytes);
  }
  Snapshot snapshot = kSnapshotLatest;
  uint64_t model_seq = model_.seq();
  if (!snapshots_.empty() && prng_.Chance(0.3)) {
    const HeldSnapshot& held = snapshots_[prng_.Uniform(snapshots_.size())];
    snapshot = held.snapshot;
    model_seq = held.model_seq;
  }
  const Key key = prng_.Chance(0.05) ? config_.key_space + prng_.Uniform(1000)
                                     : workload_.NextKey(&prng_);
  StartGet(key, snapshot, model_seq, free_slot);
}

void Simulator::StartGet(Key key, Snapshot snapshot, uint64_t model_seq,
                         GetSlot* slot) {
  stats_.gets++;
  GetRequest<Rec>& request = slot->request;
  request.key = key;
  request.snapshot = snapshot;
  // Zero-copy storages need no frame.
  request.frame =
      storage_->zero_copy() && prng_.Chance(0.5) ? nullptr : slot->frame.data();
  request.callback = &OnGetDone;
  request.context = slot;
  slot->in_flight = true;
  slot->done = false;
  slot->model_seq = model_seq;
  slot->start_tick = ticks_;
  Log("get %d at snapshot %s (seq %d)", key, SnapshotString(snapshot),
      model_seq);
  tree_->Get(&request);
  if (slot->done) Fail("Get() called back from inside the call");
}

void Simulator::ProcessGets() {
  for (auto& slot : gets_) {
    if (slot->unexpected_callback) return Fail("a get called back twice");
    if (slot->in_flight && slot->done) CheckGet(slot.get());
  }
  if (verify_get_ != nullptr && verify_get_->in_flight && verify_get_->done) {
    CheckGet(verify_get_.get());
  }
}

void Simulator::CheckGet(GetSlot* slot) {
  slot->in_flight = false;
  const GetRequest<Rec>& request = slot->request;
  Trace(request.key, static_cast<uint64_t>(request.status.code()));
  if (!request.status.ok()) {
    if (!ExpectedError(request.status, false)) {
      return Fail(absl::StrCat("get ", request.key, " at snapshot ",
                               SnapshotString(request.snapshot), ": ",
                               request.status.ToString()));
    }
    stats_.gets_failed++;
    Log("get %d: %s (allowed)", request.key, request.status.ToString());
    return;
  }
  const std::optional<Value> expected =
      model_.Get(request.key, slot->model_seq);
  if (request.found != expected.has_value() ||
      (expected.has_value() &&
       std::memcmp(&request.value, &*expected, sizeof(Value)) != 0)) {
    return Fail(absl::StrCat(
        "get ", request.key, " at snapshot ", SnapshotString(request.snapshot),
        " (model seq ", slot->model_seq, "): got ",
        request.found ? "a value" : "nothing", ", model has ",
        expected.has_value() ? "a value" : "nothing",
        request.found && expected.has_value() ? " (payload differs)" : ""));
  }
  stats_.values_checked++;
}

// --- Snapshots ---------------------------------------------------------------

void Simulator::AcquireSnapshot() {
  if (snapshots_.size() >= config_.snapshot_max) return;
  NoteSeals();
  const absl::StatusOr<Snapshot> snapshot = tree_->AcquireSnapshot();
  NoteSeals();
  if (!snapshot.ok()) {
    return Fail(
        absl::StrCat("AcquireSnapshot: ", snapshot.status().ToString()));
  }
  snapshots_.push_back(HeldSnapshot{*snapshot, model_.seq()});
  stats_.snapshots_acquired++;
  Trace(*snapshot, model_.seq());
  Log("acquire snapshot %d (seq %d)", *snapshot, model_.seq());
}

void Simulator::ReleaseSnapshot(size_t index) {
  const HeldSnapshot held = snapshots_[index];
  snapshots_.erase(snapshots_.begin() + static_cast<ptrdiff_t>(index));
  const absl::Status status = tree_->ReleaseSnapshot(held.snapshot);
  if (!status.ok()) {
    return Fail(absl::StrCat("ReleaseSnapshot(", held.snapshot,
                             "): ", status.ToString()));
  }
  stats_.snapshots_released++;
  Trace(held.snapshot, 0x5E1EA5E);
  Log("release snapshot %d", held.snapshot);
}

// --- Compaction and checkpoints ----------------------------------------------

void Simulator::StartWork(WorkKind kind) {
  if (tree_->busy()) {
    if (prng_.Chance(0.2)) ExpectBusy(kind);
    return;
  }
  MaybeSetCrashPoint(kind);
  work_ = WorkState();
  work_.in_flight = true;
  work_.kind = kind;
  work_.start_tick = ticks_;
  Log("start %s", WorkName(kind));
  const absl::Status status = CallWork(kind);
  if (!status.ok()) {
    return Fail(absl::StrCat(WorkName(kind), ": ", status.ToString()));
  }
  if (work_.done) return Fail("work called back from inside the call");
  switch (kind) {
    case WorkKind::kCompact:
      stats_.compactions++;
      break;
    case WorkKind::kCompactAll:
      stats_.compact_alls++;
      break;
    case WorkKind::kCheckpoint:
      stats_.checkpoints++;
      break;
  }
}

absl::Status Simulator::CallWork(WorkKind kind) {
  switch (kind) {
    case WorkKind::kCompact:
      return tree_->Compact(&Simulator::OnWorkDone, this);
    case WorkKind::kCompactAll:
      return tree_->CompactAll(&Simulator::OnWorkDone, this);
    case WorkKind::kCheckpoint:
      return tree_->Checkpoint(&Simulator::OnWorkDone, this);
  }
  LSMSCAN_UNREACHABLE();
}

void Simulator::ExpectBusy(WorkKind kind) {
  const absl::Status status = CallWork(kind);
  if (!absl::IsFailedPrecondition(status)) {
    return Fail(absl::StrCat(WorkName(kind),
                             " while busy: expected "
                             "FailedPrecondition, got ",
                             status.ToString()));
  }
  stats_.busy_rejections++;
}

void Simulator::OnWorkDone(void* context, absl::Status status) {
  auto* self = static_cast<Simulator*>(context);
  WorkState& work = self->work_;
  if (!work.in_flight || work.done) {
    self->Fail("a Compact/Checkpoint callback ran twice");
    return;
  }
  work.done = true;
  work.status = std::move(status);
  work.flushes = self->tree_->stats().flushes;
  work.writes_dropped =
      self->fault_ != nullptr ? self->fault_->fault_stats().writes_dropped : 0;
}

void Simulator::NoteTreeShape() {
  uint64_t tables = 0;
  for (uint32_t level = 0; level < tree_->level_count(); level++) {
    const uint64_t count = tree_->manifest().live_table_count(level);
    tables += count;
    if (count > 0) {
      stats_.deepest_level =
          std::max<uint64_t>(stats_.deepest_level, level + 1);
    }
  }
  stats_.live_tables_max = std::max(stats_.live_tables_max, tables);
}

void Simulator::ProcessWork() {
  if (!work_.in_flight || !work_.done) return;
  work_.in_flight = false;
  NoteTreeShape();
  Trace(static_cast<uint64_t>(work_.kind),
        static_cast<uint64_t>(work_.status.code()));
  Log("%s done: %s", WorkName(work_.kind), work_.status.ToString());
  if (!work_.status.ok()) {
    if (!ExpectedError(work_.status, true)) {
      return Fail(absl::StrCat(WorkName(work_.kind),
                               " failed: ", work_.status.ToString()));
    }
    stats_.work_failed++;
    if (absl::IsResourceExhausted(work_.status)) stats_.out_of_space++;
    return;
  }
  // A checkpoint is durable iff its superblock write reached the device:
  // it is the checkpoint's last write, so iff no write was dropped yet.
  if (work_.kind != WorkKind::kCheckpoint || work_.writes_dropped > 0) return;
  if (work_.flushes > seals_seen_) {
    return Fail("the tree flushed more memory tables than it sealed");
  }
  durable_seq_ = seal_seqs_[work_.flushes];
  stats_.checkpoints_durable++;
  Log("checkpoint durable at seq %d", durable_seq_);
}

void Simulator::MaybeSetCrashPoint(WorkKind kind) {
  if (crash_point_set_ || ops_issued_ < crash_due_op_) return;
  if (kind != WorkKind::kCheckpoint && !prng_.Chance(0.3)) return;
  // The tree is idle: every write it issued has completed, so the storage's
  // write count is exact and the crash lands inside this work.
  SetCrashPoint(prng_.Uniform(kind == WorkKind::kCheckpoint ? 24 : 64));
}

void Simulator::SetCrashPoint(uint64_t writes_from_now) {
  FaultOptions options = fault_->fault_options();
  options.write_count_max = fault_->stats().write_count + writes_from_now;
  fault_->set_options(options);
  crash_point_set_ = true;
  Trace(0xC2A5, options.write_count_max);
  Log("crash armed after write %d", options.write_count_max);
}

// --- Scans -------------------------------------------------------------------

void Simulator::RandomRange(Key* key_min, Key* key_max) {
  const uint64_t space = config_.key_space;
  const uint64_t shape = prng_.Uniform(100);
  if (shape < 4) {
    *key_min = 0;
    *key_max = kKeyMax;
    return;
  }
  const Key start = workload_.NextKey(&prng_);
  *key_min = start;
  if (shape < 12) {
    *key_max = start;
  } else if (shape < 18) {
    *key_min = space + prng_.Uniform(1000);  // Beyond the data.
    *key_max = *key_min + prng_.Uniform(1000);
  } else if (shape < 55) {
    *key_max = start + prng_.Uniform(64);
  } else if (shape < 85) {
    *key_max = start + prng_.Uniform(space / 8 + 1);
  } else {
    *key_max = start + prng_.Uniform(space);
  }
}

void Simulator::EnsureScanObjects(ScanSlot* slot) {
  if (slot->buffer == nullptr) {
    ScanBufferOptions options;
    options.read_ahead_blocks =
        static_cast<uint32_t>(prng_.Range(0, config_.read_ahead_max));
    absl::StatusOr<std::unique_ptr<ScanBuffer>> buffer =
        ScanBuffer::ForTree(*tree_, options);
    LSMSCAN_ASSERT_MSG(buffer.ok(), "ScanBuffer::ForTree failed");
    slot->buffer = std::move(buffer).value();
  }
  if (slot->scan == nullptr) slot->scan = std::make_unique<SimScan>();
}

void Simulator::StartRandomScan() {
  ScanSlot* free_slot = nullptr;
  for (auto& slot : scans_) {
    if (!slot->active) free_slot = slot.get();
  }
  if (free_slot == nullptr) {
    if (scans_.size() >= config_.scan_slots) return;
    scans_.push_back(std::make_unique<ScanSlot>());
    free_slot = scans_.back().get();
  }
  Snapshot snapshot = kSnapshotLatest;
  uint64_t model_seq = model_.seq();
  if (!snapshots_.empty() && prng_.Chance(0.35)) {
    const HeldSnapshot& held = snapshots_[prng_.Uniform(snapshots_.size())];
    snapshot = held.snapshot;
    model_seq = held.model_seq;
  }
  Key key_min = 0;
  Key key_max = 0;
  RandomRange(&key_min, &key_max);
  const Direction direction =
      prng_.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
  free_slot->quiet = false;
  if (!InitScan(free_slot, snapshot, model_seq, key_min, key_max, direction)) {
    return;
  }
  free_slot->speed = static_cast<uint32_t>(
      prng_.Chance(0.3) ? prng_.Range(32, 256) : prng_.Range(1, 12));
}

bool Simulator::InitScan(ScanSlot* slot, Snapshot snapshot, uint64_t model_seq,
                         Key key_min, Key key_max, Direction direction) {
  EnsureScanObjects(slot);
  if (!slot->quiet && key_min < key_max && prng_.Chance(0.01)) {
    const absl::Status inverted = slot->scan->Init(
        tree_.get(), slot->buffer.get(), snapshot, key_max, key_min, direction);
    if (!absl::IsInvalidArgument(inverted)) {
      Fail(absl::StrCat("Init with key_min > key_max: ", inverted.ToString()));
      return false;
    }
  }
  const absl::Status status = slot->scan->Init(
      tree_.get(), slot->buffer.get(), snapshot, key_min, key_max, direction);
  if (!status.ok()) {
    Fail(absl::StrCat("ScanTree::Init: ", status.ToString()));
    return false;
  }
  slot->active = true;
  slot->id = next_scan_id_++;
  slot->read_pending = slot->read_done = slot->read_after_abort = false;
  slot->model_seq = model_seq;
  slot->snapshot = snapshot;
  slot->key_min = key_min;
  slot->key_max = key_max;
  slot->direction = direction;
  slot->start = direction == Direction::kAscending ? key_min : key_max;
  slot->last.reset();
  slot->values = 0;
  slot->speed = 64;
  if (!slot->quiet) stats_.scans_started++;
  Trace(key_min, key_max);
  Log("scan #%d [%s, %s] %s at snapshot %s (seq %d)", slot->id,
      KeyString(key_min), KeyString(key_max), DirectionName(direction),
      SnapshotString(snapshot), model_seq);
  return true;
}

void Simulator::DriveScans() {
  for (auto& slot : scans_) {
    if (failed_) return;
    if (slot->active || slot->unexpected_callback) DriveScan(slot.get());
  }
}

void Simulator::DriveScan(ScanSlot* slot) {
  if (slot->unexpected_callback) {
    return Fail(absl::StrCat("scan #", slot->id,
                             ": Read() called back when it should not"));
  }
  if (slot->read_pending) {
    if (!slot->read_done) {
      if (!slot->quiet && prng_.Chance(config_.abort_mid_read_probability)) {
        AbortScan(slot, /*mid_read=*/true);
      }
      return;
    }
    if (!OnReadDone(slot)) return;
  }
  switch (slot->scan->state()) {
    case ScanState::kIdle:
    case ScanState::kNeedsData:
      return PrepareRead(slot);
    case ScanState::kSeeking:
    case ScanState::kAborted:
      return TakeValues(slot);
    case ScanState::kBuffering:
      return Fail(absl::StrCat("scan #", slot->id,
                               " is buffering with no Read() pending"));
  }
}

bool Simulator::OnReadDone(ScanSlot* slot) {
  slot->read_pending = false;
  slot->read_done = false;
  const absl::Status status = slot->read_status;
  const ScanState state = slot->scan->state();
  if (slot->read_after_abort) {
    if (state != ScanState::kAborted || status != slot->scan->status()) {
      Fail(absl::StrCat("scan #", slot->id, ": Read() after Abort() gave ",
                        status.ToString(), " in state ", ScanStateName(state)));
      return false;
    }
    EndScan(slot, ScanOutcome::kAborted, status);
    return false;
  }
  if (status.ok()) {
    if (state == ScanState::kSeeking) return true;
    Fail(absl::StrCat("scan #", slot->id, ": Read() OK but state ",
                      ScanStateName(state)));
    return false;
  }
  if (state != ScanState::kAborted || slot->scan->status() != status) {
    Fail(absl::StrCat("scan #", slot->id, ": Read() failed with ",
                      status.ToString(), " but the scan is ",
                      ScanStateName(state), " with ",
                      slot->scan->status().ToString()));
    return false;
  }
  if (!ExpectedError(status, false)) {
    Fail(absl::StrCat("scan #", slot->id, " failed: ", status.ToString()));
    return false;
  }
  EndScan(slot, ScanOutcome::kFailed, status);
  return false;
}

void Simulator::PrepareRead(ScanSlot* slot) {
  if (!slot->quiet && prng_.Chance(config_.probe_probability)) {
    ProbeScan(slot);
    if (failed_) return;
    const ScanState state = slot->scan->state();
    if (state == ScanState::kSeeking || state == ScanState::kAborted) return;
  }
  IssueRead(slot);
}

void Simulator::IssueRead(ScanSlot* slot) {
  slot->read_pending = true;
  slot->read_done = false;
  slot->read_after_abort = false;
  slot->read_tick = ticks_;
  slot->scan->Read(&OnScanRead, slot);
  if (slot->read_done) {
    return Fail(absl::StrCat("scan #", slot->id,
                             ": Read() called back from inside the call"));
  }
  if (slot->scan->state() != ScanState::kBuffering) {
    return Fail(absl::StrCat("scan #", slot->id, ": after Read() the state is ",
                             ScanStateName(slot->scan->state())));
  }
  // Abort with the Read() just submitted (its completion may be queued).
  if (!slot->quiet && prng_.Chance(config_.abort_mid_read_probability / 4)) {
    AbortScan(slot, /*mid_read=*/true);
  }
}

void Simulator::TakeValues(ScanSlot* slot) {
  for (uint32_t i = 0; i < slot->speed && !failed_; i++) {
    if (!slot->quiet && prng_.Chance(config_.probe_probability)) {
      ProbeScan(slot);
      if (failed_) return;
    }
    if (!slot->quiet && prng_.Chance(config_.abort_probability)) {
      return AbortScan(slot, /*mid_read=*/false);
    }
    const ScanNext<Value> next = slot->scan->Next();
    switch (next.kind) {
      case ScanNextKind::kValue:
        if (!CheckValue(slot, *next.value)) return;
        break;
      case ScanNextKind::kReadAgain:
        stats_.read_agains++;
        if (slot->scan->state() != ScanState::kNeedsData) {
          return Fail(absl::StrCat("scan #", slot->id, ": ReadAgain in state ",
                                   ScanStateName(slot->scan->state())));
        }
        if (prng_.Chance(0.5)) PrepareRead(slot);
        return;
      case ScanNextKind::kEnd:
        return CheckEnd(slot);
    }
  }
}

std::optional<Value> Simulator::ExpectedNext(const ScanSlot& slot) const {
  if (slot.direction == Direction::kAscending) {
    Key from = slot.start;
    if (slot.last.has_value()) {
      if (*slot.last == kKeyMax) return std::nullopt;
      from = std::max(from, *slot.last + 1);
    }
    return model_.Next(slot.model_seq, from, slot.key_max, slot.direction);
  }
  Key from = slot.start;
  if (slot.last.has_value()) {
    if (*slot.last == 0) return std::nullopt;
    from = std::min(from, *slot.last - 1);
  }
  return model_.Next(slot.model_seq, from, slot.key_min, slot.direction);
}

bool Simulator::CheckValue(ScanSlot* slot, const Value& value) {
  const Key key = Rec::key_of(value);
  const std::optional<Value> expected = ExpectedNext(*slot);
  std::string problem;
  if (Rec::is_tombstone(value)) {
    problem = "a tombstone";
  } else if (!expected.has_value()) {
    problem = "a value where the model has none left";
  } else if (Rec::key_of(*expected) != key) {
    problem = absl::StrCat("the wrong key; the model's next key is ",
                           Rec::key_of(*expected));
  } else if (std::memcmp(&value, &*expected, sizeof(Value)) != 0) {
    problem = "a wrong payload (another version's, or corrupt)";
  }
  if (!problem.empty()) {
    Fail(absl::StrCat("scan #", slot->id, " [", KeyString(slot->key_min), ", ",
                      KeyString(slot->key_max), "] ",
                      DirectionName(slot->direction), " at snapshot ",
                      SnapshotString(slot->snapshot), " (model seq ",
                      slot->model_seq, "), value ", slot->values, ": key ", key,
                      " is ", problem));
    return false;
  }
  slot->last = key;
  slot->values++;
  stats_.values_checked++;
  Log("scan #%d: value %d", slot->id, key);
  Trace(key, slot->id);
  return true;
}

void Simulator::CheckEnd(ScanSlot* slot) {
  const std::optional<Value> expected = ExpectedNext(*slot);
  if (expected.has_value()) {
    return Fail(absl::StrCat(
        "scan #", slot->id, " [", KeyString(slot->key_min), ", ",
        KeyString(slot->key_max), "] ", DirectionName(slot->direction),
        " at snapshot ", SnapshotString(slot->snapshot), " (model seq ",
        slot->model_seq, ") ended after ", slot->values,
        " values; the model's next key is ", Rec::key_of(*expected)));
  }
  if (slot->scan->Next().kind != ScanNextKind::kEnd) {
    return Fail(absl::StrCat("scan #", slot->id, ": Next() after End"));
  }
  EndScan(slot, ScanOutcome::kCompleted, absl::OkStatus());
}

Key Simulator::RandomProbeKey(const ScanSlot& slot, bool* backward) {
  *backward = false;
  const bool up = slot.direction == Direction::kAscending;
  const uint64_t roll = prng_.Uniform(100);
  if (roll < 5) {  // Before the range: must change nothing.
    if (up && slot.key_min > 0) {
      *backward = true;
      return prng_.Uniform(slot.key_min);
    }
    if (!up && slot.key_max < kKeyMax) {
      *backward = true;
      return slot.key_max + 1 + prng_.Uniform(kKeyMax - slot.key_max);
    }
  }
  if (roll < 20) {  // Past the end of the range.
    if (up) return slot.key_max == kKeyMax ? kKeyMax : slot.key_max + 1;
    return slot.key_min == 0 ? 0 : slot.key_min - 1;
  }
  const Key base = slot.last.has_value()
                       ? (up ? std::max(slot.start, *slot.last)
                             : std::min(slot.start, *slot.last))
                       : slot.start;
  const uint64_t room = up ? kKeyMax - base : base;
  const uint64_t step =
      std::min(room, roll < 60 ? prng_.Uniform(8)
                               : prng_.Uniform(config_.key_space / 4 + 2));
  return up ? base + step : base - step;
}

void Simulator::ProbeScan(ScanSlot* slot) {
  if (slot->scan->state() == ScanState::kAborted) {
    // A scan ended by a probe past its end ignores later probes.
    if (!slot->scan->Probe(slot->start).ok()) {
      Fail(absl::StrCat("scan #", slot->id, ": Probe() after the end failed"));
    }
    return;
  }
  bool backward = false;
  const Key key = RandomProbeKey(*slot, &backward);
  const absl::Status status = slot->scan->Probe(key);
  stats_.probes++;
  Trace(key, static_cast<uint64_t>(status.code()));
  Log("scan #%d: probe %s%s", slot->id, KeyString(key),
      backward ? " (backward)" : "");
  if (backward) {
    // A no-op: the values checked from here on show that nothing moved.
    if (!status.ok()) {
      return Fail(absl::StrCat("scan #", slot->id, ": backward Probe(", key,
                               ") gave ", status.ToString()));
    }
    stats_.probes_backward++;
    return;
  }
  if (!status.ok()) {
    return Fail(absl::StrCat("scan #", slot->id, ": Probe(", key,
                             "): ", status.ToString()));
  }
  if (Before(slot->direction, slot->start, key)) slot->start = key;
}

void Simulator::AbortScan(ScanSlot* slot, bool mid_read) {
  slot->scan->Abort();
  slot->read_pending = false;
  slot->read_done = false;
  if (mid_read) stats_.aborts_mid_read++;
  Log("scan #%d: abort%s", slot->id, mid_read ? " mid-read" : "");
  if (slot->scan->state() != ScanState::kAborted ||
      slot->scan->Next().kind != ScanNextKind::kEnd) {
    return Fail(absl::StrCat("scan #", slot->id,
                             ": after Abort() the scan is not ended"));
  }
  if (prng_.Chance(0.3)) {
    // Read() on an aborted scan calls back with its status.
    stats_.reads_after_abort++;
    slot->read_pending = true;
    slot->read_after_abort = true;
    slot->read_tick = ticks_;
    slot->scan->Read(&OnScanRead, slot);
    return;
  }
  EndScan(slot, ScanOutcome::kAborted, absl::OkStatus());
}

void Simulator::EndScan(ScanSlot* slot, ScanOutcome outcome,
                        absl::Status status) {
  slot->active = false;
  slot->read_pending = false;
  slot->read_after_abort = false;
  slot->outcome = outcome;
  slot->end_status = std::move(status);
  Trace(slot->id, slot->values * 4 + static_cast<uint64_t>(outcome));
  Log("scan #%d ends: %s after %d values", slot->id,
      outcome == ScanOutcome::kCompleted ? std::string("completed")
      : outcome == ScanOutcome::kAborted ? std::string("aborted")
                                         : slot->end_status.ToString(),
      slot->values);
  if (slot->quiet) return;
  switch (outcome) {
    case ScanOutcome::kCompleted:
      stats_.scans_completed++;
      break;
    case ScanOutcome::kAborted:
      stats_.scans_aborted++;
      break;
    case ScanOutcome::kFailed:
      stats_.scans_failed++;
      break;
  }
  // Half the scans are destroyed when they end, half kept for reuse.
  if (prng_.Chance(0.5)) slot->scan.reset();
}

void Simulator::ReleaseIdleScans(double probability) {
  for (auto& slot : scans_) {
    if (!slot->active && slot->scan != nullptr && prng_.Chance(probability)) {
      slot->scan.reset();
    }
  }
}

// --- Crashes, restarts and verification --------------------------------------

void Simulator::Restart(bool crash) {
  if (crash && work_.in_flight && work_.kind == WorkKind::kCheckpoint) {
    stats_.mid_checkpoint_crashes++;
  }
  Log("%s: stopping clients", crash ? "CRASH" : "restart");
  StopClients();
  if (failed_) return;
  CloseTree();
  Trace(0x2E5747, crash ? 1 : 0);
  if (crash) {
    stats_.crashes++;
  } else {
    stats_.restarts++;
  }
  // What survives is the last durable checkpoint; from here on the model
  // starts over from it.
  model_.Reset(model_.MapAt(durable_seq_));
  CreateStorage();
  if (!OpenTree(/*create=*/false)) return;
  Log("reopened at the checkpoint of model seq 0");
  const uint64_t checked = stats_.values_checked;
  VerifyAll(crash ? "after a crash" : "after a restart");
  stats_.recovered_values += stats_.values_checked - checked;
  ScheduleCrash();
}

void Simulator::StopClients() {
  for (auto& slot : scans_) {
    if (slot->active) {
      stats_.scans_aborted++;
      slot->active = false;
    }
    slot->read_pending = false;
    slot->scan.reset();  // Aborts, and waits for reads in flight.
  }
  WaitFor("gets", [&] {
    for (const auto& slot : gets_) {
      if (slot->in_flight) return false;
    }
    return true;
  });
  WaitFor("compaction or checkpoint", [&] { return !work_.in_flight; });
}

void Simulator::VerifyAll(const char* why) {
  Log("verify (%s): full scan and gets at seq %d", why, model_.seq());
  const Direction direction =
      prng_.Chance(0.5) ? Direction::kAscending : Direction::kDescending;
  Key key_min = 0;
  Key key_max = kKeyMax;
  bool done = false;
  for (uint32_t attempt = 0; attempt < kRetryMax && !failed_ && !done;
       attempt++) {
    done = VerifyScanPass(verify_slot(), direction, &key_min, &key_max);
  }
  // A finished scan keeps its read view until destroyed: drop it.
  verify_slot()->scan.reset();
  if (done) return VerifyGets(32);
  if (!failed_) Fail(absl::StrCat("verification (", why, ") never finished"));
}

bool Simulator::VerifyScanPass(ScanSlot* slot, Direction direction,
                               Key* key_min, Key* key_max) {
  if (!InitScan(slot, kSnapshotLatest, model_.seq(), *key_min, *key_max,
                direction)) {
    return false;
  }
  const uint64_t begin = ticks_;
  while (!failed_ && slot->active) {
    if (ticks_ - begin > kHangTicks) {
      Fail("verification scan hangs");
      return false;
    }
    DriveScan(slot);
    if (slot->active) TickOnce(Storage::TickMode::kPoll);
  }
  if (failed_) return false;
  if (slot->outcome == ScanOutcome::kCompleted) return true;
  // A fault ended it: resume after the last key checked.
  if (slot->last.has_value()) {
    if (direction == Direction::kAscending) {
      if (*slot->last == kKeyMax) return true;
      *key_min = *slot->last + 1;
    } else {
      if (*slot->last == 0) return true;
      *key_max = *slot->last - 1;
    }
  }
  return false;
}

void Simulator::VerifyGets(uint32_t count) {
  if (verify_get_ == nullptr) {
    verify_get_ = std::make_unique<GetSlot>();
    verify_get_->frame = AlignedBuffer(config_.storage.block_size_bytes);
  }
  for (uint32_t i = 0; i < count && !failed_; i++) {
    const Key key = prng_.Uniform(config_.key_space + 16);
    for (uint32_t attempt = 0; attempt < kRetryMax && !failed_; attempt++) {
      const uint64_t failed_gets = stats_.gets_failed;
      StartGet(key, kSnapshotLatest, model_.seq(), verify_get_.get());
      WaitFor("a verification get", [&] { return !verify_get_->in_flight; });
      if (stats_.gets_failed == failed_gets) break;
    }
  }
}

bool Simulator::Checkpoint() {
  for (uint32_t attempt = 0; attempt < kRetryMax && !failed_; attempt++) {
    const uint64_t durable = stats_.checkpoints_durable;
    StartWork(WorkKind::kCheckpoint);
    if (!WaitFor("the final checkpoint", [&] { return !work_.in_flight; })) {
      return false;
    }
    if (stats_.checkpoints_durable > durable) return true;
    if (absl::IsResourceExhausted(work_.status)) {
      Log("the final checkpoint does not fit the device");
      return false;  // A full small device: nothing more to check.
    }
  }
  if (!failed_) Fail("the final checkpoint never succeeded");
  return false;
}

}  // namespace

SimulatorResult RunSimulation(const SimulatorOptions& options) {
  Simulator simulator(options);
  return simulator.Run();
}

}  // namespace simulator
}  // namespace lsmscan
