// Tests for serialization.h. Expected JSON is written by hand from
// /work/shared/reference/tensorflow-serialization.md (its Examples 1-12 and
// the per-class key tables), never taken from the writer's own output.
// Comparisons use ordered_json dumps, so key order, nulls and int-vs-float
// literals are all checked.
#include "embcol/serialization.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "embcol/categorical_column.h"
#include "embcol/dense_column.h"
#include "embcol/embedding_column.h"
#include "columns/serialization_test_util.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

using namespace serialization_test;  // NOLINT

TEST(SerializationTest, Example1IdentityEmbedding) {
  ExpectRoundTrip(kExample1);
  ColumnPtr column = LoadOne(kExample1);
  EXPECT_EQ(column->name(), "aaa_embedding");
  auto embedding = std::dynamic_pointer_cast<const EmbeddingColumn>(column);
  ASSERT_TRUE(embedding);
  EXPECT_EQ(embedding->dimension(), 2);
  EXPECT_EQ(embedding->num_buckets(), 3);
}

TEST(SerializationTest, CppBuiltEmbeddingWritesTheDefaultInitializer) {
  // embedding_column(categorical_column_with_identity('aaa', 3), 2) built in
  // C++ writes exactly Example 1.
  auto column = embedding_column(categorical_column_with_identity("aaa", 3), 2);
  EXPECT_EQ(SerializeFeatureColumn(*column).dump(), ordered_json::parse(kExample1).dump());
}

TEST(SerializationTest, MissingUseSafeEmbeddingLookupDefaultsToTrue) {
  json config = json::parse(kExample1);
  config["config"].erase("use_safe_embedding_lookup");
  auto column = std::dynamic_pointer_cast<const EmbeddingColumn>(
      DeserializeFeatureColumns(json::array({config})).at(0));
  ASSERT_TRUE(column);
  EXPECT_TRUE(column->options().use_safe_embedding_lookup);
  // Written back in the current format, with the key.
  EXPECT_EQ(SerializeFeatureColumn(*column).dump(), ordered_json::parse(kExample1).dump());

  config["config"]["use_safe_embedding_lookup"] = false;
  column = std::dynamic_pointer_cast<const EmbeddingColumn>(
      DeserializeFeatureColumns(json::array({config})).at(0));
  EXPECT_FALSE(column->options().use_safe_embedding_lookup);
}

TEST(SerializationTest, Example2VocabularyList) {
  ExpectRoundTrip(R"({
    "class_name": "VocabularyListCategoricalColumn",
    "config": {"key": "aaa", "vocabulary_list": ["omar", "stringer", "marlo"],
               "dtype": "string", "default_value": -1, "num_oov_buckets": 1}})");
  ExpectRoundTrip(R"({
    "class_name": "VocabularyListCategoricalColumn",
    "config": {"key": "n", "vocabulary_list": [10, 20, 30],
               "dtype": "int64", "default_value": -1, "num_oov_buckets": 0}})");
  auto column = std::dynamic_pointer_cast<const CategoricalColumn>(LoadOne(R"({
    "class_name": "VocabularyListCategoricalColumn",
    "config": {"key": "aaa", "vocabulary_list": ["omar", "stringer", "marlo"],
               "dtype": "string", "default_value": -1, "num_oov_buckets": 1}})"));
  ASSERT_TRUE(column);
  EXPECT_EQ(column->num_buckets(), 4);  // 3 words + 1 oov bucket
}

TEST(SerializationTest, Example3HashBucket) {
  ExpectRoundTrip(R"({"class_name": "HashedCategoricalColumn",
                      "config": {"key": "wire", "hash_bucket_size": 4, "dtype": "string"}})");
  ExpectRoundTrip(R"({"class_name": "HashedCategoricalColumn",
                      "config": {"key": "ids", "hash_bucket_size": 10, "dtype": "int64"}})");
}

