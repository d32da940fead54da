// Model-based test of the in-memory dynamic table (the harness is in
// dynamic_store_model_testing.h), plus its row conversions, errors and
// basics. Replay one sequence with EMBCOL_DYN_SEED=<seed>.
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
#include "embedding/dynamic_store_model_testing.h"
#include "embedding/dynamic_table_convert.h"

namespace embcol {
namespace {
using store_testing::Param;
using store_testing::ParamName;
using store_testing::RoundStorage;

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
class DynamicTableModelTest : public store_testing::DynamicStoreModelTest {
 protected:
  void RunSequence(uint64_t seed, int steps, int64_t init_capacity, int num_shards) {
    DynamicStoreModelTest::RunSequence(seed, steps, [&](const DynamicStoreSpec& spec) {
      DynamicTableOptions options;
      options.spec = spec;
      options.init_capacity = init_capacity;
      options.num_shards = num_shards;
      return NewDynamicTable(options);
    });
  }
};

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
