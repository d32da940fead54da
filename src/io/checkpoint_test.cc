// Tests of embcol's checkpoint format: round trips of every kind of model
// state with exact equality, the manifest listing, corruption and
// truncation (DataLoss naming the tensor), name and shape errors,
// retention, and streaming in bounded chunks. Expected values are the
// inputs themselves, written by formula (exactly representable floats).
#include "embcol/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "embcol/dynamic_table.h"
#include "embcol/errors.h"
#include "io/checkpoint_format.h"
#include "testing/fresh_test_dir.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("embcol_ckpt_test");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  fs::path dir_;
};

CheckpointWriterOptions NoSync() {
  CheckpointWriterOptions o;
  o.sync = false;
  return o;
}

// value(r, c) = r * dim + c + 0.5: exact in float32.
void Fill(EmbeddingTable& table, float offset) {
  for (int64_t r = 0; r < table.num_rows(); ++r) {
    for (int64_t c = 0; c < table.dim(); ++c) table.Row(r)[c] = r * table.dim() + c + offset;
  }
}

dynamic_embedding::VariableOptions DynOptions(const std::string& name, KeyType key_type,
                                              int shards) {
  dynamic_embedding::VariableOptions o;
  o.name = name;
  o.key_dtype = key_type;
  o.dim = 2;
  o.num_shards = shards;
  o.slot_initial_values = {0.1f, 0.0f};
  return o;
}

// key -> (values, slots, meta), independent of export order.
template <typename K>
std::map<K, std::tuple<std::vector<float>, std::vector<float>, EntryMeta>> ByKey(
    const ExportedEntries& e, const std::vector<K>& keys, int64_t dim, int64_t slots) {
  std::map<K, std::tuple<std::vector<float>, std::vector<float>, EntryMeta>> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out[keys[i]] = {std::vector<float>(e.values.begin() + i * dim, e.values.begin() + (i + 1) * dim),
                    std::vector<float>(e.slots.begin() + i * slots * dim,
                                       e.slots.begin() + (i + 1) * slots * dim),
                    e.meta[i]};
  }
  return out;
}