TEST(SerializationTest, Example4WeightedInsideEmbedding) {
  const char text[] = R"({
    "class_name": "EmbeddingColumn",
    "config": {
      "categorical_column": {
        "class_name": "WeightedCategoricalColumn",
        "config": {
          "categorical_column": {"class_name": "IdentityCategoricalColumn",
                                 "config": {"key": "ids", "number_buckets": 3, "default_value": null}},
          "weight_feature_key": "weight",
          "dtype": "float32"}},
      "dimension": 4, "combiner": "sqrtn",
      "initializer": {"class_name": "TruncatedNormal",
                      "config": {"mean": 0.0, "stddev": 0.5, "seed": null, "dtype": "float32"}},
      "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
      "trainable": true, "use_safe_embedding_lookup": true}})";
  ExpectRoundTrip(text);
  EXPECT_EQ(LoadOne(text)->name(), "ids_weighted_by_weight_embedding");
}

TEST(SerializationTest, Example5CrossedInsideIndicator) {
  // dtype int32 reads as embcol's int64 and is written back as "int64".
  const std::string in = R"({
    "class_name": "IndicatorColumn",
    "config": {"categorical_column": {"class_name": "CrossedColumn", "config": {
      "keys": [{"class_name": "BucketizedColumn", "config": {
                  "source_column": {"class_name": "NumericColumn",
                    "config": {"key": "a", "shape": [2], "default_value": null,
                               "dtype": "int32", "normalizer_fn": null}},
                  "boundaries": [0, 1]}},
               "c"],
      "hash_bucket_size": 5, "hash_key": 5}}}})";
  std::string out = in;
  out.replace(out.find("int32"), 5, "int64");
  EXPECT_EQ(RoundTrip(in).dump(), ordered_json::parse(out).dump());
  ColumnPtr column = LoadOne(in);
  EXPECT_EQ(column->name(), "a_bucketized_X_c_indicator");
  EXPECT_EQ(column->input_keys(), (std::vector<std::string>{"a", "c"}));
}

TEST(SerializationTest, CrossedOfTwoVocabularyLists) {
  const char text[] = R"({"class_name": "IndicatorColumn", "config": {"categorical_column": {
    "class_name": "CrossedColumn", "config": {
      "keys": [
        {"class_name": "VocabularyListCategoricalColumn",
         "config": {"key": "a", "vocabulary_list": ["1", "2", "3"], "dtype": "string",
                    "default_value": -1, "num_oov_buckets": 0}},
        {"class_name": "VocabularyListCategoricalColumn",
         "config": {"key": "b", "vocabulary_list": ["1", "2", "3"], "dtype": "string",
                    "default_value": -1, "num_oov_buckets": 0}}],
      "hash_bucket_size": 2, "hash_key": null}}}})";
  ExpectRoundTrip(text);
  EXPECT_EQ(LoadOne(text)->name(), "a_X_b_indicator");
}

TEST(SerializationTest, Example6NumericColumns) {
  ExpectRoundTrip(R"({"class_name": "NumericColumn", "config": {"key": "price", "shape": [2],
                      "default_value": [0.0, 0.0], "dtype": "float32", "normalizer_fn": null}})");
  ExpectRoundTrip(R"({"class_name": "NumericColumn", "config": {"key": "img", "shape": [2, 3],
                      "default_value": [[1, 1, 1], [1, 1, 1]], "dtype": "int64",
                      "normalizer_fn": null}})");
  ExpectRoundTrip(R"({"class_name": "NumericColumn", "config": {"key": "age", "shape": [1],
                      "default_value": null, "dtype": "float32", "normalizer_fn": null}})");
  auto img = std::dynamic_pointer_cast<const NumericColumn>(LoadOne(
      R"({"class_name": "NumericColumn", "config": {"key": "img", "shape": [2, 3],
          "default_value": [[1, 2, 3], [4, 5, 6]], "dtype": "float32", "normalizer_fn": null}})"));
  ASSERT_TRUE(img);
  EXPECT_EQ(*img->default_value(), (std::vector<float>{1, 2, 3, 4, 5, 6}));  // row-major
  EXPECT_EQ(img->variable_size(), 6);
}

