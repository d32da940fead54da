#include "embcol/input_pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "embcol/csv.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

// A fresh directory holding files part-0.txt .. part-<n-1>.txt; file f has
// `lines` records "f<f>r<j>".
std::string MakeFiles(const std::string& name, int n, int lines) {
  const std::string dir =
      ::testing::TempDir() + "embcol_pipeline_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (int f = 0; f < n; ++f) {
    std::ofstream out(dir + "/part-" + std::to_string(f) + ".txt");
    for (int j = 0; j < lines; ++j) out << "f" << f << "r" << j << "\n";
  }
  return dir;
}

// Parser that keeps the records as a string feature "rec".
FeatureBatch KeepRecords(const std::vector<std::string>& records) {
  FeatureBatch b;
  b.Set("rec", Feature::Dense({static_cast<int64_t>(records.size()), 1}, Strings(records)));
  return b;
}

InputPipelineOptions Options(const std::string& dir) {
  InputPipelineOptions o;
  o.file_patterns = {dir + "/part-*.txt"};
  o.reader_factory = LineReaderFactory();
  o.parser = KeepRecords;
  return o;
}

struct Out {
  std::vector<std::string> records;
  std::vector<int64_t> sizes;
  std::vector<int64_t> epochs;
};

Out Drain(InputPipelineOptions o) {
  InputPipeline p(std::move(o));
  Out out;
  Batch b;
  while (p.Next(&b)) {
    const Strings& recs = b.features.Get("rec").string_values();
    EXPECT_EQ(static_cast<int64_t>(recs.size()), b.num_records);
    out.records.insert(out.records.end(), recs.begin(), recs.end());
    out.sizes.push_back(b.num_records);
    out.epochs.push_back(b.epoch);
  }
  EXPECT_FALSE(p.Next(&b));
  return out;
}

std::vector<std::string> AllRecords(int n, int lines) {
  std::vector<std::string> all;
  for (int f = 0; f < n; ++f) {
    for (int j = 0; j < lines; ++j)
      all.push_back("f" + std::to_string(f) + "r" + std::to_string(j));
  }
  return all;
}

TEST(InputPipelineTest, UnshuffledReadsFilesInSortedOrderAndCutsRemainders) {
  const std::string dir = MakeFiles("plain", 2, 5);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 4;
  o.num_epochs = 2;
  const Out out = Drain(o);
  const std::vector<std::string> once = AllRecords(2, 5);
  std::vector<std::string> expected = once;
  expected.insert(expected.end(), once.begin(), once.end());
  EXPECT_EQ(out.records, expected);
  // 10 records per epoch in batches of 4: 4, 4, 2; batches never span epochs.
  EXPECT_EQ(out.sizes, (std::vector<int64_t>{4, 4, 2, 4, 4, 2}));
  EXPECT_EQ(out.epochs, (std::vector<int64_t>{0, 0, 0, 1, 1, 1}));

  o.drop_remainder = true;
  EXPECT_EQ(Drain(o).sizes, (std::vector<int64_t>{4, 4, 4, 4}));
}

TEST(InputPipelineTest, RecordLimit) {
  const std::string dir = MakeFiles("limit", 2, 5);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 4;
  o.num_epochs = 0;  // forever, cut by the limit
  o.max_records = 23;
  const Out out = Drain(o);
  // 23 = 10 (epoch 0: 4,4,2) + 10 (epoch 1: 4,4,2) + 3 (epoch 2).
  EXPECT_EQ(out.sizes, (std::vector<int64_t>{4, 4, 2, 4, 4, 2, 3}));
  EXPECT_EQ(out.epochs.back(), 2);
  EXPECT_EQ(out.records.back(), "f0r2");
  o.drop_remainder = true;
  EXPECT_EQ(Drain(o).sizes, (std::vector<int64_t>{4, 4, 4, 4}));
}

TEST(InputPipelineTest, ShuffleSeesEveryRecordOncePerEpochAndIsSeeded) {
  const std::string dir = MakeFiles("shuffle", 4, 50);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 16;
  o.num_epochs = 3;
  o.shuffle = true;
  o.shuffle_buffer_size = 37;
  o.seed = 7;
  const Out a = Drain(o);
  ASSERT_EQ(a.records.size(), 600u);
  std::vector<std::string> expected = AllRecords(4, 50);
  std::sort(expected.begin(), expected.end());
  std::vector<std::vector<std::string>> epochs(3);
  for (int e = 0; e < 3; ++e) {
    std::vector<std::string> got(a.records.begin() + 200 * e, a.records.begin() + 200 * (e + 1));
    epochs[e] = got;
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected) << "epoch " << e;
  }
  // 200 records in batches of 16: 12 full batches and 8.
  EXPECT_EQ(a.sizes[12], 8);
  EXPECT_EQ(a.epochs[13], 1);
  // Shuffled, and differently in each epoch.
  EXPECT_NE(epochs[0], AllRecords(4, 50));
  EXPECT_NE(epochs[0], epochs[1]);

  EXPECT_EQ(Drain(o).records, a.records);  // same seed, same order
  o.seed = 8;
  EXPECT_NE(Drain(o).records, a.records);
}

