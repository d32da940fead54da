// The synthetic click dataset as TFRecord of tf.Example: bytes of one
// record worked out by the wire-format rules, round trips through
// TFRecordReader + ParseExamples (plain, GZIP, ZLIB), the parse spec against
// the columns' spec, and gen-data's choice of format.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "embcol/categorical_column.h"
#include "embcol/dense_column.h"
#include "embcol/errors.h"
#include "embcol/example_parser.h"
#include "embcol/synthetic_data.h"
#include "embcol/tfrecord.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  return testing::TempDir() + "/clicks_" + std::to_string(::getpid()) + "_" + name;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> ReadRecords(const std::string& path, const std::string& compression) {
  TFRecordReader reader(path, compression);
  std::vector<std::string> records;
  std::string r;
  while (reader.Next(&r)) records.push_back(r);
  return records;
}

TEST(ClicksTfRecordTest, OneRecordByHand) {
  SyntheticClickOptions o;
  o.num_examples = 3;
  o.categorical = {{"a", 3, 0.0, false}};
  o.num_numeric = 0;
  const SyntheticClicks d = GenerateClicks(o);
  const std::string path = TempPath("by_hand.tfrecord");
  WriteClicksTfRecord(d, path);
  const std::vector<std::string> records = ReadRecords(path, "");
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    // Example{features = 1: Features{feature = 1: map entries in key order
    //   {key = 1: "a", value = 2: Feature{int64_list = 3: Int64List{
    //      value = 1 (packed): [id]}}}
    //   {key = 1: "label", value = 2: Feature{float_list = 2: FloatList{
    //      value = 1 (packed): [label]}}}}}
    // Length-delimited fields are (n << 3) | 2: 0x0a (1), 0x12 (2), 0x1a (3).
    const int id = static_cast<int>(d.categorical[0][i]);
    ASSERT_TRUE(id >= 0 && id < 3);
    const std::string label_bytes =
        d.labels[i] == 1.0f ? Bytes({0x00, 0x00, 0x80, 0x3f}) : Bytes({0, 0, 0, 0});
    const std::string a_entry = Bytes({0x0a, 0x01, 'a', 0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, id});
    const std::string label_entry = Bytes({0x0a, 0x05}) + "label" +
                                    Bytes({0x12, 0x08, 0x12, 0x06, 0x0a, 0x04}) + label_bytes;
    ASSERT_EQ(a_entry.size(), 10u);
    ASSERT_EQ(label_entry.size(), 17u);
    const std::string want = Bytes({0x0a, 31, 0x0a, 10}) + a_entry + Bytes({0x0a, 17}) +
                             label_entry;
    EXPECT_EQ(records[i], want) << "example " << i;
  }
  std::remove(path.c_str());
}

TEST(ClicksTfRecordTest, RoundTripThroughParseExamples) {
  SyntheticClickOptions o;  // user, item, query (raw keys), context, num_0, num_1
  o.num_examples = 700;
  const SyntheticClicks d = GenerateClicks(o);
  for (const std::string compression : {"", "GZIP", "ZLIB"}) {
    SCOPED_TRACE(compression);
    const std::string path = TempPath("round_trip_" + compression + ".tfrecord");
    WriteClicksTfRecord(d, path, compression);
    const std::string raw = ReadFile(path);
    if (compression == "GZIP") {
      EXPECT_EQ(raw.substr(0, 2), "\x1f\x8b");
    } else if (compression == "ZLIB") {
      EXPECT_EQ(raw[0], '\x78');  // deflate, 32K window
    }
    const std::vector<std::string> records =
        ReadRecords(path, compression == "ZLIB" ? "ZLIB" : "auto");
    ASSERT_EQ(records.size(), 700u);
    const FeatureBatch b = ParseExamples(records, ClicksExampleSpec(d));
    EXPECT_EQ(b.Get("label").shape(), (std::vector<int64_t>{700, 1}));
    EXPECT_EQ(b.Get("label").float_values(), d.labels);
    for (size_t j = 0; j < d.numeric.size(); ++j) {
      EXPECT_EQ(b.Get(d.numeric_names[j]).float_values(), d.numeric[j]);
    }
    for (size_t f = 0; f < d.categorical.size(); ++f) {
      const Feature& ids = b.Get(d.categorical_names[f]);
      ASSERT_TRUE(ids.is_sparse());
      EXPECT_EQ(ids.shape(), (std::vector<int64_t>{700, 1}));
      EXPECT_EQ(ids.int64_values(), d.categorical[f]) << d.categorical_names[f];
    }
    EXPECT_FALSE(fs::exists(path + ".tmp-" + std::to_string(::getpid())));
    std::remove(path.c_str());
  }
}