TEST(SerializationTest, Example6NormalizerFnIsPythonCode) {
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "NumericColumn", "config": {"key": "price", "shape": [1],
                    "default_value": null, "dtype": "float32",
                    "normalizer_fn": "_increment_two"}})");
      },
      {"$[0].config.normalizer_fn", "_increment_two", "Python"});
}

TEST(SerializationTest, NumericDefaultValueScalarIsExpandedAndFloatsAreShortest) {
  // A scalar default is accepted and written expanded, as TF stores it.
  EXPECT_EQ(RoundTrip(R"({"class_name": "NumericColumn", "config": {"key": "p", "shape": [3],
                          "default_value": 0.5, "dtype": "float32", "normalizer_fn": null}})")
                .dump(),
            ordered_json::parse(R"({"class_name": "NumericColumn", "config": {"key": "p",
                "shape": [3], "default_value": [0.5, 0.5, 0.5], "dtype": "float32",
                "normalizer_fn": null}})").dump());
  // float 0.1f is written as 0.1, the decimal the user typed.
  auto column = numeric_column("p", {2}, std::vector<float>{0.1f, 0.25f});
  EXPECT_EQ(SerializeFeatureColumn(*column)["config"]["default_value"].dump(), "[0.1,0.25]");
}

TEST(SerializationTest, NumericDefaultValueShapeMismatch) {
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "NumericColumn", "config": {"key": "img", "shape": [2, 3],
                    "default_value": [[1, 1, 1], [1, 1]], "dtype": "int64",
                    "normalizer_fn": null}})");
      },
      {"$[0].config.default_value[1]", "expected 3 items"});
}

TEST(SerializationTest, CppNormalizerIsNotSerializable) {
  auto column = numeric_column("price", {1}, std::nullopt, DType::kFloat32,
                               [](float x) { return x + 2; });
  ExpectThrowWith<FailedPrecondition>([&] { SerializeFeatureColumn(*column); },
                                      {"price", "normalizer_fn"});
}

