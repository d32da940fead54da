#include "columns/sparse_input.h"

#include <vector>

#include <gtest/gtest.h>

#include "columns/categorical_test_util.h"
#include "embcol/feature_column.h"

namespace embcol::internal {
namespace {

using testing_util::ExpectError;
using V = std::vector<int64_t>;

TEST(SparsifyTest, DenseIntDropsMinusOneAndKeepsIndices) {
  const Feature f = Feature::Dense({2, 3}, Int64s{4, -1, 5, -1, -1, 6});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_EQ(v.dense_shape, (V{2, 3}));
  EXPECT_EQ(v.indices, (V{0, 0, 0, 2, 1, 2}));
  ASSERT_EQ(v.nnz(), 3);
  EXPECT_EQ(v.position(0), 0);
  EXPECT_EQ(v.position(1), 2);
  EXPECT_EQ(v.position(2), 5);
}

TEST(SparsifyTest, DenseStringDropsEmpty) {
  const Feature f = Feature::Dense({2, 2}, Strings{"", "a", "b", ""});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_EQ(v.indices, (V{0, 1, 1, 0}));
  ASSERT_EQ(v.nnz(), 2);
  EXPECT_EQ(v.position(0), 1);
  EXPECT_EQ(v.position(1), 2);
}

TEST(SparsifyTest, DenseWithoutDroppedCellsKeepsAll) {
  const Feature f = Feature::Dense({1, 2}, Int64s{3, 4});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_TRUE(v.all_values);
  EXPECT_EQ(v.indices, (V{0, 0, 0, 1}));
  EXPECT_EQ(v.nnz(), 2);
}

TEST(SparsifyTest, ZeroWeightsDropsZerosOnly) {
  const Feature f = Feature::Dense({2, 2}, Floats{0.5f, 0.0f, -0.0f, -1.0f});
  const SparseView v = Sparsify(f, DropCells::kZeroWeights);
  EXPECT_EQ(v.indices, (V{0, 0, 1, 1}));
  ASSERT_EQ(v.nnz(), 2);
  EXPECT_EQ(v.position(1), 3);
  // -1 is a valid weight; "" / -1 rules do not apply to weights.
  const Feature ints = Feature::Dense({3}, Int64s{-1, 0, 2});
  const SparseView w = Sparsify(ints, DropCells::kZeroWeights);
  EXPECT_EQ(w.dense_shape, (V{3, 1}));
  EXPECT_EQ(w.indices, (V{0, 0, 2, 0}));
}

TEST(SparsifyTest, NoneKeepsIgnoreValues) {
  const Feature f = Feature::Dense({1, 2}, Strings{"", "x"});
  const SparseView v = Sparsify(f, DropCells::kNone);
  EXPECT_EQ(v.nnz(), 2);
  EXPECT_EQ(v.indices, (V{0, 0, 0, 1}));
}

TEST(SparsifyTest, RankOneDenseBecomesColumn) {
  const Feature f = Feature::Dense({3}, Int64s{7, -1, 9});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_EQ(v.dense_shape, (V{3, 1}));
  EXPECT_EQ(v.indices, (V{0, 0, 2, 0}));
}

TEST(SparsifyTest, RankThreeDenseKeepsFullIndex) {
  const Feature f = Feature::Dense({1, 2, 2}, Int64s{-1, 1, 2, -1});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_EQ(v.dense_shape, (V{1, 2, 2}));
  EXPECT_EQ(v.indices, (V{0, 0, 1, 0, 1, 0}));
}

TEST(SparsifyTest, SparseIsUsedAsGivenEvenWithIgnoreValues) {
  const Feature f = Feature::Sparse({0, 1, 2, 0}, Int64s{-1, 5}, {3, 4});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_TRUE(v.all_values);
  EXPECT_EQ(v.dense_shape, (V{3, 4}));
  EXPECT_EQ(v.indices, (V{0, 1, 2, 0}));
}

TEST(SparsifyTest, RankOneSparseBecomesColumn) {
  const Feature f = Feature::Sparse({1, 3}, Strings{"a", "b"}, {5});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_EQ(v.dense_shape, (V{5, 1}));
  EXPECT_EQ(v.indices, (V{1, 0, 3, 0}));
}

TEST(SparsifyTest, RaggedBecomesRowIndexedSparse) {
  const Feature f = Feature::Ragged({0, 2, 2, 3}, Int64s{1, 2, 3});
  const SparseView v = Sparsify(f, DropCells::kIgnoreIds);
  EXPECT_EQ(v.dense_shape, (V{3, 2}));
  EXPECT_EQ(v.indices, (V{0, 0, 0, 1, 2, 0}));
}

TEST(RawFeatureTest, RankZeroIsAnError) {
  FeatureBatch batch;
  batch.Set("aaa", Feature::Dense({}, Int64s{3}));
  ExpectError<InvalidArgument>([&] { GetRawFeature(batch, "aaa"); },
                               {"Feature (key: aaa) cannot have rank 0.", "Given:"});
  ExpectError<InvalidArgument>([&] { FeatureBatchSize(batch.Get("aaa"), "aaa"); },
                               {"Feature (key: aaa) cannot have rank 0."});
}

TEST(RawFeatureTest, MissingFeature) {
  FeatureBatch batch;
  ExpectError<InvalidArgument>([&] { GetRawFeature(batch, "bbb"); },
                               {"Feature bbb is not in features dictionary."});
}

TEST(FeatureBatchSizeTest, FirstDimension) {
  EXPECT_EQ(FeatureBatchSize(Feature::Dense({4}, Int64s{1, 2, 3, 4}), "k"), 4);
  EXPECT_EQ(FeatureBatchSize(Feature::Dense({2, 3}, Floats(6, 1.0f)), "k"), 2);
  EXPECT_EQ(FeatureBatchSize(Feature::Sparse({}, Strings{}, {7, 2}), "k"), 7);
  EXPECT_EQ(FeatureBatchSize(Feature::Ragged({0, 1, 1}, Int64s{5}), "k"), 2);
}

TEST(DTypeCheckTest, Messages) {
  const Feature floats = Feature::Dense({1}, Floats{1.0f});
  const Feature ints = Feature::Dense({1}, Int64s{1});
  const Feature strings = Feature::Dense({1}, Strings{"a"});
  ExpectError<InvalidArgument>(
      [&] { CheckStringOrIntInput(floats, "k", "col 'k'"); },
      {"column_name: k input_tensor dtype must be string or integer. dtype: float32",
       "col 'k'"});
  CheckStringOrIntInput(ints, "k", "c");
  CheckStringOrIntInput(strings, "k", "c");
  ExpectError<InvalidArgument>(
      [&] { CheckCompatibleInput(DType::kString, ints, "k", "c"); },
      {"Column dtype and SparseTensors dtype must be compatible. key: k, column "
       "dtype: string, tensor dtype: int64"});
  CheckCompatibleInput(DType::kInt64, ints, "k", "c");
  ExpectError<InvalidArgument>([&] { CheckIntegerInput(strings, "k", "c"); },
                               {"Invalid input, not integer. key: k dtype: string"});
}

}  // namespace
}  // namespace embcol::internal
