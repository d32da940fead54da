#include <gtest/gtest.h>

#include <farmhash.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;
using V = std::vector<int64_t>;

const Strings kVocab = {"omar", "stringer", "marlo"};

TEST(VocabularyListColumnTest, Properties) {
  const auto c = categorical_column_with_vocabulary_list("aaa", kVocab, std::nullopt,
                                                         -1, 2);
  EXPECT_EQ(c->name(), "aaa");
  EXPECT_EQ(c->class_name(), "VocabularyListCategoricalColumn");
  EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"aaa"}));
  EXPECT_EQ(c->num_buckets(), 5);
  const auto* v = dynamic_cast<const VocabularyListCategoricalColumn*>(c.get());
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->dtype(), DType::kString);
  EXPECT_EQ(v->default_value(), -1);
  EXPECT_EQ(v->num_oov_buckets(), 2);
  const auto ints = categorical_column_with_vocabulary_list("b", Int64s{4, 5});
  EXPECT_EQ(dynamic_cast<const VocabularyListCategoricalColumn*>(ints.get())->dtype(),
            DType::kInt64);
  EXPECT_EQ(ints->num_buckets(), 2);
}

TEST(VocabularyListColumnTest, FactoryErrors) {
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", Strings{}); },
      {"must be non-empty, column_name: aaa"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", Strings{"a", "b", "a"}); },
      {"Duplicate keys in vocabulary_list", "column_name: aaa", "'a'", "0 and 2"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", Int64s{1, 2, 2}); },
      {"Duplicate keys in vocabulary_list", "column_name: aaa", "1 and 2"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", kVocab, std::nullopt, -1, -1); },
      {"Invalid num_oov_buckets -1 in aaa."});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", kVocab, std::nullopt, 2, 1); },
      {"Can't specify both num_oov_buckets and default_value in aaa."});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", kVocab, DType::kFloat32); },
      {"column_name: aaa vocabulary dtype must be string or integer. dtype: float32"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", kVocab, DType::kInt64); },
      {"dtype int64 and vocabulary dtype string do not match, column_name: aaa"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("aaa", Int64s{1}, DType::kString); },
      {"dtype string and vocabulary dtype int64 do not match, column_name: aaa"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_vocabulary_list("", kVocab); }, {"key"});
}

TEST(VocabularyListColumnTest, DenseStringsDropEmptyAndOovIsDefault) {
  const auto c = categorical_column_with_vocabulary_list("aaa", kVocab);
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Dense({2, 2}, Strings{"marlo", "", "skywalker", "omar"})}}));
  EXPECT_EQ(t.dense_shape, (V{2, 2}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{2, -1, 0}));
}

TEST(VocabularyListColumnTest, ExplicitDefaultValue) {
  const auto c =
      categorical_column_with_vocabulary_list("aaa", kVocab, DType::kString, 2);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Sparse({0, 0, 1, 0}, Strings{"x", "stringer"}, {2, 1})}}));
  EXPECT_EQ(t.ids, (V{2, 1}));
}

TEST(VocabularyListColumnTest, OovBucketsHashTheString) {
  // Fingerprint64 % 4 (reference §2.4): skywalker->2, fox->2; hand-picked
  // vocabulary of other words so that omar/stringer/marlo are OOV:
  // omar->2, stringer->0, marlo->3.
  const auto c = categorical_column_with_vocabulary_list(
      "aaa", Strings{"a", "b", "c"}, std::nullopt, -1, 4);
  EXPECT_EQ(c->num_buckets(), 7);
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Ragged({0, 3, 6},
                               Strings{"omar", "b", "stringer", "marlo", "skywalker",
                                       "fox"})}}));
  EXPECT_EQ(t.ids, (V{3 + 2, 1, 3 + 0, 3 + 3, 3 + 2, 3 + 2}));
  EXPECT_EQ(t.dense_shape, (V{2, 3}));
}

TEST(VocabularyListColumnTest, IntegerVocabulary) {
  const auto c = categorical_column_with_vocabulary_list("aaa", Int64s{10, 20, 30});
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({2, 2}, Int64s{30, -1, 11, 10})}}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{2, -1, 0}));
}

TEST(VocabularyListColumnTest, IntegerOovHashesDecimalText) {
  // "100" % 100 -> 55 and "101" % 10 -> 3 (reference §2.4).
  const auto c100 = categorical_column_with_vocabulary_list(
      "aaa", Int64s{10, 20, 30}, std::nullopt, -1, 100);
  EXPECT_EQ(c100->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Int64s{100})}}))
                .ids,
            (V{3 + 55}));
  const auto c10 = categorical_column_with_vocabulary_list(
      "aaa", Int64s{10, 20, 30}, DType::kInt64, -1, 10);
  const IdTensor t = c10->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Sparse({0, 0, 1, 0}, Int64s{101, -5}, {2, 1})}}));
  const int64_t minus_five = static_cast<int64_t>(util::Fingerprint64("-5", 2) % 10);
  EXPECT_EQ(t.ids, (V{3 + 3, 3 + minus_five}));
}

TEST(VocabularyListColumnTest, InputDTypeErrors) {
  const auto strings = categorical_column_with_vocabulary_list("aaa", kVocab);
  const auto ints = categorical_column_with_vocabulary_list("aaa", Int64s{1});
  ExpectError<InvalidArgument>(
      [&] {
        strings->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Int64s{1})}}));
      },
      {"Column dtype and SparseTensors dtype must be compatible. key: aaa, column "
       "dtype: string, tensor dtype: int64"});
  ExpectError<InvalidArgument>(
      [&] {
        ints->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Strings{"1"})}}));
      },
      {"Column dtype and SparseTensors dtype must be compatible. key: aaa, column "
       "dtype: int64, tensor dtype: string"});
  ExpectError<InvalidArgument>(
      [&] {
        ints->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Floats{1.0f})}}));
      },
      {"column_name: aaa input_tensor dtype must be string or integer. dtype: float32"});
  ExpectError<InvalidArgument>(
      [&] {
        ints->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({}, Int64s{1})}}));
      },
      {"Feature (key: aaa) cannot have rank 0."});
}

}  // namespace
}  // namespace embcol