const char kExample7[] = R"({
  "class_name": "DenseFeatures",
  "config": {
    "name": "dense_features",
    "trainable": true,
    "dtype": "float32",
    "feature_columns": [
      {"class_name": "NumericColumn",
       "config": {"key": "age", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
      {"class_name": "BucketizedColumn",
       "config": {"source_column": {"class_name": "NumericColumn",
                                    "config": {"key": "age", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
                  "boundaries": [18, 25, 30, 35]}},
      {"class_name": "IndicatorColumn",
       "config": {"categorical_column": {"class_name": "VocabularyListCategoricalColumn",
                                         "config": {"key": "color", "vocabulary_list": ["R", "G", "B"], "dtype": "string",
                                                    "default_value": -1, "num_oov_buckets": 1}}}},
      {"class_name": "EmbeddingColumn",
       "config": {"categorical_column": {"class_name": "HashedCategoricalColumn",
                                         "config": {"key": "keywords", "hash_bucket_size": 100, "dtype": "string"}},
                  "dimension": 4, "combiner": "sum",
                  "initializer": {"class_name": "TruncatedNormal",
                                  "config": {"mean": 0.0, "stddev": 0.5, "seed": null, "dtype": "float32"}},
                  "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
                  "trainable": true, "use_safe_embedding_lookup": true}},
      {"class_name": "EmbeddingColumn",
       "config": {"categorical_column": {"class_name": "IdentityCategoricalColumn",
                                         "config": {"key": "user_id", "number_buckets": 1000, "default_value": null}},
                  "dimension": 8, "combiner": "mean",
                  "initializer": {"class_name": "TruncatedNormal",
                                  "config": {"mean": 0.0, "stddev": 0.35355339059327373, "seed": null, "dtype": "float32"}},
                  "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
                  "trainable": true, "use_safe_embedding_lookup": true}}
    ],
    "partitioner": null
  }
})";

TEST(SerializationTest, Example7DenseFeatures) {
  LayerConfig layer = ParseLayerConfig(json::parse(kExample7));
  EXPECT_EQ(layer.class_name, "DenseFeatures");
  EXPECT_EQ(layer.name, "dense_features");
  EXPECT_TRUE(layer.trainable);
  ASSERT_EQ(layer.feature_columns.size(), 5u);
  std::vector<std::string> names;
  for (const auto& c : layer.feature_columns) names.push_back(c->name());
  EXPECT_EQ(names, (std::vector<std::string>{"age", "age_bucketized", "color_indicator",
                                             "keywords_embedding", "user_id_embedding"}));
  // The age parent, written twice, is one object.
  auto bucketized = std::dynamic_pointer_cast<const BucketizedColumn>(layer.feature_columns[1]);
  ASSERT_TRUE(bucketized);
  EXPECT_EQ(static_cast<const FeatureColumn*>(bucketized->source_column().get()),
            layer.feature_columns[0].get());
  EXPECT_EQ(SerializeLayerConfig(layer).dump(), ordered_json::parse(kExample7).dump());
}

TEST(SerializationTest, Example7UnsortedInputIsWrittenSorted) {
  json layer_json = json::parse(kExample7);
  auto& columns = layer_json["config"]["feature_columns"];
  std::reverse(columns.begin(), columns.end());
  layer_json["config"].erase("partitioner");  // TF 2.0/2.1 did not write it
  LayerConfig layer = ParseLayerConfig(layer_json);
  EXPECT_EQ(layer.feature_columns.front()->name(), "user_id_embedding");  // as read
  // The reversed list puts the bucketized column first: its source is the
  // object the later plain "age" entry resolves to.
  auto bucketized = std::dynamic_pointer_cast<const BucketizedColumn>(layer.feature_columns[3]);
  ASSERT_TRUE(bucketized);
  EXPECT_EQ(static_cast<const FeatureColumn*>(bucketized->source_column().get()),
            layer.feature_columns[4].get());
  EXPECT_EQ(SerializeLayerConfig(layer).dump(), ordered_json::parse(kExample7).dump());
}

TEST(SerializationTest, ColumnsDocumentForms) {
  // A layer entry with the wrapper keys of the .keras / SavedModel paths.
  json layer = json::parse(kExample7);
  layer["module"] = "keras.layers";
  layer["registered_name"] = nullptr;
  layer["build_config"] = {{"input_shape", nullptr}};
  layer["shared_object_id"] = 3;
  layer["_is_feature_layer"] = true;
  EXPECT_EQ(ParseColumnsDocument(layer).size(), 5u);
  // A bare list.
  EXPECT_EQ(ParseColumnsDocument(layer["config"]["feature_columns"]).size(), 5u);
  // A model.to_json() document holding the layer.
  json model = {{"class_name", "Sequential"},
                {"config", {{"name", "sequential"},
                            {"layers", json::array({layer, json::parse(R"({
                                "class_name": "Dense", "config": {"units": 1}})")})}}},
                {"keras_version", "2.15.0"},
                {"backend", "tensorflow"}};
  EXPECT_EQ(ParseColumnsDocument(model).size(), 5u);
  ExpectThrowWith<InvalidArgument>([] { ParseColumnsDocument(json::parse(R"({"a": 1})")); },
                                   {"$", "DenseFeatures"});
}

TEST(SerializationTest, LayerErrorsCarryPaths) {
  json layer = json::parse(kExample7);
  layer["config"]["partitioner"] = "_partitioner";
  ExpectThrowWith<InvalidArgument>([&] { ParseLayerConfig(layer); },
                                   {"$.config.partitioner", "_partitioner", "Python"});
  layer = json::parse(kExample7);
  layer["config"]["feature_columns"][2]["config"]["categorical_column"]["config"].erase(
      "num_oov_buckets");
  ExpectThrowWith<InvalidArgument>(
      [&] { ParseLayerConfig(layer); },
      {"$.config.feature_columns[2].config.categorical_column.config", "num_oov_buckets",
       "expected keys: (key, vocabulary_list, dtype, default_value, num_oov_buckets)"});
  layer = json::parse(kExample7);
  layer["config"]["units"] = 3;
  ExpectThrowWith<InvalidArgument>([&] { ParseLayerConfig(layer); },
                                   {"$.config", "unknown key 'units'"});
  layer = json::parse(R"({"class_name": "DenseFeatures",
                          "config": {"layer was saved without config": true}})");
  ExpectThrowWith<InvalidArgument>([&] { ParseLayerConfig(layer); },
                                   {"$.config", "saved without"});
  // DenseFeatures accepts dense columns only.
  layer = json::parse(kExample7);
  layer["config"]["feature_columns"][0] = json::parse(
      R"({"class_name": "HashedCategoricalColumn",
          "config": {"key": "w", "hash_bucket_size": 4, "dtype": "string"}})");
  ExpectThrowWith<InvalidArgument>([&] { ParseLayerConfig(layer); },
                                   {"$.config.feature_columns[0]", "DenseColumn"});
}

TEST(SerializationTest, Example8SequenceFeatures) {
  const char text[] = R"({
    "class_name": "SequenceFeatures",
    "config": {
      "name": "sequence_features", "trainable": true, "dtype": "float32",
      "feature_columns": [
        {"class_name": "SequenceNumericColumn",
         "config": {"key": "rating", "shape": [1], "default_value": 0.0, "dtype": "float32", "normalizer_fn": null}},
        {"class_name": "EmbeddingColumn",
         "config": {"categorical_column": {"class_name": "SequenceCategoricalColumn",
                                           "config": {"categorical_column": {"class_name": "IdentityCategoricalColumn",
                                                                             "config": {"key": "watches", "number_buckets": 1000, "default_value": null}}}},
                    "dimension": 10, "combiner": "mean",
                    "initializer": {"class_name": "TruncatedNormal",
                                    "config": {"mean": 0.0, "stddev": 0.31622776601683794, "seed": null, "dtype": "float32"}},
                    "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
                    "trainable": true, "use_safe_embedding_lookup": true}}
      ],
      "partitioner": null}})";
  // The whole layer loads and writes back as TensorFlow wrote it.
  LayerConfig full = ParseLayerConfig(json::parse(text));
  ASSERT_EQ(full.feature_columns.size(), 2u);
  auto rating = std::dynamic_pointer_cast<const SequenceNumericColumn>(full.feature_columns[0]);
  ASSERT_TRUE(rating);
  EXPECT_EQ(rating->key(), "rating");
  EXPECT_EQ(rating->default_value(), 0.0f);
  EXPECT_EQ(SerializeLayerConfig(full).dump(), ordered_json::parse(text).dump());

  // A SequenceNumericColumn's default_value is a scalar padding value.
  json list_default = json::parse(text);
  list_default["config"]["feature_columns"][0]["config"]["default_value"] = json::array({0.0});
  ExpectThrowWith<InvalidArgument>(
      [&] { ParseLayerConfig(list_default); },
      {"$.config.feature_columns[0].config.default_value", "must be a number"});
  // ... and it does not belong in DenseFeatures.
  json dense = json::parse(text);
  dense["class_name"] = "DenseFeatures";
  dense["config"]["feature_columns"].erase(1);
  ExpectThrowWith<InvalidArgument>([&] { ParseLayerConfig(dense); },
                                   {"$.config.feature_columns[0]", "SequenceFeatures"});

  // Without the SequenceNumericColumn the layer loads and round-trips.
  json without = json::parse(text);
  without["config"]["feature_columns"].erase(0);
  LayerConfig layer = ParseLayerConfig(without);
  EXPECT_EQ(layer.class_name, "SequenceFeatures");
  ASSERT_EQ(layer.feature_columns.size(), 1u);
  EXPECT_EQ(layer.feature_columns[0]->name(), "watches_embedding");
  auto embedding = std::dynamic_pointer_cast<const EmbeddingColumn>(layer.feature_columns[0]);
  ASSERT_TRUE(embedding);
  EXPECT_TRUE(embedding->is_sequence());
  ordered_json expected = ordered_json::parse(text);
  expected["config"]["feature_columns"].erase(0);
  EXPECT_EQ(SerializeLayerConfig(layer).dump(), expected.dump());
  // A non-sequence column does not belong in SequenceFeatures.
  without["config"]["feature_columns"][0] = json::parse(kExample1);
  ExpectThrowWith<InvalidArgument>([&] { ParseLayerConfig(without); },
                                   {"$.config.feature_columns[0]", "sequence"});
}

TEST(SerializationTest, Example9IndicatorOfSequenceIdentity) {
  // The test dict's keys come sorted; the writer uses namedtuple order.
  const char in[] = R"({"class_name": "IndicatorColumn",
   "config": {"categorical_column": {"class_name": "SequenceCategoricalColumn",
     "config": {"categorical_column": {"class_name": "IdentityCategoricalColumn",
       "config": {"default_value": null, "key": "animal", "number_buckets": 4}}}}}})";
  const char out[] = R"({"class_name": "IndicatorColumn",
   "config": {"categorical_column": {"class_name": "SequenceCategoricalColumn",
     "config": {"categorical_column": {"class_name": "IdentityCategoricalColumn",
       "config": {"key": "animal", "number_buckets": 4, "default_value": null}}}}}})";
  EXPECT_EQ(RoundTrip(in).dump(), ordered_json::parse(out).dump());
  EXPECT_EQ(LoadOne(in)->name(), "animal_indicator");
}

