// Model-based test of the in-memory dynamic table: random operation
// sequences against a std::map model, compared after every step, for every
// key type and storage dtype. Expected rows come from the model: rows
// rounded by an independent (frexp-based) rounding, initial rows from the
// initializer formula. Replay one sequence with EMBCOL_DYN_SEED=<seed>.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "core/hashing.h"
#include "embcol/dynamic_table.h"
#include "embcol/errors.h"
#include "embcol/initializer.h"
#include "embedding/dynamic_table_convert.h"

namespace embcol {
namespace {

// x rounded to `bits` significant bits (ties to even); numbers below 2^(min_exp-1)
// (the smallest normal) use the fixed subnormal quantum 2^(min_exp - bits),
// and magnitudes that round to `overflow` or more become Inf. Independent
// of the table's bit tricks.
float RoundToBits(float x, int bits, int min_exp, double overflow) {
  if (!std::isfinite(x) || x == 0.0f) return x;
  int e;
  std::frexp(static_cast<double>(x), &e);  // x = m * 2^e, 0.5 <= |m| < 1
  const int q = std::max(e, min_exp) - bits;  // quantum exponent
  const double scaled = std::ldexp(static_cast<double>(x), -q);
  const double r = std::ldexp(std::nearbyint(scaled), q);  // default mode: ties to even
  if (std::fabs(r) >= overflow) return std::copysign(INFINITY, x);
  return static_cast<float>(r);
}

float RoundStorage(float x, ValueDtype dtype) {
  switch (dtype) {
    case ValueDtype::kFloat32: return x;
    case ValueDtype::kBFloat16: return RoundToBits(x, 8, -125, INFINITY);
    case ValueDtype::kFloat16: return RoundToBits(x, 11, -13, 65536.0);
  }
  return x;
}

TEST(DynamicTableConvert, HalfMatchesIndependentRounding) {
  std::mt19937 rng(7);
  std::vector<float> xs = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 65519.0f, 65520.0f, 1e-8f,
                           5.96e-8f, 2.98e-8f, 3.0e-8f, 6.1e-5f, 6.0e-5f, 1.0e6f, 0.1f};
  std::uniform_real_distribution<float> u(-8.0f, 8.0f);
  for (int i = 0; i < 20000; ++i) xs.push_back(std::ldexp(u(rng), static_cast<int>(rng() % 40) - 28));
  for (const bool f16c : {false, true}) {
    internal::SetF16cAllowed(f16c);
    std::vector<uint16_t> h(xs.size());
    std::vector<float> back(xs.size());
    internal::EncodeF16Row(xs.data(), h.data(), static_cast<int64_t>(xs.size()));
    internal::DecodeF16Row(h.data(), back.data(), static_cast<int64_t>(xs.size()));
    for (size_t i = 0; i < xs.size(); ++i) {
      ASSERT_EQ(back[i], RoundStorage(xs[i], ValueDtype::kFloat16))
          << "x=" << xs[i] << " f16c=" << f16c;
    }
  }
  internal::SetF16cAllowed(true);
  for (float x : xs) {
    ASSERT_EQ(internal::DecodeBf16(internal::EncodeBf16(x)), RoundStorage(x, ValueDtype::kBFloat16))
        << x;
  }
  EXPECT_TRUE(std::isnan(internal::DecodeF16Ref(internal::EncodeF16Ref(NAN))));
  EXPECT_TRUE(std::isnan(internal::DecodeBf16(internal::EncodeBf16(NAN))));
}

struct Entry {
  std::vector<float> row;
  std::vector<float> slots;
  EntryMeta meta;
};

struct Param {
  KeyType key_type;
  ValueDtype dtype;
};

std::string ParamName(const testing::TestParamInfo<Param>& info) {
  return std::string(KeyTypeName(info.param.key_type)) + "_" +
         std::string(ValueDtypeName(info.param.dtype));
}

class DynamicTableModelTest : public testing::TestWithParam<Param> {
 protected:
  static constexpr int64_t kDim = 11;  // not a multiple of 8: exercises tails
  static constexpr int kPool = 300;

