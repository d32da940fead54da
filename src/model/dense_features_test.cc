#include "embcol/dense_features.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "embcol/checkpoint.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

// Table rows: 0:[1,2] 1:[3,4] 2:[5,6] 3:[7,8]
InitializerConfig Table4x2() {
  return InitializerConfig{"Constant",
                           {{"value", {{1, 2}, {3, 4}, {5, 6}, {7, 8}}}}};
}

EmbeddingColumnOptions Opts(const std::string& combiner) {
  EmbeddingColumnOptions o;
  o.combiner = combiner;
  o.initializer = Table4x2();
  return o;
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
}

// rows: {0,2} {} {3} {-1,1}
FeatureBatch IdsBatch() {
  FeatureBatch b;
  b.Set("aaa", Feature::Ragged({0, 2, 2, 3, 5}, Int64s{0, 2, 3, -1, 1}));
  return b;
}

TEST(DenseFeaturesTest, CombinersWithSafeLookup) {
  auto ids = categorical_column_with_identity("aaa", 4);
  {
    DenseFeatures layer({embedding_column(ids, 2, Opts("mean"))});
    DenseTensor out = layer(IdsBatch());
    EXPECT_EQ(out.shape, (std::vector<int64_t>{4, 2}));
    // mean{0,2} = [3,4]; empty -> 0; {3} -> [7,8]; {-1 pruned, 1} -> [3,4]
    ExpectNear(out.values, {3, 4, 0, 0, 7, 8, 3, 4});
  }
  {
    DenseFeatures layer({embedding_column(ids, 2, Opts("sum"))});
    ExpectNear(layer(IdsBatch()).values, {6, 8, 0, 0, 7, 8, 3, 4});
  }
  {
    DenseFeatures layer({embedding_column(ids, 2, Opts("sqrtn"))});
    const float r2 = std::sqrt(2.0f);
    ExpectNear(layer(IdsBatch()).values, {6 / r2, 8 / r2, 0, 0, 7, 8, 3, 4});
  }
}

TEST(DenseFeaturesTest, WeightedCombiners) {
  auto w = weighted_categorical_column(categorical_column_with_identity("aaa", 4), "w");
  FeatureBatch b;
  // row 0: ids {0,2} weights {1,3}; row 1: ids {1,3} weights {2,-1}
  b.Set("aaa", Feature::Ragged({0, 2, 4}, Int64s{0, 2, 1, 3}));
  b.Set("w", Feature::Ragged({0, 2, 4}, Floats{1, 3, 2, -1}));
  {
    // sum keeps the negative weight: row1 = 2*[3,4] - [7,8] = [-1, 0]
    DenseFeatures layer({embedding_column(w, 2, Opts("sum"))});
    ExpectNear(layer(b).values, {16, 20, -1, 0});
  }
  {
    // mean: row0 = [16,20]/4; row1 prunes w<=0: 2*[3,4]/2 = [3,4]
    DenseFeatures layer({embedding_column(w, 2, Opts("mean"))});
    ExpectNear(layer(b).values, {4, 5, 3, 4});
  }
  {
    // sqrtn: row0 = [16,20]/sqrt(10); row1 = 2*[3,4]/sqrt(4) = [3,4]
    DenseFeatures layer({embedding_column(w, 2, Opts("sqrtn"))});
    const float r10 = std::sqrt(10.0f);
    ExpectNear(layer(b).values, {16 / r10, 20 / r10, 3, 4});
  }
}

TEST(DenseFeaturesTest, MaxNormClipsEachRowBeforeCombining) {
  auto ids = categorical_column_with_identity("aaa", 4);
  EmbeddingColumnOptions o = Opts("sum");
  o.max_norm = 5.0;
  DenseFeatures layer({embedding_column(ids, 2, o)});
  FeatureBatch b;
  b.Set("aaa", Feature::Ragged({0, 2}, Int64s{1, 2}));
  // ||[3,4]|| = 5 stays; ||[5,6]|| = sqrt(61) -> [5,6]*5/sqrt(61)
  const float s = 5.0f / std::sqrt(61.0f);
  ExpectNear(layer(b).values, {3 + 5 * s, 4 + 6 * s});
}

