// Runs the `embcol` binary as a user would and checks its contract:
// JSON on stdout, or exit status 2 with one "<ErrorType>: ..." line on stderr.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace {

using Result = embcol::testing_cli::CliResult;
using embcol::testing_cli::RunCli;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" +
      testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
  std::ofstream(path) << text;
  return path;
}

const char* kColumns = R"([
  {"class_name": "EmbeddingColumn",
   "config": {"categorical_column": {"class_name": "IdentityCategoricalColumn",
                                     "config": {"key": "ids", "number_buckets": 3, "default_value": null}},
              "dimension": 2, "combiner": "mean",
              "initializer": {"class_name": "Constant", "config": {"value": [[1, 2], [3, 4], [5, 6]]}},
              "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
              "trainable": true, "use_safe_embedding_lookup": true}},
  {"class_name": "NumericColumn",
   "config": {"key": "age", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}}
])";

TEST(CliTest, TransformPrintsDenseOutputInColumnNameOrder) {
  const std::string cols = Write("cli_cols.json", kColumns);
  const std::string batch = Write("cli_batch.json", R"({"features": {
      "ids": {"indices": [[0, 0], [0, 1], [1, 0]], "values": [0, 2, 1], "dense_shape": [3, 2]},
      "age": [[10.5], [20], [30]]}})");
  Result r = RunCli("transform --columns " + cols + " --input " + batch + " --tables");
  ASSERT_EQ(r.status, 0) << r.err;
  auto out = nlohmann::json::parse(r.out);
  // Order: "age" < "ids_embedding". Row 0: mean([1,2],[5,6]) = [3,4];
  // row 1: [3,4]; row 2: no ids -> [0,0].
  nlohmann::json want = {{"dense", {{10.5, 3.0, 4.0}, {20.0, 3.0, 4.0}, {30.0, 0.0, 0.0}}},
                         {"tables", {{"ids_embedding", {3, 2}}}}};
  EXPECT_EQ(out, want);
  EXPECT_FALSE(out.contains("sequence"));
}

TEST(CliTest, TransformDynamicVocabularyColumn) {
  // Every key is missing, so it reads the Constant initializer's 0.25s; the
  // table holds no key afterwards (lookups do not insert).
  const std::string cols = Write("cli_dyn_cols.json", R"([
  {"class_name": "EmbeddingColumn",
   "config": {"categorical_column": {"class_name": "DynamicVocabularyCategoricalColumn",
                                     "config": {"key": "q", "dtype": "string"}},
              "dimension": 2, "combiner": "sum",
              "initializer": {"class_name": "Constant", "config": {"value": 0.25}},
              "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
              "trainable": true, "use_safe_embedding_lookup": true,
              "dynamic_table": {"num_shards": 2}}}
])");
  const std::string batch = Write("cli_dyn_batch.json", R"({"features": {
      "q": {"values": ["cat", "dog", "cat"], "row_splits": [0, 2, 2, 3]}}})");
  Result r = RunCli("transform --columns " + cols + " --input " + batch + " --tables");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json want = {{"dense", {{0.5, 0.5}, {0.0, 0.0}, {0.25, 0.25}}},
                         {"tables", {{"q_embedding", {0, 2}}}}};
  EXPECT_EQ(nlohmann::json::parse(r.out), want);

  const std::string ints = Write("cli_dyn_ints.json", R"({"features": {"q": [[1], [2]]}})");
  r = RunCli("transform --columns " + cols + " --input " + ints);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("InvalidArgument: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("feature 'q'"), std::string::npos) << r.err;
}

