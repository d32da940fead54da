#include "embcol/embedding_column.h"

#include <cmath>

#include <gtest/gtest.h>

#include "embcol/errors.h"

namespace embcol {
namespace {

// Expects `fn` to throw InvalidArgument whose message contains every needle.
template <typename Fn>
void ExpectInvalid(Fn fn, std::initializer_list<const char*> needles) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    for (const char* n : needles) {
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << n;
    }
  }
}

CategoricalColumnPtr Ids(const std::string& key, int64_t n = 3) {
  return categorical_column_with_identity(key, n);
}

TEST(EmbeddingColumnTest, NameDefaultsAndDefaultInitializer) {
  auto c = embedding_column(Ids("aaa"), 2);
  EXPECT_EQ(c->name(), "aaa_embedding");
  EXPECT_EQ(c->table_name(), "aaa_embedding");
  EXPECT_EQ(c->dimension(), 2);
  EXPECT_EQ(c->variable_size(), 2);
  EXPECT_EQ(c->num_buckets(), 3);
  EXPECT_EQ(c->combiner(), Combiner::kMean);
  EXPECT_TRUE(c->options().trainable);
  EXPECT_TRUE(c->options().use_safe_embedding_lookup);
  EXPECT_EQ(c->options().max_sequence_length, 0);
  ASSERT_TRUE(c->options().initializer.has_value());
  EXPECT_EQ(c->options().initializer->class_name, "TruncatedNormal");
  // stddev = 1/sqrt(2)
  EXPECT_DOUBLE_EQ(c->options().initializer->config["stddev"].get<double>(),
                   1.0 / std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(c->options().initializer->config["mean"].get<double>(), 0.0);
}

TEST(EmbeddingColumnTest, TensorFlowErrors) {
  ExpectInvalid([] { embedding_column(Ids("aaa"), 0); }, {"Invalid dimension 0", "aaa"});
  ExpectInvalid([] { embedding_column(Ids("aaa"), -3); }, {"Invalid dimension -3"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.ckpt_to_load_from = "/tmp/ckpt";
        embedding_column(Ids("aaa"), 2, o);
      },
      {"Must specify both `ckpt_to_load_from` and `tensor_name_in_ckpt`", "aaa"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.tensor_name_in_ckpt = "t";
        embedding_column(Ids("aaa"), 2, o);
      },
      {"Must specify both"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.initializer = InitializerConfig{"_my_python_fn", {}};
        embedding_column(Ids("aaa"), 2, o);
      },
      {"initializer must be callable if specified", "column_name: aaa"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.combiner = "max";
        embedding_column(Ids("aaa"), 2, o);
      },
      {"combiner must be one of 'mean', 'sqrtn' or 'sum'", "aaa_embedding"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.max_norm = 0.0;
        embedding_column(Ids("aaa"), 2, o);
      },
      {"max_norm"});
}

TEST(EmbeddingColumnTest, AcceleratorArguments) {
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.max_sequence_length = 4;
        embedding_column(Ids("aaa"), 2, o);
      },
      {"Non zero max_seq_length=4 specified for non sequence column aaa"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.embedding_lookup_device = "gpu";
        embedding_column(Ids("aaa"), 2, o);
      },
      {"embedding_lookup_device must be in", "'gpu'"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.embedding_lookup_device = "tpu_tensor_core";
        embedding_column(Ids("aaa"), 2, o);
      },
      {"requires tensor_core_shape to be set"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.tensor_core_shape = std::vector<int64_t>{8, 4, 2};
        embedding_column(Ids("aaa"), 2, o);
      },
      {"tensor_core_shape must be size 2"});
  ExpectInvalid(
      [] {
        EmbeddingColumnOptions o;
        o.embedding_lookup_device = "tpu_embedding_core";
        embedding_column(sequence_categorical_column_with_identity("s", 5), 2, o);
      },
      {"max_sequence_length must be greater than 0 for sequence columns"});

  EmbeddingColumnOptions o;
  o.max_sequence_length = 3;
  o.embedding_lookup_device = "tpu_tensor_core";
  o.tensor_core_shape = std::vector<int64_t>{-1, 3};
  o.learning_rate_fn = LearningRateFn::Constant(0.5);
  auto c = embedding_column(sequence_categorical_column_with_identity("s", 5), 2, o);
  EXPECT_EQ(c->options().max_sequence_length, 3);
  EXPECT_EQ(*c->options().embedding_lookup_device, "tpu_tensor_core");
  EXPECT_DOUBLE_EQ((*c->options().learning_rate_fn)(100), 0.5);
  EXPECT_TRUE(c->is_sequence());
}

