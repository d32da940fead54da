// categorical_column_with_dynamic_vocabulary: keys, dedup, weights, dtype
// errors, and the columns that need bucket ids rejecting it.
#include <gtest/gtest.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"
#include "embcol/dense_column.h"
#include "embcol/embedding_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;

template <typename T>
const std::vector<T>& KeysOf(const IdTensor& t) {
  EXPECT_TRUE(t.has_keys());
  return std::get<std::vector<T>>(t.keys->keys);
}

TEST(DynamicVocabularyColumnTest, NameAndNoBucketCount) {
  auto c = categorical_column_with_dynamic_vocabulary("video");
  EXPECT_EQ(c->name(), "video");
  EXPECT_EQ(c->class_name(), "DynamicVocabularyCategoricalColumn");
  EXPECT_EQ(c->num_buckets(), kDynamicVocabularySize);
  EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"video"}));
  EXPECT_FALSE(c->is_sequence());
  EXPECT_TRUE(HasDynamicVocabulary(*c));
  EXPECT_FALSE(HasDynamicVocabulary(*categorical_column_with_identity("video", 3)));
  auto s = sequence_categorical_column_with_dynamic_vocabulary("video", "string");
  EXPECT_TRUE(s->is_sequence());
  ASSERT_NE(FindDynamicVocabularyColumn(*s), nullptr);
  EXPECT_EQ(FindDynamicVocabularyColumn(*s)->dtype(), "string");
}

