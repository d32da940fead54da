// Tests of dynamic tables in checkpoints: saved one export part at a time
// (`<t>/num_parts`, `<t>/part_<k>/...`), restored exactly whatever the shard
// layout, export parts bounded by the shard count, the single-part layout
// of older checkpoints, and restores that fail before touching the
// variable. Expected values are formulas of the key (exact in float32).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "embcol/checkpoint.h"
#include "embcol/dynamic_table.h"
#include "embcol/errors.h"
#include "testing/fresh_test_dir.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;

class CheckpointDynamicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("embcol_ckpt_dyn_test");
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

// dim 3, 2 slots; `shards` variable shards, each an in-memory table with
// `table_shards` shards (so shards * table_shards export parts).
dynamic_embedding::VariableOptions Options(const std::string& name, int shards, int table_shards,
                                           KeyType key_type = KeyType::kInt64) {
  dynamic_embedding::VariableOptions o;
  o.name = name;
  o.key_dtype = key_type;
  o.dim = 3;
  o.num_shards = shards;
  o.slot_initial_values = {0.1f, 0.0f};
  o.kv_creator = [table_shards](const DynamicStoreSpec& spec, int64_t capacity) {
    DynamicTableOptions t;
    t.spec = spec;
    t.init_capacity = capacity;
    t.num_shards = table_shards;
    return NewDynamicTable(t);
  };
  return o;
}

// Key k (k = 3 i - 100 for i < n): values (k, k + 0.5, k + 0.25), slots
// 0.125 * k + j for j = 0..5, meta (i, 2 i + 1).
struct Table {
  std::vector<int64_t> keys;
  std::vector<float> values, slots;
  std::vector<EntryMeta> meta;
};
Table MakeTable(int n) {
  Table t;
  for (int i = 0; i < n; ++i) {
    const int64_t k = 3 * i - 100;
    t.keys.push_back(k);
    for (float d : {0.0f, 0.5f, 0.25f}) t.values.push_back(static_cast<float>(k) + d);
    for (int j = 0; j < 6; ++j) t.slots.push_back(0.125f * static_cast<float>(k) + j);
    t.meta.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(2 * i + 1)});
  }
  return t;
}

// Checks that `e` holds exactly MakeTable(n)'s entries, in any order.
void ExpectTable(const ExportedEntries& e, int n) {
  ASSERT_EQ(e.size(), n);
  std::set<int64_t> seen;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t k = e.int64_keys[j];
    ASSERT_EQ((k + 100) % 3, 0) << k;
    const int64_t i = (k + 100) / 3;
    ASSERT_TRUE(i >= 0 && i < n) << k;
    EXPECT_TRUE(seen.insert(k).second) << "key " << k << " twice";
    const float kf = static_cast<float>(k);
    EXPECT_EQ(std::vector<float>(e.values.begin() + 3 * j, e.values.begin() + 3 * j + 3),
              (std::vector<float>{kf, kf + 0.5f, kf + 0.25f})) << k;
    for (int s = 0; s < 6; ++s) EXPECT_EQ(e.slots[6 * j + s], 0.125f * kf + s) << k;
    EXPECT_EQ(e.meta[j], (EntryMeta{static_cast<uint32_t>(i), static_cast<uint32_t>(2 * i + 1)}));
  }
}