TEST(ClicksTfRecordTest, SameDataSameBytes) {
  SyntheticClickOptions o;
  o.num_examples = 200;
  const std::string a = TempPath("same_a.tfrecord"), b = TempPath("same_b.tfrecord");
  WriteClicksTfRecord(GenerateClicks(o), a);
  WriteClicksTfRecord(GenerateClicks(o), b);
  EXPECT_EQ(ReadFile(a), ReadFile(b));
  EXPECT_FALSE(ReadFile(a).empty());
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST(ClicksTfRecordTest, SpecAgreesWithTheColumnsSpec) {
  SyntheticClickOptions o;
  o.num_examples = 1;
  const SyntheticClicks d = GenerateClicks(o);
  const ParseSpec spec = ClicksExampleSpec(d);
  EXPECT_EQ(spec.size(), 7u);  // label, num_0, num_1, user, item, query, context
  EXPECT_EQ(std::get<FixedLenFeature>(spec.at("label")),
            (FixedLenFeature{{1}, DType::kFloat32, std::nullopt}));
  const ParseSpec columns = MakeParseExampleSpec({
      numeric_column("num_0"),
      numeric_column("num_1"),
      categorical_column_with_identity("user", 200),
      categorical_column_with_identity("item", 500),
      categorical_column_with_dynamic_vocabulary("query", "int64"),
      categorical_column_with_identity("context", 10),
  });
  for (const auto& [key, feature_spec] : columns) {
    ASSERT_TRUE(spec.count(key)) << key;
    EXPECT_EQ(spec.at(key), feature_spec) << key;
  }
}

TEST(ClicksTfRecordTest, ErrorsNameThePathAndLeaveNoFile) {
  SyntheticClickOptions o;
  o.num_examples = 5;
  const SyntheticClicks d = GenerateClicks(o);
  const std::string path = TempPath("bad.tfrecord");
  try {
    WriteClicksTfRecord(d, path, "LZ4");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("LZ4"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
  const std::string nodir = TempPath("no_such_dir") + "/x.tfrecord";
  try {
    WriteClicksTfRecord(d, nodir);
    FAIL() << "expected Unavailable";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find(nodir), std::string::npos) << e.what();
  }
}

TEST(ClicksTfRecordTest, FormatFromFlagsAndPath) {
  struct Case {
    std::string path, format, compression, want_format, want_compression;
  };
  const std::vector<Case> cases = {
      {"a.tsv", "", "", "tsv", ""},
      {"a.txt", "", "", "tsv", ""},
      {"a.tfrecord", "", "", "tfrecord", ""},
      {"dir.x/a.tfrecords", "", "", "tfrecord", ""},
      {"a.tfrecord.gz", "", "", "tfrecord", "GZIP"},
      {"a.tfrecords.gz", "", "zlib", "tfrecord", "ZLIB"},
      {"a.tfrecord", "", "gzip", "tfrecord", "GZIP"},
      {"a.tfrecord", "", "NONE", "tfrecord", ""},
      {"a.bin", "TFRecord", "", "tfrecord", ""},
      {"a.gz", "tfrecord", "", "tfrecord", "GZIP"},
      {"a.tfrecord", "tsv", "", "tsv", ""},
      {"a.tsv", "tsv", "none", "tsv", ""},
  };
  for (const Case& c : cases) {
    const ClicksFileFormat f = ResolveClicksFileFormat(c.path, c.format, c.compression);
    EXPECT_EQ(f.format, c.want_format) << c.path << " " << c.format << " " << c.compression;
    EXPECT_EQ(f.compression, c.want_compression)
        << c.path << " " << c.format << " " << c.compression;
  }
  EXPECT_THROW(ResolveClicksFileFormat("a.tsv", "csv", ""), InvalidArgument);
  EXPECT_THROW(ResolveClicksFileFormat("a.tsv", "", "GZIP"), InvalidArgument);
  EXPECT_THROW(ResolveClicksFileFormat("a.tsv.gz", "", ""), InvalidArgument);
  EXPECT_THROW(ResolveClicksFileFormat("a.tfrecord", "", "lz4"), InvalidArgument);
}

TEST(ClicksTfRecordTest, WriteClicksDispatchesOnFormat) {
  SyntheticClickOptions o;
  o.num_examples = 4;
  const SyntheticClicks d = GenerateClicks(o);
  const std::string tsv = TempPath("dispatch.tsv"), rec = TempPath("dispatch.rec");
  WriteClicks(d, tsv, {"tsv", ""});
  EXPECT_EQ(ReadFile(tsv).substr(0, 6), "label\t");
  WriteClicks(d, rec, {"tfrecord", "GZIP"});
  EXPECT_EQ(ReadRecords(rec, "GZIP").size(), 4u);
  EXPECT_THROW(WriteClicks(d, tsv, {"tsv", "GZIP"}), InvalidArgument);
  EXPECT_THROW(WriteClicks(d, tsv, {"parquet", ""}), InvalidArgument);
  std::remove(tsv.c_str());
  std::remove(rec.c_str());
}

}  // namespace
}  // namespace embcol