TEST_F(CheckpointTest, RoundTripOfEveryKind) {
  // Fixed table 5 x 3 with Adagrad's accumulator.
  EmbeddingTable table("aaa_embedding", 5, 3);
  Fill(table, 0.5f);
  SparseOptimizerState state(SparseOptimizer::Adagrad(), table);
  std::vector<float> acc(15);
  for (int i = 0; i < 15; ++i) acc[i] = 0.1f + 0.25f * i;
  state.Assign(0, acc);

  // Dynamic tables: int64 keys over 2 shards, string keys; 2 slots each.
  dynamic_embedding::Variable ints(DynOptions("user_embedding", KeyType::kInt64, 2));
  std::vector<int64_t> int_keys = {7, -3, 1LL << 40};
  std::vector<float> int_values = {1, 2, 3, 4, 5, 6};
  std::vector<float> int_slots = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f,
                                  8.5f, 9.5f, 10.5f, 11.5f};
  std::vector<EntryMeta> int_meta = {{10, 1}, {20, 2}, {30, 3}};
  ints.import_(KeyView(int_keys), int_values, int_slots, int_meta);
  dynamic_embedding::Variable strs(DynOptions("query_embedding", KeyType::kString, 1));
  std::vector<std::string> str_keys = {"apple", "", std::string("a\0b", 3)};
  std::vector<float> str_values = {-1, -2, -3, -4, -5, -6};
  std::vector<float> str_slots(12);
  for (int i = 0; i < 12; ++i) str_slots[i] = -0.25f * i;
  std::vector<EntryMeta> str_meta = {{1, 100}, {2, 200}, {3, 300}};
  strs.import_(KeyView(str_keys), str_values, str_slots, str_meta);

  // Dense parameters and Adam slots.
  std::vector<float> kernel = {1.5f, -2.5f, 3.25f, 0.0f}, bias = {0.125f};
  std::vector<float> zero4(4), zero1(1);
  std::vector<DenseParam> params = {{"dnn/kernel", kernel, zero4}, {"dnn/bias", bias, zero1}};
  DenseOptimizer adam = DenseOptimizer::Adam();
  adam.SetSlot("dnn/kernel", "m", std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f});
  adam.SetSlot("dnn/kernel", "v", std::vector<float>{1.1f, 1.2f, 1.3f, 1.4f});
  adam.SetSlot("dnn/bias", "m", std::vector<float>{-0.5f});
  adam.SetSlot("dnn/bias", "v", std::vector<float>{0.75f});

  const nlohmann::json metadata = {{"model", "dnn"}, {"hidden_units", {8, 4}}};
  {
    CheckpointWriter writer(dir(), 123, NoSync());
    SaveTable(writer, table, &state);
    SaveDynamicTable(writer, ints);
    SaveDynamicTable(writer, strs);
    SaveDenseParams(writer, params);
    SaveDenseOptimizer(writer, adam);
    SaveGlobalStep(writer, 123);
    SaveMetadata(writer, metadata);
    EXPECT_EQ(writer.Commit(), dir() + "/ckpt-123");
  }

  CheckpointReader reader(dir());
  EXPECT_EQ(reader.step(), 123);
  EXPECT_EQ(reader.directory(), dir() + "/ckpt-123");

  EmbeddingTable table2("aaa_embedding", 5, 3);
  SparseOptimizerState state2(SparseOptimizer::Adagrad(), table2);
  RestoreTable(reader, table2, &state2);
  EXPECT_EQ(table2.ToVector(), table.ToVector());
  EXPECT_EQ(state2.ToVector(0), acc);

  dynamic_embedding::Variable ints2(DynOptions("user_embedding", KeyType::kInt64, 3));
  ints2.upsert(KeyView(std::vector<int64_t>{999}), std::vector<float>{9, 9});  // replaced
  RestoreDynamicTable(reader, ints2);
  ExportedEntries a = ints.export_(), b = ints2.export_();
  EXPECT_EQ(b.size(), 3);
  EXPECT_EQ((ByKey(a, a.int64_keys, 2, 2)), (ByKey(b, b.int64_keys, 2, 2)));
  auto got = ByKey(b, b.int64_keys, 2, 2);
  EXPECT_EQ(std::get<0>(got[-3]), (std::vector<float>{3, 4}));
  EXPECT_EQ(std::get<1>(got[-3]), (std::vector<float>{4.5f, 5.5f, 6.5f, 7.5f}));
  EXPECT_EQ(std::get<2>(got[-3]), (EntryMeta{20, 2}));

  dynamic_embedding::Variable strs2(DynOptions("query_embedding", KeyType::kString, 1));
  RestoreDynamicTable(reader, strs2);
  ExportedEntries c = strs2.export_();
  auto sgot = ByKey(c, c.string_keys, 2, 2);
  ASSERT_EQ(sgot.size(), 3u);
  EXPECT_EQ(std::get<0>(sgot[std::string("a\0b", 3)]), (std::vector<float>{-5, -6}));
  EXPECT_EQ(std::get<1>(sgot[""]), (std::vector<float>{-1.0f, -1.25f, -1.5f, -1.75f}));
  EXPECT_EQ(std::get<2>(sgot["apple"]), (EntryMeta{1, 100}));

  std::vector<float> kernel2(4), bias2(1);
  std::vector<DenseParam> params2 = {{"dnn/kernel", kernel2, zero4}, {"dnn/bias", bias2, zero1}};
  RestoreDenseParams(reader, params2);
  EXPECT_EQ(kernel2, kernel);
  EXPECT_EQ(bias2, bias);
  DenseOptimizer adam2 = DenseOptimizer::Adam();
  RestoreDenseOptimizer(reader, adam2);
  EXPECT_EQ(adam2.ParamNames(), (std::vector<std::string>{"dnn/bias", "dnn/kernel"}));
  auto slot = adam2.Slot("dnn/kernel", "v");
  EXPECT_EQ(std::vector<float>(slot.begin(), slot.end()),
            (std::vector<float>{1.1f, 1.2f, 1.3f, 1.4f}));
  slot = adam2.Slot("dnn/bias", "m");
  EXPECT_EQ(std::vector<float>(slot.begin(), slot.end()), std::vector<float>{-0.5f});

  EXPECT_EQ(RestoreGlobalStep(reader), 123);
  EXPECT_EQ(RestoreMetadata(reader), metadata);
}

