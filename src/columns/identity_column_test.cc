#include <gtest/gtest.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;
using V = std::vector<int64_t>;

TEST(IdentityColumnTest, Properties) {
  const auto c = categorical_column_with_identity("aaa", 5);
  EXPECT_EQ(c->name(), "aaa");
  EXPECT_EQ(c->class_name(), "IdentityCategoricalColumn");
  EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"aaa"}));
  EXPECT_EQ(c->num_buckets(), 5);
  EXPECT_FALSE(c->is_sequence());
  const auto* identity = dynamic_cast<const IdentityCategoricalColumn*>(c.get());
  ASSERT_NE(identity, nullptr);
  EXPECT_FALSE(identity->default_value().has_value());
}

TEST(IdentityColumnTest, FactoryErrors) {
  ExpectError<InvalidArgument>([] { categorical_column_with_identity("aaa", 0); },
                               {"num_buckets 0 < 1, column_name aaa"});
  ExpectError<InvalidArgument>([] { categorical_column_with_identity("aaa", -3); },
                               {"num_buckets -3 < 1, column_name aaa"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_identity("aaa", 4, -1); },
      {"default_value -1 not in range [0, 4), column_name aaa"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_identity("aaa", 4, 4); },
      {"default_value 4 not in range [0, 4), column_name aaa"});
  ExpectError<InvalidArgument>([] { categorical_column_with_identity("", 4); },
                               {"key"});
}

TEST(IdentityColumnTest, DenseDropsMinusOne) {
  const auto c = categorical_column_with_identity("aaa", 5);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({2, 2}, Int64s{0, -1, 3, 1})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{0, 3, 1}));
  EXPECT_FALSE(t.has_weights());
}

TEST(IdentityColumnTest, RankOneDenseBecomesBatchByOne) {
  const auto c = categorical_column_with_identity("aaa", 5);
  const IdTensor t =
      c->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({3}, Int64s{1, -1, 2})}}));
  EXPECT_EQ(t.dense_shape, (V{3, 1}));
  EXPECT_EQ(t.indices, (V{0, 0, 2, 0}));
  EXPECT_EQ(t.ids, (V{1, 2}));
}

TEST(IdentityColumnTest, SparseKeepsNegativeIdsWithoutDefault) {
  const auto c = categorical_column_with_identity("aaa", 3);
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Sparse({0, 0, 1, 0, 1, 1}, Int64s{2, -1, -7}, {2, 2})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{2, -1, -7}));  // negatives: pruned later by the lookup
}

TEST(IdentityColumnTest, RaggedInput) {
  const auto c = categorical_column_with_identity("aaa", 10);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Ragged({0, 3, 3, 4}, Int64s{9, 0, 5, 4})}}));
  EXPECT_EQ(t.dense_shape, (V{3, 3}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 0, 2, 2, 0}));
  EXPECT_EQ(t.ids, (V{9, 0, 5, 4}));
}

TEST(IdentityColumnTest, DefaultValueReplacesOutOfRange) {
  const auto c = categorical_column_with_identity("aaa", 4, 3);
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Sparse({0, 0, 0, 1, 1, 0, 1, 1}, Int64s{1, 4, -2, 0}, {2, 2})}}));
  EXPECT_EQ(t.ids, (V{1, 3, 3, 0}));
}

TEST(IdentityColumnTest, TooLargeIdWithoutDefaultIsOutOfRange) {
  const auto c = categorical_column_with_identity("aaa", 5);
  ExpectError<OutOfRange>(
      [&] {
        c->GetSparseTensors(
            MakeBatch({{"aaa", Feature::Dense({2, 2}, Int64s{0, 1, 2, 7})}}));
      },
      {"'aaa'", "id 7 at value 3", "[0, 5)", "default_value"});
}

TEST(IdentityColumnTest, RankThreeKept) {
  const auto c = categorical_column_with_identity("aaa", 5);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({1, 2, 2}, Int64s{1, -1, -1, 4})}}));
  EXPECT_EQ(t.dense_shape, (V{1, 2, 2}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{1, 4}));
}

TEST(IdentityColumnTest, InputErrors) {
  const auto c = categorical_column_with_identity("aaa", 5);
  ExpectError<InvalidArgument>(
      [&] { c->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Strings{"1"})}})); },
      {"Invalid input, not integer. key: aaa dtype: string"});
  ExpectError<InvalidArgument>(
      [&] { c->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Floats{1.0f})}})); },
      {"Invalid input, not integer. key: aaa dtype: float32"});
  ExpectError<InvalidArgument>(
      [&] { c->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({}, Int64s{1})}})); },
      {"Feature (key: aaa) cannot have rank 0."});
  ExpectError<InvalidArgument>(
      [&] { c->GetSparseTensors(MakeBatch({{"bbb", Feature::Dense({1}, Int64s{1})}})); },
      {"Feature aaa is not in features dictionary."});
}

TEST(IdentityColumnTest, EmptyBatch) {
  const auto c = categorical_column_with_identity("aaa", 5);
  const IdTensor t =
      c->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({2, 2}, Int64s(4, -1))}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2}));
  EXPECT_TRUE(t.indices.empty());
  EXPECT_TRUE(t.ids.empty());
}

}  // namespace
}  // namespace embcol