TEST(InputPipelineTest, BufferOfOneShufflesOnlyTheFileOrder) {
  const std::string dir = MakeFiles("files", 5, 3);
  InputPipelineOptions o = Options(dir);
  o.shuffle = true;
  o.shuffle_buffer_size = 1;
  o.batch_size = 100;
  o.num_epochs = 4;
  const Out out = Drain(o);
  ASSERT_EQ(out.records.size(), 60u);
  bool file_order_changed = false;
  for (size_t i = 0; i < out.records.size(); i += 3) {
    const std::string f = out.records[i].substr(0, 2);
    EXPECT_EQ(out.records[i], f + "r0");
    EXPECT_EQ(out.records[i + 1], f + "r1");
    EXPECT_EQ(out.records[i + 2], f + "r2");
    if (f != "f" + std::to_string((i / 3) % 5)) file_order_changed = true;
  }
  EXPECT_TRUE(file_order_changed);
}

TEST(InputPipelineTest, ParallelParsingGivesTheSameBatchesAsOneThread) {
  const std::string dir = MakeFiles("parallel", 3, 40);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 7;
  o.num_epochs = 2;
  o.shuffle = true;
  o.shuffle_buffer_size = 20;
  o.seed = 3;
  // Later batches often finish first: the sleep depends on the content.
  o.parser = [](const std::vector<std::string>& r) {
    std::this_thread::sleep_for(std::chrono::microseconds(200 * (r[0].back() % 5)));
    return KeepRecords(r);
  };
  o.num_parse_threads = 1;
  const Out one = Drain(o);
  o.num_parse_threads = 4;
  o.prefetch_batches = 8;
  const Out four = Drain(o);
  EXPECT_EQ(four.records, one.records);
  EXPECT_EQ(four.sizes, one.sizes);
  EXPECT_EQ(four.epochs, one.epochs);
}

TEST(InputPipelineTest, ParserErrorSurfacesFromNextAfterEarlierBatches) {
  const std::string dir = MakeFiles("parse_error", 1, 10);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 3;
  o.num_parse_threads = 3;
  o.parser = [](const std::vector<std::string>& r) {
    for (const std::string& s : r) {
      if (s == "f0r7") throw InvalidArgument("bad record " + s);
    }
    return KeepRecords(r);
  };
  InputPipeline p(o);
  Batch b;
  ASSERT_TRUE(p.Next(&b));  // f0r0..2
  ASSERT_TRUE(p.Next(&b));  // f0r3..5
  EXPECT_EQ(b.features.Get("rec").string_values(), (Strings{"f0r3", "f0r4", "f0r5"}));
  try {
    p.Next(&b);  // f0r6..8
    ADD_FAILURE();
  } catch (const InvalidArgument& e) {
    // Records are 5 bytes ("f0rJ\n"): batch 2 starts with record 6, at byte 30.
    EXPECT_EQ(std::string(e.what()), "Input batch 2 (epoch 0, first record in " + dir +
                                         "/part-0.txt at byte 30): bad record f0r7");
  }
  EXPECT_THROW(p.Next(&b), InvalidArgument);  // stays failed
}

TEST(InputPipelineTest, ReaderErrorSurfacesFromNext) {
  const std::string dir = MakeFiles("reader_error", 2, 4);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 4;
  o.reader_factory = [](const std::string& path) -> std::unique_ptr<RecordReader> {
    if (path.ends_with("part-1.txt")) throw DataLoss(path + ": corrupt at byte 0");
    return LineReaderFactory()(path);
  };
  InputPipeline p(o);
  Batch b;
  ASSERT_TRUE(p.Next(&b));
  EXPECT_EQ(b.num_records, 4);
  try {
    p.Next(&b);
    ADD_FAILURE();
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("part-1.txt"), std::string::npos);
  }
}