TEST(DynamicVocabularyColumnTest, Int64KeysDedupInFirstOccurrenceOrder) {
  auto c = categorical_column_with_dynamic_vocabulary("video");
  // rows: {900, -7} {} {900, 5000000000}; -7 is a valid key (sparse input).
  auto batch = MakeBatch(
      {{"video", Feature::Ragged({0, 2, 2, 4}, Int64s{900, -7, 900, 5000000000})}});
  IdTensor t = c->GetSparseTensors(batch);
  EXPECT_EQ(t.dense_shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(t.indices, (std::vector<int64_t>{0, 0, 0, 1, 2, 0, 2, 1}));
  EXPECT_EQ(KeysOf<int64_t>(t), (std::vector<int64_t>{900, -7, 5000000000}));
  EXPECT_EQ(t.ids, (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_FALSE(t.has_weights());
}

TEST(DynamicVocabularyColumnTest, DenseInputDropsIgnoreCells) {
  auto c = categorical_column_with_dynamic_vocabulary("video");
  auto batch = MakeBatch({{"video", Feature::Dense({2, 2}, Int64s{4, -1, -1, 4})}});
  IdTensor t = c->GetSparseTensors(batch);
  EXPECT_EQ(t.indices, (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(KeysOf<int64_t>(t), (std::vector<int64_t>{4}));
  EXPECT_EQ(t.ids, (std::vector<int64_t>{0, 0}));
}

TEST(DynamicVocabularyColumnTest, Int32Keys) {
  auto c = categorical_column_with_dynamic_vocabulary("shop", "int32");
  auto batch = MakeBatch({{"shop", Feature::Ragged({0, 3}, Int64s{-3, 2147483647, -3})}});
  IdTensor t = c->GetSparseTensors(batch);
  EXPECT_EQ(KeysOf<int32_t>(t), (std::vector<int32_t>{-3, 2147483647}));
  EXPECT_EQ(t.ids, (std::vector<int64_t>{0, 1, 0}));

  auto too_big = MakeBatch({{"shop", Feature::Ragged({0, 1}, Int64s{2147483648})}});
  ExpectError<InvalidArgument>([&] { c->GetSparseTensors(too_big); },
                               {"'shop'", "2147483648", "int32", "\"int64\""});
}

TEST(DynamicVocabularyColumnTest, StringKeys) {
  auto c = categorical_column_with_dynamic_vocabulary("query", "string");
  // Dense input drops "" cells.
  auto batch =
      MakeBatch({{"query", Feature::Dense({2, 2}, Strings{"cat", "dog", "", "cat"})}});
  IdTensor t = c->GetSparseTensors(batch);
  EXPECT_EQ(t.indices, (std::vector<int64_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(KeysOf<std::string>(t), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(t.ids, (std::vector<int64_t>{0, 1, 0}));
}

TEST(DynamicVocabularyColumnTest, WeightedPairsWeightsWithKeys) {
  auto w = weighted_categorical_column(categorical_column_with_dynamic_vocabulary("video"),
                                       "video_w");
  EXPECT_TRUE(HasDynamicVocabulary(*w));
  EXPECT_EQ(w->num_buckets(), kDynamicVocabularySize);
  auto batch = MakeBatch({{"video", Feature::Ragged({0, 2, 3}, Int64s{8, 9, 8})},
                          {"video_w", Feature::Ragged({0, 2, 3}, Floats{0.5f, 2, 4})}});
  IdTensor t = w->GetSparseTensors(batch);
  EXPECT_EQ(KeysOf<int64_t>(t), (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(t.ids, (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(t.weights, (std::vector<float>{0.5f, 2, 4}));
}

TEST(DynamicVocabularyColumnTest, SequenceKeepsKeys) {
  auto s = sequence_categorical_column_with_dynamic_vocabulary("video");
  auto batch = MakeBatch({{"video", Feature::Ragged({0, 2, 3}, Int64s{11, 12, 12})}});
  IdTensor t = s->GetSparseTensors(batch);
  EXPECT_EQ(t.dense_shape, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(t.indices, (std::vector<int64_t>{0, 0, 0, 0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(KeysOf<int64_t>(t), (std::vector<int64_t>{11, 12}));
  EXPECT_EQ(t.ids, (std::vector<int64_t>{0, 1, 1}));
}

TEST(DynamicVocabularyColumnTest, WrongFeatureDtype) {
  auto ints = categorical_column_with_dynamic_vocabulary("video");
  auto strings = categorical_column_with_dynamic_vocabulary("query", "string");
  auto s_batch = MakeBatch({{"video", Feature::Ragged({0, 1}, Strings{"a"})}});
  ExpectError<InvalidArgument>([&] { ints->GetSparseTensors(s_batch); },
                               {"categorical_column_with_dynamic_vocabulary 'video'",
                                "feature 'video'", "dtype string", "keys are int64"});
  auto i_batch = MakeBatch({{"query", Feature::Ragged({0, 1}, Int64s{3})}});
  ExpectError<InvalidArgument>([&] { strings->GetSparseTensors(i_batch); },
                               {"'query'", "dtype int64", "keys are string"});
  auto f_batch = MakeBatch({{"video", Feature::Ragged({0, 1}, Floats{1.5f})}});
  ExpectError<InvalidArgument>([&] { ints->GetSparseTensors(f_batch); },
                               {"'video'", "dtype float32", "float features cannot be keys"});
  ExpectError<InvalidArgument>([&] { ints->GetSparseTensors(FeatureBatch()); },
                               {"video"});
}

TEST(DynamicVocabularyColumnTest, BadArguments) {
  ExpectError<InvalidArgument>([] { categorical_column_with_dynamic_vocabulary(""); },
                               {"key must be a non-empty string"});
  ExpectError<InvalidArgument>(
      [] { categorical_column_with_dynamic_vocabulary("video", "float32"); },
      {"'video'", "dtype 'float32'", "\"int64\", \"int32\" or \"string\""});
}

TEST(DynamicVocabularyColumnTest, IndicatorAndCrossedReject) {
  auto c = categorical_column_with_dynamic_vocabulary("video");
  ExpectError<InvalidArgument>([&] { indicator_column(c); },
                               {"video_indicator", "dynamic vocabulary", "embedding_column"});
  ExpectError<InvalidArgument>(
      [&] { indicator_column(weighted_categorical_column(c, "w")); },
      {"dynamic vocabulary", "embedding_column"});
  ExpectError<InvalidArgument>(
      [&] { crossed_column({c, std::string("query")}, 10); },
      {"crossed_column", "video", "DynamicVocabularyCategoricalColumn",
       "pass 'video' as a string key", "embedding_column"});
}

TEST(DynamicVocabularyColumnTest, EmbeddingColumnGetsDynamicTableOptions) {
  auto e = embedding_column(categorical_column_with_dynamic_vocabulary("video"), 4);
  EXPECT_TRUE(e->has_dynamic_vocabulary());
  EXPECT_EQ(e->key_dtype(), "int64");
  ASSERT_TRUE(e->options().dynamic_table.has_value());
  EXPECT_EQ(*e->options().dynamic_table, DynamicTableOptions{});

  EmbeddingColumnOptions o;
  o.dynamic_table.emplace();
  ExpectError<InvalidArgument>(
      [&] { embedding_column(categorical_column_with_identity("aaa", 3), 2, o); },
      {"embedding_column 'aaa_embedding'", "dynamic_table is set",
       "IdentityCategoricalColumn", "fixed vocabulary"});
  o.dynamic_table->num_shards = 0;
  ExpectError<InvalidArgument>(
      [&] { embedding_column(categorical_column_with_dynamic_vocabulary("v"), 2, o); },
      {"v_embedding", "num_shards", "got 0"});
  o.dynamic_table = DynamicTableOptions{};
  o.dynamic_table->init_capacity = -1;
  ExpectError<InvalidArgument>(
      [&] { embedding_column(categorical_column_with_dynamic_vocabulary("v"), 2, o); },
      {"init_capacity must be >= 0"});
  o.dynamic_table = DynamicTableOptions{};
  o.dynamic_table->restrict_policy = "lru";
  ExpectError<InvalidArgument>(
      [&] { embedding_column(categorical_column_with_dynamic_vocabulary("v"), 2, o); },
      {"dynamic_table.restrict_policy", "\"lru\""});
}

TEST(DynamicVocabularyColumnTest, SharedEmbeddingsChecks) {
  auto a = categorical_column_with_dynamic_vocabulary("a");
  auto b = categorical_column_with_dynamic_vocabulary("b");
  auto cols = shared_embeddings({a, b}, 3);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0]->table_name(), "a_b_shared_embedding");
  EXPECT_TRUE(cols[1]->has_dynamic_vocabulary());

  ExpectError<InvalidArgument>(
      [&] { shared_embeddings({a, categorical_column_with_identity("c", 5)}, 3); },
      {"a_c_shared_embedding", "a_shared_embedding", "c_shared_embedding",
       "dynamic vocabulary", "IdentityCategoricalColumn"});
  ExpectError<InvalidArgument>(
      [&] {
        shared_embeddings({a, categorical_column_with_dynamic_vocabulary("s", "string")}, 3);
      },
      {"a_s_shared_embedding", "keys int64", "keys string", "one key dtype"});
  // Weighted and plain dynamic columns may share (same key dtype).
  EXPECT_NO_THROW(shared_embeddings({weighted_categorical_column(a, "w"), b}, 3));
  // Table-level storage must agree.
  auto x = std::make_shared<SharedEmbeddingColumn>(a, 3, "t", EmbeddingColumnOptions{});
  EmbeddingColumnOptions other;
  other.dynamic_table.emplace();
  other.dynamic_table->num_shards = 2;
  auto y = std::make_shared<SharedEmbeddingColumn>(b, 3, "t", other);
  ExpectError<InvalidArgument>([&] { ValidateSharedEmbeddingColumns({x, y}); },
                               {"collection 't'", "disagree on dynamic_table"});
}

}  // namespace
}  // namespace embcol
