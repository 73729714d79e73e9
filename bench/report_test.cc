#include "lsmscan/bench/report.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lsmscan/bench/record_digest.h"

namespace lsmscan {
namespace bench {
namespace {

Measurement Row(const std::string& family, const std::string& variant,
                uint32_t run, std::vector<double> ns) {
  Measurement m;
  m.shape = "layered";
  m.value_size_bytes = 32;
  m.workload = "L=100 asc";
  m.family = family;
  m.variant = variant;
  m.run = run;
  m.ns_per_record = std::move(ns);
  m.cpu_ns_per_record = m.ns_per_record;
  return m;
}

TEST(MedianTest, OddEvenAndEmpty) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 2, 3}), 2.5);
  EXPECT_EQ(Median({}), 0);
  EXPECT_EQ(Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.5), 5);
  EXPECT_EQ(Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.99), 10);
}

TEST(SpeedupTest, BaselineIsTheFastestRocksDbEngine) {
  const std::vector<Measurement> all = {
      Row("lsmscan", "memory", 0, {10, 10, 10}),
      Row("rocksdb", "default 4K block cache", 0, {50, 50, 50}),
      Row("rocksdb", "tuned 16K block cache", 0, {30, 30, 30})};
  EXPECT_EQ(FastestRocksDb(all[0], all), "rocksdb tuned 16K block cache");
  const Ratio ratio =
      Speedup(all[0], "lsmscan memory", FastestRocksDb(all[0], all), all);
  EXPECT_DOUBLE_EQ(ratio.median, 3.0);
  EXPECT_FALSE(ratio.per_run);
}

TEST(SpeedupTest, OneRunGivesThePerRepetitionRange) {
  // Repetition i of both engines ran close in time: ratios 2, 4 and 3.
  const std::vector<Measurement> all = {
      Row("lsmscan", "memory", 0, {10, 10, 20}),
      Row("rocksdb", "tuned", 0, {20, 40, 60})};
  const Ratio ratio = Speedup(all[0], "lsmscan memory", "rocksdb tuned", all);
  EXPECT_DOUBLE_EQ(ratio.median, 3.0);
  EXPECT_DOUBLE_EQ(ratio.min, 2.0);
  EXPECT_DOUBLE_EQ(ratio.max, 4.0);
  EXPECT_EQ(FormatRatio(ratio), "3.00x [2.00-4.00]");
}

TEST(SpeedupTest, SeveralRunsGiveThePerRunRange) {
  // Per-run medians: lsmscan 10, 20, 10; RocksDB 50, 60, 40: ratios 5, 3, 4.
  const std::vector<Measurement> all = {
      Row("lsmscan", "memory", 0, {9, 10, 11}),
      Row("rocksdb", "tuned", 0, {50, 50, 50}),
      Row("lsmscan", "memory", 1, {20, 20, 20}),
      Row("rocksdb", "tuned", 1, {60, 60, 60}),
      Row("lsmscan", "memory", 2, {10, 10, 10}),
      Row("rocksdb", "tuned", 2, {40, 40, 40})};
  const Ratio ratio = Speedup(all[0], "lsmscan memory", "rocksdb tuned", all);
  EXPECT_TRUE(ratio.per_run);
  EXPECT_DOUBLE_EQ(ratio.median, 4.0);
  EXPECT_DOUBLE_EQ(ratio.min, 3.0);
  EXPECT_DOUBLE_EQ(ratio.max, 5.0);
}

TEST(SpeedupTest, CpuTimeRatiosUseTheCpuSamples) {
  std::vector<Measurement> all = {Row("lsmscan", "memory", 0, {10, 10}),
                                  Row("rocksdb", "tuned", 0, {40, 40})};
  all[0].cpu_ns_per_record = {5, 5};
  all[1].cpu_ns_per_record = {30, 10};
  const Ratio ratio = Speedup(all[0], "lsmscan memory", "rocksdb tuned", all,
                              SpeedupTime::kCpu);
  EXPECT_DOUBLE_EQ(ratio.min, 2.0);
  EXPECT_DOUBLE_EQ(ratio.max, 6.0);
  EXPECT_DOUBLE_EQ(
      Speedup(all[0], "lsmscan memory", "rocksdb tuned", all).median, 4.0);
}

