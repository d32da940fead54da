// DenseFeatures / SequenceFeatures over embedding columns backed by a
// dynamic table (categorical_column_with_dynamic_vocabulary). Expected
// values come from rows upserted by hand and the combiner formulas.
#include <cmath>

#include <gtest/gtest.h>

#include "embcol/dense_features.h"
#include "embcol/errors.h"
#include "embcol/restrict_policy.h"
#include "embcol/serialization.h"

namespace embcol {
namespace {

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
}

template <typename E, typename Fn>
void ExpectError(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message \"" << e.what() << "\" lacks \"" << part << "\"";
    }
  }
}

// Missing keys read [0.5, 0.5] (a scalar Constant fills every row).
EmbeddingColumnOptions Opts(const std::string& combiner) {
  EmbeddingColumnOptions o;
  o.combiner = combiner;
  o.initializer = InitializerConfig{"Constant", {{"value", 0.5}}};
  return o;
}

// rows: {10, 20} {} {20, 99} {-5}; 10 -> [1,2], 20 -> [3,4] are upserted,
// 99 and -5 are missing (a sparse -5 is a valid key).
FeatureBatch VideoBatch() {
  FeatureBatch b;
  b.Set("video", Feature::Ragged({0, 2, 2, 4, 5}, Int64s{10, 20, 20, 99, -5}));
  return b;
}

void UpsertKnownRows(dynamic_embedding::Variable& v) {
  v.upsert(Int64s{10, 20}, std::vector<float>{1, 2, 3, 4});
}

TEST(DynamicFeaturesTest, CombinersOverUpsertedAndMissingKeys) {
  auto video = categorical_column_with_dynamic_vocabulary("video");
  const float r2 = std::sqrt(2.0f);
  struct Case {
    const char* combiner;
    std::vector<float> want;
  } cases[] = {
      {"sum", {4, 6, 0, 0, 3.5f, 4.5f, 0.5f, 0.5f}},
      {"mean", {2, 3, 0, 0, 1.75f, 2.25f, 0.5f, 0.5f}},
      {"sqrtn", {4 / r2, 6 / r2, 0, 0, 3.5f / r2, 4.5f / r2, 0.5f, 0.5f}},
  };
  for (const Case& c : cases) {
    DenseFeatures layer({embedding_column(video, 2, Opts(c.combiner))});
    EXPECT_EQ(layer.tables().Find("video_embedding"), nullptr);
    dynamic_embedding::Variable* table = layer.tables().FindDynamic("video_embedding");
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->dim(), 2);
    EXPECT_EQ(table->key_dtype(), KeyType::kInt64);
    EXPECT_EQ(table->size(), 0);
    UpsertKnownRows(*table);
    DenseTensor out = layer(VideoBatch());
    EXPECT_EQ(out.shape, (std::vector<int64_t>{4, 2}));
    ExpectNear(out.values, c.want);
    EXPECT_EQ(table->size(), 2) << "a lookup must not insert";
  }
}

TEST(DynamicFeaturesTest, UnsafeLookupAndMaxNorm) {
  auto video = categorical_column_with_dynamic_vocabulary("video");
  EmbeddingColumnOptions o = Opts("sum");
  o.use_safe_embedding_lookup = false;
  o.max_norm = 1.0;
  DenseFeatures layer({embedding_column(video, 2, o)});
  layer.tables().FindDynamic("video_embedding")->upsert(Int64s{7}, std::vector<float>{3, 4});
  FeatureBatch b;
  b.Set("video", Feature::Ragged({0, 2, 2}, Int64s{7, 8}));
  // [3,4] clipped to norm 1 -> [0.6, 0.8]; 8 missing: [0.5,0.5] (norm < 1).
  ExpectNear(layer(b).values, {1.1f, 1.3f, 0, 0});
}

TEST(DynamicFeaturesTest, WeightedColumn) {
  auto w = weighted_categorical_column(categorical_column_with_dynamic_vocabulary("video"),
                                       "wt");
  FeatureBatch b;
  // row 0: keys {10, 20} weights {1, 3}; row 1: keys {20, 10} weights {2, -1}
  b.Set("video", Feature::Ragged({0, 2, 4}, Int64s{10, 20, 20, 10}));
  b.Set("wt", Feature::Ragged({0, 2, 4}, Floats{1, 3, 2, -1}));
  {
    DenseFeatures layer({embedding_column(w, 2, Opts("mean"))});
    UpsertKnownRows(*layer.tables().FindDynamic("video_weighted_by_wt_embedding"));
    // row 0: (1*[1,2] + 3*[3,4]) / 4 = [2.5, 3.5]; row 1: weight -1 pruned -> [3,4]
    ExpectNear(layer(b).values, {2.5f, 3.5f, 3, 4});
  }
  {
    DenseFeatures layer({embedding_column(w, 2, Opts("sum"))});
    UpsertKnownRows(*layer.tables().FindDynamic("video_weighted_by_wt_embedding"));
    // sum keeps negative weights: row 1 = 2*[3,4] - [1,2] = [5, 6]
    ExpectNear(layer(b).values, {10, 14, 5, 6});
  }
}