TEST(SerializationTest, Example10Bucketized) {
  const char text[] = R"({"class_name": "BucketizedColumn",
   "config": {"source_column": {"class_name": "NumericColumn",
                                "config": {"key": "price", "shape": [2], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
              "boundaries": [0, 2, 4, 6]}})";
  ExpectRoundTrip(text);
  auto column = std::dynamic_pointer_cast<const BucketizedColumn>(LoadOne(text));
  ASSERT_TRUE(column);
  EXPECT_EQ(column->num_buckets(), 2 * 5);
  // Non-integral boundaries stay floats.
  ExpectRoundTrip(R"({"class_name": "BucketizedColumn",
   "config": {"source_column": {"class_name": "NumericColumn",
                                "config": {"key": "x", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
              "boundaries": [0.5, 1.5]}})");
}

TEST(SerializationTest, FactoryValidationRunsOnLoad) {
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "BucketizedColumn",
         "config": {"source_column": {"class_name": "NumericColumn",
                      "config": {"key": "x", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
                    "boundaries": [3, 1]}})");
      },
      {"$[0].config"});
  json config = json::parse(kExample1);
  config["config"]["dimension"] = 0;
  ExpectThrowWith<InvalidArgument>(
      [&] { DeserializeFeatureColumns(json::array({config})); }, {"$[0].config", "dimension"});
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "IdentityCategoricalColumn",
                    "config": {"key": "a", "number_buckets": 3, "default_value": 7}})");
      },
      {"$[0].config"});
}

class SerializationVocabularyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One file per test: ctest runs tests in parallel processes.
    path_ = ::testing::TempDir() + "/serialization_wire_vocabulary_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt";
    std::ofstream(path_) << "omar\nstringer\nmarlo\n";
  }
  std::string Config(const std::string& file_format_entry) const {
    return R"({"class_name": "VocabularyFileCategoricalColumn",
      "config": {"key": "wire", "vocabulary_file": ")" + path_ + R"(", "vocabulary_size": 3,
                 "num_oov_buckets": 1, "dtype": "string", "default_value": -1)" +
           file_format_entry + "}}";
  }
  std::string path_;
};

TEST_F(SerializationVocabularyFileTest, Example11) {
  ExpectRoundTrip(Config(R"(, "file_format": null)"));
  auto column = std::dynamic_pointer_cast<const CategoricalColumn>(LoadOne(Config("")));
  ASSERT_TRUE(column);
  EXPECT_EQ(column->num_buckets(), 4);
  // An old config without file_format is written in the current format.
  EXPECT_EQ(RoundTrip(Config("")).dump(),
            ordered_json::parse(Config(R"(, "file_format": null)")).dump());
}

TEST_F(SerializationVocabularyFileTest, TfrecordFormatIsUnsupported) {
  ExpectThrowWith<InvalidArgument>(
      [&] { LoadOne(Config(R"(, "file_format": "tfrecord_gzip")")); },
      {"$[0].config.file_format", "tfrecord_gzip", "not supported"});
}

