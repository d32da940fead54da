#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include <farmhash.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;
using V = std::vector<int64_t>;

// The reference's formula (§2.6 step 4), written out independently of
// src/core/hashing.cc.
uint64_t Cat(uint64_t h, uint64_t f) {
  const uint64_t mul = 0xc6a4a7935bd1e995ULL;
  auto shift_mix = [](uint64_t x) { return x ^ (x >> 47); };
  uint64_t r = h ^ mul;
  r ^= shift_mix(f * mul) * mul;
  r *= mul;
  r = shift_mix(r) * mul;
  return shift_mix(r);
}
uint64_t Fp(const std::string& s) { return util::Fingerprint64(s.data(), s.size()); }

// 'a' stands in for TensorFlow's bucketized_column(a, [0, 1]) with a of shape
// [2]: its ids for a = ((-1, .5), (.5, 1)) are rows [0, 4] and [1, 5].
CategoricalColumnPtr BucketIds() { return categorical_column_with_identity("a", 6); }

FeatureBatch TensorFlowBatch() {
  return MakeBatch({
      {"a", Feature::Dense({2, 2}, Int64s{0, 4, 1, 5})},
      {"c", Feature::Sparse({0, 0, 1, 0, 1, 1}, Strings{"cA", "cB", "cC"}, {2, 2})},
      {"d1", Feature::Sparse({0, 0, 1, 0, 1, 1}, Strings{"d1A", "d1B", "d1C"}, {2, 2})},
      {"d2", Feature::Sparse({0, 0, 1, 0, 1, 1}, Strings{"d2A", "d2B", "d2C"}, {2, 2})},
  });
}

TEST(CrossedColumnTest, NameAndKeys) {
  const auto d = crossed_column({std::string("d1"), std::string("d2")}, 10);
  const auto c = crossed_column({d, std::string("c"), BucketIds()}, 15, 5);
  EXPECT_EQ(c->name(), "a_X_c_X_d1_X_d2");
  EXPECT_EQ(c->class_name(), "CrossedColumn");
  EXPECT_EQ(c->num_buckets(), 15);
  EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"a", "c", "d1", "d2"}));
  const auto leaves = crossed_column({std::string("d2"), std::string("c")}, 10);
  EXPECT_EQ(crossed_column({leaves, std::string("d1"), BucketIds()}, 10)->name(),
            "a_X_c_X_d1_X_d2");
  const auto* crossed = dynamic_cast<const CrossedColumn*>(c.get());
  ASSERT_NE(crossed, nullptr);
  EXPECT_EQ(crossed->hash_key(), 5);
  EXPECT_EQ(crossed->keys().size(), 3u);
}

TEST(CrossedColumnTest, FactoryErrors) {
  ExpectError<InvalidArgument>([] { crossed_column({std::string("a")}, 10); },
                               {"keys must be a list with length > 1. Given: ['a']"});
  ExpectError<InvalidArgument>([] { crossed_column({}, 10); },
                               {"keys must be a list with length > 1."});
  ExpectError<InvalidArgument>(
      [] { crossed_column({std::string("a"), std::string("c")}, 0); },
      {"hash_bucket_size must be > 1. hash_bucket_size: 0"});
  ExpectError<InvalidArgument>(
      [] { crossed_column({std::string("a"), std::string("c")}, -1); },
      {"hash_bucket_size must be > 1. hash_bucket_size: -1"});
  ExpectError<InvalidArgument>(
      [] {
        crossed_column({std::string("a"), categorical_column_with_hash_bucket("c", 10)},
                       10);
      },
      {"categorical_column_with_hash_bucket is not supported for crossing.", "c"});
  ExpectError<InvalidArgument>(
      [] {
        crossed_column({std::string("a"),
                        weighted_categorical_column(
                            categorical_column_with_identity("b", 3), "w")},
                       10);
      },
      {"crossed_column does not support weight_tensor", "b_weighted_by_w"});
  ExpectError<InvalidArgument>(
      [] { crossed_column({std::string("a"), CategoricalColumnPtr()}, 10); },
      {"Unsupported key type."});
  ExpectError<InvalidArgument>(
      [] { crossed_column({std::string("a"), std::string("")}, 10); },
      {"Unsupported key type."});
  // 1 is accepted, as in TensorFlow.
  EXPECT_EQ(crossed_column({std::string("a"), std::string("c")}, 1)->num_buckets(), 1);
}

// TensorFlow feature_column_v2_test CrossedColumnTest.test_get_sparse_tensors_simple.
TEST(CrossedColumnTest, TensorFlowSimpleVector) {
  const auto c = crossed_column({BucketIds(), std::string("c")}, 5, 5);
  const IdTensor t = c->GetSparseTensors(TensorFlowBatch());
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 1, 0, 1, 1, 1, 2, 1, 3}));
  EXPECT_EQ(t.ids, (V{1, 0, 1, 3, 4, 2}));
  EXPECT_EQ(t.dense_shape, (V{2, 4}));
  EXPECT_FALSE(t.has_weights());
}