TEST(DenseFeaturesTest, UnsafeLookupKeepsAllRowsAndRejectsNegativeIds) {
  auto ids = categorical_column_with_identity("aaa", 4);
  EmbeddingColumnOptions o = Opts("mean");
  o.use_safe_embedding_lookup = false;
  DenseFeatures layer({embedding_column(ids, 2, o)});
  FeatureBatch b;
  // trailing empty rows are kept (TensorFlow would drop them)
  b.Set("aaa", Feature::Ragged({0, 1, 1, 1}, Int64s{3}));
  DenseTensor out = layer(b);
  EXPECT_EQ(out.shape, (std::vector<int64_t>{3, 2}));
  ExpectNear(out.values, {7, 8, 0, 0, 0, 0});
  EXPECT_THROW(layer(IdsBatch()), OutOfRange);
}

TEST(DenseFeaturesTest, OutOfRangeIdNamesColumnAndId) {
  auto ids = categorical_column_with_identity("aaa", 4);
  DenseFeatures layer({embedding_column(ids, 2, Opts("mean"))});
  FeatureBatch b;
  b.Set("aaa", Feature::Ragged({0, 1}, Int64s{9}));
  try {
    layer(b);
    FAIL();
  } catch (const OutOfRange& e) {
    EXPECT_NE(std::string(e.what()).find("aaa"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("9"), std::string::npos) << e.what();
  }
}

TEST(DenseFeaturesTest, OutputIsSortedByColumnName) {
  auto emb = embedding_column(categorical_column_with_identity("bbb", 4), 2, Opts("sum"));
  auto price = numeric_column("price");
  auto age = numeric_column("age");
  // Given order: price, bbb_embedding, age. Output order: age, bbb_embedding, price.
  DenseFeatures layer({price, emb, age});
  ASSERT_EQ(layer.feature_columns().size(), 3u);
  EXPECT_EQ(layer.feature_columns()[0]->name(), "age");
  EXPECT_EQ(layer.feature_columns()[1]->name(), "bbb_embedding");
  EXPECT_EQ(layer.feature_columns()[2]->name(), "price");
  EXPECT_EQ(layer.output_size(), 4);
  FeatureBatch b;
  b.Set("bbb", Feature::Ragged({0, 1, 2}, Int64s{0, 3}));
  b.Set("price", Feature::Dense({2}, Floats{10, 20}));
  b.Set("age", Feature::Dense({2, 1}, Floats{30, 40}));
  ExpectNear(layer(b).values, {30, 1, 2, 10, 40, 7, 8, 20});
}

TEST(DenseFeaturesTest, SharedEmbeddingsReadOneTable) {
  EmbeddingColumnOptions o = Opts("sum");
  auto cols = shared_embeddings({categorical_column_with_identity("watched", 4),
                                 categorical_column_with_identity("impression", 4)},
                                2, o);
  DenseFeatures layer({cols[0], cols[1]});
  ASSERT_EQ(layer.tables().tables().size(), 1u);
  EXPECT_EQ(layer.tables().tables()[0]->name(), "impression_watched_shared_embedding");
  FeatureBatch b;
  b.Set("watched", Feature::Ragged({0, 2}, Int64s{0, 1}));
  b.Set("impression", Feature::Ragged({0, 1}, Int64s{3}));
  // sorted: impression_shared_embedding [7,8], watched_shared_embedding [4,6]
  ExpectNear(layer(b).values, {7, 8, 4, 6});
  // A change to the one table shows in both columns.
  layer.tables().Find("impression_watched_shared_embedding")->Row(3)[0] = 100;
  ExpectNear(layer(b).values, {100, 8, 4, 6});
}

TEST(DenseFeaturesTest, TablesAreSeededReproducibly) {
  auto make = [](uint64_t seed) {
    FeaturesLayerOptions o;
    o.seed = seed;
    return DenseFeatures({embedding_column(categorical_column_with_identity("a", 50), 8)},
                         o);
  };
  auto t1 = make(1).tables().tables()[0]->ToVector();
  auto t1b = make(1).tables().tables()[0]->ToVector();
  auto t2 = make(2).tables().tables()[0]->ToVector();
  EXPECT_EQ(t1, t1b);
  EXPECT_NE(t1, t2);
  // Default initializer: truncated at 2 stddev = 2/sqrt(8).
  for (float v : t1) EXPECT_LE(std::fabs(v), 2.0f / std::sqrt(8.0f) + 1e-6f);
}

TEST(DenseFeaturesTest, LayerErrors) {
  auto ids = categorical_column_with_identity("aaa", 4);
  EXPECT_THROW(DenseFeatures({}), InvalidArgument);
  try {
    DenseFeatures({ids});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("must be a DenseColumn"), std::string::npos);
  }
  try {
    DenseFeatures({numeric_column("a"), numeric_column("a")});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Duplicate feature column name"), std::string::npos);
  }
  try {
    DenseFeatures({embedding_column(sequence_categorical_column_with_identity("s", 4), 2)});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("must not be of type SequenceCategoricalColumn"),
              std::string::npos);
  }
  DenseFeatures layer({numeric_column("a"), numeric_column("b")});
  FeatureBatch b;
  b.Set("a", Feature::Dense({2}, Floats{1, 2}));
  b.Set("b", Feature::Dense({3}, Floats{1, 2, 3}));
  try {
    layer(b);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Batch size of columns (a, b): (2, 3)"),
              std::string::npos)
        << e.what();
  }
  FeatureBatch empty;
  empty.Set("a", Feature::Dense({0}, Floats{}));
  empty.Set("b", Feature::Dense({0}, Floats{}));
  EXPECT_THROW(layer(empty), InvalidArgument);
  FeatureBatch missing;
  missing.Set("a", Feature::Dense({1}, Floats{1}));
  EXPECT_THROW(layer(missing), InvalidArgument);
}

