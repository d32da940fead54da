// JSON of DynamicVocabularyCategoricalColumn and of the dynamic_table
// extension on EmbeddingColumn / SharedEmbeddingColumn.
#include <gtest/gtest.h>

#include "columns/serialization_test_util.h"
#include "embcol/categorical_column.h"
#include "embcol/embedding_column.h"
#include "embcol/errors.h"

namespace embcol::serialization_test {
namespace {

const char kDynamicEmbedding[] = R"({
  "class_name": "EmbeddingColumn",
  "config": {
    "categorical_column": {
      "class_name": "DynamicVocabularyCategoricalColumn",
      "config": {"key": "video", "dtype": "int64"}
    },
    "dimension": 4,
    "combiner": "sum",
    "initializer": {
      "class_name": "TruncatedNormal",
      "config": {"mean": 0.0, "stddev": 0.5, "seed": null, "dtype": "float32"}
    },
    "ckpt_to_load_from": null,
    "tensor_name_in_ckpt": null,
    "max_norm": null,
    "trainable": true,
    "use_safe_embedding_lookup": true,
    "dynamic_table": {
      "init_capacity": 1024,
      "num_shards": 2,
      "devices": [],
      "value_dtype": "float16",
      "kv_creator": {"class_name": "CuckooHashTableCreator", "config": {}},
      "restrict_policy": {"class_name": "FrequencyRestrictPolicy", "config": {}},
      "admission_filter": {"class_name": "CounterAdmissionFilter",
                           "config": {"min_count": 2}}
    }
  }
})";

TEST(SerializationDynamicTest, CategoricalRoundTrip) {
  for (const char* dtype : {"int64", "int32", "string"}) {
    const std::string text = std::string(R"({"class_name": "DynamicVocabularyCategoricalColumn",
        "config": {"key": "k", "dtype": ")") + dtype + R"("}})";
    ExpectRoundTrip(text);
    auto c = std::dynamic_pointer_cast<const DynamicVocabularyCategoricalColumn>(LoadOne(text));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->dtype(), dtype);
  }
  // Sequence columns wrap it like any other categorical column.
  ExpectRoundTrip(R"({"class_name": "SequenceCategoricalColumn", "config": {
      "categorical_column": {"class_name": "DynamicVocabularyCategoricalColumn",
                             "config": {"key": "k", "dtype": "string"}}}})");
}

TEST(SerializationDynamicTest, EmbeddingWithDynamicTableRoundTrip) {
  ExpectRoundTrip(kDynamicEmbedding);
  auto e = std::dynamic_pointer_cast<const EmbeddingColumn>(LoadOne(kDynamicEmbedding));
  ASSERT_NE(e, nullptr);
  const DynamicTableOptions& d = *e->options().dynamic_table;
  EXPECT_EQ(d.init_capacity, 1024);
  EXPECT_EQ(d.num_shards, 2);
  EXPECT_EQ(d.value_dtype, "float16");
  EXPECT_EQ(d.admission_filter["config"]["min_count"], 2);
}

TEST(SerializationDynamicTest, WriterAddsDefaultDynamicTable) {
  auto e = embedding_column(categorical_column_with_dynamic_vocabulary("video", "string"), 2);
  const ordered_json j = SerializeFeatureColumn(*e);
  const ordered_json want = ordered_json::parse(R"({
      "init_capacity": 0, "num_shards": 1, "devices": [], "value_dtype": "float32",
      "kv_creator": null, "restrict_policy": null, "admission_filter": null})");
  EXPECT_EQ(j["config"]["dynamic_table"].dump(), want.dump());
  // dynamic_table is the last key.
  EXPECT_EQ((--j["config"].end()).key(), "dynamic_table");
  EXPECT_EQ(RoundTrip(j.dump()).dump(), j.dump());
  // A plain column writes no dynamic_table (TensorFlow's exact form).
  auto plain = embedding_column(categorical_column_with_identity("aaa", 3), 2);
  EXPECT_FALSE(SerializeFeatureColumn(*plain)["config"].contains("dynamic_table"));
}

TEST(SerializationDynamicTest, AbsentDynamicTableKeysTakeDefaults) {
  json j = json::parse(kDynamicEmbedding);
  j["config"]["dynamic_table"] = json::parse(R"({"num_shards": 3})");
  auto e = std::dynamic_pointer_cast<const EmbeddingColumn>(
      DeserializeFeatureColumns(json::array({j})).at(0));
  DynamicTableOptions want;
  want.num_shards = 3;
  EXPECT_EQ(*e->options().dynamic_table, want);
  j["config"]["dynamic_table"] = nullptr;
  e = std::dynamic_pointer_cast<const EmbeddingColumn>(
      DeserializeFeatureColumns(json::array({j})).at(0));
  EXPECT_EQ(*e->options().dynamic_table, DynamicTableOptions{});
}