TEST_F(CheckpointDynamicTest, SeveralShardsRoundTripExactlyPartByPart) {
  // 2 variable shards x 4 table shards = 8 parts.
  dynamic_embedding::Variable var(Options("user_embedding", 2, 4));
  const Table t = MakeTable(200);
  var.import_(KeyView(t.keys), t.values, t.slots, t.meta);
  ASSERT_EQ(var.export_part_count(), 8);
  {
    CheckpointWriter writer(dir(), 5, NoSync());
    SaveDynamicTable(writer, var);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  EXPECT_EQ(reader.ReadScalarInt64("user_embedding/num_parts"), 8);
  EXPECT_EQ(DynamicTableParts(reader, "user_embedding"),
            (std::vector<std::string>{
                "user_embedding/part_00000", "user_embedding/part_00001",
                "user_embedding/part_00002", "user_embedding/part_00003",
                "user_embedding/part_00004", "user_embedding/part_00005",
                "user_embedding/part_00006", "user_embedding/part_00007"}));
  int64_t total = 0;
  for (int k = 0; k < 8; ++k) {
    const std::string p = DynamicTablePartName("user_embedding", k);
    const int64_t n = reader.Info(p + "/keys").shape.at(0);
    EXPECT_EQ(reader.Info(p + "/values").shape, (std::vector<int64_t>{n, 3}));
    EXPECT_EQ(reader.Info(p + "/slots").shape, (std::vector<int64_t>{n, 2, 3}));
    EXPECT_EQ(reader.Info(p + "/meta").shape, (std::vector<int64_t>{n, 2}));
    EXPECT_EQ(reader.Info(p + "/meta").dtype, CheckpointDtype::kUint32);
    total += n;
  }
  EXPECT_EQ(total, 200);
  EXPECT_FALSE(reader.Has("user_embedding/keys"));

  // Another layout: 3 variable shards of 2 table shards; old contents replaced.
  dynamic_embedding::Variable other(Options("user_embedding", 3, 2));
  other.upsert(KeyView(std::vector<int64_t>{1}), std::vector<float>{9, 9, 9});
  RestoreDynamicTable(reader, other);
  ExpectTable(other.export_(), 200);
}

TEST_F(CheckpointDynamicTest, StringAndInt32KeysRoundTrip) {
  dynamic_embedding::Variable strs(Options("q", 1, 4, KeyType::kString));
  std::vector<std::string> keys = {"a", "", std::string("x\0y", 3), "tab\there"};
  std::vector<float> values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  strs.import_(KeyView(keys), values, {}, {});
  dynamic_embedding::Variable ints(Options("i", 2, 2, KeyType::kInt32));
  std::vector<int32_t> ikeys = {-2147483647 - 1, 0, 2147483647};
  ints.import_(KeyView(ikeys), std::vector<float>{1, 1, 1, 2, 2, 2, 3, 3, 3}, {}, {});
  {
    CheckpointWriter writer(dir(), 1, NoSync());
    SaveDynamicTable(writer, strs);
    SaveDynamicTable(writer, ints);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  dynamic_embedding::Variable strs2(Options("q", 3, 1, KeyType::kString));
  RestoreDynamicTable(reader, strs2);
  std::vector<float> got(12);
  strs2.lookup(KeyView(keys), got);
  EXPECT_EQ(got, values);
  EXPECT_EQ(strs2.size(), 4);
  dynamic_embedding::Variable ints2(Options("i", 1, 1, KeyType::kInt32));
  RestoreDynamicTable(reader, ints2);
  std::vector<float> igot(9);
  ints2.lookup(KeyView(ikeys), igot);
  EXPECT_EQ(igot, (std::vector<float>{1, 1, 1, 2, 2, 2, 3, 3, 3}));
}

TEST_F(CheckpointDynamicTest, ExportPartsAreBoundedByTheShardCount) {
  // 4000 keys over 8 table shards: about 500 per part. The largest part
  // stays far below the table (bound: a quarter of it), the parts
  // partition the keys, and their union is the table.
  dynamic_embedding::Variable var(Options("big", 1, 8));
  const Table t = MakeTable(4000);
  var.import_(KeyView(t.keys), t.values, t.slots, t.meta);
  ASSERT_EQ(var.export_part_count(), 8);
  ExportedEntries all;
  int64_t largest = 0;
  for (int k = 0; k < 8; ++k) {
    ExportedEntries part = var.export_part(k);
    largest = std::max(largest, part.size());
    EXPECT_EQ(part.values.size(), static_cast<size_t>(3 * part.size()));
    EXPECT_EQ(part.slots.size(), static_cast<size_t>(6 * part.size()));
    all.int64_keys.insert(all.int64_keys.end(), part.int64_keys.begin(), part.int64_keys.end());
    all.values.insert(all.values.end(), part.values.begin(), part.values.end());
    all.slots.insert(all.slots.end(), part.slots.begin(), part.slots.end());
    all.meta.insert(all.meta.end(), part.meta.begin(), part.meta.end());
  }
  EXPECT_GT(largest, 0);
  EXPECT_LE(largest, 1000);
  ExpectTable(all, 4000);
  EXPECT_THROW(var.export_part(8), InvalidArgument);
  EXPECT_THROW(var.export_part(-1), InvalidArgument);
  EXPECT_THROW(var.shard(0).ExportPart(8), InvalidArgument);
}

// A store with no export split of its own (the DynamicStore default: one
// part, Export()), forwarding to an in-memory table.
class WholeStore final : public DynamicStore {
 public:
  explicit WholeStore(std::unique_ptr<DynamicStore> inner) : inner_(std::move(inner)) {}
  const DynamicStoreSpec& spec() const override { return inner_->spec(); }
  int64_t Size() const override { return inner_->Size(); }
  int64_t MemoryBytes() const override { return inner_->MemoryBytes(); }
  void Lookup(const KeyView& k, std::span<float> v, std::span<bool> e) const override {
    inner_->Lookup(k, v, e);
  }
  void LookupOrInit(const KeyView& k, std::span<float> v, std::span<bool> e) override {
    inner_->LookupOrInit(k, v, e);
  }
  void Upsert(const KeyView& k, std::span<const float> v) override { inner_->Upsert(k, v); }
  void Accumulate(const KeyView& k, std::span<const float> v,
                  std::span<const bool> e) override {
    inner_->Accumulate(k, v, e);
  }
  void UpdateRows(const KeyView& k, MissingKeys m, RowUpdateFn fn) override {
    inner_->UpdateRows(k, m, fn);
  }
  int64_t Remove(const KeyView& k) override { return inner_->Remove(k); }
  void Clear() override { inner_->Clear(); }
  ExportedEntries Export() const override { return inner_->Export(); }
  void Import(const KeyView& k, std::span<const float> v, std::span<const float> s,
              std::span<const EntryMeta> m) override {
    inner_->Import(k, v, s, m);
  }
  void ForEachMeta(MetaFn fn) const override { inner_->ForEachMeta(fn); }
  int64_t EvictIf(EvictFn pred) override { return inner_->EvictIf(pred); }

 private:
  std::unique_ptr<DynamicStore> inner_;
};

TEST_F(CheckpointDynamicTest, StoresWithoutTheirOwnSplitSaveAsOnePartEach) {
  dynamic_embedding::VariableOptions o = Options("w", 2, 4);
  o.kv_creator = [](const DynamicStoreSpec& spec, int64_t) {
    DynamicTableOptions t;
    t.spec = spec;
    return std::make_unique<WholeStore>(NewDynamicTable(t));
  };
  dynamic_embedding::Variable var(std::move(o));
  const Table t = MakeTable(30);
  var.import_(KeyView(t.keys), t.values, t.slots, t.meta);
  EXPECT_EQ(var.shard(0).ExportPartCount(), 1);
  EXPECT_EQ(var.export_part_count(), 2);  // one per variable shard
  EXPECT_EQ(var.export_part(0).size() + var.export_part(1).size(), 30);
  EXPECT_THROW(var.shard(1).ExportPart(1), InvalidArgument);
  {
    CheckpointWriter writer(dir(), 1, NoSync());
    SaveDynamicTable(writer, var);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  EXPECT_EQ(reader.ReadScalarInt64("w/num_parts"), 2);
  dynamic_embedding::Variable back(Options("w", 1, 8));
  RestoreDynamicTable(reader, back);
  ExpectTable(back.export_(), 30);
}

TEST_F(CheckpointDynamicTest, SingleTensorLayoutOfOlderCheckpointsRestores) {
  {
    CheckpointWriter writer(dir(), 2, NoSync());
    writer.AddInt64s("old/keys", std::vector<int64_t>{4, -1});
    writer.AddFloats("old/values", {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
    writer.AddFloats("old/slots", {2, 2, 3},
                     std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    writer.Add("old/meta", CheckpointDtype::kUint32, {2, 2},
               std::vector<uint32_t>{7, 8, 9, 10}.data(), 16);
    writer.Commit();
  }
  CheckpointReader reader(dir());
  EXPECT_EQ(DynamicTableParts(reader, "old"), std::vector<std::string>{"old"});
  dynamic_embedding::Variable var(Options("old", 2, 2));
  RestoreDynamicTable(reader, var);
  ExportedEntries e = var.export_();
  ASSERT_EQ(e.size(), 2);
  const int64_t j = e.int64_keys[0] == -1 ? 0 : 1;  // position of key -1
  EXPECT_EQ(std::vector<float>(e.values.begin() + 3 * j, e.values.begin() + 3 * j + 3),
            (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(std::vector<float>(e.slots.begin() + 6 * j, e.slots.begin() + 6 * j + 6),
            (std::vector<float>{6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(e.meta[j], (EntryMeta{9, 10}));
}

TEST_F(CheckpointDynamicTest, BadPartsFailBeforeTheVariableChanges) {
  dynamic_embedding::Variable var(Options("t", 1, 4));
  const Table t = MakeTable(50);
  var.import_(KeyView(t.keys), t.values, t.slots, t.meta);
  {
    CheckpointWriter writer(dir(), 1, NoSync());
    SaveDynamicTable(writer, var);
    // A table whose count names a part that is not there.
    writer.AddScalarInt64("short/num_parts", 2);
    writer.AddInt64s("short/part_00000/keys", std::vector<int64_t>{});
    writer.AddFloats("short/part_00000/values", {0, 3}, {});
    writer.AddFloats("short/part_00000/slots", {0, 2, 3}, {});
    writer.Add("short/part_00000/meta", CheckpointDtype::kUint32, {0, 2}, nullptr, 0);
    writer.Commit();
  }
  const std::vector<int64_t> keep = {1000, 1001};
  const std::vector<float> keep_values = {1, 2, 3, 4, 5, 6};
  auto fresh = [&](const std::string& name, int table_shards) {
    auto v = std::make_unique<dynamic_embedding::Variable>(Options(name, 1, table_shards));
    v->upsert(KeyView(keep), keep_values);
    return v;
  };
  auto unchanged = [&](const dynamic_embedding::Variable& v) {
    EXPECT_EQ(v.size(), 2);
    std::vector<float> got(6);
    v.lookup(KeyView(keep), got);
    EXPECT_EQ(got, keep_values);
  };
  {
    CheckpointReader reader(dir());
    auto missing = fresh("short", 1);
    EXPECT_THROW(RestoreDynamicTable(reader, *missing), NotFound);
    unchanged(*missing);
    auto absent = fresh("nothing", 1);
    EXPECT_THROW(RestoreDynamicTable(reader, *absent), NotFound);  // no nothing/num_parts
    unchanged(*absent);
    // Another slot count: InvalidArgument naming a part's tensor.
    dynamic_embedding::VariableOptions o = Options("t", 1, 1);
    o.slot_initial_values = {0.0f};
    dynamic_embedding::Variable one_slot(std::move(o));
    try {
      RestoreDynamicTable(reader, one_slot);
      FAIL() << "no InvalidArgument";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("t/part_00000/slots"), std::string::npos) << e.what();
    }
  }
  // Corrupt the last byte of the last part's values: DataLoss, nothing changed.
  CheckpointReader reader(dir());
  const CheckpointTensorInfo info = reader.Info("t/part_00003/values");
  ASSERT_GT(info.length, 0u);
  {
    std::fstream f(reader.directory() + "/" + info.file,
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(info.offset + info.length - 1));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(info.offset + info.length - 1));
    f.put(static_cast<char>(c ^ 0x40));
  }
  auto corrupt = fresh("t", 2);
  EXPECT_THROW(RestoreDynamicTable(CheckpointReader(dir()), *corrupt), DataLoss);
  unchanged(*corrupt);
}

}  // namespace
}  // namespace embcol