  void SetUp() override {
    const Param p = GetParam();
    spec_.name = "model_table";
    spec_.key_type = p.key_type;
    spec_.value_dtype = p.dtype;
    spec_.dim = kDim;
    spec_.initializer.class_name = "RandomUniform";
    spec_.initializer.config = {{"minval", -1.0}, {"maxval", 1.0}, {"seed", 42}};
    spec_.slot_initial_values = {0.0f, 0.5f};
    init_ = MakeInitializer(spec_.initializer, -1, kDim, 0, "model");
    // Key pool: varied magnitudes and signs; strings of varied lengths.
    std::mt19937_64 rng(1234);
    for (int i = 0; i < kPool; ++i) {
      int64_t k64 = i % 3 == 0 ? i : static_cast<int64_t>(rng());
      if (i == 1) k64 = -1;
      if (i == 2) k64 = INT64_MIN;
      pool64_.push_back(k64);
      pool32_.push_back(i % 3 == 0 ? i - 150 : static_cast<int32_t>(rng()));
      std::string s = i == 0 ? "" : "key_" + std::to_string(i);
      if (i % 7 == 0) s += std::string(40 + i % 13, 'x');
      pool_str_.push_back(s);
    }
    for (int i = 0; i < kPool; ++i) index_of_[Text(i)] = i;
  }

  std::string Text(int id) const {
    switch (spec_.key_type) {
      case KeyType::kInt64: return std::to_string(pool64_[id]);
      case KeyType::kInt32: return std::to_string(pool32_[id]);
      case KeyType::kString: break;
    }
    return "s:" + pool_str_[id];
  }

  // Typed key arrays for a batch of pool ids; the view points into them.
  struct Batch {
    std::vector<int64_t> k64;
    std::vector<int32_t> k32;
    std::vector<std::string> ks;
    KeyType type;
    KeyView view() const {
      switch (type) {
        case KeyType::kInt64: return KeyView(k64);
        case KeyType::kInt32: return KeyView(k32);
        case KeyType::kString: break;
      }
      return KeyView(ks);
    }
  };
  Batch MakeBatch(const std::vector<int>& ids) const {
    Batch b;
    b.type = spec_.key_type;
    for (int id : ids) {
      b.k64.push_back(pool64_[id]);
      b.k32.push_back(pool32_[id]);
      b.ks.push_back(pool_str_[id]);
    }
    return b;
  }

  int IdOfExported(const ExportedEntries& e, int64_t j) const {
    std::string text;
    switch (spec_.key_type) {
      case KeyType::kInt64: text = std::to_string(e.int64_keys[j]); break;
      case KeyType::kInt32: text = std::to_string(e.int32_keys[j]); break;
      case KeyType::kString: text = "s:" + e.string_keys[j]; break;
    }
    auto it = index_of_.find(text);
    return it == index_of_.end() ? -1 : it->second;
  }

  // The initial row of pool key `id`, from the initializer formula.
  std::vector<float> InitialRow(int id) const {
    int64_t row = 0;
    switch (spec_.key_type) {
      case KeyType::kInt64: row = pool64_[id]; break;
      case KeyType::kInt32: row = pool32_[id]; break;
      case KeyType::kString:
        row = static_cast<int64_t>(internal::Fingerprint64(pool_str_[id]));
        break;
    }
    std::vector<float> out(kDim);
    init_->InitRow(row, out.data());
    for (float& x : out) x = RoundStorage(x, spec_.value_dtype);
    return out;
  }
  Entry NewEntry(std::vector<float> row) const {
    Entry e;
    for (float& x : row) x = RoundStorage(x, spec_.value_dtype);
    e.row = std::move(row);
    for (float v : spec_.slot_initial_values) e.slots.insert(e.slots.end(), kDim, v);
    return e;
  }

  void CompareAll(DynamicStore& table, const std::map<int, Entry>& model) const {
    ASSERT_EQ(table.Size(), static_cast<int64_t>(model.size()));
    const ExportedEntries ex = table.Export();
    ASSERT_EQ(ex.size(), static_cast<int64_t>(model.size()));
    ASSERT_EQ(ex.values.size(), model.size() * kDim);
    ASSERT_EQ(ex.slots.size(), model.size() * kDim * 2);
    std::map<int, int64_t> seen;
    for (int64_t j = 0; j < ex.size(); ++j) {
      const int id = IdOfExported(ex, j);
      ASSERT_GE(id, 0) << "exported a key that was never inserted";
      ASSERT_TRUE(seen.emplace(id, j).second) << "key exported twice: " << Text(id);
      auto it = model.find(id);
      ASSERT_NE(it, model.end()) << "table holds a removed key " << Text(id);
      for (int64_t c = 0; c < kDim; ++c) {
        ASSERT_EQ(ex.values[j * kDim + c], it->second.row[c]) << Text(id) << " col " << c;
      }
      for (int64_t c = 0; c < 2 * kDim; ++c) {
        ASSERT_EQ(ex.slots[j * 2 * kDim + c], it->second.slots[c]) << Text(id);
      }
      ASSERT_EQ(ex.meta[j], it->second.meta) << Text(id);
    }
  }