TEST_F(CheckpointTest, DynamicTableWithInt32KeysAndNoEntries) {
  dynamic_embedding::Variable full(DynOptions("ids", KeyType::kInt32, 2));
  std::vector<int32_t> keys = {-5, 2147483647};
  full.import_(KeyView(keys), std::vector<float>{1, 2, 3, 4},
               std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2},
               std::vector<EntryMeta>{{4, 5}, {6, 7}});
  dynamic_embedding::Variable empty(DynOptions("none", KeyType::kInt64, 1));
  {
    CheckpointWriter writer(dir(), 9, NoSync());
    SaveDynamicTable(writer, full);
    SaveDynamicTable(writer, empty);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  // 2 variable shards x 64 table shards (the in-memory table's default).
  EXPECT_EQ(reader.ReadScalarInt64("ids/num_parts"), 128);
  EXPECT_EQ(reader.Info("ids/part_00000/keys").dtype, CheckpointDtype::kInt32);
  EXPECT_EQ(reader.ReadScalarInt64("none/num_parts"), 64);
  EXPECT_EQ(reader.Info("none/part_00063/values").shape, (std::vector<int64_t>{0, 2}));
  EXPECT_FALSE(reader.Has("none/part_00064/values"));
  dynamic_embedding::Variable restored(DynOptions("ids", KeyType::kInt32, 1));
  RestoreDynamicTable(reader, restored);
  ExportedEntries e = restored.export_();
  auto got = ByKey(e, e.int32_keys, 2, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(std::get<0>(got[2147483647]), (std::vector<float>{3, 4}));
  EXPECT_EQ(std::get<1>(got[-5]), (std::vector<float>{1, 1, 1, 1}));
  EXPECT_EQ(std::get<2>(got[2147483647]), (EntryMeta{6, 7}));
  dynamic_embedding::Variable none(DynOptions("none", KeyType::kInt64, 1));
  none.upsert(KeyView(std::vector<int64_t>{1}), std::vector<float>{1, 1});
  RestoreDynamicTable(reader, none);  // replaces the contents: now empty
  EXPECT_EQ(none.size(), 0);
  // Another key dtype is refused, naming the tensor.
  dynamic_embedding::Variable wrong(DynOptions("ids", KeyType::kInt64, 1));
  EXPECT_THROW(RestoreDynamicTable(reader, wrong), InvalidArgument);
}

TEST_F(CheckpointTest, CorruptStateFileIsDataLoss) {
  {
    CheckpointWriter writer(dir(), 1, NoSync());
    SaveGlobalStep(writer, 1);
    writer.Commit();
  }
  std::ofstream(dir() + "/checkpoint") << "{\"latest\": ";
  EXPECT_THROW(CheckpointReader reader(dir()), DataLoss);
  // The checkpoint itself still opens by its directory.
  EXPECT_EQ(RestoreGlobalStep(CheckpointReader(dir() + "/ckpt-1")), 1);
}

TEST_F(CheckpointTest, ManifestListsNamesShapesDtypesAndAlignedOffsets) {
  EmbeddingTable table("t", 4, 2);
  SparseOptimizerState state(SparseOptimizer::Adam(), table);
  {
    CheckpointWriter writer(dir(), 5, NoSync());
    SaveTable(writer, table, &state);
    SaveGlobalStep(writer, 5);
    writer.AddStrings("words", std::vector<std::string>{"ab", "c"});
    writer.Commit();
  }
  CheckpointReader reader(dir() + "/ckpt-5");
  std::vector<std::string> names;
  for (const auto& t : reader.tensors()) {
    names.push_back(t.name);
    EXPECT_EQ(t.offset % 64, 0u) << t.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"global_step", "t/embedding_weights",
                                             "t/embedding_weights/m", "t/embedding_weights/v",
                                             "words"}));
  EXPECT_EQ(reader.Info("t/embedding_weights/m").shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(reader.Info("t/embedding_weights").length, 4u * 2u * 4u);
  EXPECT_EQ(reader.Info("global_step").shape, std::vector<int64_t>{});
  EXPECT_EQ(reader.Info("global_step").dtype, CheckpointDtype::kInt64);
  // "ab" and "c": 4-byte little-endian lengths then the bytes.
  EXPECT_EQ(reader.Info("words").length, 4u + 2u + 4u + 1u);
  EXPECT_EQ(reader.ReadStrings("words"), (std::vector<std::string>{"ab", "c"}));
  auto state_file = ReadCheckpointState(dir());
  ASSERT_TRUE(state_file.has_value());
  EXPECT_EQ(state_file->latest, "ckpt-5");
  EXPECT_EQ(state_file->all, std::vector<std::string>{"ckpt-5"});
}