// ckpt_to_load_from naming an embcol checkpoint (checkpoint.h): the table of
// another model saved with CheckpointWriter, by its tensor name.
TEST(DenseFeaturesTest, LoadsTheInitialTableFromAnEmbcolCheckpoint) {
  const std::string model_dir = std::filesystem::temp_directory_path().string() +
                                "/embcol_dense_features_ckpt_" + std::to_string(::getpid());
  std::filesystem::remove_all(model_dir);
  const std::vector<float> saved = {0.5f, -1, 2, 4, 8, -16, 0.25f, 3};  // [4, 2]
  CheckpointWriterOptions no_sync;
  no_sync.sync = false;
  CheckpointWriter writer(model_dir, 3, no_sync);
  writer.AddFloats("old_embedding/embedding_weights", {4, 2}, saved);
  writer.AddFloats("other", {2, 4}, saved);
  writer.AddScalarInt64("global_step", 3);
  const std::string ckpt_dir = writer.Commit();

  EmbeddingColumnOptions o = Opts("sum");
  o.ckpt_to_load_from = model_dir;  // the model_dir form: its latest checkpoint
  o.tensor_name_in_ckpt = "old_embedding/embedding_weights";
  auto ids = categorical_column_with_identity("aaa", 4);
  {
    DenseFeatures layer({embedding_column(ids, 2, o)});
    // The checkpoint wins over the initializer (Table4x2).
    EXPECT_EQ(layer.tables().Find("aaa_embedding")->ToVector(), saved);
    // rows {0,2} {} {3} {-1,1}, summed: [0.5+8, -1-16], 0, [0.25, 3], [2, 4].
    ExpectNear(layer(IdsBatch()).values, {8.5f, -17, 0, 0, 0.25f, 3, 2, 4});
  }
  o.ckpt_to_load_from = ckpt_dir;  // the checkpoint directory form
  EXPECT_EQ(TableSet().GetOrCreate(*embedding_column(ids, 2, o)).ToVector(), saved);

  o.tensor_name_in_ckpt = "old_embedding/embedding_weight";
  try {
    TableSet().GetOrCreate(*embedding_column(ids, 2, o));
    ADD_FAILURE() << "no exception";
  } catch (const NotFound& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("old_embedding/embedding_weights"), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("column ", 0), 0u) << msg;  // names the column first
    EXPECT_NE(msg.find("; tensors of shape [4, 2]: old_embedding/embedding_weights."),
              std::string::npos)
        << msg;
  }
  o.tensor_name_in_ckpt = "other";
  try {
    TableSet().GetOrCreate(*embedding_column(ids, 2, o));
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("aaa_embedding"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is float32 [2, 4], but the table needs float32 [4, 2]"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("checkpoint: old_embedding/embedding_weights;"), std::string::npos)
        << msg;
  }
  o.tensor_name_in_ckpt = "global_step";
  EXPECT_THROW(TableSet().GetOrCreate(*embedding_column(ids, 2, o)), InvalidArgument);
  std::filesystem::remove_all(model_dir);
  o.ckpt_to_load_from = model_dir;
  EXPECT_THROW(DenseFeatures({embedding_column(ids, 2, o)}), NotFound);
}

