#include <gtest/gtest.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;
using V = std::vector<int64_t>;
using W = std::vector<float>;

TEST(WeightedColumnTest, Properties) {
  const auto inner = categorical_column_with_identity("ids", 3);
  const auto c = weighted_categorical_column(inner, "values");
  EXPECT_EQ(c->name(), "ids_weighted_by_values");
  EXPECT_EQ(c->class_name(), "WeightedCategoricalColumn");
  EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"ids", "values"}));
  EXPECT_EQ(c->num_buckets(), 3);
  EXPECT_FALSE(c->is_sequence());
  const auto* w = dynamic_cast<const WeightedCategoricalColumn*>(c.get());
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->weight_feature_key(), "values");
  EXPECT_EQ(w->dtype(), DType::kFloat32);
  // input_keys is sorted: "a" (weights) before "ids".
  EXPECT_EQ(weighted_categorical_column(inner, "a")->input_keys(),
            (std::vector<std::string>{"a", "ids"}));
  const auto seq = weighted_categorical_column(
      sequence_categorical_column_with_identity("ids", 3), "w");
  EXPECT_TRUE(seq->is_sequence());
}

TEST(WeightedColumnTest, FactoryErrors) {
  const auto inner = categorical_column_with_identity("ids", 3);
  ExpectError<InvalidArgument>(
      [&] { weighted_categorical_column(inner, "values", DType::kString); },
      {"dtype string is not convertible to float."});
  ExpectError<InvalidArgument>([&] { weighted_categorical_column(inner, ""); },
                               {"weight_feature_key"});
  ExpectError<InvalidArgument>([&] { weighted_categorical_column(nullptr, "w"); },
                               {"categorical_column"});
  ExpectError<InvalidArgument>([&] { weighted_categorical_column(inner, "ids"); },
                               {"ids"});
}

TEST(WeightedColumnTest, DenseIdsAndDenseWeightsPairByPosition) {
  const auto c =
      weighted_categorical_column(categorical_column_with_identity("ids", 3), "w");
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"ids", Feature::Dense({2, 2}, Int64s{0, -1, 2, 1})},
                 {"w", Feature::Dense({2, 2}, Floats{0.5f, 0.0f, 1.5f, 2.0f})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{0, 2, 1}));
  EXPECT_EQ(t.weights, (W{0.5f, 1.5f, 2.0f}));
}

TEST(WeightedColumnTest, SparseWeightsAreUsedAsGiven) {
  const auto c =
      weighted_categorical_column(categorical_column_with_identity("ids", 3), "w");
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"ids", Feature::Ragged({0, 2, 3}, Int64s{2, 0, 1})},
                 {"w", Feature::Ragged({0, 2, 3}, Floats{0.0f, -1.0f, 3.0f})}}));
  EXPECT_EQ(t.ids, (V{2, 0, 1}));
  EXPECT_EQ(t.weights, (W{0.0f, -1.0f, 3.0f}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 1, 0}));
}

TEST(WeightedColumnTest, OovMinusOneIdsKeepTheirWeights) {
  const auto vocab = categorical_column_with_vocabulary_list("ids", Strings{"a", "b"});
  const auto c = weighted_categorical_column(vocab, "w");
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"ids", Feature::Dense({1, 3}, Strings{"b", "zzz", "a"})},
                 {"w", Feature::Dense({1, 3}, Floats{1.0f, 2.0f, 3.0f})}}));
  EXPECT_EQ(t.ids, (V{1, -1, 0}));
  EXPECT_EQ(t.weights, (W{1.0f, 2.0f, 3.0f}));
}

TEST(WeightedColumnTest, IntegerWeightsCastAndRankOne) {
  const auto c = weighted_categorical_column(categorical_column_with_identity("ids", 3),
                                             "w", DType::kInt64);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"ids", Feature::Dense({2}, Int64s{1, 2})},
                 {"w", Feature::Dense({2}, Int64s{4, -3})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 1}));
  EXPECT_EQ(t.ids, (V{1, 2}));
  EXPECT_EQ(t.weights, (W{4.0f, -3.0f}));
}

TEST(WeightedColumnTest, CountMismatchNamesBothKeys) {
  const auto c =
      weighted_categorical_column(categorical_column_with_identity("ids", 3), "w");
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(
            MakeBatch({{"ids", Feature::Dense({1, 3}, Int64s{1, 2, 0})},
                       {"w", Feature::Dense({1, 3}, Floats{4.0f, 0.0f, 1.0f})}}));
      },
      {"'w' has 2 values", "'ids' gives 3 ids", "ids_weighted_by_w"});
}

TEST(WeightedColumnTest, WeightDTypeMustMatch) {
  const auto c =
      weighted_categorical_column(categorical_column_with_identity("ids", 3), "w");
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"ids", Feature::Dense({1}, Int64s{1})},
                                       {"w", Feature::Dense({1}, Int64s{2})}}));
      },
      {"Bad dtype, expected float32, but got int64.", "'w'"});
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"ids", Feature::Dense({1}, Int64s{1})},
                                       {"w", Feature::Dense({1}, Strings{"2"})}}));
      },
      {"Bad dtype, expected float32, but got string."});
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"ids", Feature::Dense({1}, Int64s{1})}}));
      },
      {"Feature w is not in features dictionary."});
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"ids", Feature::Dense({1}, Int64s{1})},
                                       {"w", Feature::Dense({}, Floats{1.0f})}}));
      },
      {"Feature (key: w) cannot have rank 0."});
}

}  // namespace
}  // namespace embcol