  void RunSequence(uint64_t seed, int steps, int64_t init_capacity, int num_shards);

  DynamicStoreSpec spec_;
  std::unique_ptr<Initializer> init_;
  std::vector<int64_t> pool64_;
  std::vector<int32_t> pool32_;
  std::vector<std::string> pool_str_;
  std::unordered_map<std::string, int> index_of_;
};

void DynamicTableModelTest::RunSequence(uint64_t seed, int steps, int64_t init_capacity,
                                        int num_shards) {
  SCOPED_TRACE("replay with EMBCOL_DYN_SEED=" + std::to_string(seed));
  DynamicTableOptions options;
  options.spec = spec_;
  options.init_capacity = init_capacity;
  options.num_shards = num_shards;
  std::unique_ptr<DynamicStore> table = NewDynamicTable(options);
  std::map<int, Entry> model;
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto random_ids = [&]() {
    // Mostly a limited range so keys repeat; duplicates within a batch too.
    const int range = pick(4) == 0 ? kPool : 60 + pick(kPool - 60);
    std::vector<int> ids(static_cast<size_t>(pick(40)));
    for (int& id : ids) id = pick(range);
    return ids;
  };
  std::uniform_real_distribution<float> val(-4.0f, 4.0f);

  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const int op = pick(100);
    const std::vector<int> ids = random_ids();
    const Batch batch = MakeBatch(ids);
    const auto n = static_cast<int64_t>(ids.size());
    if (op < 20) {  // Lookup: never inserts
      std::vector<float> out(n * kDim, -99.0f);
      std::unique_ptr<bool[]> exists(new bool[n + 1]);
      table->Lookup(batch.view(), out, std::span<bool>(exists.get(), n));
      for (int64_t i = 0; i < n; ++i) {
        auto it = model.find(ids[i]);
        ASSERT_EQ(exists[i], it != model.end());
        const std::vector<float> want = it != model.end() ? it->second.row : InitialRow(ids[i]);
        for (int64_t c = 0; c < kDim; ++c) ASSERT_EQ(out[i * kDim + c], want[c]) << i;
      }
    } else if (op < 35) {  // LookupOrInit
      std::vector<float> out(n * kDim);
      std::unique_ptr<bool[]> exists(new bool[n + 1]);
      table->LookupOrInit(batch.view(), out, std::span<bool>(exists.get(), n));
      for (int64_t i = 0; i < n; ++i) {
        auto it = model.find(ids[i]);
        ASSERT_EQ(exists[i], it != model.end()) << i;
        if (it == model.end()) it = model.emplace(ids[i], NewEntry(InitialRow(ids[i]))).first;
        for (int64_t c = 0; c < kDim; ++c) ASSERT_EQ(out[i * kDim + c], it->second.row[c]);
      }
    } else if (op < 50) {  // Upsert: last occurrence wins
      std::vector<float> values(n * kDim);
      for (float& x : values) x = val(rng);
      table->Upsert(batch.view(), values);
      for (int64_t i = 0; i < n; ++i) {
        std::vector<float> row(values.begin() + i * kDim, values.begin() + (i + 1) * kDim);
        auto it = model.find(ids[i]);
        if (it == model.end()) {
          model.emplace(ids[i], NewEntry(row));
        } else {
          for (int64_t c = 0; c < kDim; ++c) it->second.row[c] = RoundStorage(row[c], spec_.value_dtype);
        }
      }
    } else if (op < 65) {  // Accumulate with the bp_v2 rule
      std::vector<float> values(n * kDim);
      for (float& x : values) x = val(rng);
      std::unique_ptr<bool[]> existed(new bool[n + 1]);
      for (int64_t i = 0; i < n; ++i) {
        // Mostly the truth at "lookup time", sometimes a simulated race.
        existed[i] = pick(5) == 0 ? pick(2) == 1 : model.count(ids[i]) > 0;
      }
      table->Accumulate(batch.view(), values, std::span<const bool>(existed.get(), n));
      for (int64_t i = 0; i < n; ++i) {
        auto it = model.find(ids[i]);
        const float* v = values.data() + i * kDim;
        if (it != model.end() && existed[i]) {
          for (int64_t c = 0; c < kDim; ++c) {
            it->second.row[c] = RoundStorage(it->second.row[c] + v[c], spec_.value_dtype);
          }
        } else if (it == model.end() && !existed[i]) {
          model.emplace(ids[i], NewEntry(std::vector<float>(v, v + kDim)));
        }
      }
    } else if (op < 75) {  // UpdateRows: row += i + 1, slot s += s + 1, meta
      const MissingKeys missing = pick(2) ? MissingKeys::kInsert : MissingKeys::kSkip;
      std::vector<int> calls;
      const auto stamp = static_cast<uint32_t>(step);
      table->UpdateRows(batch.view(), missing,
                        [&](int64_t i, float* row, float* slots, EntryMeta& meta, bool existed) {
                          calls.push_back(static_cast<int>(i));
                          for (int64_t c = 0; c < kDim; ++c) {
                            row[c] += static_cast<float>(i + 1);
                            slots[c] += 1.0f;
                            slots[kDim + c] += 2.0f;
                          }
                          meta.frequency += existed ? 1 : 100;
                          meta.last_update = stamp;
                        });
      std::vector<int> want_calls;
      for (int64_t i = 0; i < n; ++i) {
        auto it = model.find(ids[i]);
        bool existed = it != model.end();
        if (!existed) {
          if (missing == MissingKeys::kSkip) continue;
          it = model.emplace(ids[i], NewEntry(InitialRow(ids[i]))).first;
        }
        want_calls.push_back(static_cast<int>(i));
        Entry& e = it->second;
        for (int64_t c = 0; c < kDim; ++c) {
          e.row[c] = RoundStorage(e.row[c] + static_cast<float>(i + 1), spec_.value_dtype);
          e.slots[c] += 1.0f;
          e.slots[kDim + c] += 2.0f;
        }
        e.meta.frequency += existed ? 1 : 100;
        e.meta.last_update = stamp;
      }
      std::sort(calls.begin(), calls.end());
      ASSERT_EQ(calls, want_calls);
    } else if (op < 88) {  // Remove
      const int64_t removed = table->Remove(batch.view());
      int64_t want = 0;
      for (int id : ids) want += static_cast<int64_t>(model.erase(id));
      ASSERT_EQ(removed, want);
    } else if (op < 91) {  // EvictIf on meta (a restrict policy's sweep)
      const uint32_t threshold = static_cast<uint32_t>(pick(3));
      std::map<std::string, EntryMeta> seen;
      table->ForEachMeta([&](const KeyRef& key, const EntryMeta& meta) {
        seen.emplace(key.type == KeyType::kString ? "s:" + std::string(key.string)
                                                  : std::to_string(key.integer),
                     meta);
      });
      ASSERT_EQ(seen.size(), model.size());
      for (const auto& [id, e] : model) ASSERT_EQ(seen.at(Text(id)), e.meta);
      const int64_t evicted = table->EvictIf(
          [&](const KeyRef&, const EntryMeta& meta) { return meta.frequency <= threshold; });
      int64_t want = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second.meta.frequency <= threshold) {
          it = model.erase(it);
          ++want;
        } else {
          ++it;
        }
      }
      ASSERT_EQ(evicted, want);
    } else if (op < 93) {
      table->Clear();
      model.clear();
    } else if (op < 97) {  // Export -> Import round trip, into a fresh table too
      const ExportedEntries ex = table->Export();
      table->Import(ex);
      std::unique_ptr<DynamicStore> copy = NewDynamicTable(options);
      copy->Import(ex);
      CompareAll(*copy, model);
    } else {  // A failing Import (NaN in one row) leaves the table as it was
      std::vector<int> imp = random_ids();
      imp.push_back(pick(kPool));
      const Batch b = MakeBatch(imp);
      std::vector<float> values(imp.size() * kDim, 1.0f);
      values[values.size() - 1 - static_cast<size_t>(pick(kDim))] = NAN;
      EXPECT_THROW(table->Import(b.view(), values), InvalidArgument);
      std::vector<float> short_values(imp.size() * kDim - 1, 1.0f);
      EXPECT_THROW(table->Import(b.view(), short_values), InvalidArgument);
    }
    CompareAll(*table, model);
    if (HasFatalFailure()) return;
  }
}