TEST(SerializationDynamicTest, Errors) {
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "DynamicVocabularyCategoricalColumn",
                    "config": {"key": "k", "dtype": "float32"}})");
      },
      {"$[0].config.dtype", "\"int64\", \"int32\" or \"string\"", "float32"});
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "DynamicVocabularyCategoricalColumn",
                    "config": {"key": "k", "dtype": "int64", "num_buckets": 3}})");
      },
      {"$[0].config", "unknown key 'num_buckets'", "expected keys: (key, dtype)"});
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "DynamicVocabularyCategoricalColumn",
                    "config": {"key": "k"}})");
      },
      {"$[0].config", "missing key 'dtype'"});

  json j = json::parse(kDynamicEmbedding);
  j["config"]["dynamic_table"]["capacity"] = 10;
  ExpectThrowWith<InvalidArgument>(
      [&] { DeserializeFeatureColumns(json::array({j})); },
      {"$[0].config.dynamic_table", "unknown key 'capacity'", "init_capacity"});
  j = json::parse(kDynamicEmbedding);
  j["config"]["dynamic_table"]["num_shards"] = "two";
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({j})); },
                                   {"$[0].config.dynamic_table.num_shards"});
  j = json::parse(kDynamicEmbedding);
  j["config"]["dynamic_table"]["restrict_policy"] = json::array({1});
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({j})); },
                                   {"$[0].config.dynamic_table.restrict_policy"});
  j = json::parse(kDynamicEmbedding);
  j["config"]["dynamic_table"]["devices"] = json::array({"cpu:0", 3});
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({j})); },
                                   {"$[0].config.dynamic_table.devices[1]"});
  // The factory's check, with the path of the column's config.
  j = json::parse(kDynamicEmbedding);
  j["config"]["dynamic_table"]["num_shards"] = 0;
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({j})); },
                                   {"$[0].config:", "num_shards"});
  // dynamic_table on a fixed-vocabulary column.
  j = json::parse(kDynamicEmbedding);
  j["config"]["categorical_column"] = json::parse(
      R"({"class_name": "IdentityCategoricalColumn",
          "config": {"key": "video", "number_buckets": 3, "default_value": null}})");
  ExpectThrowWith<InvalidArgument>([&] { DeserializeFeatureColumns(json::array({j})); },
                                   {"$[0].config:", "dynamic_table is set", "fixed vocabulary"});
  // indicator over a dynamic column.
  ExpectThrowWith<InvalidArgument>(
      [] {
        LoadOne(R"({"class_name": "IndicatorColumn", "config": {"categorical_column":
                    {"class_name": "DynamicVocabularyCategoricalColumn",
                     "config": {"key": "k", "dtype": "int64"}}}})");
      },
      {"$[0].config", "dynamic vocabulary", "embedding_column"});
}

TEST(SerializationDynamicTest, SharedGroupMustAgreeOnKeys) {
  auto member = [](const char* key, const char* dtype) {
    json j = json::parse(R"({"class_name": "SharedEmbeddingColumn", "config": {
        "categorical_column": {"class_name": "DynamicVocabularyCategoricalColumn",
                               "config": {"key": "", "dtype": ""}},
        "shared_embedding_collection_name": "shared_ab", "dimension": 2,
        "combiner": "mean", "initializer": null, "ckpt_to_load_from": null,
        "tensor_name_in_ckpt": null, "max_norm": null, "trainable": true}})");
    j["config"]["categorical_column"]["config"]["key"] = key;
    j["config"]["categorical_column"]["config"]["dtype"] = dtype;
    return j;
  };
  auto ok = DeserializeFeatureColumns(json::array({member("a", "int64"), member("b", "int64")}));
  ASSERT_EQ(ok.size(), 2u);
  ExpectThrowWith<InvalidArgument>(
      [&] {
        DeserializeFeatureColumns(json::array({member("a", "int64"), member("b", "string")}));
      },
      {"$[1]", "collection 'shared_ab'", "different key dtypes", "$[0]"});
}

}  // namespace
}  // namespace embcol::serialization_test