// Flips one byte of a shard file at `offset`.
void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c ^= 0x20;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST_F(CheckpointTest, CorruptByteIsDataLossNamingTensorFileAndOffset) {
  EmbeddingTable table("wide", 16, 8);
  Fill(table, 0.5f);
  {
    CheckpointWriter writer(dir(), 1, NoSync());
    SaveGlobalStep(writer, 1);
    SaveTable(writer, table);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  const CheckpointTensorInfo info = reader.Info("wide/embedding_weights");
  FlipByte(reader.directory() + "/" + info.file, info.offset + 100);
  EmbeddingTable restored("wide", 16, 8);
  try {
    RestoreTable(reader, restored);
    FAIL() << "no DataLoss";
  } catch (const DataLoss& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("wide/embedding_weights"), std::string::npos) << msg;
    EXPECT_NE(msg.find(info.file), std::string::npos) << msg;
    EXPECT_NE(msg.find("offset " + std::to_string(info.offset)), std::string::npos) << msg;
  }
  // Verified before copying: the table is untouched (still zeros).
  EXPECT_EQ(restored.ToVector(), std::vector<float>(128, 0.0f));
  // The other tensor still reads.
  EXPECT_EQ(RestoreGlobalStep(reader), 1);
}

TEST_F(CheckpointTest, CorruptManifestIsDataLoss) {
  {
    CheckpointWriter writer(dir(), 1, NoSync());
    SaveGlobalStep(writer, 1);
    writer.Commit();
  }
  FlipByte(dir() + "/ckpt-1/manifest", 60);
  EXPECT_THROW(CheckpointReader reader(dir()), DataLoss);
}

TEST_F(CheckpointTest, TruncatedShardIsDataLoss) {
  EmbeddingTable table("t", 32, 4);
  Fill(table, 0.5f);
  {
    CheckpointWriter writer(dir(), 2, NoSync());
    SaveTable(writer, table);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  const CheckpointTensorInfo info = reader.Info("t/embedding_weights");
  fs::resize_file(reader.directory() + "/" + info.file, info.offset + info.length - 10);
  try {
    reader.ReadFloats("t/embedding_weights");
    FAIL() << "no DataLoss";
  } catch (const DataLoss& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"t/embedding_weights\""), std::string::npos) << msg;
  }
}

TEST_F(CheckpointTest, MissingTensorIsNotFoundListingCloseNames) {
  EmbeddingTable table("user_embedding", 2, 2);
  {
    CheckpointWriter writer(dir(), 3, NoSync());
    SaveTable(writer, table);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  EmbeddingTable other("users_embedding", 2, 2);
  try {
    RestoreTable(reader, other);
    FAIL() << "no NotFound";
  } catch (const NotFound& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("users_embedding/embedding_weights"), std::string::npos) << msg;
    EXPECT_NE(msg.find("closest names: user_embedding/embedding_weights"), std::string::npos)
        << msg;
  }
}

TEST_F(CheckpointTest, ShapeMismatchNamesTensorAndShapes) {
  EmbeddingTable table("t", 4, 2);
  {
    CheckpointWriter writer(dir(), 3, NoSync());
    SaveTable(writer, table);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  EmbeddingTable bigger("t", 5, 2);
  try {
    RestoreTable(reader, bigger);
    FAIL() << "no InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("\"t/embedding_weights\" is float32 [4, 2]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs float32 [5, 2]"), std::string::npos) << msg;
  }
  dynamic_embedding::Variable var(DynOptions("t", KeyType::kInt64, 1));
  EXPECT_THROW(RestoreDynamicTable(reader, var), NotFound);
}

TEST_F(CheckpointTest, WriterRejectsDuplicateNamesAndShapeSizeMismatch) {
  CheckpointWriter writer(dir(), 1, NoSync());
  writer.AddScalarInt64("x", 1);
  EXPECT_THROW(writer.AddScalarInt64("x", 2), InvalidArgument);
  std::vector<float> three(3);
  EXPECT_THROW(writer.AddFloats("y", {2, 2}, three), InvalidArgument);
  EXPECT_THROW(CheckpointWriter(dir(), -1, NoSync()), InvalidArgument);
}

