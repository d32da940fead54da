// Tests of TFRA's Keras Embedding / SquashedEmbedding (dynamic_embedding_layer.h)
// with hand-computed values (reference tfra-semantics.md a.1).
#include "embcol/dynamic_embedding_layer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "embcol/errors.h"
#include "embcol/kv_creator.h"
#include "embcol/restrict_policy.h"

namespace embcol::dynamic_embedding {
namespace {

EmbeddingOptions Options(const std::string& combiner = "sum") {
  EmbeddingOptions o;
  o.embedding_size = 2;
  o.combiner = combiner;
  o.initializer = {"Zeros", nlohmann::json::object()};
  return o;
}

// Keys 1 -> [1, 2], 2 -> [3, -4], 3 -> [2, 6].
void Fill(Embedding& layer) {
  layer.variable().upsert(KeyView(std::vector<int64_t>{1, 2, 3}),
                          std::vector<float>{1, 2, 3, -4, 2, 6});
}

std::vector<float> Squash(const std::string& combiner, const std::vector<int64_t>& ids,
                          const std::vector<int64_t>& shape) {
  SquashedEmbedding layer(Options(combiner));
  Fill(layer);
  return layer.call(KeyView(ids), shape).values;
}

TEST(DynamicLayerTest, CallReturnsIdsShapePlusEmbeddingSize) {
  Embedding layer(Options());
  Fill(layer);
  DenseTensor out = layer.call(KeyView(std::vector<int64_t>{1, 9, 3, 1}), {2, 2});
  EXPECT_EQ(out.shape, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(out.values, (std::vector<float>{1, 2, 0, 0, 2, 6, 1, 2}));
  EXPECT_EQ(layer.variable().name(), "DynamicEmbeddingLayer-parameter");
  EXPECT_EQ(layer.size(), 3);  // a call without a TrainingContext never inserts
  EXPECT_EQ(layer.count_params(), 6);
}

TEST(DynamicLayerTest, DefaultsFollowTfra) {
  EmbeddingOptions o;
  o.embedding_size = 4;
  Embedding layer(std::move(o));
  nlohmann::json c = layer.get_config();
  EXPECT_EQ(c["name"], "DynamicEmbeddingLayer");
  EXPECT_EQ(c["combiner"], "sum");
  EXPECT_EQ(c["key_dtype"], "int64");
  EXPECT_EQ(c["value_dtype"], "float32");
  EXPECT_EQ(c["initializer"]["class_name"], "RandomNormal");
  EXPECT_EQ(c["initializer"]["config"]["stddev"], 0.05);
  EXPECT_EQ(c["initializer"]["config"]["mean"], 0.0);
}

TEST(DynamicLayerTest, WithUniqueDuplicatesShareOneRow) {
  EmbeddingOptions o;
  o.embedding_size = 3;  // RandomNormal default: a missing key reads its own row
  Embedding layer(std::move(o));
  const std::vector<int64_t> ids = {7, 8, 7};
  DenseTensor out = layer.call(KeyView(ids), {3});
  EXPECT_TRUE(std::equal(out.values.begin(), out.values.begin() + 3, out.values.begin() + 6));
  TrainingContext ctx;
  DenseTensor trained = layer.call(KeyView(ids), {3}, &ctx);
  EXPECT_EQ(ctx.unique_keys.size(), 2);
  EXPECT_EQ(trained.values, out.values);  // same key, same initial value
  EXPECT_EQ(layer.size(), 2);
}

TEST(DynamicLayerTest, InferenceModeCallDoesNotInsert) {
  Embedding layer(Options());
  layer.variable().set_model_mode(ModelMode::kInference);
  TrainingContext ctx;
  layer.call(KeyView(std::vector<int64_t>{1, 2}), {2}, &ctx);
  EXPECT_EQ(layer.size(), 0);
}

TEST(DynamicLayerTest, MaxNormClipsRows) {
  EmbeddingOptions o = Options();
  o.max_norm = 2.5f;
  Embedding layer(std::move(o));
  Fill(layer);
  // [3, -4] has norm 5 -> [1.5, -2]; [1, 2] (norm sqrt5 < 2.5) unchanged.
  DenseTensor out = layer.call(KeyView(std::vector<int64_t>{2, 1}), {2});
  EXPECT_NEAR(out.values[0], 1.5f, 1e-6);
  EXPECT_NEAR(out.values[1], -2.0f, 1e-6);
  EXPECT_EQ(out.values[2], 1);
  EXPECT_EQ(out.values[3], 2);
}

TEST(SquashedEmbeddingTest, Combiners2DReduceAxis0) {
  const std::vector<int64_t> ids = {1, 2, 3};
  // Columns: (1, 3, 2) and (2, -4, 6).
  EXPECT_EQ(Squash("sum", ids, {3}), (std::vector<float>{6, 4}));
  std::vector<float> mean = Squash("mean", ids, {3});
  EXPECT_FLOAT_EQ(mean[0], 2);
  EXPECT_FLOAT_EQ(mean[1], 4.0f / 3);
  EXPECT_EQ(Squash("min", ids, {3}), (std::vector<float>{1, -4}));
  EXPECT_EQ(Squash("max", ids, {3}), (std::vector<float>{3, 6}));
  EXPECT_EQ(Squash("prod", ids, {3}), (std::vector<float>{6, -48}));
  // Population std: col 0 mean 2, squares 1+1+0 -> sqrt(2/3);
  // col 1 mean 4/3, squares (4 + 256 + 196)/9 -> sqrt(456/27).
  std::vector<float> std_dev = Squash("std", ids, {3});
  EXPECT_NEAR(std_dev[0], std::sqrt(2.0 / 3), 1e-6);
  EXPECT_NEAR(std_dev[1], std::sqrt(456.0 / 27), 1e-5);
}

TEST(SquashedEmbeddingTest, Rank3ReducesAxis1) {
  // ids [[1, 2], [3, 3]] -> (2, 2, 2) -> per batch row: [4, -2] and [4, 12].
  EXPECT_EQ(Squash("sum", {1, 2, 3, 3}, {2, 2}), (std::vector<float>{4, -2, 4, 12}));
  EXPECT_EQ(Squash("max", {1, 2, 3, 3}, {2, 2}), (std::vector<float>{3, 2, 2, 6}));
}

TEST(SquashedEmbeddingTest, Rank4StdIsNestedNotFlat) {
  // ids [[[1, 2], [3, 3]]] -> (1, 2, 2, 2). First reduction over axis 1 pairs
  // (1, 3) and (2, 3): stds [0.5, 2] and [0.5, 5]. Second over those: [0, 1.5].
  // (The flat std of column 0 over 1, 3, 2, 2 would be sqrt(0.5).)
  std::vector<float> out = Squash("std", {1, 2, 3, 3}, {1, 2, 2});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0], 0.0, 1e-6);
  EXPECT_NEAR(out[1], 1.5, 1e-6);
  // sum stays the flat sum: col 0: 1+3+2+2 = 8; col 1: 2-4+6+6 = 10.
  EXPECT_EQ(Squash("sum", {1, 2, 3, 3}, {1, 2, 2}), (std::vector<float>{8, 10}));
}

TEST(SquashedEmbeddingTest, UnknownCombinerNamesTheLayer) {
  EmbeddingOptions o = Options("median");
  o.name = "my_layer";
  try {
    SquashedEmbedding layer(std::move(o));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("my_layer"), std::string::npos);
  }
  EXPECT_THROW(SquashedEmbedding(Options("sqrtn")), InvalidArgument);
  EXPECT_NO_THROW(Embedding(Options("sqrtn")));  // stored only
}