TEST(SharedEmbeddingsTest, OneColumnPerInputInOrderWithDerivedCollectionName) {
  auto cols = shared_embeddings({Ids("bbb"), Ids("aaa")}, 2);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0]->name(), "bbb_shared_embedding");
  EXPECT_EQ(cols[1]->name(), "aaa_shared_embedding");
  EXPECT_EQ(cols[0]->table_name(), "aaa_bbb_shared_embedding");
  EXPECT_EQ(cols[1]->table_name(), "aaa_bbb_shared_embedding");
  EXPECT_EQ(cols[0]->options().initializer, cols[1]->options().initializer);

  auto named = shared_embeddings({Ids("aaa"), Ids("bbb")}, 2, {}, "my_table");
  EXPECT_EQ(named[1]->shared_embedding_collection_name(), "my_table");

  // A weighted column's name goes into the default collection name.
  auto weighted = shared_embeddings(
      {weighted_categorical_column(Ids("ids"), "w"), Ids("aaa")}, 2);
  EXPECT_EQ(weighted[0]->table_name(), "aaa_ids_weighted_by_w_shared_embedding");
}

TEST(SharedEmbeddingsTest, ColumnsMustAgree) {
  ExpectInvalid(
      [] {
        shared_embeddings({Ids("aaa"), categorical_column_with_hash_bucket("bbb", 3)}, 2);
      },
      {"must have the same type", "IdentityCategoricalColumn", "HashedCategoricalColumn"});
  ExpectInvalid([] { shared_embeddings({Ids("aaa", 3), Ids("bbb", 4)}, 2); },
                {"same number of buckets", "3", "4"});
  ExpectInvalid([] { shared_embeddings({Ids("aaa"), Ids("aaa")}, 2); }, {"twice"});
  ExpectInvalid([] { shared_embeddings({}, 2); }, {"must not be empty"});
  ExpectInvalid([] { shared_embeddings({Ids("aaa"), Ids("bbb")}, 0); },
                {"Invalid dimension 0"});
}

TEST(SharedEmbeddingsTest, MaxSequenceLengths) {
  auto seq = sequence_categorical_column_with_identity("s", 3);
  ExpectInvalid([&] { shared_embeddings({Ids("aaa"), seq}, 2, {}, std::nullopt, {0}); },
                {"max_sequence_lengths and categorical_columns must be of the same length"});
  ExpectInvalid([&] { shared_embeddings({Ids("aaa"), seq}, 2, {}, std::nullopt, {0, 0}); },
                {"must be greater than 0 for sequence columns", "s"});
  ExpectInvalid([&] { shared_embeddings({Ids("aaa"), seq}, 2, {}, std::nullopt, {2, 5}); },
                {"Non zero max_seq_length=2", "aaa"});
  auto cols = shared_embeddings({Ids("aaa"), seq}, 2, {}, std::nullopt, {0, 5});
  EXPECT_EQ(cols[0]->options().max_sequence_length, 0);
  EXPECT_EQ(cols[1]->options().max_sequence_length, 5);
}

TEST(SharedEmbeddingsTest, ValidateRejectsDisagreeingTableSettings) {
  EmbeddingColumnOptions a, b;
  b.trainable = false;
  std::vector<std::shared_ptr<const SharedEmbeddingColumn>> cols = {
      std::make_shared<SharedEmbeddingColumn>(Ids("aaa"), 2, "t", a),
      std::make_shared<SharedEmbeddingColumn>(Ids("bbb"), 2, "t", b)};
  ExpectInvalid([&] { ValidateSharedEmbeddingColumns(cols); }, {"trainable", "'t'"});
  cols[1] = std::make_shared<SharedEmbeddingColumn>(Ids("bbb"), 3, "t", a);
  ExpectInvalid([&] { ValidateSharedEmbeddingColumns(cols); }, {"dimension"});
  cols[1] = std::make_shared<SharedEmbeddingColumn>(Ids("bbb"), 2, "t", a);
  EXPECT_NO_THROW(ValidateSharedEmbeddingColumns(cols));
}

}  // namespace
}  // namespace embcol