TEST(SerializationTest, Example12TupleForms) {
  EXPECT_EQ(RoundTrip(R"({"class_name": "NumericColumn",
     "config": {"key": "price",
                "shape": {"class_name": "__tuple__", "items": [2]},
                "default_value": {"class_name": "__tuple__", "items": [0.0, 0.0]},
                "dtype": "float32", "normalizer_fn": null}})").dump(),
            ordered_json::parse(R"({"class_name": "NumericColumn", "config": {"key": "price",
                "shape": [2], "default_value": [0.0, 0.0], "dtype": "float32",
                "normalizer_fn": null}})").dump());
  // Nested tuples in a 2-D default.
  EXPECT_EQ(RoundTrip(R"({"class_name": "NumericColumn", "config": {"key": "m",
         "shape": {"class_name": "__tuple__", "items": [1, 2]},
         "default_value": {"class_name": "__tuple__", "items": [
            {"class_name": "__tuple__", "items": [1.5, 2.5]}]},
         "dtype": "float32", "normalizer_fn": null}})").dump(),
            ordered_json::parse(R"({"class_name": "NumericColumn", "config": {"key": "m",
         "shape": [1, 2], "default_value": [[1.5, 2.5]], "dtype": "float32",
         "normalizer_fn": null}})").dump());
  // Tuple boundaries.
  EXPECT_EQ(RoundTrip(R"({"class_name": "BucketizedColumn", "config": {
       "source_column": {"class_name": "NumericColumn", "config": {"key": "m",
         "shape": {"class_name": "__tuple__", "items": [3]}, "default_value": null,
         "dtype": "float32", "normalizer_fn": null}},
       "boundaries": {"class_name": "__tuple__", "items": [0, 10]}}})").dump(),
            ordered_json::parse(R"({"class_name": "BucketizedColumn", "config": {
       "source_column": {"class_name": "NumericColumn", "config": {"key": "m",
         "shape": [3], "default_value": null, "dtype": "float32", "normalizer_fn": null}},
       "boundaries": [0, 10]}})").dump());
  // vocabulary_list and keys.
  EXPECT_EQ(RoundTrip(R"({"class_name": "CrossedColumn", "config": {
       "keys": {"class_name": "__tuple__", "items": [
         {"class_name": "VocabularyListCategoricalColumn", "config": {"key": "a",
           "vocabulary_list": {"class_name": "__tuple__", "items": ["x", "y"]},
           "dtype": "string", "default_value": -1, "num_oov_buckets": 0}},
         "b"]},
       "hash_bucket_size": 7, "hash_key": null}})").dump(),
            ordered_json::parse(R"({"class_name": "CrossedColumn", "config": {
       "keys": [{"class_name": "VocabularyListCategoricalColumn", "config": {"key": "a",
                   "vocabulary_list": ["x", "y"], "dtype": "string", "default_value": -1,
                   "num_oov_buckets": 0}}, "b"],
       "hash_bucket_size": 7, "hash_key": null}})").dump());
}

TEST(SerializationTest, NumbersMayBeIntsOrFloats) {
  // max_norm as an int, dimension as an integral float.
  json config = json::parse(kExample1);
  config["config"]["max_norm"] = 3;
  config["config"]["dimension"] = 2.0;
  auto column = std::dynamic_pointer_cast<const EmbeddingColumn>(
      DeserializeFeatureColumns(json::array({config})).at(0));
  ASSERT_TRUE(column);
  EXPECT_EQ(column->dimension(), 2);
  EXPECT_DOUBLE_EQ(*column->options().max_norm, 3.0);
  EXPECT_EQ(SerializeFeatureColumn(*column)["config"]["max_norm"].dump(), "3.0");
}

// ---- key-set and type errors ------------------------------------------------