// ---- SequenceFeatures ------------------------------------------------------

FeatureBatch SequenceBatch() {
  FeatureBatch b;
  // example 0: steps [1, 2]; example 1: step [3]
  b.Set("s", Feature::Ragged({0, 2, 3}, Int64s{1, 2, 3}));
  return b;
}

TEST(SequenceFeaturesTest, OutputPerStepAndSequenceLength) {
  auto seq = sequence_categorical_column_with_identity("s", 4);
  SequenceFeatures layer({embedding_column(seq, 2, Opts("mean"))});
  SequenceFeatures::Output out = layer(SequenceBatch());
  EXPECT_EQ(out.output.shape, (std::vector<int64_t>{2, 2, 2}));
  ExpectNear(out.output.values, {3, 4, 5, 6, 7, 8, 0, 0});
  EXPECT_EQ(out.sequence_length, (std::vector<int64_t>{2, 1}));
}

TEST(SequenceFeaturesTest, MaxSequenceLengthPadsAndTruncates) {
  auto seq = sequence_categorical_column_with_identity("s", 4);
  {
    EmbeddingColumnOptions o = Opts("mean");
    o.max_sequence_length = 3;
    SequenceFeatures layer({embedding_column(seq, 2, o)});
    SequenceFeatures::Output out = layer(SequenceBatch());
    EXPECT_EQ(out.output.shape, (std::vector<int64_t>{2, 3, 2}));
    ExpectNear(out.output.values, {3, 4, 5, 6, 0, 0, 7, 8, 0, 0, 0, 0});
    EXPECT_EQ(out.sequence_length, (std::vector<int64_t>{2, 1}));
  }
  {
    EmbeddingColumnOptions o = Opts("mean");
    o.max_sequence_length = 1;
    SequenceFeatures layer({embedding_column(seq, 2, o)});
    SequenceFeatures::Output out = layer(SequenceBatch());
    EXPECT_EQ(out.output.shape, (std::vector<int64_t>{2, 1, 2}));
    ExpectNear(out.output.values, {3, 4, 7, 8});
    EXPECT_EQ(out.sequence_length, (std::vector<int64_t>{1, 1}));
  }
}