TEST(CliTest, TransformSequenceColumns) {
  const std::string cols = Write("cli_seq_cols.json", R"([
  {"class_name": "EmbeddingColumn",
   "config": {"categorical_column": {"class_name": "SequenceCategoricalColumn", "config": {
                "categorical_column": {"class_name": "IdentityCategoricalColumn",
                                       "config": {"key": "s", "number_buckets": 3, "default_value": null}}}},
              "dimension": 2, "combiner": "sum",
              "initializer": {"class_name": "Constant", "config": {"value": [[1, 2], [3, 4], [5, 6]]}},
              "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
              "trainable": true, "use_safe_embedding_lookup": true, "max_sequence_length": 3}}])");
  const std::string batch =
      Write("cli_seq_batch.json", R"({"features": {"s": {"values": [2, 1, 0], "row_splits": [0, 2, 3]}}})");
  Result r = RunCli("transform --columns " + cols + " --input " + batch);
  ASSERT_EQ(r.status, 0) << r.err;
  auto out = nlohmann::json::parse(r.out);
  nlohmann::json want = {
      {"sequence",
       {{"output", {{{5.0, 6.0}, {3.0, 4.0}, {0.0, 0.0}}, {{1.0, 2.0}, {0.0, 0.0}, {0.0, 0.0}}}},
        {"sequence_length", {2, 1}}}}};
  EXPECT_EQ(out, want);
}

TEST(CliTest, ErrorsExitTwoWithTypedOneLineMessage) {
  const std::string cols = Write("cli_cols2.json", kColumns);
  const std::string bad_id =
      Write("cli_bad_id.json", R"({"features": {"ids": [[7]], "age": [[1.0]]}})");
  Result r = RunCli("transform --columns " + cols + " --input " + bad_id);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("OutOfRange:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("ids"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("7"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_TRUE(r.out.empty());

  const std::string missing = Write("cli_missing.json", R"({"features": {"ids": [[1]]}})");
  r = RunCli("transform --columns " + cols + " --input " + missing);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("InvalidArgument:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("age"), std::string::npos) << r.err;

  const std::string unknown = Write("cli_unknown.json", R"([{"class_name": "FancyColumn", "config": {}}])");
  r = RunCli("transform --columns " + unknown + " --input " + missing);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("InvalidArgument:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("FancyColumn"), std::string::npos) << r.err;

  r = RunCli("transform --columns /nonexistent/cols.json --input " + missing);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("NotFound:", 0), 0u) << r.err;

  const std::string not_json = Write("cli_not_json.json", "{\"features\": ");
  r = RunCli("transform --columns " + cols + " --input " + not_json);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("InvalidArgument:", 0), 0u) << r.err;

  r = RunCli("transform --columns " + cols);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("InvalidArgument:", 0), 0u) << r.err;
}

TEST(CliTest, BundledExampleRuns) {
  const std::string src = EMBCOL_SOURCE_DIR;
  Result r = RunCli("transform --columns " + src + "/examples/columns.json --input " + src +
                 "/examples/batch.json --tables");
  ASSERT_EQ(r.status, 0) << r.err;
  auto out = nlohmann::json::parse(r.out);
  // 3 examples; width: age 1 + country_X_device_embedding 2 + device_indicator 4
  // + impression_video_shared_embedding 3 + query_embedding 4
  // + watched_video_weighted_by_watch_seconds_shared_embedding 3 = 17.
  ASSERT_EQ(out["dense"].size(), 3u);
  EXPECT_EQ(out["dense"][0].size(), 17u);
  EXPECT_EQ(out["sequence"]["sequence_length"], nlohmann::json({2, 1, 3}));
  EXPECT_EQ(out["tables"]["video_embedding"], nlohmann::json({6, 3}));
  EXPECT_EQ(out["tables"].size(), 4u);
}

TEST(CliTest, GenDataWritesTheSameTsvForTheSameSeeds) {
  const std::string a = testing::TempDir() + "/gen_a.tsv", b = testing::TempDir() + "/gen_b.tsv";
  Result r = RunCli("gen-data --examples 50 --seed 3 --out " + a);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 50 examples"), std::string::npos) << r.out;
  ASSERT_EQ(RunCli("gen-data --examples 50 --seed 3 --out " + b).status, 0);
  std::ifstream fa(a), fb(b);
  const std::string ta((std::istreambuf_iterator<char>(fa)), {});
  const std::string tb((std::istreambuf_iterator<char>(fb)), {});
  EXPECT_EQ(ta, tb);
  EXPECT_EQ(ta.substr(0, ta.find('\n')), "label\tnum_0\tnum_1\tuser\titem\tquery\tcontext");
  EXPECT_EQ(std::count(ta.begin(), ta.end(), '\n'), 51);  // header + 50 rows
  r = RunCli("gen-data --examples -1 --out " + a);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("InvalidArgument"), std::string::npos) << r.err;
}

}  // namespace