TEST(SerializationTest, MissingKeyNamesPathAndExpectedKeys) {
  json list = json::array({json::parse(R"({"class_name": "HashedCategoricalColumn",
                                            "config": {"key": "w", "hash_bucket_size": 4, "dtype": "string"}})"),
                           json::parse(R"({"class_name": "NumericColumn",
                                            "config": {"key": "n", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}})"),
                           json::parse(kExample1)});
  list[2]["config"]["categorical_column"]["config"].erase("number_buckets");
  ExpectThrowWith<InvalidArgument>(
      [&] { DeserializeFeatureColumns(list); },
      {"$[2].config.categorical_column.config", "missing key 'number_buckets'",
       "expected keys: (key, number_buckets, default_value)"});
}

TEST(SerializationTest, ExtraKeyNamesPath) {
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "NumericColumn", "config": {"key": "n", "name": "n",
                    "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}})");
      },
      {"$[0].config", "unknown key 'name'", "expected keys: (key, shape, default_value, dtype, normalizer_fn)"});
  // num_buckets is the factory argument, not the config key.
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "IdentityCategoricalColumn",
                    "config": {"key": "a", "num_buckets": 3, "default_value": null}})");
      },
      {"$[0].config", "number_buckets"});
}

TEST(SerializationTest, UnknownClassAndBadEnvelopes) {
  ExpectThrowWith<InvalidArgument>(
      [] { LoadOne(R"({"class_name": "_TPUEmbeddingColumnV2", "config": {}})"); },
      {"$[0]", "Unknown feature_column_v2: _TPUEmbeddingColumnV2", "EmbeddingColumn",
       "NumericColumn"});
  ExpectThrowWith<InvalidArgument>([] { LoadOne(R"({"class_name": "NumericColumn"})"); },
                                   {"$[0]", "Improper config format"});
  ExpectThrowWith<InvalidArgument>([] { LoadOne(R"("price")"); }, {"$[0]", "CrossedColumn"});
  ExpectThrowWith<InvalidArgument>([] { DeserializeFeatureColumns(json::object()); }, {"$"});
}

TEST(SerializationTest, BadFieldTypesNamePath) {
  json config = json::parse(kExample1);
  config["config"]["dimension"] = "8";
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({config})); },
                                   {"$[0].config.dimension", "integer"});
  config = json::parse(kExample1);
  config["config"]["trainable"] = 1;
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({config})); },
                                   {"$[0].config.trainable"});
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "NumericColumn", "config": {"key": "n", "shape": [1],
                    "default_value": null, "dtype": "bool", "normalizer_fn": null}})");
      },
      {"$[0].config.dtype", "bool"});
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "HashedCategoricalColumn",
                    "config": {"key": "w", "hash_bucket_size": 4, "dtype": "float32"}})");
      },
      {"$[0].config.dtype", "float32"});
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "BucketizedColumn", "config": {
          "source_column": {"class_name": "HashedCategoricalColumn",
                            "config": {"key": "w", "hash_bucket_size": 4, "dtype": "string"}},
          "boundaries": [1]}})");
      },
      {"$[0].config.source_column", "NumericColumn"});
}

TEST(SerializationTest, PythonInitializerIsRejected) {
  json config = json::parse(kExample1);
  config["config"]["initializer"] = "_initializer";
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({config})); },
                                   {"$[0].config.initializer", "_initializer", "Python"});
}

TEST(SerializationTest, KerasInitializerWithoutDtypeRoundTrips) {
  json config = json::parse(kExample1);
  config["config"]["initializer"] = json::parse(
      R"({"class_name": "RandomUniform", "config": {"minval": -0.1, "maxval": 0.1, "seed": 7},
          "module": "keras.initializers", "registered_name": null})");
  ordered_json expected = ordered_json::parse(kExample1);
  expected["config"]["initializer"] = ordered_json::parse(
      R"({"class_name": "RandomUniform", "config": {"minval": -0.1, "maxval": 0.1, "seed": 7}})");
  EXPECT_EQ(SerializeFeatureColumn(*DeserializeFeatureColumns(json::array({config})).at(0)).dump(),
            expected.dump());
}

}  // namespace
}  // namespace embcol