TEST(DynamicLayerTest, UnknownDtypeNamesTheLayer) {
  EmbeddingOptions o = Options();
  o.name = "dtype_layer";
  o.key_dtype = "uint8";
  try {
    Embedding layer(std::move(o));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("dtype_layer"), std::string::npos);
  }
  EmbeddingOptions v = Options();
  v.value_dtype = "complex64";
  EXPECT_THROW(Embedding(std::move(v)), InvalidArgument);
}

TEST(DynamicLayerTest, ConfigRoundTrip) {
  EmbeddingOptions o = Options("mean");
  o.name = "emb";
  o.devices = {"/CPU:0", "/CPU:0"};
  o.bp_v2 = true;
  o.trainable = false;
  o.init_capacity = 100;
  o.max_norm = 2.0f;
  o.restrict_policy = NewFrequencyRestrictPolicy();
  SquashedEmbedding layer(std::move(o));
  const nlohmann::json c = layer.get_config();
  for (const char* key : {"embedding_size", "key_dtype", "value_dtype", "combiner", "initializer",
                          "devices", "name", "trainable", "bp_v2", "restrict_policy",
                          "admission_filter", "init_capacity", "partitioner", "kv_creator",
                          "max_norm"}) {
    EXPECT_TRUE(c.contains(key)) << key;
  }
  EXPECT_EQ(c.size(), 15u);
  EXPECT_EQ(c["partitioner"], "default");
  EXPECT_EQ(c["kv_creator"],
            nlohmann::json::parse(R"({"class_name": "CuckooHashTableCreator", "config": {}})"));
  EXPECT_TRUE(c["admission_filter"].is_null());
  EXPECT_EQ(c["restrict_policy"]["class_name"], "FrequencyRestrictPolicy");
  auto back = SquashedEmbedding::from_config(c);
  EXPECT_EQ(back->get_config(), c);
  EXPECT_EQ(back->variable().num_shards(), 2);
  EXPECT_TRUE(back->variable().bp_v2());

  nlohmann::json nulls = c;
  nulls["partitioner"] = nullptr;
  nulls["kv_creator"] = nullptr;
  nulls["admission_filter"] = nullptr;
  EXPECT_EQ(Embedding::from_config(nulls)->get_config()["partitioner"], "default");
  EXPECT_EQ(Embedding::from_config(nulls)->get_config()["kv_creator"], c["kv_creator"]);
  nlohmann::json bad = c;
  bad["combiner"] = "median";
  EXPECT_THROW(SquashedEmbedding::from_config(bad), InvalidArgument);
}