TEST(DynamicFeaturesTest, StringAndInt32Keys) {
  auto query = categorical_column_with_dynamic_vocabulary("query", "string");
  auto shop = categorical_column_with_dynamic_vocabulary("shop", "int32");
  DenseFeatures layer({embedding_column(query, 2, Opts("sum")),
                       embedding_column(shop, 1, Opts("sum"))});
  auto* q = layer.tables().FindDynamic("query_embedding");
  auto* s = layer.tables().FindDynamic("shop_embedding");
  ASSERT_TRUE(q && s);
  EXPECT_EQ(q->key_dtype(), KeyType::kString);
  EXPECT_EQ(s->key_dtype(), KeyType::kInt32);
  q->upsert(Strings{"cat"}, std::vector<float>{1, 1});
  s->upsert(std::vector<int32_t>{-4}, std::vector<float>{9});
  FeatureBatch b;
  b.Set("query", Feature::Dense({2, 2}, Strings{"cat", "cat", "dog", ""}));
  b.Set("shop", Feature::Ragged({0, 1, 2}, Int64s{-4, 3}));
  // Columns sorted by name: query (2 wide) then shop (1 wide).
  ExpectNear(layer(b).values, {2, 2, 9, 0.5f, 0.5f, 0.5f});
  EXPECT_EQ(q->size(), 1);
  EXPECT_EQ(s->size(), 1);
}

TEST(DynamicFeaturesTest, MissingKeysReadTheInitializerAndAreNotInserted) {
  auto video = categorical_column_with_dynamic_vocabulary("video");
  const uint64_t layer_seed = 7;
  FeaturesLayerOptions lo;
  lo.seed = layer_seed;
  EmbeddingColumnOptions o;
  o.combiner = "sum";
  DenseFeatures layer({embedding_column(video, 3, o)}, lo);
  // The same key in two rows reads the same vector: the default initializer
  // (TruncatedNormal, stddev 1/sqrt(3)) at row = key, with the table's seed
  // derived like a fixed table's.
  FeatureBatch b;
  b.Set("video", Feature::Ragged({0, 1, 2, 3}, Int64s{42, 42, -9}));
  const DenseTensor out = layer(b);
  const uint64_t seed = DefaultTableSeed("video_embedding") ^ (layer_seed * 0x9E3779B97F4A7C15ull);
  auto init = MakeInitializer(DefaultEmbeddingInitializer(3), -1, 3, seed, "test");
  std::vector<float> want(9);
  init->InitRow(42, want.data());
  init->InitRow(42, want.data() + 3);
  init->InitRow(-9, want.data() + 6);
  ExpectNear(out.values, want);
  for (float x : want) EXPECT_LE(std::abs(x), 2 / std::sqrt(3.0f) + 1e-6f);
  EXPECT_EQ(layer.tables().FindDynamic("video_embedding")->size(), 0);
  // Another evaluation reads the same values.
  ExpectNear(layer(b).values, want);
}

TEST(DynamicFeaturesTest, SharedEmbeddingsReadOneTable) {
  auto cols = shared_embeddings({categorical_column_with_dynamic_vocabulary("watched"),
                                 categorical_column_with_dynamic_vocabulary("impression")},
                                2, Opts("sum"), "videos");
  DenseFeatures layer({cols[0], cols[1]});
  ASSERT_EQ(layer.tables().dynamic_tables().size(), 1u);
  EXPECT_TRUE(layer.tables().tables().empty());
  auto* table = layer.tables().FindDynamic("videos");
  ASSERT_NE(table, nullptr);
  UpsertKnownRows(*table);
  FeatureBatch b;
  b.Set("watched", Feature::Ragged({0, 2, 3}, Int64s{10, 20, 99}));
  b.Set("impression", Feature::Ragged({0, 1, 2}, Int64s{20, 10}));
  // Sorted: impression_shared_embedding, watched_shared_embedding.
  ExpectNear(layer(b).values, {3, 4, 4, 6, 1, 2, 0.5f, 0.5f});
  EXPECT_EQ(table->size(), 2);
  // A second layer on the same TableSet reads the same table.
  FeaturesLayerOptions lo;
  lo.tables = layer.table_set();
  DenseFeatures other({cols[0]}, lo);
  EXPECT_EQ(other.tables().FindDynamic("videos"), table);
}

