#include <fstream>

#include <gtest/gtest.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;
using V = std::vector<int64_t>;

const CategoricalColumn& Inner(const CategoricalColumnPtr& c) {
  const auto* seq = dynamic_cast<const SequenceCategoricalColumn*>(c.get());
  EXPECT_NE(seq, nullptr);
  return *seq->categorical_column();
}

TEST(SequenceColumnTest, FactoriesWrapTheRightColumn) {
  const std::string path = ::testing::TempDir() + "embcol_cat_seq_vocab.txt";
  std::ofstream(path, std::ios::trunc) << "a\nb\n";
  const auto id = sequence_categorical_column_with_identity("aaa", 4);
  const auto hash = sequence_categorical_column_with_hash_bucket("aaa", 10);
  const auto list = sequence_categorical_column_with_vocabulary_list(
      "aaa", Strings{"x", "y", "z"}, std::nullopt, -1, 2);
  const auto file = sequence_categorical_column_with_vocabulary_file("aaa", path);
  EXPECT_EQ(Inner(id).class_name(), "IdentityCategoricalColumn");
  EXPECT_EQ(Inner(hash).class_name(), "HashedCategoricalColumn");
  EXPECT_EQ(Inner(list).class_name(), "VocabularyListCategoricalColumn");
  EXPECT_EQ(Inner(file).class_name(), "VocabularyFileCategoricalColumn");
  EXPECT_EQ(id->num_buckets(), 4);
  EXPECT_EQ(hash->num_buckets(), 10);
  EXPECT_EQ(list->num_buckets(), 5);
  EXPECT_EQ(file->num_buckets(), 2);
  for (const auto& c : {id, hash, list, file}) {
    EXPECT_TRUE(c->is_sequence());
    EXPECT_EQ(c->name(), "aaa");
    EXPECT_EQ(c->class_name(), "SequenceCategoricalColumn");
    EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"aaa"}));
  }
  // Factory validation is the wrapped column's.
  ExpectError<InvalidArgument>(
      [] { sequence_categorical_column_with_identity("aaa", 0); },
      {"num_buckets 0 < 1, column_name aaa"});
  ExpectError<InvalidArgument>(
      [] { sequence_categorical_column_with_hash_bucket("aaa", 0); },
      {"hash_bucket_size must be at least 1"});
}

TEST(SequenceColumnTest, RejectsOtherColumns) {
  const auto id = categorical_column_with_identity("aaa", 4);
  ExpectError<InvalidArgument>(
      [&] {
        SequenceCategoricalColumn(weighted_categorical_column(id, "w"));
      },
      {"WeightedCategoricalColumn", "aaa_weighted_by_w"});
  ExpectError<InvalidArgument>(
      [&] {
        SequenceCategoricalColumn(crossed_column({std::string("a"), std::string("b")}, 3));
      },
      {"CrossedColumn"});
  ExpectError<InvalidArgument>(
      [&] {
        SequenceCategoricalColumn(sequence_categorical_column_with_identity("aaa", 4));
      },
      {"SequenceCategoricalColumn"});
  ExpectError<InvalidArgument>([] { SequenceCategoricalColumn(nullptr); },
                               {"categorical_column"});
}

TEST(SequenceColumnTest, RankTwoBecomesRankThree) {
  const auto c = sequence_categorical_column_with_identity("aaa", 4);
  // TensorFlow's sequence tests: ragged [[2], [0, 1]] -> [2, 2, 1].
  const IdTensor t =
      c->GetSparseTensors(MakeBatch({{"aaa", Feature::Ragged({0, 1, 3}, Int64s{2, 0, 1})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2, 1}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(t.ids, (V{2, 0, 1}));
}

TEST(SequenceColumnTest, DenseDropsPaddingThenReshapes) {
  const auto c = sequence_categorical_column_with_hash_bucket("aaa", 10);
  // omar->6, stringer->4, marlo->1 (reference §2.4).
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Dense({2, 3}, Strings{"omar", "", "", "stringer", "marlo", ""})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 3, 1}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(t.ids, (V{6, 4, 1}));
}

TEST(SequenceColumnTest, RankOneBecomesBatchByOneByOne) {
  const auto c = sequence_categorical_column_with_identity("aaa", 4);
  const IdTensor t =
      c->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({2}, Int64s{3, 1})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 1, 1}));
  EXPECT_EQ(t.indices, (V{0, 0, 0, 1, 0, 0}));
}

TEST(SequenceColumnTest, RankThreeKept) {
  const auto c = sequence_categorical_column_with_vocabulary_list(
      "aaa", Int64s{5, 6, 7});
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Sparse({0, 0, 1, 0, 1, 0, 1, 0, 1}, Int64s{7, 5, 6}, {2, 2, 2})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2, 2}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(t.ids, (V{2, 0, 1}));
}

TEST(SequenceColumnTest, RankFourFoldsTrailingDimensions) {
  const auto c = sequence_categorical_column_with_identity("aaa", 9);
  // Shape [1, 2, 2, 3]: index (0, 1, 1, 2) -> (0, 1, 1*3+2 = 5).
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Sparse({0, 0, 0, 1, 0, 1, 1, 2}, Int64s{4, 8}, {1, 2, 2, 3})}}));
  EXPECT_EQ(t.dense_shape, (V{1, 2, 6}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 5}));
  EXPECT_EQ(t.ids, (V{4, 8}));
}

}  // namespace
}  // namespace embcol
