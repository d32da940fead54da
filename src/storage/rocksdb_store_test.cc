// Tests of the RocksDB-backed dynamic table (embcol/rocksdb_store.h): the
// shared store model test with a tiny cache (evictions on every batch) and
// reopening, a table ten times larger than its cache trained and read back
// after a restart, persistence of upserts and removes, checkpoints, the
// streamed export, the kv_creator, and typed errors. Every database lives
// under a fresh temporary directory removed at the end of its test.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "embcol/checkpoint.h"
#include "embcol/dynamic_embedding.h"
#include "embcol/errors.h"
#include "embcol/kv_creator.h"
#include "embcol/rocksdb_store.h"
#include "embedding/dynamic_store_model_testing.h"
#include "storage/rocksdb_format.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;

// A fresh scratch directory, removed with everything in it at the end.
// <temp>/embcol_rocksdb_<pid>_<test name, '/' as '_'>.
class ScratchDir {
 public:
  ScratchDir() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = fs::temp_directory_path() /
            ("embcol_rocksdb_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

DynamicStoreSpec SmallSpec(int64_t dim, std::vector<float> slots = {}) {
  DynamicStoreSpec spec;
  spec.name = "rocks_table";
  spec.dim = dim;
  spec.initializer = {"Constant", {{"value", 0.25}}};
  spec.slot_initial_values = std::move(slots);
  return spec;
}

std::unique_ptr<RocksDbStore> Open(const DynamicStoreSpec& spec, const std::string& path,
                                   int64_t cache_bytes, const std::string& policy = "lru") {
  RocksDbStoreOptions o;
  o.spec = spec;
  o.path = path;
  o.cache_bytes = cache_bytes;
  o.cache_policy = policy;
  return NewRocksDbStore(o);
}

// ---------------------------------------------------------------- model test
class RocksDbModelTest : public store_testing::DynamicStoreModelTest {};

TEST_P(RocksDbModelTest, RandomOperationsMatchModel) {
  ScratchDir scratch;
  int opened = 0;
  for (const char* policy : {"lru", "lfu"}) {
    // About 6 entries of dim 11 with 2 slots: nearly every batch evicts.
    const int64_t cache_bytes = 1500;
    const uint64_t seed = (policy[1] == 'r' ? 11u : 12u) * 7919 +
                          static_cast<uint64_t>(GetParam().key_type) * 31 +
                          static_cast<uint64_t>(GetParam().dtype);
    RunSequence(
        seed, 250,
        [&](const DynamicStoreSpec& spec) -> std::unique_ptr<DynamicStore> {
          return Open(spec, scratch.Sub("db" + std::to_string(opened++)), cache_bytes, policy);
        },
        [&](std::unique_ptr<DynamicStore>& store) {
          const std::string path = dynamic_cast<RocksDbStore&>(*store).path();
          const DynamicStoreSpec spec = store->spec();
          store.reset();  // writes the cache back and closes the database
          store = Open(spec, path, cache_bytes, policy);
        });
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(
    RocksDb, RocksDbModelTest,
    testing::Values(store_testing::Param{KeyType::kInt64, ValueDtype::kFloat32},
                    store_testing::Param{KeyType::kInt64, ValueDtype::kBFloat16},
                    store_testing::Param{KeyType::kInt32, ValueDtype::kFloat16},
                    store_testing::Param{KeyType::kString, ValueDtype::kFloat32}),
    store_testing::ParamName);

// ---------------------------------------------------------------- larger than the cache
// 20000 keys of dim 8 with one slot: 64 bytes of floats per key, 1.28 MB in
// all, against a 128 KB cache (a tenth of the floats alone).
TEST(RocksDbStore, TableTenTimesTheCacheTrainsAndSurvivesRestart) {
  ScratchDir scratch;
  constexpr int64_t kKeys = 20000, kDim = 8, kBatch = 1000;
  constexpr int64_t kCache = kKeys * kDim * 2 * 4 / 10;
  const DynamicStoreSpec spec = SmallSpec(kDim, {0.5f});
  const std::string path = scratch.Sub("big");
  // Keys visited in a scattered order: 7919 is prime to 20000.
  std::vector<int64_t> keys(kKeys);
  for (int64_t j = 0; j < kKeys; ++j) keys[j] = (j * 7919) % kKeys * 3 - 1000;
  {
    std::unique_ptr<RocksDbStore> store = Open(spec, path, kCache, "lfu");
    for (uint32_t epoch = 0; epoch < 3; ++epoch) {
      for (int64_t b = 0; b < kKeys; b += kBatch) {
        const KeyView view(keys.data() + b, kBatch);
        // row[c] += (epoch + 1) + c / 8; slot += 1; meta counts updates.
        store->UpdateRows(view, MissingKeys::kInsert,
                          [&](int64_t, float* row, float* slots, EntryMeta& meta, bool existed) {
                            EXPECT_EQ(existed, epoch > 0);
                            for (int64_t c = 0; c < kDim; ++c) {
                              row[c] += static_cast<float>(epoch + 1) + c * 0.125f;
                              slots[c] += 1.0f;
                            }
                            meta.frequency += 1;
                            meta.last_update = epoch;
                          });
        ASSERT_LE(store->cache_stats().bytes, kCache);
      }
    }
    // One bp_v2 delta per key: (key mod 5) / 2 on every column.
    for (int64_t b = 0; b < kKeys; b += kBatch) {
      std::vector<float> delta(kBatch * kDim);
      for (int64_t i = 0; i < kBatch; ++i) {
        const int64_t m = ((keys[b + i] % 5) + 5) % 5;
        for (int64_t c = 0; c < kDim; ++c) delta[i * kDim + c] = static_cast<float>(m) * 0.5f;
      }
      std::unique_ptr<bool[]> existed(new bool[kBatch]);
      std::fill_n(existed.get(), kBatch, true);
      store->Accumulate(KeyView(keys.data() + b, kBatch), delta,
                        std::span<const bool>(existed.get(), kBatch));
    }
    const RocksDbStore::CacheStats stats = store->cache_stats();
    EXPECT_LE(stats.bytes, kCache);
    EXPECT_LT(stats.entries, kKeys / 5);  // most rows live only on disk
    EXPECT_GT(stats.misses, kKeys);       // evicted rows were read back
    EXPECT_EQ(store->Size(), kKeys);
  }  // destroyed: dirty rows written back
  std::unique_ptr<RocksDbStore> store = Open(spec, path, kCache);
  ASSERT_EQ(store->Size(), kKeys);
  std::vector<float> got(kKeys * kDim);
  std::unique_ptr<bool[]> exists(new bool[kKeys]);
  store->Lookup(KeyView(keys), got, std::span<bool>(exists.get(), kKeys));
  for (int64_t j = 0; j < kKeys; ++j) {
    ASSERT_TRUE(exists[j]) << keys[j];
    const int64_t m = ((keys[j] % 5) + 5) % 5;
    for (int64_t c = 0; c < kDim; ++c) {
      // 0.25 initial + (1 + 2 + 3) + 3 * c / 8 + m / 2.
      const float want = 0.25f + 6.0f + 3.0f * c * 0.125f + static_cast<float>(m) * 0.5f;
      ASSERT_EQ(got[j * kDim + c], want) << "key " << keys[j] << " col " << c;
    }
  }
  // Slots and meta too, through the metadata scan and the export.
  int64_t seen = 0;
  store->ForEachMeta([&](const KeyRef&, const EntryMeta& meta) {
    ++seen;
    EXPECT_EQ(meta.frequency, 3u);
    EXPECT_EQ(meta.last_update, 2u);
  });
  EXPECT_EQ(seen, kKeys);
  const ExportedEntries part = store->ExportPart(0);
  for (float s : part.slots) ASSERT_EQ(s, 3.5f);
}

// ---------------------------------------------------------------- persistence
TEST(RocksDbStore, UpsertRemoveAndClearSurviveRestart) {
  ScratchDir scratch;
  const DynamicStoreSpec spec = SmallSpec(2);
  const std::string path = scratch.Sub("db");
  std::vector<int64_t> keys;
  std::vector<float> values;
  for (int64_t k = 1; k <= 100; ++k) {
    keys.push_back(k);
    values.push_back(k * 0.5f);
    values.push_back(-k * 1.0f);
  }
  std::vector<int64_t> evens;
  for (int64_t k = 2; k <= 100; k += 2) evens.push_back(k);
  evens.push_back(1000);  // never inserted
  {
    std::unique_ptr<RocksDbStore> store = Open(spec, path, 1 << 20);
    store->Upsert(KeyView(keys), values);
    EXPECT_EQ(store->Remove(KeyView(evens)), 50);
  }
  {
    std::unique_ptr<RocksDbStore> store = Open(spec, path, 0);  // no cache at all
    EXPECT_EQ(store->Size(), 50);
    std::vector<float> got(200);
    std::unique_ptr<bool[]> exists(new bool[100]);
    store->Lookup(KeyView(keys), got, std::span<bool>(exists.get(), 100));
    for (int64_t k = 1; k <= 100; ++k) {
      const bool odd = k % 2 == 1;
      EXPECT_EQ(exists[k - 1], odd) << k;
      EXPECT_EQ(got[(k - 1) * 2], odd ? k * 0.5f : 0.25f) << k;
      EXPECT_EQ(got[(k - 1) * 2 + 1], odd ? -k * 1.0f : 0.25f) << k;
    }
    EXPECT_EQ(store->Size(), 50);  // Lookup inserted nothing
    store->Clear();
  }
  std::unique_ptr<RocksDbStore> store = Open(spec, path, 0);
  EXPECT_EQ(store->Size(), 0);
  EXPECT_EQ(store->Export().size(), 0);
}

// ---------------------------------------------------------------- checkpoints and export
TEST(RocksDbStore, CheckpointOpensAsAStoreWithTheSameContents) {
  ScratchDir scratch;
  const DynamicStoreSpec spec = SmallSpec(3, {0.0f});
  std::unique_ptr<RocksDbStore> store = Open(spec, scratch.Sub("db"), 1 << 20);
  std::vector<int64_t> keys = {-5, 0, 7, 1LL << 40};
  store->Upsert(KeyView(keys), std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  store->UpdateRows(KeyView(keys), MissingKeys::kSkip,
                    [](int64_t i, float*, float* slots, EntryMeta& meta, bool) {
                      slots[0] = static_cast<float>(i);
                      meta.frequency = 10 + static_cast<uint32_t>(i);
                    });
  EXPECT_GT(store->cache_stats().dirty, 0);  // the checkpoint must flush them
  const std::string ckpt = scratch.Sub("ckpt");
  store->Checkpoint(ckpt);
  EXPECT_EQ(store->cache_stats().dirty, 0);
  // Later changes do not reach the checkpoint.
  store->Upsert(KeyView(keys), std::vector<float>(12, -1.0f));
  store->Flush();
  EXPECT_THROW(store->Checkpoint(ckpt), InvalidArgument);  // exists already

  std::unique_ptr<RocksDbStore> copy = Open(spec, ckpt, 1 << 20);
  ASSERT_EQ(copy->Size(), 4);
  std::vector<float> got(12);
  copy->Lookup(KeyView(keys), got);
  for (int j = 0; j < 12; ++j) EXPECT_EQ(got[j], static_cast<float>(j + 1));
  std::set<std::pair<int64_t, uint32_t>> metas;
  copy->ForEachMeta([&](const KeyRef& k, const EntryMeta& m) {
    metas.emplace(k.integer, m.frequency);
  });
  EXPECT_EQ(metas, (std::set<std::pair<int64_t, uint32_t>>{
                       {-5, 10}, {0, 11}, {7, 12}, {1LL << 40, 13}}));
}

TEST(RocksDbStore, ExportPartsPartitionTheKeysAndSeeDirtyRows) {
  ScratchDir scratch;
  RocksDbStoreOptions o;
  o.spec = SmallSpec(1);
  o.spec.key_type = KeyType::kString;
  o.path = scratch.Sub("db");
  o.export_parts = 5;
  o.cache_bytes = 1 << 20;
  std::unique_ptr<RocksDbStore> store = NewRocksDbStore(o);
  EXPECT_EQ(store->ExportPartCount(), 5);
  std::vector<std::string> keys;
  std::vector<float> values;
  for (int k = 0; k < 300; ++k) {
    keys.push_back("k" + std::to_string(k));
    values.push_back(static_cast<float>(k));
  }
  store->Upsert(KeyView(keys), values);  // all still dirty in the cache
  std::set<std::string> seen;
  for (int p = 0; p < 5; ++p) {
    const ExportedEntries part = store->ExportPart(p);
    EXPECT_GT(part.size(), 20) << "part " << p;  // 300 keys hashed over 5 parts
    for (int64_t j = 0; j < part.size(); ++j) {
      EXPECT_TRUE(seen.insert(part.string_keys[j]).second) << part.string_keys[j];
      EXPECT_EQ(part.values[j], std::stof(part.string_keys[j].substr(1)));
    }
  }
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_THROW(store->ExportPart(5), InvalidArgument);
  // The part count is the database's: reopening with 0 keeps 5, another count is an error.
  store.reset();
  o.export_parts = 0;
  EXPECT_EQ(NewRocksDbStore(o)->ExportPartCount(), 5);
  o.export_parts = 7;
  EXPECT_THROW(NewRocksDbStore(o), InvalidArgument);
}

// A model checkpoint of a RocksDB-backed variable: SaveDynamicTable streams
// every export part (2 shards x 4 parts), and the bundle restores into an
// in-memory variable with every entry intact.
TEST(RocksDbStore, ModelCheckpointStreamsPartsAndRestoresAnywhere) {
  ScratchDir scratch;
  dynamic_embedding::VariableOptions o;
  o.name = "user_emb";
  o.dim = 2;
  o.num_shards = 2;
  o.slot_initial_values = {0.0f};
  o.kv_creator = dynamic_embedding::KvCreatorFromConfig(
      {{"class_name", "RocksDBTableCreator"},
       {"config", {{"path", scratch.Sub("tables")}, {"cache_bytes", 2000}, {"export_parts", 4}}}},
      "test");
  dynamic_embedding::Variable var(std::move(o));
  // Key k = 5 i + 1: row (k, -k), slot (k / 4, k / 2), meta (i, 7).
  std::vector<int64_t> keys;
  std::vector<float> values, slots;
  std::vector<EntryMeta> meta;
  for (int i = 0; i < 300; ++i) {
    const int64_t k = 5 * i + 1;
    const float kf = static_cast<float>(k);
    keys.push_back(k);
    values.insert(values.end(), {kf, -kf});
    slots.insert(slots.end(), {kf * 0.25f, kf * 0.5f});
    meta.push_back({static_cast<uint32_t>(i), 7u});
  }
  var.import_(KeyView(keys), values, slots, meta);
  ASSERT_EQ(var.export_part_count(), 8);
  const std::string ckpt = scratch.Sub("ckpt");
  {
    CheckpointWriterOptions w;
    w.sync = false;
    CheckpointWriter writer(ckpt, 1, w);
    SaveDynamicTable(writer, var);
    writer.Commit();
  }
  CheckpointReader reader(ckpt);
  EXPECT_EQ(reader.ReadScalarInt64("user_emb/num_parts"), 8);
  dynamic_embedding::VariableOptions m;
  m.name = "user_emb";
  m.dim = 2;
  m.slot_initial_values = {0.0f};
  dynamic_embedding::Variable memory(std::move(m));
  RestoreDynamicTable(reader, memory);
  const ExportedEntries e = memory.export_();
  ASSERT_EQ(e.size(), 300);
  for (int64_t j = 0; j < e.size(); ++j) {
    const int64_t k = e.int64_keys[j];
    ASSERT_EQ((k - 1) % 5, 0) << k;
    const float kf = static_cast<float>(k);
    EXPECT_EQ(e.values[2 * j], kf);
    EXPECT_EQ(e.values[2 * j + 1], -kf);
    EXPECT_EQ(e.slots[2 * j], kf * 0.25f);
    EXPECT_EQ(e.slots[2 * j + 1], kf * 0.5f);
    EXPECT_EQ(e.meta[j], (EntryMeta{static_cast<uint32_t>((k - 1) / 5), 7u}));
  }
}

// ---------------------------------------------------------------- kv_creator
TEST(RocksDbStore, KvCreatorBuildsOneDatabasePerShard) {
  ScratchDir scratch;
  const std::string root = scratch.Sub("tables");
  const dynamic_embedding::KvCreator creator = dynamic_embedding::KvCreatorFromConfig(
      {{"class_name", "RocksDBTableCreator"},
       {"config", {{"path", root}, {"cache_bytes", 4096}, {"cache_policy", "lfu"}}}},
      "test");
  DynamicStoreSpec spec = SmallSpec(2);
  spec.name = "emb_mht_1of2";
  {
    std::unique_ptr<DynamicStore> store = creator(spec, 0);
    store->Upsert(KeyView(std::vector<int64_t>{9}), std::vector<float>{1.5f, 2.5f});
  }
  EXPECT_TRUE(fs::exists(fs::path(root) / "emb_mht_1of2" / "CURRENT"));
  std::unique_ptr<DynamicStore> again = creator(spec, 0);
  std::vector<float> got(2);
  again->Lookup(KeyView(std::vector<int64_t>{9}), got);
  EXPECT_EQ(got, (std::vector<float>{1.5f, 2.5f}));

  const auto error_of = [](const nlohmann::json& config) -> std::string {
    try {
      dynamic_embedding::KvCreatorFromConfig(
          {{"class_name", "RocksDBTableCreator"}, {"config", config}}, "layer 'emb'");
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of({{"cache_bytes", 1}}).find("'path'"), std::string::npos);
  EXPECT_NE(error_of({{"path", "/x"}, {"cache_bytes", -1}}).find("'cache_bytes'"),
            std::string::npos);
  EXPECT_NE(error_of({{"path", "/x"}, {"cache_policy", "fifo"}}).find("'cache_policy'"),
            std::string::npos);
  EXPECT_NE(error_of({{"path", "/x"}, {"bogus", 1}}).find("'bogus'"), std::string::npos);
  EXPECT_NE(error_of({{"path", "/x"}}).find("no error"), std::string::npos);
}

// ---------------------------------------------------------------- errors
template <typename E, typename Fn>
std::string MessageOf(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

TEST(RocksDbStore, TypedErrorsNameThePathTableAndKey) {
  ScratchDir scratch;
  const DynamicStoreSpec spec = SmallSpec(4, {0.0f});
  const std::string path = scratch.Sub("db");
  EXPECT_NE(MessageOf<InvalidArgument>([&] { Open(spec, "", 0); }).find("path is empty"),
            std::string::npos);
  EXPECT_NE(MessageOf<InvalidArgument>([&] { Open(spec, path, -1); }).find("cache_bytes"),
            std::string::npos);
  EXPECT_NE(MessageOf<InvalidArgument>([&] { Open(spec, path, 0, "mru"); }).find("mru"),
            std::string::npos);
  RocksDbStoreOptions missing;
  missing.spec = spec;
  missing.path = scratch.Sub("nothing_here");
  missing.create_if_missing = false;
  EXPECT_NE(MessageOf<NotFound>([&] { NewRocksDbStore(missing); }).find("nothing_here"),
            std::string::npos);

  {
    std::unique_ptr<RocksDbStore> store = Open(spec, path, 0);
    // A second open of a database in use: RocksDB's lock refuses it.
    EXPECT_NE(MessageOf<Unavailable>([&] { Open(spec, path, 0); }).find(path),
              std::string::npos);
    const std::string wrong_keys = MessageOf<InvalidArgument>([&] {
      std::vector<float> out(4);
      store->Lookup(KeyView(std::vector<int32_t>{1}), out);
    });
    EXPECT_NE(wrong_keys.find("rocks_table"), std::string::npos) << wrong_keys;
    EXPECT_NE(wrong_keys.find("int32"), std::string::npos) << wrong_keys;
    EXPECT_THROW(store->Upsert(KeyView(std::vector<int64_t>{1}), std::vector<float>(3)),
                 InvalidArgument);
  }
  // Reopening with another dim names the field.
  DynamicStoreSpec wider = spec;
  wider.dim = 5;
  const std::string dim_error = MessageOf<InvalidArgument>([&] { Open(wider, path, 0); });
  EXPECT_NE(dim_error.find("dim 4"), std::string::npos) << dim_error;
  EXPECT_NE(dim_error.find(path), std::string::npos) << dim_error;

  // A value of the wrong size, written behind the store's back.
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const std::string key =
        internal::rocks::EncodeKey(KeyView(std::vector<int64_t>{77}), 0, 64);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, "short").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  std::unique_ptr<RocksDbStore> store = Open(spec, path, 0);
  const std::string corrupt = MessageOf<DataLoss>([&] {
    std::vector<float> out(4);
    store->Lookup(KeyView(std::vector<int64_t>{77}), out);
  });
  EXPECT_NE(corrupt.find("key 77"), std::string::npos) << corrupt;
  EXPECT_NE(corrupt.find("5 bytes"), std::string::npos) << corrupt;
  // 4 float32 + 1 slot of 4 floats + 8 bytes of meta = 40 bytes.
  EXPECT_NE(corrupt.find("takes 40"), std::string::npos) << corrupt;

  // A directory holding some other RocksDB database.
  const std::string other = scratch.Sub("other");
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, other, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "a", "b").ok());
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_NE(MessageOf<InvalidArgument>([&] { Open(spec, other, 0); }).find("not an embcol"),
            std::string::npos);
}

TEST(RocksDbStore, FormatKeysSortNumericallyWithinAPart) {
  using internal::rocks::EncodeKey;
  // With one part every key is in part 0 and the bytes after the part id
  // order like the numbers.
  const std::vector<int64_t> k64 = {INT64_MIN, -2, -1, 0, 1, 256, INT64_MAX};
  for (size_t j = 0; j + 1 < k64.size(); ++j) {
    EXPECT_LT(EncodeKey(KeyView(k64), static_cast<int64_t>(j), 1),
              EncodeKey(KeyView(k64), static_cast<int64_t>(j + 1), 1));
  }
  // -1 as int64: 0x7fff ffff ffff ffff after the sign flip, behind part 0.
  EXPECT_EQ(EncodeKey(KeyView(k64), 2, 1), std::string("\x00\x00\x7f\xff\xff\xff\xff\xff\xff\xff", 10));
  const std::vector<int32_t> k32 = {5};
  EXPECT_EQ(EncodeKey(KeyView(k32), 0, 1), std::string("\x00\x00\x80\x00\x00\x05", 6));
  KeyRef back;
  ASSERT_TRUE(internal::rocks::DecodeKey(EncodeKey(KeyView(k64), 0, 1), KeyType::kInt64, back));
  EXPECT_EQ(back.integer, INT64_MIN);
}

}  // namespace
}  // namespace embcol