TEST(SpeedupTest, OtherWorkloadsAreNotMixedIn) {
  std::vector<Measurement> all = {Row("lsmscan", "memory", 0, {10}),
                                  Row("rocksdb", "tuned", 0, {30})};
  Measurement other = Row("rocksdb", "default", 0, {1});
  other.workload = "L=10 asc";
  all.push_back(other);
  EXPECT_EQ(FastestRocksDb(all[0], all), "rocksdb tuned");
}

TEST(MarkdownTest, HeadlineNamesTheBaselineAndLayeredComesFirst) {
  Results results;
  results.measurements = {Row("lsmscan", "memory", 0, {10, 10}),
                          Row("rocksdb", "tuned 16K block cache", 0, {30, 30})};
  Measurement compacted = results.measurements[0];
  compacted.shape = "compacted";
  results.measurements.push_back(compacted);
  ReportContext context;
  const std::string text = Markdown(context, results);
  const size_t layered = text.find("merge against merge");
  const size_t single = text.find("One sorted run");
  ASSERT_NE(layered, std::string::npos);
  ASSERT_NE(single, std::string::npos);
  EXPECT_LT(layered, single);
  EXPECT_NE(text.find("| tuned 16K block cache | 30.0 |"), std::string::npos)
      << text;
  EXPECT_NE(text.find("3.00x [3.00-3.00]"), std::string::npos);
}

TEST(RecordDigestTest, SeesEveryByteAndTheOrder) {
  uint8_t payload[24] = {};
  auto digest_of = [&](uint64_t key) {
    RecordDigest digest;
    digest.Add(key, payload, sizeof(payload));
    return digest.Finish();
  };
  const uint64_t base = digest_of(7);
  for (size_t i = 0; i < sizeof(payload); i++) {
    payload[i] ^= 1;
    EXPECT_NE(digest_of(7), base) << "payload byte " << i;
    payload[i] ^= 1;
  }
  EXPECT_NE(digest_of(8), base);
  RecordDigest ab;
  ab.Add(1, payload, 24);
  ab.Add(2, payload, 24);
  RecordDigest ba;
  ba.Add(2, payload, 24);
  ba.Add(1, payload, 24);
  EXPECT_NE(ab.Finish(), ba.Finish());
  EXPECT_NE(FoldDigest(FoldDigest(0, 1), 2), FoldDigest(FoldDigest(0, 2), 1));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

TEST(UpdateResultsFileTest, ReplacesOnlyTheMarkedSectionAndWritesCharts) {
  const std::string directory =
      std::string(std::getenv("TEST_TMPDIR")) + "/update";
  std::filesystem::create_directories(directory);
  const std::string path = directory + "/RESULTS.md";
  {
    std::ofstream out(path);
    out << "# Title\nbefore\n<!-- compare:begin -->\nold tables\n"
           "<!-- compare:end -->\nafter\n";
  }
  Results results;
  results.measurements = {Row("lsmscan", "memory", 0, {10}),
                          Row("rocksdb", "tuned", 0, {30})};
  ASSERT_TRUE(UpdateResultsFile(path, ReportContext(), results).ok());
  const std::string text = ReadAll(path);
  EXPECT_EQ(text.find("old tables"), std::string::npos);
  EXPECT_EQ(text.rfind("# Title\nbefore\n<!-- compare:begin -->\n", 0), 0u);
  EXPECT_NE(text.find("3.00x"), std::string::npos);
  EXPECT_NE(text.find("<!-- compare:end -->\nafter\n"), std::string::npos);
  EXPECT_NE(ReadAll(directory + "/chart_layered_32B.svg").find("<svg"),
            std::string::npos);
}

TEST(UpdateResultsFileTest, MissingMarkersLeaveTheFileAlone) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/no_markers.md";
  {
    std::ofstream out(path);
    out << "no markers here\n";
  }
  EXPECT_EQ(UpdateResultsFile(path, ReportContext(), Results()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadAll(path), "no markers here\n");
}

}  // namespace
}  // namespace bench
}  // namespace lsmscan
