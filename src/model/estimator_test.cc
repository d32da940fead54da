// Estimator: training from a config end to end, checkpoint resume (200 +
// 200 steps == 400 uninterrupted steps), evaluation, prediction and the
// refusal to resume another model's checkpoint.
#include "embcol/estimator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "embcol/checkpoint.h"
#include "embcol/dynamic_embedding.h"
#include "embcol/errors.h"
#include "embcol/metrics.h"
#include "embcol/model_config.h"
#include "embcol/summary_writer.h"
#include "embcol/synthetic_data.h"
#include "testing/fresh_test_dir.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json Embedding(const std::string& key, int64_t buckets, int64_t dim) {
  json categorical =
      buckets > 0
          ? json{{"class_name", "IdentityCategoricalColumn"},
                 {"config", {{"key", key}, {"number_buckets", buckets}, {"default_value", nullptr}}}}
          : json{{"class_name", "DynamicVocabularyCategoricalColumn"},
                 {"config", {{"key", key}, {"dtype", "int64"}}}};
  return {{"class_name", "EmbeddingColumn"},
          {"config",
           {{"categorical_column", categorical},
            {"dimension", dim},
            {"combiner", "sum"},
            {"initializer",
             {{"class_name", "TruncatedNormal"},
              {"config", {{"mean", 0.0}, {"stddev", 0.3}, {"seed", nullptr}}}}},
            {"ckpt_to_load_from", nullptr},
            {"tensor_name_in_ckpt", nullptr},
            {"max_norm", nullptr},
            {"trainable", true}}}};
}

json Numeric(const std::string& key) {
  return {{"class_name", "NumericColumn"},
          {"config",
           {{"key", key}, {"shape", {1}}, {"default_value", nullptr}, {"dtype", "float32"},
            {"normalizer_fn", nullptr}}}};
}

class EstimatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("embcol_estimator");
    fs::create_directories(dir_);
    SyntheticClickOptions o;
    o.num_examples = 6000;
    o.model_seed = 7;
    train_ = GenerateClicks(o);
    WriteClicksTsv(train_, (dir_ / "train.tsv").string());
    o.data_seed = 2;
    o.num_examples = 2000;
    eval_ = GenerateClicks(o);
    WriteClicksTsv(eval_, (dir_ / "eval.tsv").string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A DNN over every feature kind the data has: fixed tables, a dynamic
  // table, numeric columns; dropout (its mask follows the global step), Adam
  // for the dense part (slots and a step-dependent bias correction) and
  // Adagrad for the tables (slots).
  json Config(const std::string& model_dir) const {
    return {{"model_dir", model_dir},
            {"seed", 3},
            {"feature_columns",
             {Embedding("user", 200, 4), Embedding("item", 500, 4), Embedding("query", 0, 4),
              Embedding("context", 10, 4), Numeric("num_0"), Numeric("num_1")}},
            {"model", {{"type", "dnn"}, {"hidden_units", {16, 8}}, {"dropout", 0.1}}},
            {"embedding_optimizer",
             {{"class_name", "Adagrad"}, {"config", {{"learning_rate", 0.3}}}}},
            {"dense_optimizer", {{"class_name", "Adam"}, {"config", {{"learning_rate", 0.01}}}}},
            {"train",
             {{"data", {{"files", "train.tsv"}, {"format", "tsv"}, {"csv", {{"header", true}}}}},
              {"batch_size", 32},
              {"max_steps", 400},
              {"shuffle", true},
              {"shuffle_buffer_size", 500},
              {"shuffle_seed", 11},
              {"num_parse_threads", 2},
              {"save_checkpoints_steps", 150},
              {"save_summary_steps", 50}}},
            {"eval",
             {{"data", {{"files", "eval.tsv"}, {"format", "tsv"}, {"csv", {{"header", true}}}}},
              {"batch_size", 500}}}};
  }

  EstimatorOptions Quiet(std::vector<double>* losses = nullptr) {
    EstimatorOptions o;
    o.log = &log_;
    o.progress = false;
    o.sync_checkpoints = false;
    if (losses != nullptr) {
      o.on_step = [losses](int64_t, double loss) { losses->push_back(loss); };
    }
    return o;
  }

  fs::path dir_;
  SyntheticClicks train_, eval_;
  std::ostringstream log_;
};