TEST(InputPipelineTest, GlobsAndMissingPatterns) {
  const std::string dir = MakeFiles("globs", 12, 1);
  InputPipelineOptions o = Options(dir);
  o.file_patterns = {dir + "/part-1*.txt", dir + "/part-0.txt"};
  InputPipeline p(o);
  // part-1*.txt matches part-1, part-10, part-11 (sorted); then part-0.
  EXPECT_EQ(p.files(), (std::vector<std::string>{dir + "/part-1.txt", dir + "/part-10.txt",
                                                 dir + "/part-11.txt", dir + "/part-0.txt"}));
  o.file_patterns = {dir + "/part-0.txt", dir + "/nothing-*.txt"};
  try {
    InputPipeline bad(o);
    ADD_FAILURE();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("nothing-*.txt"), std::string::npos);
  }
}

TEST(InputPipelineTest, BadOptionsAreInvalidArgument) {
  const std::string dir = MakeFiles("options", 1, 1);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 0;
  EXPECT_THROW(InputPipeline{o}, InvalidArgument);
  o = Options(dir);
  o.parser = nullptr;
  EXPECT_THROW(InputPipeline{o}, InvalidArgument);
  o = Options(dir);
  o.num_parse_threads = 0;
  EXPECT_THROW(InputPipeline{o}, InvalidArgument);
}

TEST(InputPipelineTest, DestructionStopsAnEndlessPipeline) {
  const std::string dir = MakeFiles("endless", 2, 100);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 8;
  o.num_epochs = 0;
  o.shuffle = true;
  o.num_parse_threads = 2;
  Batch b;
  for (int i = 0; i < 30; ++i) {
    InputPipeline p(o);
    for (int k = 0; k < i % 4; ++k) ASSERT_TRUE(p.Next(&b));
  }
}

TEST(InputPipelineTest, CsvEndToEnd) {
  const std::string dir =
      ::testing::TempDir() + "embcol_pipeline_csv_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/a.csv") << "id,score\n1,0.5\n2,\n";
  std::ofstream(dir + "/b.csv") << "id,score\r\n3,1.5\r\n";
  CsvSchema schema;
  schema.header = true;
  schema.columns = {{"id", DType::kInt64, std::nullopt, false},
                    {"score", DType::kFloat32, "0", false}};
  InputPipelineOptions o;
  o.file_patterns = {dir + "/*.csv"};
  o.reader_factory = CsvReaderFactory(schema);
  o.parser = [schema](const std::vector<std::string>& r) { return ParseCsv(r, schema); };
  o.batch_size = 2;
  InputPipeline p(o);
  Batch b;
  ASSERT_TRUE(p.Next(&b));
  EXPECT_EQ(b.features.Get("id").int64_values(), (Int64s{1, 2}));
  EXPECT_EQ(b.features.Get("score").float_values(), (Floats{0.5f, 0.0f}));
  ASSERT_TRUE(p.Next(&b));
  EXPECT_EQ(b.features.Get("id").int64_values(), (Int64s{3}));
  EXPECT_FALSE(p.Next(&b));
}

}  // namespace
}  // namespace embcol

namespace embcol {
namespace {

TEST(InputPipelineTest, SkipBatchesContinuesTheSameSequence) {
  // 4 files x 50 records, batches of 16, 2 epochs, shuffled: 13 batches per
  // epoch (12 x 16 + 8). Skipping 15 batches (one epoch and 2 batches) must
  // give exactly the batches an unskipped run returns from the 16th on.
  const std::string dir = MakeFiles("skip", 4, 50);
  InputPipelineOptions o = Options(dir);
  o.batch_size = 16;
  o.num_epochs = 2;
  o.shuffle = true;
  o.shuffle_buffer_size = 23;
  o.seed = 5;
  o.num_parse_threads = 2;
  const Out all = Drain(o);
  ASSERT_EQ(all.sizes.size(), 26u);
  o.skip_batches = 15;
  const Out rest = Drain(o);
  ASSERT_EQ(rest.sizes.size(), 11u);
  // Records before batch 15: 13 batches of epoch 0 (200) + 2 x 16.
  EXPECT_EQ(rest.records,
            std::vector<std::string>(all.records.begin() + 232, all.records.end()));
  EXPECT_EQ(rest.epochs.front(), 1);
  o.skip_batches = 26;  // everything: no batch at all
  EXPECT_TRUE(Drain(o).records.empty());
  o.skip_batches = -1;
  EXPECT_THROW(InputPipeline p(o), InvalidArgument);
}

}  // namespace
}  // namespace embcol
