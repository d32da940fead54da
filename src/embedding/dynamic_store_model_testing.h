// The model-based test of a DynamicStore (dynamic_store.h), shared by every
// store implementation: random operation sequences against a std::map
// model, compared after every step, for every key type and storage dtype.
// Expected rows come from the model: rows rounded by an independent
// (frexp-based) rounding, initial rows from the initializer formula. A test
// file derives a fixture from DynamicStoreModelTest and calls RunSequence
// with a factory of fresh stores. Not thread-safe (test code).
#ifndef EMBCOL_EMBEDDING_DYNAMIC_STORE_MODEL_TESTING_H_
#define EMBCOL_EMBEDDING_DYNAMIC_STORE_MODEL_TESTING_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "core/hashing.h"
#include "embcol/dynamic_store.h"
#include "embcol/errors.h"
#include "embcol/initializer.h"

namespace embcol::store_testing {

// x rounded to `bits` significant bits (ties to even); numbers below 2^(min_exp-1)
// (the smallest normal) use the fixed subnormal quantum 2^(min_exp - bits),
// and magnitudes that round to `overflow` or more become Inf. Independent
// of the table's bit tricks.
inline float RoundToBits(float x, int bits, int min_exp, double overflow) {
  if (!std::isfinite(x) || x == 0.0f) return x;
  int e;
  std::frexp(static_cast<double>(x), &e);  // x = m * 2^e, 0.5 <= |m| < 1
  const int q = std::max(e, min_exp) - bits;  // quantum exponent
  const double scaled = std::ldexp(static_cast<double>(x), -q);
  const double r = std::ldexp(std::nearbyint(scaled), q);  // default mode: ties to even
  if (std::fabs(r) >= overflow) return std::copysign(INFINITY, x);
  return static_cast<float>(r);
}

inline float RoundStorage(float x, ValueDtype dtype) {
  switch (dtype) {
    case ValueDtype::kFloat32: return x;
    case ValueDtype::kBFloat16: return RoundToBits(x, 8, -125, INFINITY);
    case ValueDtype::kFloat16: return RoundToBits(x, 11, -13, 65536.0);
  }
  return x;
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

inline std::string ParamName(const testing::TestParamInfo<Param>& info) {
  return std::string(KeyTypeName(info.param.key_type)) + "_" +
         std::string(ValueDtypeName(info.param.dtype));
}

class DynamicStoreModelTest : public testing::TestWithParam<Param> {
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

  // A fresh, empty store of `spec` (called for the store under test and
  // for Import round-trip copies).
  using StoreFactory = std::function<std::unique_ptr<DynamicStore>(const DynamicStoreSpec& spec)>;
  // Closes and reopens the store (persistent stores): contents must survive.
  using Reopen = std::function<void(std::unique_ptr<DynamicStore>& store)>;
  // Random operations against a std::map model; with `reopen`, the store is
  // reopened every 37 steps and compared again.
  void RunSequence(uint64_t seed, int steps, const StoreFactory& make, const Reopen& reopen = {});

  DynamicStoreSpec spec_;
  std::unique_ptr<Initializer> init_;
  std::vector<int64_t> pool64_;
  std::vector<int32_t> pool32_;
  std::vector<std::string> pool_str_;
  std::unordered_map<std::string, int> index_of_;
};

inline void DynamicStoreModelTest::RunSequence(uint64_t seed, int steps,
                                              const StoreFactory& make, const Reopen& reopen) {
  SCOPED_TRACE("replay with EMBCOL_DYN_SEED=" + std::to_string(seed));
  std::unique_ptr<DynamicStore> table = make(spec_);
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
      std::unique_ptr<DynamicStore> copy = make(spec_);
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
    if (reopen && step % 37 == 36) {
      SCOPED_TRACE("after reopening");
      reopen(table);
      CompareAll(*table, model);
      if (HasFatalFailure()) return;
    }
  }
}

}  // namespace embcol::store_testing

#endif  // EMBCOL_EMBEDDING_DYNAMIC_STORE_MODEL_TESTING_H_