// Everything a model is: dense parameters, fixed tables, dynamic tables
// (sorted by key), the global step.
struct Snapshot {
  std::map<std::string, std::vector<float>> values;
  int64_t global_step = 0;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

Snapshot Take(Estimator& e) {
  Snapshot s;
  s.global_step = e.global_step();
  for (const DenseParam& p : e.model().Parameters()) {
    s.values[p.name] = std::vector<float>(p.value.begin(), p.value.end());
  }
  for (const EmbeddingTable* t : e.features().tables().tables()) {
    s.values[t->name()] = t->ToVector();
  }
  for (const dynamic_embedding::Variable* v : e.features().tables().dynamic_tables()) {
    const ExportedEntries x = v->export_();
    std::vector<int64_t> order(x.int64_keys.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return x.int64_keys[a] < x.int64_keys[b]; });
    std::vector<float> rows;
    const int64_t dim = v->dim();
    for (int64_t i : order) {
      rows.push_back(static_cast<float>(x.int64_keys[i]));
      rows.insert(rows.end(), x.values.begin() + i * dim, x.values.begin() + (i + 1) * dim);
    }
    s.values[v->name()] = rows;
  }
  return s;
}

TEST_F(EstimatorTest, ResumedRunEqualsAnUninterruptedOne) {
  std::vector<double> straight_losses;
  Estimator straight(ParseModelConfig(Config("straight"), dir_.string()), Quiet(&straight_losses));
  const TrainResult full = straight.Train();
  ASSERT_EQ(full.global_step, 400);
  ASSERT_EQ(straight_losses.size(), 400u);

  std::vector<double> first_losses, second_losses;
  {
    Estimator first(ParseModelConfig(Config("resumed"), dir_.string()), Quiet(&first_losses));
    const TrainResult r = first.Train(/*max_steps_override=*/200);
    EXPECT_EQ(r.global_step, 200);
    EXPECT_EQ(r.checkpoint, (dir_ / "resumed" / "ckpt-200").string());
  }  // the process "stops"
  Estimator second(ParseModelConfig(Config("resumed"), dir_.string()), Quiet(&second_losses));
  EXPECT_EQ(second.global_step(), 200);
  const TrainResult rest = second.Train();
  EXPECT_EQ(rest.steps, 200);
  EXPECT_EQ(rest.global_step, 400);

  // The same loss at every step, and the same parameters bit for bit.
  std::vector<double> resumed_losses = first_losses;
  resumed_losses.insert(resumed_losses.end(), second_losses.begin(), second_losses.end());
  EXPECT_EQ(resumed_losses, straight_losses);
  const Snapshot a = Take(straight), b = Take(second);
  EXPECT_EQ(a.values.size(), 4u + 6u);  // 4 tables, 3 layers x (kernel, bias)
  for (const auto& [name, values] : a.values) {
    ASSERT_TRUE(b.values.count(name)) << name;
    EXPECT_EQ(values, b.values.at(name)) << name;
  }
  EXPECT_EQ(a, b);
  // Checkpoints were kept at 150, 300 and the end; the first run's 150 and
  // 200 too.
  for (const char* name : {"ckpt-150", "ckpt-200", "ckpt-300", "ckpt-400"}) {
    EXPECT_TRUE(fs::exists(dir_ / "resumed" / name)) << name;
  }
}

