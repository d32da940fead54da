#include <gtest/gtest.h>

#include <farmhash.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;
using V = std::vector<int64_t>;

TEST(HashedColumnTest, Properties) {
  const auto c = categorical_column_with_hash_bucket("aaa", 10);
  EXPECT_EQ(c->name(), "aaa");
  EXPECT_EQ(c->class_name(), "HashedCategoricalColumn");
  EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"aaa"}));
  EXPECT_EQ(c->num_buckets(), 10);
  EXPECT_EQ(dynamic_cast<const HashedCategoricalColumn*>(c.get())->dtype(),
            DType::kString);
  // 1 is accepted although TensorFlow's docs say "> 1".
  EXPECT_EQ(categorical_column_with_hash_bucket("aaa", 1)->num_buckets(), 1);
}

TEST(HashedColumnTest, FactoryErrors) {
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_hash_bucket("aaa", 0); },
      {"hash_bucket_size must be at least 1. hash_bucket_size: 0, key: aaa"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_hash_bucket("aaa", -1); },
      {"hash_bucket_size must be at least 1. hash_bucket_size: -1, key: aaa"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_hash_bucket("aaa", 10, DType::kFloat32); },
      {"aaa", "dtype must be string or integer. dtype: float32"});
  ExpectError<InvalidArgument>([] { categorical_column_with_hash_bucket("", 10); },
                               {"key"});
}

TEST(HashedColumnTest, StringVectors) {
  // Reference §2.4: buckets=10: omar->6, stringer->4, marlo->1.
  const auto c = categorical_column_with_hash_bucket("aaa", 10);
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Sparse({0, 0, 1, 0, 1, 1}, Strings{"omar", "stringer", "marlo"},
                               {2, 2})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{6, 4, 1}));
  // buckets=100: skywalker->30, heisenberg->59.
  const auto c100 = categorical_column_with_hash_bucket("aaa", 100);
  EXPECT_EQ(c100->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense(
                                                          {2}, Strings{"skywalker",
                                                                       "heisenberg"})}}))
                .ids,
            (V{30, 59}));
}

TEST(HashedColumnTest, IntegerVectorsHashDecimalText) {
  // buckets=10: "101"->3, "201"->7, "301"->5.
  const auto c = categorical_column_with_hash_bucket("aaa", 10, DType::kInt64);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({2, 2}, Int64s{101, -1, 201, 301})}}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{3, 7, 5}));
  const auto c100 = categorical_column_with_hash_bucket("aaa", 100, DType::kInt64);
  const IdTensor u = c100->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Sparse({0, 0, 0, 1}, Int64s{100, -5}, {1, 2})}}));
  const int64_t minus_five = static_cast<int64_t>(util::Fingerprint64("-5", 2) % 100);
  EXPECT_EQ(u.ids, (V{55, minus_five}));  // sparse keeps -5 (and would keep -1)
}

TEST(HashedColumnTest, DenseDropsEmptyStringsSparseKeepsThem) {
  const auto c = categorical_column_with_hash_bucket("aaa", 10);
  const IdTensor dense = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({1, 3}, Strings{"", "marlo", ""})}}));
  EXPECT_EQ(dense.indices, (V{0, 1}));
  EXPECT_EQ(dense.ids, (V{1}));
  // Fingerprint64("") = 11160318154034397263, mod 10 = 3.
  const IdTensor sparse = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Sparse({0, 0}, Strings{""}, {1, 1})}}));
  EXPECT_EQ(sparse.ids, (V{3}));
}

TEST(HashedColumnTest, RankOneAndRaggedInputs) {
  const auto c = categorical_column_with_hash_bucket("aaa", 10);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({2}, Strings{"stringer", "omar"})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 1}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0}));
  EXPECT_EQ(t.ids, (V{4, 6}));
  const IdTensor r = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Ragged({0, 0, 2}, Strings{"marlo", "omar"})}}));
  EXPECT_EQ(r.dense_shape, (V{2, 2}));
  EXPECT_EQ(r.indices, (V{1, 0, 1, 1}));
  EXPECT_EQ(r.ids, (V{1, 6}));
}

TEST(HashedColumnTest, InputDTypeErrors) {
  const auto strings = categorical_column_with_hash_bucket("aaa", 10);
  const auto ints = categorical_column_with_hash_bucket("aaa", 10, DType::kInt64);
  ExpectError<InvalidArgument>(
      [&] {
        strings->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Int64s{1})}}));
      },
      {"Column dtype and SparseTensors dtype must be compatible. key: aaa"});
  ExpectError<InvalidArgument>(
      [&] {
        ints->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Strings{"1"})}}));
      },
      {"Column dtype and SparseTensors dtype must be compatible. key: aaa"});
  ExpectError<InvalidArgument>(
      [&] {
        strings->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Floats{1})}}));
      },
      {"column_name: aaa input_tensor dtype must be string or integer. dtype: float32"});
}

}  // namespace
}  // namespace embcol
