// Tests of `embcol export-embeddings`: TSV text and .npy bytes of fixed and
// dynamic tables, written out by hand from the table contents and from the
// .npy format 1.0 specification (magic, version, little-endian header
// length, Python dict literal padded with spaces and a newline to a multiple
// of 64 bytes, then the raw little-endian elements in C order).
#include "cli/export_embeddings.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "embcol/checkpoint.h"
#include "embcol/dynamic_table.h"
#include "embcol/errors.h"
#include "testing/fresh_test_dir.h"

namespace embcol::cli {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

template <typename T>
std::string Bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

ExportEmbeddingsArgs Args(const std::string& checkpoint, const std::string& table,
                          const std::string& out, const std::string& format = "") {
  ExportEmbeddingsArgs a;
  a.checkpoint = checkpoint;
  a.table = table;
  a.out = out;
  a.format = format;
  return a;
}

// A dynamic variable of one shard over 2 table shards (2 parts).
dynamic_embedding::VariableOptions DynOptions(const std::string& name, KeyType key_type,
                                              int64_t dim) {
  dynamic_embedding::VariableOptions o;
  o.name = name;
  o.key_dtype = key_type;
  o.dim = dim;
  o.kv_creator = [](const DynamicStoreSpec& spec, int64_t) {
    DynamicTableOptions t;
    t.spec = spec;
    t.num_shards = 2;
    return NewDynamicTable(t);
  };
  return o;
}

class ExportEmbeddingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("embcol_export_test");
    fs::create_directories(dir_ / "out");
    // emb: fixed 3 x 2, row r = (r + 0.5, -r - 0.25).
    EmbeddingTable table("emb", 3, 2);
    for (int r = 0; r < 3; ++r) {
      table.Row(r)[0] = r + 0.5f;
      table.Row(r)[1] = -r - 0.25f;
    }
    // dyn: 5 -> (1, 2), -7 -> (3, 4), 11 -> (-0.5, 0.75).
    dynamic_embedding::Variable dyn(DynOptions("dyn", KeyType::kInt64, 2));
    dyn.upsert(KeyView(std::vector<int64_t>{5, -7, 11}),
               std::vector<float>{1, 2, 3, 4, -0.5f, 0.75f});
    // words: string keys needing escapes, dim 1, values 1..6.
    dynamic_embedding::Variable words(DynOptions("words", KeyType::kString, 1));
    words.upsert(KeyView(std::vector<std::string>{"a\tb", "n\nl", "back\\slash",
                                                  std::string("\x01z"), "plain", "\xc3\xa9"}),
                 std::vector<float>{1, 2, 3, 4, 5, 6});
    // small: int32 keys, dim 1.
    dynamic_embedding::Variable small(DynOptions("small", KeyType::kInt32, 1));
    small.upsert(KeyView(std::vector<int32_t>{-2147483647 - 1, 3}), std::vector<float>{0.25f, 8});
    CheckpointWriterOptions w;
    w.sync = false;
    CheckpointWriter writer(ckpt(), 3, w);
    SaveTable(writer, table);
    SaveDynamicTable(writer, dyn);
    SaveDynamicTable(writer, words);
    SaveDynamicTable(writer, small);
    writer.Commit();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string ckpt() const { return (dir_ / "model").string(); }
  std::string out(const std::string& name) const { return (dir_ / "out" / name).string(); }
  std::vector<std::string> OutFiles() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_ / "out")) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

// The 128-byte headers of float32 [3, 2] and int64 [3]: dicts of 59 and 57
// characters, 10 + dict + 1 padded up to 128, so header length 118 (0x76).
const std::string kValuesHeader =
    std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }" + std::string(58, ' ') + "\n";
const std::string kKeysHeader =
    std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
    "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }" + std::string(60, ' ') + "\n";

TEST(NpyHeaderTest, MatchesTheFormatSpecification) {
  EXPECT_EQ(NpyHeader("<f4", {3, 2}), kValuesHeader);
  EXPECT_EQ(kValuesHeader.size(), 128u);
  EXPECT_EQ(NpyHeader("<i8", {3}), kKeysHeader);
  // (0, 7): dict of 59 characters again -> 128 bytes.
  EXPECT_EQ(NpyHeader("<f4", {0, 7}).size(), 128u);
  EXPECT_EQ(KeysPath("/a/emb.npy"), "/a/emb.keys.npy");
  EXPECT_EQ(KeysPath("/a/emb"), "/a/emb.keys.npy");
}