TEST(DynamicLayerTest, KvCreatorForms) {
  const nlohmann::json in_memory =
      nlohmann::json::parse(R"({"class_name": "CuckooHashTableCreator", "config": {}})");
  nlohmann::json c = Embedding(Options()).get_config();
  for (const nlohmann::json& form : {nlohmann::json("memory"), nlohmann::json(nullptr), in_memory,
                                     nlohmann::json::parse(R"({"class_name": "CuckooHashTableCreator"})")}) {
    c["kv_creator"] = form;
    auto layer = Embedding::from_config(c);
    EXPECT_EQ(layer->get_config()["kv_creator"], in_memory) << form.dump();
    EXPECT_TRUE(layer->variable().has_default_kv_creator());
  }
  nlohmann::json absent = c;
  absent.erase("kv_creator");
  EXPECT_EQ(Embedding::from_config(absent)->get_config()["kv_creator"], in_memory);

  // Unknown class: InvalidArgument naming the layer and the registered names.
  c["name"] = "kv_layer";
  c["kv_creator"] = {{"class_name", "HkvHashTableCreator"}, {"config", nlohmann::json::object()}};
  try {
    Embedding::from_config(c);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("kv_layer"), std::string::npos) << what;
    EXPECT_NE(what.find("HkvHashTableCreator"), std::string::npos) << what;
    EXPECT_NE(what.find("CuckooHashTableCreator"), std::string::npos) << what;
  }
  c["kv_creator"] = "disk";
  EXPECT_THROW(Embedding::from_config(c), InvalidArgument);
  c["kv_creator"] = {{"class_name", "CuckooHashTableCreator"}, {"config", {{"size", 1}}}};
  EXPECT_THROW(Embedding::from_config(c), InvalidArgument);
}

TEST(DynamicLayerTest, RegisteredKvCreatorRoundTrips) {
  static int shards_built = 0;
  RegisterKvCreator("LayerTestTableCreator", [](const nlohmann::json& config, const std::string&) {
    return KvCreator([](const DynamicStoreSpec& spec, int64_t capacity) {
      ++shards_built;
      return DefaultKvCreator()(spec, capacity);
    });
  });
  EmbeddingOptions o = Options();
  o.devices = {"a", "b"};
  o.kv_creator_config = {{"class_name", "LayerTestTableCreator"}, {"config", {{"dir", "/x"}}}};
  shards_built = 0;
  Embedding layer(std::move(o));
  EXPECT_EQ(shards_built, 2);
  EXPECT_FALSE(layer.variable().has_default_kv_creator());
  const nlohmann::json c = layer.get_config();
  EXPECT_EQ(c["kv_creator"], nlohmann::json::parse(
                                 R"({"class_name": "LayerTestTableCreator", "config": {"dir": "/x"}})"));
  shards_built = 0;
  auto back = Embedding::from_config(c);
  EXPECT_EQ(shards_built, 2);
  EXPECT_EQ(back->get_config(), c);
}