TEST_F(CheckpointTest, RetentionKeepsTheNewestN) {
  CheckpointWriterOptions o = NoSync();
  o.keep_max = 3;
  for (int64_t step : {10, 20, 30, 40, 50}) {
    CheckpointWriter writer(dir(), step, o);
    SaveGlobalStep(writer, step);
    writer.Commit();
  }
  auto state = ReadCheckpointState(dir());
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->latest, "ckpt-50");
  EXPECT_EQ(state->all, (std::vector<std::string>{"ckpt-30", "ckpt-40", "ckpt-50"}));
  std::vector<std::string> on_disk;
  for (const auto& e : fs::directory_iterator(dir())) on_disk.push_back(e.path().filename());
  std::sort(on_disk.begin(), on_disk.end());
  EXPECT_EQ(on_disk, (std::vector<std::string>{"checkpoint", "ckpt-30", "ckpt-40", "ckpt-50"}));
  EXPECT_EQ(RestoreGlobalStep(CheckpointReader(dir())), 50);
  EXPECT_EQ(RestoreGlobalStep(CheckpointReader(dir() + "/ckpt-30")), 30);
}

TEST_F(CheckpointTest, UncommittedWriterLeavesNothingAndStaleTempsAreRemoved) {
  {
    CheckpointWriter writer(dir(), 1, NoSync());
    SaveGlobalStep(writer, 1);
  }  // destroyed without Commit
  EXPECT_TRUE(fs::is_empty(dir()));
  fs::create_directories(dir() + "/ckpt-7.tmp-deadbeef");  // a crashed save
  CheckpointWriter writer(dir(), 8, NoSync());
  SaveGlobalStep(writer, 8);
  writer.Commit();
  EXPECT_FALSE(fs::exists(dir() + "/ckpt-7.tmp-deadbeef"));
  EXPECT_THROW(CheckpointReader(dir() + "/nothing"), NotFound);
}

TEST_F(CheckpointTest, LargeTableIsStreamedInChunksAndShardsRotate) {
  // 1024 x 64 floats = 256 KiB per tensor, chunks of 4 KiB, shards of 100 KiB.
  EmbeddingTable table("big", 1024, 64);
  Fill(table, 0.25f);
  SparseOptimizerState state(SparseOptimizer::Adagrad(), table);
  CheckpointWriterOptions o = NoSync();
  o.chunk_bytes = 4096;
  o.shard_bytes = 100 * 1024;
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back("key-" + std::to_string(i));
  {
    CheckpointWriter writer(dir(), 1, o);
    SaveTable(writer, table, &state);
    writer.AddStrings("keys", keys);
    writer.Commit();
    EXPECT_LE(writer.max_write_bytes(), 4096u);
    EXPECT_LE(writer.max_buffer_bytes(), 4096u);
    EXPECT_GT(writer.max_write_bytes(), 0u);
  }
  CheckpointReader reader(dir());
  // weights and the accumulator in separate shards (each > shard_bytes).
  EXPECT_NE(reader.Info("big/embedding_weights").file,
            reader.Info("big/embedding_weights/accumulator").file);
  EXPECT_TRUE(fs::exists(reader.directory() + "/" + internal::ShardFileName(2)));
  size_t largest = 0, total = 0;
  reader.Stream("big/embedding_weights", [&](const void*, size_t n) {
    largest = std::max(largest, n);
    total += n;
  }, 8192);
  EXPECT_EQ(largest, 8192u);
  EXPECT_EQ(total, 1024u * 64u * 4u);
  EmbeddingTable restored("big", 1024, 64);
  SparseOptimizerState restored_state(SparseOptimizer::Adagrad(), restored);
  RestoreTable(reader, restored, &restored_state);
  EXPECT_EQ(restored.ToVector(), table.ToVector());
  EXPECT_EQ(restored_state.ToVector(0), std::vector<float>(1024 * 64, 0.1f));
  EXPECT_EQ(reader.ReadStrings("keys"), keys);
}

}  // namespace
}  // namespace embcol