TEST(FloatTextTest, ShortestRoundTrip) {
  EXPECT_EQ(FloatText(0.5f), "0.5");
  EXPECT_EQ(FloatText(-2.0f), "-2");
  EXPECT_EQ(FloatText(0.1f), "0.1");  // nearest float is 0.100000001490116...
  EXPECT_EQ(FloatText(16777216.0f), "16777216");
  EXPECT_EQ(FloatText(1e-7f), "1e-07");
}

TEST_F(ExportEmbeddingsTest, FixedTableAsTsvWithRowIdsAsKeys) {
  ExportEmbeddingsArgs args = Args(ckpt(), "emb", out("emb.tsv"));
  args.chunk_bytes = 12;  // 1.5 rows per read: rows straddle reads
  const ExportEmbeddingsResult r = RunExportEmbeddings(args);
  EXPECT_EQ(r.format, "tsv");
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(r.dim, 2);
  EXPECT_EQ(r.files, std::vector<std::string>{out("emb.tsv")});
  EXPECT_EQ(Slurp(out("emb.tsv")), "0\t0.5\t-0.25\n1\t1.5\t-1.25\n2\t2.5\t-2.25\n");
  EXPECT_EQ(OutFiles(), std::vector<std::string>{"emb.tsv"});  // no temporary left
}

TEST_F(ExportEmbeddingsTest, FixedTableAsNpyBytes) {
  ExportEmbeddingsArgs args = Args(ckpt(), "emb", out("emb.npy"));
  args.chunk_bytes = 5;
  const ExportEmbeddingsResult r = RunExportEmbeddings(args);
  EXPECT_EQ(r.files, (std::vector<std::string>{out("emb.npy"), out("emb.keys.npy")}));
  EXPECT_EQ(Slurp(out("emb.npy")),
            kValuesHeader + Bytes(std::vector<float>{0.5f, -0.25f, 1.5f, -1.25f, 2.5f, -2.25f}));
  EXPECT_EQ(Slurp(out("emb.keys.npy")), kKeysHeader + Bytes(std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(OutFiles(), (std::vector<std::string>{"emb.keys.npy", "emb.npy"}));
}

TEST_F(ExportEmbeddingsTest, DynamicTableAsTsvAndNpy) {
  RunExportEmbeddings(Args(ckpt(), "dyn", out("dyn.tsv")));
  EXPECT_EQ(SortedLines(Slurp(out("dyn.tsv"))),
            (std::vector<std::string>{"-7\t3\t4", "11\t-0.5\t0.75", "5\t1\t2"}));

  const ExportEmbeddingsResult r = RunExportEmbeddings(Args(ckpt(), "dyn", out("dyn.bin"), "npy"));
  EXPECT_EQ(r.files, (std::vector<std::string>{out("dyn.bin"), out("dyn.bin.keys.npy")}));
  const std::string values = Slurp(out("dyn.bin")), keys = Slurp(out("dyn.bin.keys.npy"));
  ASSERT_EQ(values.size(), 128u + 24u);
  ASSERT_EQ(keys.size(), 128u + 24u);
  EXPECT_EQ(values.substr(0, 128), kValuesHeader);
  EXPECT_EQ(keys.substr(0, 128), kKeysHeader);
  // Pair key i with row i (order unspecified) and compare with the table.
  std::vector<std::string> rows;
  for (int i = 0; i < 3; ++i) {
    int64_t k;
    float v[2];
    std::memcpy(&k, keys.data() + 128 + 8 * i, 8);
    std::memcpy(v, values.data() + 128 + 8 * i, 8);
    rows.push_back(std::to_string(k) + ":" + FloatText(v[0]) + "," + FloatText(v[1]));
  }
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::string>{"-7:3,4", "11:-0.5,0.75", "5:1,2"}));
}

TEST_F(ExportEmbeddingsTest, StringKeysAreEscapedInTsvAndRefusedAsNpy) {
  RunExportEmbeddings(Args(ckpt(), "words", out("words.tsv")));
  EXPECT_EQ(SortedLines(Slurp(out("words.tsv"))),
            (std::vector<std::string>{"\\x01z\t4", "a\\tb\t1", "back\\\\slash\t3", "n\\nl\t2",
                                      "plain\t5", "\xc3\xa9\t6"}));
  try {
    RunExportEmbeddings(Args(ckpt(), "words", out("words.npy")));
    FAIL() << "no InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("use --format tsv"), std::string::npos) << e.what();
  }
  EXPECT_EQ(OutFiles(), std::vector<std::string>{"words.tsv"});
}