// TensorFlow feature_column_v2_test CrossedColumnTest.test_get_sparse_tensors:
// a nested cross is flattened into its leaves.
TEST(CrossedColumnTest, TensorFlowNestedVector) {
  const auto crossed1 = crossed_column({std::string("d1"), std::string("d2")}, 10);
  const auto c = crossed_column({BucketIds(), std::string("c"), crossed1}, 15, 5);
  const IdTensor t = c->GetSparseTensors(TensorFlowBatch());
  V indices = {0, 0, 0, 1};
  for (int64_t j = 0; j < 16; ++j) {
    indices.push_back(1);
    indices.push_back(j);
  }
  EXPECT_EQ(t.indices, indices);
  EXPECT_EQ(t.ids, (V{6, 14, 0, 13, 8, 8, 10, 12, 2, 0, 1, 9, 8, 12, 2, 0, 10, 11}));
  EXPECT_EQ(t.dense_shape, (V{2, 16}));
}

// TensorFlow sparse_cross_op_test test_hashed_no_hash_key / test_hashed_output.
TEST(CrossedColumnTest, TensorFlowSparseCrossVectors) {
  const FeatureBatch batch = MakeBatch({
      {"f1", Feature::Sparse({0, 0}, Strings{"batch1-FC1-F1"}, {1, 1})},
      {"f2", Feature::Sparse({0, 0}, Strings{"batch1-FC2-F1"}, {1, 1})},
      {"f3", Feature::Sparse({0, 0}, Strings{"batch1-FC3-F1"}, {1, 1})},
  });
  const std::vector<CrossedKey> keys = {std::string("f1"), std::string("f2"),
                                        std::string("f3")};
  EXPECT_EQ(crossed_column(keys, 100)->GetSparseTensors(batch).ids, (V{83}));
  EXPECT_EQ(crossed_column(keys, 100, 0xDECAFCAFFE + 1)->GetSparseTensors(batch).ids,
            (V{31}));
}

TEST(CrossedColumnTest, RawIntegersUseRawBitsAndDenseKeepsEveryCell) {
  // Raw int64 values enter the chain as their bits (not their text); a dense
  // raw input is crossed cell by cell, "" and -1 included.
  const auto c = crossed_column({std::string("s"), std::string("n")}, 1000, 7);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"s", Feature::Dense({2, 2}, Strings{"x", "", "y", "z"})},
                 {"n", Feature::Dense({2}, Int64s{-1, 12})}}));
  auto id = [](const std::string& s, int64_t n) {
    return static_cast<int64_t>(Cat(Cat(7, Fp(s)), static_cast<uint64_t>(n)) % 1000);
  };
  EXPECT_EQ(t.ids, (V{id("x", -1), id("", -1), id("y", 12), id("z", 12)}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 1, 0, 1, 1}));
  EXPECT_EQ(t.dense_shape, (V{2, 2}));
}

TEST(CrossedColumnTest, CategoricalIdsLastInputFastestAndEmptyRows) {
  const auto vocab =
      categorical_column_with_vocabulary_list("v", Strings{"p", "q", "r"});
  const auto c = crossed_column({vocab, std::string("s")}, 97);
  // Row 0: v ids [2, -1 (OOV)] x s [m, n]; row 1: v empty -> nothing;
  // row 2: v [0] x s [o].
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"v", Feature::Ragged({0, 2, 2, 3}, Strings{"r", "zz", "p"})},
       {"s", Feature::Ragged({0, 2, 3, 4}, Strings{"m", "n", "unused", "o"})}}));
  auto id = [](int64_t v, const std::string& s) {
    return static_cast<int64_t>(
        Cat(Cat(0xDECAFCAFFEULL, static_cast<uint64_t>(v)), Fp(s)) % 97);
  };
  EXPECT_EQ(t.ids, (V{id(2, "m"), id(2, "n"), id(-1, "m"), id(-1, "n"), id(0, "o")}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 0, 2, 0, 3, 2, 0}));
  EXPECT_EQ(t.dense_shape, (V{3, 4}));
}

TEST(CrossedColumnTest, AllRowsEmpty) {
  const auto c = crossed_column({std::string("a"), std::string("b")}, 10);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"a", Feature::Sparse({}, Strings{}, {2, 3})},
                 {"b", Feature::Dense({2, 1}, Strings{"x", "y"})}}));
  EXPECT_TRUE(t.ids.empty());
  EXPECT_TRUE(t.indices.empty());
  EXPECT_EQ(t.dense_shape, (V{2, 0}));
}

TEST(CrossedColumnTest, InputErrors) {
  const auto c = crossed_column({std::string("a"), std::string("b")}, 10);
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"a", Feature::Dense({2}, Strings{"x", "y"})},
                                       {"b", Feature::Dense({3}, Strings{"x", "y", "z"})}}));
      },
      {"Expected batch size 2 got 3", "'b'"});
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"a", Feature::Dense({1}, Floats{1.0f})},
                                       {"b", Feature::Dense({1}, Strings{"x"})}}));
      },
      {"column_name: a input_tensor dtype must be string or integer. dtype: float32"});
  ExpectError<InvalidArgument>(
      [&] { c->GetSparseTensors(MakeBatch({{"a", Feature::Dense({1}, Strings{"x"})}})); },
      {"Feature b is not in features dictionary."});
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"a", Feature::Dense({}, Strings{"x"})},
                                       {"b", Feature::Dense({1}, Strings{"x"})}}));
      },
      {"Feature (key: a) cannot have rank 0."});
}

}  // namespace
}  // namespace embcol
