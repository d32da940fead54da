// `embcol gen-data` with TFRecord output: runs the built binary and reads
// its files back with the library, comparing with GenerateClicks.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/cli_test_util.h"
#include "embcol/example_parser.h"
#include "embcol/synthetic_data.h"
#include "embcol/tfrecord.h"

namespace embcol {
namespace {

using CliRun = testing_cli::CliResult;

CliRun GenData(const std::string& args) { return testing_cli::RunCli("gen-data " + args); }

std::string Path(const std::string& name) {
  return testing::TempDir() + "/gen_data_" + std::to_string(::getpid()) + "_" + name;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(GenDataCliTest, TfRecordFromTheExtensionMatchesTheLibrary) {
  SyntheticClickOptions o;
  o.num_examples = 40;
  o.model_seed = 3;
  o.data_seed = 2;
  const SyntheticClicks want = GenerateClicks(o);
  const std::string path = Path("clicks.tfrecord.gz");
  const CliRun r = GenData("--examples 40 --seed 3 --data-seed 2 --out " + path);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 40 examples to " + path + " (tfrecord GZIP, positive rate"),
            std::string::npos)
      << r.out;
  TFRecordReader reader(path, "auto");
  std::vector<std::string> records;
  std::string rec;
  while (reader.Next(&rec)) records.push_back(rec);
  EXPECT_EQ(reader.compression(), "GZIP");
  ASSERT_EQ(records.size(), 40u);
  const FeatureBatch b = ParseExamples(records, ClicksExampleSpec(want));
  EXPECT_EQ(b.Get("label").float_values(), want.labels);
  for (size_t f = 0; f < want.categorical.size(); ++f) {
    EXPECT_EQ(b.Get(want.categorical_names[f]).int64_values(), want.categorical[f]);
  }
  std::remove(path.c_str());
}

TEST(GenDataCliTest, FormatAndCompressionFlags) {
  const std::string plain = Path("plain.data");
  CliRun r = GenData("--examples 5 --format tfrecord --out " + plain);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("(tfrecord, positive rate"), std::string::npos) << r.out;
  EXPECT_EQ(TFRecordReader(plain, "auto").compression(), "");

  const std::string zlib = Path("z.tfrecord");
  r = GenData("--examples 5 --compression ZLIB --out " + zlib);
  ASSERT_EQ(r.status, 0) << r.err;
  TFRecordReader zr(zlib, "ZLIB");
  std::string rec;
  int n = 0;
  while (zr.Next(&rec)) ++n;
  EXPECT_EQ(n, 5);

  const std::string tsv = Path("forced.tfrecord");
  r = GenData("--examples 5 --format tsv --out " + tsv);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("(tsv, positive rate"), std::string::npos) << r.out;
  EXPECT_EQ(FirstLine(tsv), "label\tnum_0\tnum_1\tuser\titem\tquery\tcontext");

  r = GenData("--examples 5 --compression GZIP --out " + Path("x.tsv"));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("InvalidArgument: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("TFRecord only"), std::string::npos) << r.err;
  r = GenData("--examples 5 --format csv --out " + Path("x.csv"));
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("InvalidArgument: ", 0), 0u) << r.err;
  for (const std::string& p : {plain, zlib, tsv}) std::remove(p.c_str());
}

}  // namespace
}  // namespace embcol