TEST_F(ExportEmbeddingsTest, Int32KeysWidenToInt64InNpy) {
  RunExportEmbeddings(Args(ckpt(), "small", out("small.npy")));
  const std::string keys = Slurp(out("small.keys.npy"));
  const std::string values = Slurp(out("small.npy"));
  // int64 [2] / float32 [2, 1]: dicts of 57 and 59 characters -> 128 bytes.
  ASSERT_EQ(keys.size(), 128u + 16u);
  ASSERT_EQ(values.size(), 128u + 8u);
  EXPECT_NE(keys.find("'shape': (2,), }"), std::string::npos);
  EXPECT_NE(values.find("'shape': (2, 1), }"), std::string::npos);
  int64_t k[2];
  float v[2];
  std::memcpy(k, keys.data() + 128, 16);
  std::memcpy(v, values.data() + 128, 8);
  if (k[0] != 3) {
    std::swap(k[0], k[1]);
    std::swap(v[0], v[1]);
  }
  EXPECT_EQ(k[0], 3);
  EXPECT_EQ(k[1], -2147483648LL);
  EXPECT_EQ(v[0], 8.0f);
  EXPECT_EQ(v[1], 0.25f);
}

TEST_F(ExportEmbeddingsTest, UnknownTableAndFormatErrors) {
  try {
    RunExportEmbeddings(Args(ckpt(), "nope", out("x.tsv")));
    FAIL() << "no NotFound";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("its tables: dyn, emb, small, words"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(RunExportEmbeddings(Args(ckpt(), "emb", out("x.txt"))), InvalidArgument);
  EXPECT_THROW(RunExportEmbeddings(Args(ckpt(), "emb", out("x.tsv"), "csv")), InvalidArgument);
  RunExportEmbeddings(Args(ckpt(), "emb", out("x.txt"), "tsv"));
  EXPECT_EQ(OutFiles(), std::vector<std::string>{"x.txt"});
  EXPECT_THROW(RunExportEmbeddings(Args(ckpt(), "emb", out("missing_dir/x.tsv"))), Unavailable);
}

// Loads the .npy files with NumPy when /usr/bin/python3 has it.
TEST_F(ExportEmbeddingsTest, NumpyLoadsTheFiles) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  }
  RunExportEmbeddings(Args(ckpt(), "emb", out("emb.npy")));
  const std::string cmd = "/usr/bin/python3 -c \"import numpy as np; a = np.load('" +
                          out("emb.npy") + "'); k = np.load('" + out("emb.keys.npy") +
                          "'); print(a.dtype, a.shape, a.tolist(), k.dtype, k.tolist())\"";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 512> buf{};
  std::string text;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) text.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0);
  EXPECT_EQ(text,
            "float32 (3, 2) [[0.5, -0.25], [1.5, -1.25], [2.5, -2.25]] int64 [0, 1, 2]\n");
}

// The binary: a summary line on success; exit 2 and "NotFound: ..." otherwise.
TEST_F(ExportEmbeddingsTest, CommandLineContract) {
  std::string last_err;
  auto run = [&](const std::string& args, std::string& out_text) {
    const testing_cli::CliResult r = testing_cli::RunCli(args);
    out_text += r.out;
    last_err = r.err;
    return r.status;
  };
  std::string text;
  EXPECT_EQ(run("export-embeddings --checkpoint " + ckpt() + " --table emb --out " +
                out("e.tsv"), text), 0);
  EXPECT_EQ(text, "wrote 3 rows x 2 (tsv) to " + out("e.tsv") + "\n");
  text.clear();
  EXPECT_EQ(run("export-embeddings --checkpoint " + ckpt() + " --table nope --out " +
                out("e.tsv"), text), 2);
  EXPECT_EQ(last_err.rfind("NotFound: ", 0), 0u) << last_err;
  text.clear();
  EXPECT_EQ(run("inspect " + ckpt() + " --json", text), 0);
  EXPECT_EQ(nlohmann::json::parse(text)["step"], 3);
}

}  // namespace
}  // namespace embcol::cli
