// Tests for embcol's extensions of the feature-column JSON: shared
// embeddings, accelerator keys, and de-duplication. Expected JSON is written
// by hand from docs/config-format.md, never taken from the writer's output.
#include <string>

#include <gtest/gtest.h>

#include "columns/serialization_test_util.h"
#include "embcol/categorical_column.h"
#include "embcol/dense_column.h"
#include "embcol/embedding_column.h"
#include "embcol/errors.h"
#include "embcol/serialization.h"

namespace embcol {
namespace {

using namespace serialization_test;  // NOLINT

TEST(SerializationTest, DeduplicationRejectsConflictingDefinitions) {
  json list = json::parse(R"([
    {"class_name": "NumericColumn", "config": {"key": "age", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
    {"class_name": "BucketizedColumn", "config": {"source_column":
      {"class_name": "NumericColumn", "config": {"key": "age", "shape": [2], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
      "boundaries": [1]}}])");
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(list); },
                                   {"$[1].config.source_column", "NumericColumn:age", "$[0]"});
}

// ---- shared embeddings (embcol extension) ------------------------------------

const char kSharedPair[] = R"([
  {"class_name": "SharedEmbeddingColumn", "config": {
    "categorical_column": {"class_name": "IdentityCategoricalColumn",
                           "config": {"key": "a", "number_buckets": 10, "default_value": null}},
    "shared_embedding_collection_name": "shared_ab",
    "dimension": 4, "combiner": "mean",
    "initializer": {"class_name": "TruncatedNormal",
                    "config": {"mean": 0.0, "stddev": 0.5, "seed": null, "dtype": "float32"}},
    "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
    "trainable": true, "use_safe_embedding_lookup": true}},
  {"class_name": "SharedEmbeddingColumn", "config": {
    "categorical_column": {"class_name": "IdentityCategoricalColumn",
                           "config": {"key": "b", "number_buckets": 10, "default_value": null}},
    "shared_embedding_collection_name": "shared_ab",
    "dimension": 4, "combiner": "sum",
    "initializer": {"class_name": "TruncatedNormal",
                    "config": {"mean": 0.0, "stddev": 0.5, "seed": null, "dtype": "float32"}},
    "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": 2.0,
    "trainable": true, "use_safe_embedding_lookup": false}}
])";

TEST(SerializationTest, SharedEmbeddingGroupShareOneTable) {
  auto columns = DeserializeFeatureColumns(json::parse(kSharedPair));
  ASSERT_EQ(columns.size(), 2u);
  auto a = std::dynamic_pointer_cast<const SharedEmbeddingColumn>(columns[0]);
  auto b = std::dynamic_pointer_cast<const SharedEmbeddingColumn>(columns[1]);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->name(), "a_shared_embedding");
  EXPECT_EQ(b->name(), "b_shared_embedding");
  EXPECT_EQ(a->table_name(), "shared_ab");
  EXPECT_EQ(b->table_name(), "shared_ab");
  // Per-column settings.
  EXPECT_EQ(a->options().combiner, "mean");
  EXPECT_EQ(b->options().combiner, "sum");
  EXPECT_FALSE(a->options().max_norm.has_value());
  EXPECT_DOUBLE_EQ(*b->options().max_norm, 2.0);
  EXPECT_FALSE(b->options().use_safe_embedding_lookup);
  EXPECT_EQ(SerializeFeatureColumns(columns).dump(), ordered_json::parse(kSharedPair).dump());
}

TEST(SerializationTest, CppSharedEmbeddingsSerialize) {
  auto shared = shared_embeddings(
      {categorical_column_with_identity("a", 10), categorical_column_with_identity("b", 10)},
      4, {}, std::string("shared_ab"));
  ASSERT_EQ(shared.size(), 2u);
  ordered_json expected = ordered_json::parse(kSharedPair);
  // shared_embeddings gives every column the same combiner / max_norm / safe lookup.
  expected[1]["config"]["combiner"] = "mean";
  expected[1]["config"]["max_norm"] = nullptr;
  expected[1]["config"]["use_safe_embedding_lookup"] = true;
  EXPECT_EQ(SerializeFeatureColumns({shared[0], shared[1]}).dump(), expected.dump());
}

TEST(SerializationTest, SharedEmbeddingGroupDisagreementIsAnError) {
  json list = json::parse(kSharedPair);
  list[1]["config"]["dimension"] = 8;
  list[1]["config"]["initializer"]["config"]["stddev"] = 0.35355339059327373;
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(list); },
                                   {"$[1]", "shared_ab", "dimension", "$[0]"});
  list = json::parse(kSharedPair);
  list[1]["config"]["trainable"] = false;
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(list); },
                                   {"$[1]", "shared_ab", "trainable"});
  list = json::parse(kSharedPair);
  list[1]["config"]["categorical_column"]["config"]["number_buckets"] = 11;
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(list); },
                                   {"$[1]", "shared_ab", "buckets"});
}