TEST(DynamicLayerTest, CustomKvCreatorNeedsADescriptionToSerialize) {
  int calls = 0;
  EmbeddingOptions o = Options();
  o.kv_creator = [&calls](const DynamicStoreSpec& spec, int64_t capacity) {
    ++calls;
    return DefaultKvCreator()(spec, capacity);
  };
  Embedding undescribed(std::move(o));
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(undescribed.get_config(), FailedPrecondition);

  EmbeddingOptions d = Options();
  d.kv_creator = [&calls](const DynamicStoreSpec& spec, int64_t capacity) {
    ++calls;
    return DefaultKvCreator()(spec, capacity);
  };
  d.kv_creator_config = "memory";
  Embedding described(std::move(d));
  EXPECT_EQ(calls, 2);  // the function is used, the description only serialized
  EXPECT_EQ(described.get_config()["kv_creator"]["class_name"], "CuckooHashTableCreator");
}

TEST(DynamicLayerTest, AdmissionFilterFromConfigWithholdsFirstSighting) {
  // embedding_size 2, Zeros initializer, a counter filter admitting a key
  // on its 2nd sighting, plain (non-bp_v2) write back.
  const nlohmann::json config = nlohmann::json::parse(R"({
      "embedding_size": 2, "name": "adm",
      "initializer": {"class_name": "Zeros", "config": {}},
      "admission_filter": {"class_name": "CounterAdmissionFilter",
                           "config": {"min_count": 2, "max_pending": 100}}})");
  auto layer = Embedding::from_config(config);
  ASSERT_NE(layer->variable().admission_filter(), nullptr);
  EXPECT_EQ(layer->get_config()["admission_filter"], config["admission_filter"]);

  // Step 1: key 7 seen once -> not admitted: reads zeros, WriteBack skips it.
  TrainingContext ctx;
  DenseTensor out = layer->call(KeyView(std::vector<int64_t>{7}), {1}, &ctx);
  EXPECT_EQ(out.values, (std::vector<float>{0, 0}));
  ASSERT_EQ(ctx.admitted.size(), 1u);
  EXPECT_FALSE(ctx.admitted[0]);
  layer->variable().WriteBack(ctx, std::vector<float>{0.5f, -1.5f}, 1);
  EXPECT_EQ(layer->size(), 0);
  EXPECT_FALSE(layer->variable().lookup(KeyView(std::vector<int64_t>{7}), true).exists[0]);

  // Step 2: second sighting -> admitted, inserted with the updated row
  // [0 + 0.25, 0 - 0.75].
  out = layer->call(KeyView(std::vector<int64_t>{7}), {1}, &ctx);
  EXPECT_EQ(out.values, (std::vector<float>{0, 0}));
  EXPECT_TRUE(ctx.admitted[0]);
  layer->variable().WriteBack(ctx, std::vector<float>{0.25f, -0.75f}, 2);
  EXPECT_EQ(layer->size(), 1);
  LookupResult row = layer->variable().lookup(KeyView(std::vector<int64_t>{7}), true);
  EXPECT_TRUE(row.exists[0]);
  EXPECT_EQ(row.values, (std::vector<float>{0.25f, -0.75f}));

  // Step 3: present keys are always admitted; a new key 8 beside it is not.
  out = layer->call(KeyView(std::vector<int64_t>{8, 7}), {2}, &ctx);
  EXPECT_EQ(out.values, (std::vector<float>{0, 0, 0.25f, -0.75f}));
  layer->variable().WriteBack(ctx, std::vector<float>{9, 9, 1, 1}, 3);
  EXPECT_EQ(layer->size(), 1);
  EXPECT_EQ(layer->variable().lookup(KeyView(std::vector<int64_t>{7, 8})).values,
            (std::vector<float>{1, 1, 0, 0}));

  nlohmann::json bad = config;
  bad["admission_filter"] = {{"class_name", "BloomFilter"}};
  EXPECT_THROW(Embedding::from_config(bad), InvalidArgument);
}

TEST(DynamicLayerTest, CustomPartitionerIsNotSerializable) {
  EmbeddingOptions o = Options();
  o.partitioner = [](const KeyRef&, int) { return 0; };
  Embedding layer(std::move(o));
  EXPECT_THROW(layer.get_config(), FailedPrecondition);
}

TEST(DynamicLayerTest, WeightsRoundTrip) {
  Embedding layer(Options());
  Fill(layer);
  ExportedEntries w = layer.get_weights();
  EXPECT_EQ(w.size(), 3);
  Embedding other(Options());
  other.set_weights(w);
  EXPECT_EQ(other.call(KeyView(std::vector<int64_t>{3, 2}), {2}).values,
            (std::vector<float>{2, 6, 3, -4}));
  EXPECT_EQ(other.count_params(), 6);
}

}  // namespace
}  // namespace embcol::dynamic_embedding