TEST_F(EstimatorTest, TrainsToTheEvalMetricsItReports) {
  Estimator e(ParseModelConfig(Config("m"), dir_.string()), Quiet());
  const TrainResult r = e.Train();
  ASSERT_TRUE(r.eval.has_value());
  EXPECT_EQ(r.eval->examples, 2000);
  EXPECT_EQ(r.eval->global_step, 400);
  // The reported metrics are those of the model's own predictions.
  const FeatureBatch batch = eval_.Batch(0, eval_.size());
  DenseTensor logits = e.model().Predict(e.features()(batch));
  std::vector<float> p(logits.values.size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = 1.0f / (1.0f + std::exp(-logits.values[i]));
  EXPECT_NEAR(r.eval->metrics.at("auc"), Auc(p, eval_.labels), 1e-6);
  EXPECT_NEAR(r.eval->metrics.at("log_loss"), LogLoss(p, eval_.labels), 1e-5);
  double mean_label = 0;
  for (float y : eval_.labels) mean_label += y;
  EXPECT_NEAR(r.eval->metrics.at("label/mean"), mean_label / eval_.size(), 1e-12);
  // It learned something: better than chance, with the planted model ahead.
  EXPECT_GT(r.eval->metrics.at("auc"), 0.6);
  EXPECT_LT(r.eval->metrics.at("auc"), Auc(eval_.planted_logits, eval_.labels) + 0.01);

  // Summaries: loss points every 50 steps in model_dir, eval points in eval/.
  const std::vector<ScalarEvent> train_events = ReadScalarEvents((dir_ / "m").string());
  int loss_points = 0;
  for (const ScalarEvent& ev : train_events) loss_points += ev.tag == "loss";
  EXPECT_EQ(loss_points, 8);
  bool saw_table_size = false;
  for (const ScalarEvent& ev : train_events) {
    saw_table_size |= ev.tag == "table_size/query_embedding" && ev.value > 100;
  }
  EXPECT_TRUE(saw_table_size);
  const std::vector<ScalarEvent> eval_events = ReadScalarEvents((dir_ / "m" / "eval").string());
  bool saw_auc = false;
  for (const ScalarEvent& ev : eval_events) {
    if (ev.tag == "auc" && ev.step == 400) {
      saw_auc = true;
      EXPECT_NEAR(ev.value, r.eval->metrics.at("auc"), 1e-6);
    }
  }
  EXPECT_TRUE(saw_auc);

  // Predict writes one line per example: the logit and its sigmoid.
  const fs::path scores = dir_ / "scores.tsv";
  EXPECT_EQ(e.Predict(*e.config().eval.data, scores.string()), 2000);
  std::ifstream in(scores);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "logit\tprobability");
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(std::getline(in, line)) << i;
    float logit = 0, prob = 0;
    ASSERT_EQ(std::sscanf(line.c_str(), "%f\t%f", &logit, &prob), 2) << line;
    EXPECT_NEAR(logit, logits.values[i], 1e-5) << i;
    EXPECT_NEAR(prob, p[i], 1e-6) << i;
  }
  EXPECT_FALSE(std::getline(in, line));
}

TEST_F(EstimatorTest, RefusesAnotherModelsCheckpoint) {
  {
    Estimator e(ParseModelConfig(Config("m"), dir_.string()), Quiet());
    e.Train(20);
  }
  json other = Config("m");
  other["model"]["hidden_units"] = {16};
  try {
    Estimator e(ParseModelConfig(other, dir_.string()), Quiet());
    FAIL() << "restored a checkpoint of another model";
  } catch (const FailedPrecondition& err) {
    EXPECT_NE(std::string(err.what()).find("$.model differs"), std::string::npos) << err.what();
  }
  // The train section may change freely (e.g. more steps).
  json more = Config("m");
  more["train"]["max_steps"] = 30;
  Estimator e(ParseModelConfig(more, dir_.string()), Quiet());
  EXPECT_EQ(e.global_step(), 20);
  EXPECT_EQ(e.Train().steps, 10);
}

TEST_F(EstimatorTest, DataErrorsNameTheSourceAndTheFix) {
  json config = Config("m");
  config["label_key"] = "clicked";
  Estimator e(ParseModelConfig(config, dir_.string()), Quiet());
  try {
    e.Train();
    FAIL() << "trained without labels";
  } catch (const InvalidArgument& err) {
    const std::string what = err.what();
    EXPECT_NE(what.find("$.train.data"), std::string::npos) << what;
    EXPECT_NE(what.find("no column 'clicked'"), std::string::npos) << what;
  }
  json missing = Config("m2");
  missing["train"]["data"]["files"] = "nothing-*.tsv";
  missing["train"]["data"]["csv"] = {{"columns", {"label", "user"}}};
  Estimator e2(ParseModelConfig(missing, dir_.string()), Quiet());
  EXPECT_THROW(e2.Train(), NotFound);
}

