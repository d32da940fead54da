#include "embcol/dense_column.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "embcol/errors.h"

namespace embcol {
namespace {

TEST(NumericColumnTest, DefaultsAndName) {
  auto c = numeric_column("price");
  EXPECT_EQ(c->name(), "price");
  EXPECT_EQ(c->shape(), (std::vector<int64_t>{1}));
  EXPECT_EQ(c->variable_size(), 1);
  EXPECT_EQ(c->dtype(), DType::kFloat32);
  EXPECT_FALSE(c->default_value().has_value());
}

TEST(NumericColumnTest, ScalarDefaultIsExpandedToShape) {
  auto c = numeric_column("img", {2, 3}, std::vector<float>{1.0f});
  ASSERT_TRUE(c->default_value().has_value());
  EXPECT_EQ(*c->default_value(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(c->variable_size(), 6);
}

TEST(NumericColumnTest, BadArgumentsNameTheColumn) {
  try {
    numeric_column("price", {2, 0});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("price"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("greater than 0"), std::string::npos);
  }
  EXPECT_THROW(numeric_column("price", {2}, std::vector<float>{1, 2, 3}), InvalidArgument);
  EXPECT_THROW(numeric_column("price", {1}, std::nullopt, DType::kString), InvalidArgument);
}

TEST(NumericColumnTest, DenseValuesPassThroughIntsBecomeFloats) {
  FeatureBatch batch;
  batch.Set("a", Feature::Dense({2, 2}, Int64s{1, 2, 3, 4}));
  batch.Set("b", Feature::Dense({3}, Floats{0.5f, -1.5f, 2.0f}));
  DenseTensor a = numeric_column("a", {2})->GetDenseTensor(batch);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(a.values, (std::vector<float>{1, 2, 3, 4}));
  DenseTensor b = numeric_column("b")->GetDenseTensor(batch);
  EXPECT_EQ(b.shape, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(b.values, (std::vector<float>{0.5f, -1.5f, 2.0f}));
}

TEST(NumericColumnTest, NormalizerIsApplied) {
  FeatureBatch batch;
  batch.Set("a", Feature::Dense({2}, Floats{1.0f, 3.0f}));
  auto c = numeric_column("a", {1}, std::nullopt, DType::kFloat32,
                          [](float x) { return x + 2.0f; });
  EXPECT_EQ(c->GetDenseTensor(batch).values, (std::vector<float>{3.0f, 5.0f}));
}

TEST(NumericColumnTest, BadInputIsAnError) {
  FeatureBatch batch;
  batch.Set("sparse", Feature::Sparse({0, 0}, Floats{1.0f}, {1, 1}));
  batch.Set("wrong", Feature::Dense({2, 3}, Floats(6, 0.0f)));
  batch.Set("nan", Feature::Dense({2}, Floats{1.0f, std::nanf("")}));
  batch.Set("scalar", Feature::Dense({}, Floats{1.0f}));
  EXPECT_THROW(numeric_column("sparse")->GetDenseTensor(batch), InvalidArgument);
  EXPECT_THROW(numeric_column("wrong", {2})->GetDenseTensor(batch), InvalidArgument);
  EXPECT_THROW(numeric_column("nan")->GetDenseTensor(batch), InvalidArgument);
  EXPECT_THROW(numeric_column("missing")->GetDenseTensor(batch), InvalidArgument);
  try {
    numeric_column("scalar")->GetDenseTensor(batch);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Feature (key: scalar) cannot have rank 0"),
              std::string::npos);
  }
}

TEST(BucketizedColumnTest, BucketsIncludeTheirLeftBoundary) {
  // boundaries [0, 2, 4]: (-inf,0)->0, [0,2)->1, [2,4)->2, [4,inf)->3.
  auto b = bucketized_column(numeric_column("x", {2}), {0, 2, 4});
  EXPECT_EQ(b->name(), "x_bucketized");
  EXPECT_EQ(b->num_buckets(), 8);
  EXPECT_EQ(b->variable_size(), 8);
  FeatureBatch batch;
  batch.Set("x", Feature::Dense({2, 2}, Floats{-1.0f, 0.0f, 2.0f, 9.0f}));
  IdTensor ids = b->GetSparseTensors(batch);
  EXPECT_EQ(ids.dense_shape, (std::vector<int64_t>{2, 2}));
  // element j's bucket is offset by j * 4.
  EXPECT_EQ(ids.ids, (std::vector<int64_t>{0, 4 + 1, 2, 4 + 3}));
  EXPECT_EQ(ids.indices, (std::vector<int64_t>{0, 0, 0, 1, 1, 0, 1, 1}));
  DenseTensor d = b->GetDenseTensor(batch);
  EXPECT_EQ(d.shape, (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(d.values, (std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0,
                                          0, 0, 1, 0, 0, 0, 0, 1}));
}

TEST(BucketizedColumnTest, BoundariesMustBeSortedAndSourceOneDimensional) {
  EXPECT_THROW(bucketized_column(numeric_column("x"), {1, 1}), InvalidArgument);
  EXPECT_THROW(bucketized_column(numeric_column("x"), {2, 1}), InvalidArgument);
  EXPECT_THROW(bucketized_column(numeric_column("x"), {}), InvalidArgument);
  EXPECT_THROW(bucketized_column(numeric_column("x", {2, 2}), {1}), InvalidArgument);
}

TEST(IndicatorColumnTest, CountsDuplicatesAndIgnoresOutOfRange) {
  auto c = indicator_column(categorical_column_with_vocabulary_list(
      "color", Strings{"R", "G", "B"}, std::nullopt, -1, 1));
  EXPECT_EQ(c->name(), "color_indicator");
  EXPECT_EQ(c->variable_size(), 4);
  FeatureBatch batch;
  // row 0: G, G, R ; row 1: B ; row 2: (empty)
  batch.Set("color", Feature::Ragged({0, 3, 4, 4}, Strings{"G", "G", "R", "B"}));
  DenseTensor d = c->GetDenseTensor(batch);
  EXPECT_EQ(d.shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(d.values, (std::vector<float>{1, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}));

  // Identity ids without default: -1 contributes nothing.
  auto ident = indicator_column(categorical_column_with_identity("ids", 3));
  FeatureBatch b2;
  b2.Set("ids", Feature::Sparse({0, 0, 0, 1}, Int64s{2, -1}, {1, 2}));
  EXPECT_EQ(ident->GetDenseTensor(b2).values, (std::vector<float>{0, 0, 1}));
}

TEST(IndicatorColumnTest, WeightedColumnsSumTheirWeights) {
  auto c = indicator_column(weighted_categorical_column(
      categorical_column_with_identity("ids", 3), "w"));
  FeatureBatch batch;
  batch.Set("ids", Feature::Ragged({0, 3}, Int64s{0, 2, 0}));
  batch.Set("w", Feature::Ragged({0, 3}, Floats{0.5f, 2.0f, 0.25f}));
  EXPECT_EQ(c->GetDenseTensor(batch).values, (std::vector<float>{0.75f, 0, 2.0f}));
}

TEST(SequenceNumericColumnTest, StepsFromRaggedInput) {
  auto c = sequence_numeric_column("rating");
  EXPECT_EQ(c->name(), "rating");
  EXPECT_EQ(c->variable_size(), 1);
  FeatureBatch batch;
  batch.Set("rating", Feature::Ragged({0, 2, 3}, Floats{1.5f, 2.5f, 4.0f}));
  SequenceNumericColumn::Output out = c->GetSequenceDenseTensor(batch);
  EXPECT_EQ(out.values.shape, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(out.values.values, (std::vector<float>{1.5f, 2.5f, 4.0f, 0.0f}));
  EXPECT_EQ(out.sequence_length, (std::vector<int64_t>{2, 1}));
}

TEST(SequenceNumericColumnTest, MultiElementStepsAndDefaultPadding) {
  // shape [2]: each step is 2 values; rows of 4 values are 2 steps.
  auto c = sequence_numeric_column("xy", {2}, -1.0f, DType::kFloat32,
                                   [](float x) { return 10 * x; });
  FeatureBatch batch;
  // row 0: positions 0,1,2 -> steps [1,2],[3,pad]; row 1: position 1 -> [pad,5]
  batch.Set("xy", Feature::Sparse({0, 0, 0, 1, 0, 2, 1, 1}, Floats{1, 2, 3, 5}, {2, 4}));
  SequenceNumericColumn::Output out = c->GetSequenceDenseTensor(batch);
  EXPECT_EQ(out.values.shape, (std::vector<int64_t>{2, 2, 2}));
  // The normalizer applies to given values, not to the padding.
  EXPECT_EQ(out.values.values, (std::vector<float>{10, 20, 30, -1, -1, 50, -1, -1}));
  // ceil(3 / 2) = 2 and ceil(2 / 2) = 1
  EXPECT_EQ(out.sequence_length, (std::vector<int64_t>{2, 1}));
}

TEST(SequenceNumericColumnTest, Errors) {
  EXPECT_THROW(sequence_numeric_column("a", {0}), InvalidArgument);
  EXPECT_THROW(sequence_numeric_column("a", {1}, 0.0f, DType::kString), InvalidArgument);
  FeatureBatch batch;
  batch.Set("odd", Feature::Sparse({0, 0}, Floats{1}, {1, 3}));
  batch.Set("s", Feature::Ragged({0, 1}, Strings{"x"}));
  EXPECT_THROW(sequence_numeric_column("odd", {2})->GetSequenceDenseTensor(batch),
               InvalidArgument);
  EXPECT_THROW(sequence_numeric_column("s")->GetSequenceDenseTensor(batch), InvalidArgument);
}

}  // namespace
}  // namespace embcol