TEST(DynamicFeaturesTest, SequenceFeaturesWithMaxSequenceLength) {
  auto seq = sequence_categorical_column_with_dynamic_vocabulary("clicks");
  EmbeddingColumnOptions o = Opts("mean");
  o.max_sequence_length = 2;
  SequenceFeatures layer({embedding_column(seq, 2, o)});
  auto* table = layer.tables().FindDynamic("clicks_embedding");
  ASSERT_NE(table, nullptr);
  UpsertKnownRows(*table);
  FeatureBatch b;
  // example 0: 10, 20, 99 (step 2 dropped); example 1: 99
  b.Set("clicks", Feature::Ragged({0, 3, 4}, Int64s{10, 20, 99, 99}));
  SequenceFeatures::Output out = layer(b);
  EXPECT_EQ(out.output.shape, (std::vector<int64_t>{2, 2, 2}));
  ExpectNear(out.output.values, {1, 2, 3, 4, 0.5f, 0.5f, 0, 0});
  EXPECT_EQ(out.sequence_length, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(table->size(), 2);
}

TEST(DynamicFeaturesTest, StorageOptionsReachTheVariable) {
  EmbeddingColumnOptions o = Opts("sum");
  o.dynamic_table.emplace();
  o.dynamic_table->num_shards = 3;
  o.dynamic_table->init_capacity = 300;
  o.dynamic_table->value_dtype = "bfloat16";
  o.dynamic_table->kv_creator = "memory";
  o.dynamic_table->restrict_policy = NewFrequencyRestrictPolicy()->get_config();
  o.dynamic_table->admission_filter = NewCounterAdmissionFilter(2)->get_config();
  o.trainable = false;
  auto e = embedding_column(categorical_column_with_dynamic_vocabulary("video"), 4, o);
  TableSet tables(3);
  dynamic_embedding::Variable& v = tables.GetOrCreateDynamic(*e);
  EXPECT_EQ(v.name(), "video_embedding");
  EXPECT_EQ(v.num_shards(), 3);
  EXPECT_EQ(v.init_size(), 300);
  EXPECT_EQ(v.value_dtype(), ValueDtype::kBFloat16);
  EXPECT_EQ(v.dim(), 4);
  EXPECT_FALSE(v.trainable());
  EXPECT_EQ(v.initializer(), *e->options().initializer);
  ASSERT_NE(v.restrict_policy(), nullptr);
  EXPECT_EQ(v.restrict_policy()->class_name(), "FrequencyRestrictPolicy");
  ASSERT_NE(v.admission_filter(), nullptr);
  EXPECT_EQ(&tables.GetOrCreateDynamic(*e), &v);
  EXPECT_EQ(tables.dynamic_tables(), (std::vector<const dynamic_embedding::Variable*>{&v}));
}

TEST(DynamicFeaturesTest, TableSetErrors) {
  auto dyn = embedding_column(categorical_column_with_dynamic_vocabulary("video"), 2);
  auto fixed = embedding_column(categorical_column_with_identity("video", 5), 2);
  TableSet tables;
  ExpectError<InvalidArgument>([&] { tables.GetOrCreate(*dyn); },
                               {"video_embedding", "dynamic vocabulary", "GetOrCreateDynamic"});
  ExpectError<InvalidArgument>([&] { tables.GetOrCreateDynamic(*fixed); },
                               {"video_embedding", "fixed vocabulary", "GetOrCreate"});
  tables.GetOrCreate(*fixed);
  ExpectError<InvalidArgument>([&] { tables.GetOrCreateDynamic(*dyn); },
                               {"dynamic table 'video_embedding'", "fixed table"});
  TableSet other;
  other.GetOrCreateDynamic(*dyn);
  ExpectError<InvalidArgument>([&] { other.GetOrCreate(*fixed); },
                               {"fixed table 'video_embedding'", "dynamic table"});
  auto wide = embedding_column(categorical_column_with_dynamic_vocabulary("video"), 3);
  ExpectError<InvalidArgument>([&] { other.GetOrCreateDynamic(*wide); },
                               {"dim 3", "dim 2"});
  auto strings =
      embedding_column(categorical_column_with_dynamic_vocabulary("video", "string"), 2);
  ExpectError<InvalidArgument>([&] { other.GetOrCreateDynamic(*strings); },
                               {"string keys", "int64 keys"});

  auto bad = [](const char* field, nlohmann::json value) {
    EmbeddingColumnOptions o;
    o.dynamic_table.emplace();
    if (std::string(field) == "kv_creator") o.dynamic_table->kv_creator = value;
    if (std::string(field) == "restrict_policy") o.dynamic_table->restrict_policy = value;
    if (std::string(field) == "admission_filter") o.dynamic_table->admission_filter = value;
    return embedding_column(categorical_column_with_dynamic_vocabulary("v"), 2, o);
  };
  ExpectError<InvalidArgument>(
      [&] {
        TableSet t;
        t.GetOrCreateDynamic(
            *bad("kv_creator", {{"class_name", "NoSuchStoreCreator"}, {"config", {}}}));
      },
      {"v_embedding", "dynamic_table.kv_creator", "NoSuchStoreCreator"});
  ExpectError<InvalidArgument>(
      [&] {
        TableSet t;
        t.GetOrCreateDynamic(*bad("restrict_policy", {{"class_name", "Lru"}}));
      },
      {"v_embedding", "dynamic_table.restrict_policy", "Lru"});
  ExpectError<InvalidArgument>(
      [&] {
        TableSet t;
        t.GetOrCreateDynamic(*bad("admission_filter", {{"class_name", "Bloom"}}));
      },
      {"v_embedding", "dynamic_table.admission_filter", "Bloom"});
  // A layer creates the table at construction, so a bad config fails there.
  ExpectError<InvalidArgument>(
      [&] { DenseFeatures layer({bad("restrict_policy", {{"class_name", "Lru"}})}); },
      {"dynamic_table.restrict_policy"});

  EmbeddingColumnOptions ckpt;
  ckpt.ckpt_to_load_from = "/tmp/ckpt";
  ckpt.tensor_name_in_ckpt = "t";
  auto c = embedding_column(categorical_column_with_dynamic_vocabulary("v"), 2, ckpt);
  ExpectError<FailedPrecondition>([&] { TableSet().GetOrCreateDynamic(*c); },
                                  {"v_embedding", "ckpt_to_load_from", "dynamic vocabulary"});
}

TEST(DynamicFeaturesTest, LayerConfigRoundTrip) {
  auto cols = shared_embeddings({categorical_column_with_dynamic_vocabulary("a", "string"),
                                 categorical_column_with_dynamic_vocabulary("b", "string")},
                                2, Opts("mean"));
  DenseFeatures layer({cols[0], cols[1],
                       embedding_column(categorical_column_with_dynamic_vocabulary("c"), 1,
                                        Opts("sum"))});
  const nlohmann::ordered_json config = layer.get_config();
  DenseFeatures back = DenseFeatures::from_config(nlohmann::json::parse(config.dump()));
  EXPECT_EQ(back.get_config().dump(), config.dump());
  ASSERT_NE(back.tables().FindDynamic("a_b_shared_embedding"), nullptr);
  back.tables().FindDynamic("a_b_shared_embedding")
      ->upsert(Strings{"x"}, std::vector<float>{2, 4});
  FeatureBatch b;
  b.Set("a", Feature::Ragged({0, 2}, Strings{"x", "y"}));
  b.Set("b", Feature::Ragged({0, 1}, Strings{"x"}));
  b.Set("c", Feature::Ragged({0, 1}, Int64s{1}));
  // a: mean([2,4], [0.5,0.5]) = [1.25, 2.25]; b: [2,4]; c: [0.5]
  ExpectNear(back(b).values, {1.25f, 2.25f, 2, 4, 0.5f});

  EmbeddingColumnOptions o = Opts("sum");
  o.max_sequence_length = 3;
  SequenceFeatures seq(
      {embedding_column(sequence_categorical_column_with_dynamic_vocabulary("s", "int32"), 2, o)});
  const nlohmann::ordered_json seq_config = seq.get_config();
  SequenceFeatures seq_back = SequenceFeatures::from_config(nlohmann::json::parse(seq_config.dump()));
  EXPECT_EQ(seq_back.get_config().dump(), seq_config.dump());
  EXPECT_EQ(seq_back.tables().FindDynamic("s_embedding")->key_dtype(), KeyType::kInt32);
}

}  // namespace
}  // namespace embcol