TEST_P(DynamicTableModelTest, RandomOperationsMatchModel) {
  if (const char* env = std::getenv("EMBCOL_DYN_SEED")) {
    RunSequence(std::strtoull(env, nullptr, 10), 600, 1, 4);
    return;
  }
  // Tiny tables grow many times; one shard and many shards.
  for (uint64_t seed : {1u, 2u, 3u}) {
    RunSequence(seed * 7919 + static_cast<uint64_t>(GetParam().key_type) * 31 +
                    static_cast<uint64_t>(GetParam().dtype),
                400, seed == 1 ? 1 : 0, seed == 2 ? 1 : (seed == 1 ? 4 : 64));
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(
    DynamicTable, DynamicTableModelTest,
    testing::Values(Param{KeyType::kInt64, ValueDtype::kFloat32},
                    Param{KeyType::kInt64, ValueDtype::kBFloat16},
                    Param{KeyType::kInt64, ValueDtype::kFloat16},
                    Param{KeyType::kInt32, ValueDtype::kFloat32},
                    Param{KeyType::kInt32, ValueDtype::kFloat16},
                    Param{KeyType::kString, ValueDtype::kFloat32},
                    Param{KeyType::kString, ValueDtype::kBFloat16}),
    ParamName);

TEST(DynamicTableErrors, TypedErrorsNameTheTableAndTheFix) {
  DynamicTableOptions options;
  options.spec.name = "user_emb";
  options.spec.dim = 4;
  std::unique_ptr<DynamicStore> table = NewDynamicTable(options);
  const std::vector<std::string> strings = {"a"};
  std::vector<float> out(4);
  try {
    table->Lookup(KeyView(strings), out);
    FAIL() << "no error for string keys on an int64 table";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("user_emb"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pass int64 keys"), std::string::npos) << e.what();
  }
  const std::vector<int64_t> keys = {1, 2};
  const std::vector<float> three(3);
  try {
    table->Upsert(KeyView(keys), three);
    FAIL() << "no error for a dim mismatch";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("expected 8"), std::string::npos) << e.what();
  }
  std::vector<float> values(8, 1.0f);
  values[5] = INFINITY;
  try {
    table->Import(KeyView(keys), values);
    FAIL() << "no error for Inf on import";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("key 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ParseValueDtype("float64", "user_emb"), InvalidArgument);
  EXPECT_EQ(ParseValueDtype("half", "x"), ValueDtype::kFloat16);
  EXPECT_EQ(ParseKeyType("int32", "x"), KeyType::kInt32);
  EXPECT_THROW(ParseKeyType("uint8", "x"), InvalidArgument);
  DynamicTableOptions bad = options;
  bad.spec.dim = 0;
  EXPECT_THROW(NewDynamicTable(bad), InvalidArgument);
  bad = options;
  bad.num_shards = 3;
  EXPECT_THROW(NewDynamicTable(bad), InvalidArgument);
  bad = options;
  bad.spec.value_dtype = static_cast<ValueDtype>(9);
  EXPECT_THROW(NewDynamicTable(bad), InvalidArgument);
  bad = options;
  bad.spec.initializer.class_name = "Orthogonal";
  EXPECT_THROW(NewDynamicTable(bad), InvalidArgument);
}

// An unseen key reads the same vector on every lookup and in every table
// with the same seed, and lookups never insert.
TEST(DynamicTableBasics, UnseenKeysAreDeterministicAndNeverInserted) {
  DynamicTableOptions options;
  options.spec.name = "t";
  options.spec.dim = 3;
  options.spec.initializer = {"RandomNormal", {{"stddev", 1.0}}};
  options.spec.seed = 5;
  std::unique_ptr<DynamicStore> a = NewDynamicTable(options);
  std::unique_ptr<DynamicStore> b = NewDynamicTable(options);
  const std::vector<int64_t> keys = {77, -3, 77};
  std::vector<float> va(9), vb(9);
  a->Lookup(KeyView(keys), va);
  b->Lookup(KeyView(keys), vb);
  EXPECT_EQ(va, vb);
  EXPECT_EQ(a->Size(), 0);
  std::vector<float> want(3);
  MakeInitializer(options.spec.initializer, -1, 3, 5, "t")->InitRow(77, want.data());
  EXPECT_EQ(std::vector<float>(va.begin(), va.begin() + 3), want);
  EXPECT_EQ(std::vector<float>(va.begin() + 6, va.end()), want);
  std::unique_ptr<bool[]> exists(new bool[3]);
  a->LookupOrInit(KeyView(keys), vb, std::span<bool>(exists.get(), 3));
  EXPECT_EQ(va, vb);
  EXPECT_FALSE(exists[0]);
  EXPECT_FALSE(exists[1]);
  EXPECT_TRUE(exists[2]);  // the repeat of 77 found the first one's insert
  EXPECT_EQ(a->Size(), 2);
}

}  // namespace
}  // namespace embcol