// Wide & deep from the config: the linear part's parameters and the table
// only it reads train with FTRL (TensorFlow's linear_optimizer default), the
// rest with the configured optimizers; a resumed run equals an uninterrupted
// one here too.
TEST_F(EstimatorTest, WideAndDeepTrainsEachPartWithItsOptimizerAndResumes) {
  auto config = [&](const std::string& model_dir) {
    json c = Config(model_dir);
    c["model"] = {{"type", "dnn_linear_combined"},
                  {"hidden_units", {8}},
                  {"dnn_feature_columns",
                   {"user_embedding", "item_embedding", "query_embedding", "num_0", "num_1"}},
                  {"linear_feature_columns", {"context_embedding", "num_0"}}};
    c["train"]["max_steps"] = 120;
    c["train"]["save_checkpoints_steps"] = 0;
    c["train"]["shuffle"] = false;
    return ParseModelConfig(c, dir_.string());
  };
  Estimator straight(config("wd"), Quiet());
  EXPECT_EQ(straight.Train().global_step, 120);
  {
    Estimator first(config("wd2"), Quiet());
    first.Train(60);
  }
  Estimator second(config("wd2"), Quiet());
  EXPECT_EQ(second.Train().steps, 60);
  EXPECT_EQ(Take(straight), Take(second));

  const CheckpointReader reader((dir_ / "wd").string());
  // FTRL keeps "accumulator" and "linear" slots; Adagrad only "accumulator".
  EXPECT_TRUE(reader.Has("context_embedding/embedding_weights/linear"));
  EXPECT_FALSE(reader.Has("user_embedding/embedding_weights/linear"));
  EXPECT_TRUE(reader.Has("user_embedding/embedding_weights/accumulator"));
  const std::vector<std::string> linear_params = reader.ReadStrings("dense_optimizer/linear/params");
  ASSERT_EQ(linear_params.size(), 2u);  // kernel and bias, both under linear/
  for (const std::string& p : linear_params) {
    EXPECT_EQ(p.rfind("linear/", 0), 0u) << p;
    EXPECT_TRUE(reader.Has(p + "/linear")) << p;  // an FTRL slot
  }
  // The DNN's parameters use Adam ("m", "v").
  EXPECT_TRUE(reader.Has("dnn/logits/kernel/m"));

  json bad = Config("wd3");
  bad["model"] = {{"type", "dnn_linear_combined"},
                  {"hidden_units", {8}},
                  {"dnn_feature_columns", {"user_embedding"}},
                  {"linear_feature_columns", {"context"}}};
  try {
    Estimator e(ParseModelConfig(bad, dir_.string()), Quiet());
    FAIL() << "built a model on a column that does not exist";
  } catch (const InvalidArgument& err) {
    EXPECT_EQ(std::string(err.what()).rfind(
                  "$.model.linear_feature_columns[0]: no feature column is named \"context\"", 0),
              0u)
        << err.what();
  }
}

// The dynamic table in RocksDB (kv_creator in the column's dynamic_table),
// stopped and resumed: the same parameters as an in-memory table trained
// without a stop.
TEST_F(EstimatorTest, RocksDbBackedTableResumesToTheInMemoryResult) {
  auto config = [&](const std::string& model_dir, bool rocks) {
    json c = Config(model_dir);
    c["train"]["max_steps"] = 80;
    c["train"]["save_checkpoints_steps"] = 0;
    c["model"]["dropout"] = 0.0;
    if (rocks) {
      c["feature_columns"][2]["config"]["dynamic_table"] = {
          {"kv_creator",
           {{"class_name", "RocksDBTableCreator"},
            {"config", {{"path", (dir_ / "rocks").string()}, {"cache_bytes", 2048}}}}}};
    }
    return c;
  };
  Estimator memory(ParseModelConfig(config("mem", false), dir_.string()), Quiet());
  memory.Train();
  {
    Estimator first(ParseModelConfig(config("rk", true), dir_.string()), Quiet());
    first.Train(40);
  }
  Estimator second(ParseModelConfig(config("rk", true), dir_.string()), Quiet());
  EXPECT_EQ(second.global_step(), 40);
  EXPECT_EQ(second.Train().global_step, 80);
  EXPECT_EQ(Take(memory), Take(second));
}

}  // namespace
}  // namespace embcol