TEST(SequenceFeaturesTest, ColumnsAreConcatenatedInNameOrder) {
  auto a = sequence_categorical_column_with_identity("a", 4);
  auto b = sequence_categorical_column_with_identity("b", 4);
  SequenceFeatures layer({indicator_column(b), embedding_column(a, 2, Opts("sum"))});
  FeatureBatch batch;
  batch.Set("a", Feature::Ragged({0, 2}, Int64s{0, 3}));
  batch.Set("b", Feature::Ragged({0, 2}, Int64s{2, 2}));
  SequenceFeatures::Output out = layer(batch);
  EXPECT_EQ(out.output.shape, (std::vector<int64_t>{1, 2, 6}));
  // step 0: a_embedding [1,2] + b_indicator one-hot(2); step 1: [7,8] + one-hot(2)
  ExpectNear(out.output.values, {1, 2, 0, 0, 1, 0, 7, 8, 0, 0, 1, 0});
}

TEST(SequenceFeaturesTest, SequenceNumericBesideEmbedding) {
  auto seq = sequence_categorical_column_with_identity("s", 4);
  SequenceFeatures layer({sequence_numeric_column("rating"), embedding_column(seq, 2, Opts("mean"))});
  FeatureBatch b = SequenceBatch();
  b.Set("rating", Feature::Ragged({0, 2, 3}, Floats{0.5f, 0.25f, 2.0f}));
  SequenceFeatures::Output out = layer(b);
  // Order: "rating" < "s_embedding".
  EXPECT_EQ(out.output.shape, (std::vector<int64_t>{2, 2, 3}));
  ExpectNear(out.output.values, {0.5f, 3, 4, 0.25f, 5, 6, 2, 7, 8, 0, 0, 0});
  EXPECT_EQ(out.sequence_length, (std::vector<int64_t>{2, 1}));
  EXPECT_THROW(DenseFeatures({sequence_numeric_column("rating")}), InvalidArgument);
}

TEST(SequenceFeaturesTest, Errors) {
  EXPECT_THROW(SequenceFeatures({embedding_column(categorical_column_with_identity("a", 4), 2)}),
               InvalidArgument);
  EXPECT_THROW(SequenceFeatures({numeric_column("a")}), InvalidArgument);
  auto a = sequence_categorical_column_with_identity("a", 4);
  auto b = sequence_categorical_column_with_identity("b", 4);
  SequenceFeatures layer({embedding_column(a, 2, Opts("sum")), embedding_column(b, 2, Opts("sum"))});
  FeatureBatch batch;
  batch.Set("a", Feature::Ragged({0, 2}, Int64s{0, 3}));
  batch.Set("b", Feature::Ragged({0, 1}, Int64s{2}));
  EXPECT_THROW(layer(batch), InvalidArgument);
}

TEST(DenseFeaturesTest, LayerConfigRoundTrip) {
  // TensorFlow's DenseFeatures config for two columns, written by hand.
  const nlohmann::json config = nlohmann::json::parse(R"({
    "class_name": "DenseFeatures",
    "config": {"name": "my_features", "trainable": true, "dtype": "float32",
      "feature_columns": [
        {"class_name": "EmbeddingColumn", "config": {
           "categorical_column": {"class_name": "IdentityCategoricalColumn",
                                  "config": {"key": "aaa", "number_buckets": 3, "default_value": null}},
           "dimension": 2, "combiner": "mean",
           "initializer": {"class_name": "TruncatedNormal",
                           "config": {"mean": 0.0, "stddev": 0.7071067811865475, "seed": null, "dtype": "float32"}},
           "ckpt_to_load_from": null, "tensor_name_in_ckpt": null, "max_norm": null,
           "trainable": true, "use_safe_embedding_lookup": true}},
        {"class_name": "NumericColumn", "config": {
           "key": "price", "shape": [1], "default_value": null, "dtype": "float32", "normalizer_fn": null}}],
      "partitioner": null}})");
  DenseFeatures layer = DenseFeatures::from_config(config);
  EXPECT_EQ(layer.name(), "my_features");
  EXPECT_EQ(layer.output_size(), 3);
  EXPECT_EQ(nlohmann::json(layer.get_config()), config);
  EXPECT_THROW(SequenceFeatures::from_config(config), InvalidArgument);
}

}  // namespace
}  // namespace embcol