TEST(SerializationTest, SharedEmbeddingGroupsAcrossALayer) {
  json layer = {{"class_name", "DenseFeatures"},
                {"config", {{"name", "dense_features"}, {"trainable", true},
                            {"dtype", "float32"},
                            {"feature_columns", json::parse(kSharedPair)},
                            {"partitioner", nullptr}}}};
  layer["config"]["feature_columns"][1]["config"]["dimension"] = 2;
  layer["config"]["feature_columns"][1]["config"]["initializer"]["config"]["stddev"] =
      0.7071067811865475;
  ExpectThrowWith<InvalidArgument>([&] { ParseLayerConfig(layer); },
                                   {"$.config.feature_columns[1]", "shared_ab", "dimension"});
  layer["config"]["feature_columns"] = json::parse(kSharedPair);
  LayerConfig parsed = ParseLayerConfig(layer);
  ASSERT_EQ(parsed.feature_columns.size(), 2u);
  EXPECT_EQ(SerializeLayerConfig(parsed).dump(),
            ordered_json::parse(R"({"class_name": "DenseFeatures", "config": {
              "name": "dense_features", "trainable": true, "dtype": "float32",
              "feature_columns": )" + std::string(kSharedPair) + R"(, "partitioner": null}})")
                .dump());
}

TEST(SerializationTest, SharedEmbeddingNullCollectionNameUsesTheDefault) {
  json list = json::parse(kSharedPair);
  list.erase(1);
  list[0]["config"]["shared_embedding_collection_name"] = nullptr;
  auto column = std::dynamic_pointer_cast<const SharedEmbeddingColumn>(
      DeserializeFeatureColumns(list).at(0));
  ASSERT_TRUE(column);
  EXPECT_EQ(column->table_name(), "a_shared_embedding");
  EXPECT_EQ(SerializeFeatureColumn(*column)["config"]["shared_embedding_collection_name"],
            "a_shared_embedding");
}

// ---- accelerator keys (embcol extension) --------------------------------------

const char kAccelerated[] = R"({
  "class_name": "EmbeddingColumn",
  "config": {
    "categorical_column": {"class_name": "SequenceCategoricalColumn", "config": {
      "categorical_column": {"class_name": "IdentityCategoricalColumn",
                             "config": {"key": "watches", "number_buckets": 100, "default_value": null}}}},
    "dimension": 16, "combiner": "mean",
    "initializer": {"class_name": "TruncatedNormal",
                    "config": {"mean": 0.0, "stddev": 0.25, "seed": null, "dtype": "float32"}},
    "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
    "trainable": true, "use_safe_embedding_lookup": true,
    "max_sequence_length": 5,
    "learning_rate_fn": {"class_name": "ExponentialDecay",
                         "config": {"initial_learning_rate": 0.1, "decay_steps": 10,
                                    "decay_rate": 0.5, "staircase": true}},
    "embedding_lookup_device": "tpu_tensor_core",
    "tensor_core_shape": [null, 8]
  }
})";

TEST(SerializationTest, AcceleratorKeysRoundTrip) {
  ExpectRoundTrip(kAccelerated);
  auto column = std::dynamic_pointer_cast<const EmbeddingColumn>(LoadOne(kAccelerated));
  ASSERT_TRUE(column);
  const EmbeddingColumnOptions& o = column->options();
  EXPECT_EQ(o.max_sequence_length, 5);
  ASSERT_TRUE(o.learning_rate_fn.has_value());
  EXPECT_DOUBLE_EQ((*o.learning_rate_fn)(10), 0.05);  // 0.1 * 0.5^1
  EXPECT_EQ(o.embedding_lookup_device, std::optional<std::string>("tpu_tensor_core"));
  EXPECT_EQ(o.tensor_core_shape, (std::optional<std::vector<int64_t>>({-1, 8})));
}

TEST(SerializationTest, AcceleratorKeysAreAllWrittenWhenOneIsSet) {
  EmbeddingColumnOptions options;
  options.embedding_lookup_device = "cpu";
  auto column = embedding_column(categorical_column_with_identity("aaa", 3), 2, options);
  ordered_json expected = ordered_json::parse(kExample1);
  expected["config"]["max_sequence_length"] = 0;
  expected["config"]["learning_rate_fn"] = nullptr;
  expected["config"]["embedding_lookup_device"] = "cpu";
  expected["config"]["tensor_core_shape"] = nullptr;
  EXPECT_EQ(SerializeFeatureColumn(*column).dump(), expected.dump());
  // The tuple form and an explicit -1 batch are read too; absent keys default.
  json in = json::parse(kAccelerated);
  in["config"]["tensor_core_shape"] = json::parse(R"({"class_name": "__tuple__", "items": [-1, 8]})");
  in["config"].erase("learning_rate_fn");
  auto loaded = std::dynamic_pointer_cast<const EmbeddingColumn>(
      DeserializeFeatureColumns(json::array({in})).at(0));
  EXPECT_EQ(loaded->options().tensor_core_shape, (std::optional<std::vector<int64_t>>({-1, 8})));
  EXPECT_FALSE(loaded->options().learning_rate_fn.has_value());
}

TEST(SerializationTest, AcceleratorKeyErrors) {
  json in = json::parse(kAccelerated);
  in["config"]["learning_rate_fn"] = json::parse(R"({"class_name": "Adam", "config": {}})");
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({in})); },
                                   {"$[0].config.learning_rate_fn", "Adam"});
  in = json::parse(kAccelerated);
  in["config"]["embedding_lookup_device"] = "gpu";
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({in})); },
                                   {"$[0].config", "embedding_lookup_device"});
}

TEST(SerializationTest, CallableLearningRateIsNotSerializable) {
  EmbeddingColumnOptions options;
  options.learning_rate_fn = LearningRateFn([](int64_t) { return 0.1; }, "my_lr");
  auto column = embedding_column(categorical_column_with_identity("aaa", 3), 2, options);
  ExpectThrowWith<FailedPrecondition>([&] { SerializeFeatureColumn(*column); },
                                      {"aaa_embedding", "my_lr"});
}

}  // namespace
}  // namespace embcol
