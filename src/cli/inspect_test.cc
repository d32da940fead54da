// Tests of `embcol inspect`: the text and JSON listings of a checkpoint
// holding a fixed table with an Adagrad slot, a dynamic table and the
// global step. Expected names, shapes and byte counts are worked out from
// docs/checkpoint-format.md (bytes = elements x element size).
#include "cli/inspect.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "embcol/checkpoint.h"
#include "embcol/dynamic_table.h"
#include "embcol/errors.h"
#include "embcol/sparse_optimizer.h"
#include "testing/fresh_test_dir.h"

namespace embcol::cli {
namespace {

namespace fs = std::filesystem;

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("embcol_inspect_test");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }

  // emb: fixed 3 x 2 with Adagrad's accumulator; dyn: keys {5, -7}, dim 2,
  // one slot, one variable shard of one table shard (one part); step 7.
  void WriteCheckpoint() {
    EmbeddingTable table("emb", 3, 2);
    SparseOptimizerState state(SparseOptimizer::Adagrad(), table);
    dynamic_embedding::VariableOptions o;
    o.name = "dyn";
    o.dim = 2;
    o.slot_initial_values = {0.5f};
    o.kv_creator = [](const DynamicStoreSpec& spec, int64_t) {
      DynamicTableOptions t;
      t.spec = spec;
      t.num_shards = 1;
      return NewDynamicTable(t);
    };
    dynamic_embedding::Variable dyn(std::move(o));
    dyn.upsert(KeyView(std::vector<int64_t>{5, -7}), std::vector<float>{1, 2, 3, 4});
    CheckpointWriterOptions w;
    w.sync = false;
    CheckpointWriter writer(dir(), 7, w);
    SaveTable(writer, table, &state);
    SaveDynamicTable(writer, dyn);
    SaveGlobalStep(writer, 7);
    writer.Commit();
  }

  fs::path dir_;
};

TEST_F(InspectTest, TextListsStepTensorsAndTables) {
  WriteCheckpoint();
  // Names sorted bytewise; the name column is as wide as the longest name
  // (emb/embedding_weights/accumulator, 33), dtype 7, shape 9 ("[2, 1, 2]").
  const std::string want =
      "checkpoint " + dir() + "/ckpt-7 (embcol), step 7\n"
      "tensors: 8\n"
      "  dyn/num_parts                      int64    []         8 bytes\n"
      "  dyn/part_00000/keys                int64    [2]        16 bytes\n"
      "  dyn/part_00000/meta                uint32   [2, 2]     16 bytes\n"
      "  dyn/part_00000/slots               float32  [2, 1, 2]  16 bytes\n"
      "  dyn/part_00000/values              float32  [2, 2]     16 bytes\n"
      "  emb/embedding_weights              float32  [3, 2]     24 bytes\n"
      "  emb/embedding_weights/accumulator  float32  [3, 2]     24 bytes\n"
      "  global_step                        int64    []         8 bytes\n"
      "tables: 2\n"
      "  dyn  dynamic  2 keys (int64) x 2, 1 slots, 1 parts\n"
      "  emb  fixed    3 x 2, slots: accumulator\n";
  EXPECT_EQ(RunInspect({dir(), false}), want);
  // The checkpoint directory itself reads the same.
  EXPECT_EQ(RunInspect({dir() + "/ckpt-7", false}), want);
}

TEST_F(InspectTest, JsonHasTheSameFacts) {
  WriteCheckpoint();
  const nlohmann::json doc = nlohmann::json::parse(RunInspect({dir(), true}));
  EXPECT_EQ(doc["format"], "embcol");
  EXPECT_EQ(doc["step"], 7);
  EXPECT_EQ(doc["directory"], dir() + "/ckpt-7");
  ASSERT_EQ(doc["tensors"].size(), 8u);
  EXPECT_EQ(doc["tensors"][3], (nlohmann::json{{"name", "dyn/part_00000/slots"},
                                               {"dtype", "float32"},
                                               {"shape", {2, 1, 2}},
                                               {"bytes", 16}}));
  EXPECT_EQ(doc["tensors"][0]["shape"], nlohmann::json::array());
  const nlohmann::json want_tables = {
      {{"name", "dyn"}, {"kind", "dynamic"}, {"keys", 2}, {"dim", 2}, {"num_slots", 1},
       {"key_dtype", "int64"}, {"parts", 1}},
      {{"name", "emb"}, {"kind", "fixed"}, {"rows", 3}, {"dim", 2},
       {"slots", {"accumulator"}}}};
  EXPECT_EQ(doc["tables"], want_tables);
}

TEST_F(InspectTest, OlderSingleTensorDynamicLayoutIsATable) {
  CheckpointWriterOptions w;
  w.sync = false;
  {
    CheckpointWriter writer(dir(), 1, w);
    writer.AddStrings("q/keys", std::vector<std::string>{"a", "b", "c"});
    writer.AddFloats("q/values", {3, 4}, std::vector<float>(12));
    writer.AddFloats("q/slots", {3, 0, 4}, {});
    writer.Add("q/meta", CheckpointDtype::kUint32, {3, 2}, std::vector<uint32_t>(6).data(), 24);
    writer.Commit();
  }
  const std::vector<TableSummary> tables = ListTables(CheckpointReader(dir()));
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_TRUE(tables[0].dynamic);
  EXPECT_EQ(tables[0].rows, 3);
  EXPECT_EQ(tables[0].dim, 4);
  EXPECT_EQ(tables[0].num_slots, 0);
  EXPECT_EQ(tables[0].key_dtype, CheckpointDtype::kString);
  EXPECT_EQ(tables[0].parts, std::vector<std::string>{"q"});
}

TEST_F(InspectTest, UnknownFormatsAreNotFoundNamingThePath) {
  fs::create_directories(dir_);
  EXPECT_THROW(DetectCheckpointFormat(dir()), NotFound);
  // A TensorFlow model_dir's `checkpoint` file is a text proto, not ours.
  std::ofstream(dir_ / "checkpoint") << "model_checkpoint_path: \"model.ckpt-10\"\n";
  try {
    RunInspect({dir(), false});
    FAIL() << "no NotFound";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find(dir()), std::string::npos) << e.what();
  }
}

// A real TensorFlow checkpoint (TF1 Saver, Snappy index block): five float32
// scalars, no step in the prefix "variables", no embedding tables.
TEST_F(InspectTest, TensorFlowCheckpointFixture) {
  const std::string dir = std::string(EMBCOL_SOURCE_DIR "/../shared/fixtures/tf1_half_plus_two");
  if (!fs::exists(dir)) GTEST_SKIP() << "fixtures not present: " << dir;
  EXPECT_EQ(DetectCheckpointFormat(dir), CheckpointFormat::kTensorFlow);
  const nlohmann::json doc = InspectCheckpoint(dir);
  EXPECT_EQ(doc["format"], "tensorflow");
  EXPECT_TRUE(doc["step"].is_null());
  ASSERT_EQ(doc["tensors"].size(), 5u);
  EXPECT_EQ(doc["tensors"][0]["name"], "a");
  EXPECT_EQ(doc["tensors"][0]["dtype"], "float32");
  EXPECT_EQ(doc["tensors"][0]["shape"], nlohmann::json::array());
  EXPECT_EQ(doc["tensors"][0]["bytes"], 4);
  EXPECT_TRUE(doc["tables"].empty());
  const std::string text = FormatInspectText(doc);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "checkpoint " + dir + "/variables (tensorflow)") << text;
  EXPECT_NE(text.find("  c2  float32  []  4 bytes\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace embcol::cli
