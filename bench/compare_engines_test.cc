// The harness's own correctness: on small datasets, lsmscan (every storage
// backend) and RocksDB (every configuration) return the same records and
// digests for every workload, writes included; and a disagreement fails a
// measurement.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lsmscan/bench/compare_setup.h"
#include "lsmscan/bench/measure.h"
#include "lsmscan/bench/ycsb.h"
#include "lsmscan/bench/ycsb_run.h"

namespace lsmscan {
namespace bench {
namespace {

constexpr uint64_t kSeed = 777;

CompareOptions SmallOptions(const std::string& name) {
  CompareOptions options;
  options.records = 20'000;
  const char* tmp = std::getenv("TEST_TMPDIR");
  options.data_dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::filesystem::create_directories(options.data_dir);
  options.cold = DirectIoSupported(options.data_dir);
  options.tuned_block_sizes = {16384};
  options.tuned_cold_readaheads = {ColdReadahead::kFixed,
                                   ColdReadahead::kAdaptiveAsync};
  options.measure.repetitions = 2;
  options.measure.min_sample_seconds = 0;
  options.measure.warm_records_per_pass = 2000;
  options.measure.cold_records_per_pass = 2000;
  options.measure.seed = kSeed;
  options.workloads = {{10, 1000}, {100}, {7, 100}, {100}};
  options.seed = kSeed;
  return options;
}

void MeasureEverything(const CompareOptions& options, const Dataset& dataset,
                       Shape shape, const EngineSet& set) {
  std::vector<Measurement> measurements;
  for (Temperature temperature : {Temperature::kWarm, Temperature::kCold}) {
    const absl::Status status =
        Measure(options.measure, dataset, shape, set.Group(temperature),
                Workloads(options.workloads, temperature), &measurements);
    ASSERT_TRUE(status.ok()) << status;
  }
  EXPECT_FALSE(measurements.empty());
}

class EnginesAgreeTest
    : public testing::TestWithParam<std::tuple<uint32_t, Shape>> {};

TEST_P(EnginesAgreeTest, OnEveryWorkload) {
  const auto [value_size, shape] = GetParam();
  std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed));
  const CompareOptions options =
      SmallOptions(absl::StrCat("agree_", value_size, "_", ShapeName(shape)));
  const Dataset dataset(options.records, value_size, options.seed);
  const std::vector<Operation> operations = dataset.Operations(shape);
  EngineSet set;
  const bool compacted = shape == Shape::kCompacted;
  ASSERT_TRUE(
      AddLsmscanEngines(options, dataset, operations, shape, compacted, &set)
          .ok());
  ASSERT_TRUE(
      AddRocksDbEngines(options, dataset, operations, shape, "t", &set).ok());
  // lsmscan memory and RocksDB default and tuned at least; compacted adds
  // the file backends, cold engines and the mmap engine.
  EXPECT_GE(set.engines.size(), compacted ? 7u : 3u);
  std::vector<Engine*> engines;
  for (const auto& engine : set.engines) engines.push_back(engine.get());
  const absl::Status checked = CrossCheck(engines, dataset);
  ASSERT_TRUE(checked.ok()) << checked;
  MeasureEverything(options, dataset, shape, set);
  for (const EngineLayout& layout : set.layouts) {
    EXPECT_GE(layout.layout.sorted_runs, 1u) << layout.engine;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Datasets, EnginesAgreeTest,
    testing::Values(std::make_tuple(32u, Shape::kCompacted),
                    std::make_tuple(128u, Shape::kCompacted),
                    std::make_tuple(32u, Shape::kLayered)));

TEST(YcsbRunTest, EnginesAgreeThroughInserts) {
  CompareOptions options = SmallOptions("ycsb");
  options.cold = false;
  options.rocksdb_mmap = false;
  constexpr uint64_t kRecords = 20'000;
  const Dataset dataset(kRecords, 32, kSeed);
  EngineSet set;
  const std::vector<Operation> load = YcsbLoad(kRecords);
  ASSERT_TRUE(
      AddLsmscanEngines(options, dataset, load, Shape::kLayered, false, &set)
          .ok());
  ASSERT_TRUE(
      AddRocksDbEngines(options, dataset, load, Shape::kLayered, "y", &set)
          .ok());
  // Enough inserts to fill lsmscan's memory tables more than once.
  const std::vector<YcsbOp> ops = YcsbWorkloadE(kRecords, 40'000, kSeed);
  std::vector<YcsbMeasurement> measurements;
  const absl::Status status =
      RunYcsb(dataset, ops, kRecords, 4, 0, set.Group(Temperature::kWarm),
              &measurements);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(measurements.size(), 3u);
  // Scans whose previous operation (in the run's order) is an insert; the
  // first scan follows the load.
  uint64_t scans_after_insert = 0;
  uint64_t scans = 0;
  for (size_t i = 0; i < ops.size(); i++) {
    if (ops[i].insert) continue;
    scans++;
    if (i == 0 || ops[i - 1].insert) scans_after_insert++;
  }
  ASSERT_GT(scans_after_insert, 0u);
  for (const YcsbMeasurement& m : measurements) {
    EXPECT_EQ(m.scan_microseconds.size(), scans) << m.engine();
    EXPECT_EQ(m.scan_after_insert_microseconds.size(), scans_after_insert)
        << m.engine();
    EXPECT_EQ(m.scan_after_scan_microseconds.size(), scans - scans_after_insert)
        << m.engine();
    EXPECT_EQ(m.ops_per_second.size(), 4u);
    EXPECT_EQ(m.scan_records, measurements[0].scan_records);
    EXPECT_NE(m.write_stats, "") << m.engine();
  }
}

// An engine that returns one record too many on range scans.
class OffByOneEngine final : public Engine {
 public:
  explicit OffByOneEngine(Engine* inner) : inner_(inner) {}
  std::string family() const override { return "test"; }
  std::string variant() const override { return "off by one"; }
  Temperature temperature() const override { return inner_->temperature(); }
  Layout layout() const override { return inner_->layout(); }
  absl::StatusOr<ScanOutcome> FullScan(Direction direction) override {
    return inner_->FullScan(direction);
  }
  absl::StatusOr<ScanOutcome> RangeScans(std::span<const uint64_t> starts,
                                         uint64_t length,
                                         Direction direction) override {
    return inner_->RangeScans(starts, length + 1, direction);
  }
  absl::StatusOr<ScanOutcome> SeekScans(std::span<const uint64_t> starts,
                                        uint32_t count) override {
    return inner_->SeekScans(starts, count);
  }

 private:
  Engine* inner_;
};

TEST(MeasureTest, FailsWhenEnginesDisagree) {
  CompareOptions options = SmallOptions("disagree");
  options.cold = false;
  options.rocksdb_mmap = false;
  const Dataset dataset(options.records, 32, kSeed);
  const std::vector<Operation> operations = dataset.Operations(Shape::kLayered);
  EngineSet set;
  ASSERT_TRUE(AddLsmscanEngines(options, dataset, operations, Shape::kLayered,
                                false, &set)
                  .ok());
  OffByOneEngine wrong(set.engines[0].get());
  std::vector<Measurement> measurements;
  const absl::Status status = Measure(
      options.measure, dataset, Shape::kLayered, {set.engines[0].get(), &wrong},
      {{"L=10 asc", Workload::Kind::kRange, 10, Direction::kAscending}},
      &measurements);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("off by one"), std::string::npos);
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
