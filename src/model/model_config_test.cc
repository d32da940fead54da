// ModelConfig parsing: defaults, path resolution, and errors that start
// with the JSON path of the problem.
#include "embcol/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "embcol/errors.h"

namespace embcol {
namespace {

using nlohmann::json;

json Minimal() {
  return json::parse(R"({
    "model_dir": "out",
    "feature_columns": [
      {"class_name": "NumericColumn",
       "config": {"key": "x", "shape": [1], "default_value": null, "dtype": "float32",
                  "normalizer_fn": null}}],
    "model": {"type": "dnn", "hidden_units": [4]},
    "train": {"data": {"files": ["a/*.tfrecord", "/abs/b.tfrecord"]}, "max_steps": 10}
  })");
}

// The message of the InvalidArgument that parsing `doc` throws.
std::string ErrorOf(const json& doc) {
  try {
    ParseModelConfig(doc, "/base");
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << doc.dump();
  return "";
}

TEST(ModelConfigTest, DefaultsAndPaths) {
  const ModelConfig c = ParseModelConfig(Minimal(), "/base");
  EXPECT_EQ(c.model_dir, "/base/out");
  ASSERT_TRUE(c.train.data.has_value());
  EXPECT_EQ(c.train.data->files, (std::vector<std::string>{"/base/a/*.tfrecord", "/abs/b.tfrecord"}));
  EXPECT_EQ(c.train.data->format, "tfrecord");
  EXPECT_EQ(c.train.data->compression, "auto");
  EXPECT_EQ(c.train.data->json_path, "$.train.data");
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.train.max_steps, 10);
  EXPECT_EQ(c.train.epochs, 0);
  EXPECT_EQ(c.label_key, "label");
  EXPECT_FALSE(c.weight_key.has_value());
  EXPECT_EQ(c.head.type, "binary_classification");
  EXPECT_EQ(c.head.logits_dimension(), 1);
  EXPECT_EQ(c.model.dnn.hidden_units, (std::vector<int64_t>{4}));
  EXPECT_EQ(c.model.dnn.logits_dim, 1);
  // TensorFlow's DNN default: Adagrad at 0.05.
  EXPECT_EQ(c.embedding_optimizer.class_name(), "Adagrad");
  EXPECT_EQ(c.dense_optimizer.ToConfig()["class_name"], "Adagrad");
  EXPECT_DOUBLE_EQ(c.embedding_optimizer.ToConfig()["config"]["learning_rate"].get<double>(), 0.05);
  EXPECT_FALSE(c.eval.data.has_value());
}

TEST(ModelConfigTest, LinearDefaultsToFtrlAndHeadsSetTheLogitsWidth) {
  json doc = Minimal();
  doc["model"] = {{"type", "linear"}, {"sum_inputs", true}};
  doc["head"] = {{"type", "multi_class"}, {"n_classes", 5}};
  const ModelConfig c = ParseModelConfig(doc);
  EXPECT_EQ(c.embedding_optimizer.class_name(), "Ftrl");
  EXPECT_DOUBLE_EQ(c.embedding_optimizer.ToConfig()["config"]["learning_rate"].get<double>(), 0.2);
  EXPECT_TRUE(c.model.linear.sum_inputs);
  EXPECT_EQ(c.model.linear.logits_dim, 5);
  doc["head"] = {{"type", "regression"}, {"label_dimension", 3}};
  EXPECT_EQ(ParseModelConfig(doc).model.linear.logits_dim, 3);
}

TEST(ModelConfigTest, CsvSources) {
  json doc = Minimal();
  doc["eval"] = {{"data", {{"files", "e.tsv"}, {"format", "tsv"}, {"csv", {{"header", true}}}}}};
  ModelConfig c = ParseModelConfig(doc, "/base");
  EXPECT_TRUE(c.eval.data->csv_infer_columns);
  EXPECT_EQ(c.eval.data->csv.delimiter, '\t');
  EXPECT_FALSE(c.eval.data->csv.quoting);
  doc["eval"]["data"] = json::parse(R"({"files": "e.csv", "format": "csv", "csv": {"columns": [
      "label", {"name": "x", "dtype": "float32", "default": 0}, {"name": "c", "optional": true}]}})");
  c = ParseModelConfig(doc, "/base");
  const CsvSchema& s = c.eval.data->csv;
  ASSERT_EQ(s.columns.size(), 3u);
  EXPECT_EQ(s.delimiter, ',');
  EXPECT_EQ(s.columns[0].name, "label");
  EXPECT_EQ(s.columns[0].type, DType::kString);
  EXPECT_EQ(s.columns[1].type, DType::kFloat32);
  EXPECT_EQ(s.columns[1].default_value, "0");
  EXPECT_TRUE(s.columns[2].optional);
  doc["eval"]["data"] = {{"files", "day_0"}, {"format", "criteo"}};
  EXPECT_EQ(ParseModelConfig(doc).eval.data->csv.columns.size(), 40u);
}

TEST(ModelConfigTest, ErrorsNameTheJsonPath) {
  json doc = Minimal();
  doc["train"]["batch_size"] = 0;
  EXPECT_EQ(ErrorOf(doc), "$.train.batch_size: must be an integer >= 1; got 0.");

  doc = Minimal();
  doc["model"]["hiden_units"] = {4};
  EXPECT_EQ(ErrorOf(doc).rfind("$.model: unknown key 'hiden_units'; expected keys: (", 0), 0u)
      << ErrorOf(doc);

  doc = Minimal();
  doc.erase("model");
  EXPECT_EQ(ErrorOf(doc), "$: missing key 'model'.");

  doc = Minimal();
  doc["model"]["hidden_units"] = {4, -2};
  EXPECT_EQ(ErrorOf(doc), "$.model.hidden_units[1]: must be an integer >= 1; got -2.");

  doc = Minimal();
  doc["head"] = {{"type", "binary"}};
  EXPECT_EQ(ErrorOf(doc).rfind("$.head.type: unknown value \"binary\"; expected one of: "
                               "binary_classification, multi_class, regression.", 0), 0u);

  doc = Minimal();
  doc["head"] = {{"type", "multi_class"}};
  EXPECT_EQ(ErrorOf(doc), "$.head: missing key 'n_classes' (the number of classes, > 2).");

  doc = Minimal();
  doc["train"]["data"]["format"] = "parquet";
  EXPECT_EQ(ErrorOf(doc).rfind("$.train.data.format: unknown value \"parquet\"", 0), 0u);

  doc = Minimal();
  doc["train"]["data"]["files"] = {"a", 3};
  EXPECT_EQ(ErrorOf(doc), "$.train.data.files[1]: must be a file name or glob pattern; got 3.");

  doc = Minimal();
  doc["eval"] = {{"data", {{"files", "e.csv"}, {"format", "csv"}}}};
  EXPECT_EQ(ErrorOf(doc).rfind("$.eval.data: format \"csv\" needs", 0), 0u) << ErrorOf(doc);

  doc = Minimal();
  doc["model"]["dropout"] = 1.0;
  EXPECT_EQ(ErrorOf(doc), "$.model.dropout: must be a number in [0, 1); got 1.0.");

  // An unknown column type: the path of the column.
  doc = Minimal();
  doc["feature_columns"][0]["class_name"] = "NoSuchColumn";
  EXPECT_EQ(ErrorOf(doc).rfind("$.feature_columns[0]", 0), 0u) << ErrorOf(doc);

  // A bad optimizer: its path.
  doc = Minimal();
  doc["dense_optimizer"] = {{"class_name", "Adamm"}};
  EXPECT_EQ(ErrorOf(doc).rfind("$.dense_optimizer", 0), 0u) << ErrorOf(doc);

  doc = Minimal();
  doc["nonsense"] = 1;
  EXPECT_EQ(ErrorOf(doc).rfind("$: unknown key 'nonsense'", 0), 0u);

  doc = Minimal();
  doc["feature_columns_file"] = "cols.json";
  EXPECT_EQ(ErrorOf(doc).rfind("$: give exactly one of 'feature_columns'", 0), 0u);
}

TEST(ModelConfigTest, LoadsAFileAndNamesItInErrors) {
  const std::string dir = ::testing::TempDir() + "embcol_model_config_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  json doc = Minimal();
  doc["feature_columns_file"] = "cols.json";
  std::ofstream(dir + "/cols.json") << doc["feature_columns"].dump();
  doc.erase("feature_columns");
  std::ofstream(dir + "/model.json") << doc.dump();
  const ModelConfig c = LoadModelConfig(dir + "/model.json");
  EXPECT_EQ(c.feature_columns.size(), 1u);
  EXPECT_EQ(c.model_dir, dir + "/out");

  std::ofstream(dir + "/bad.json") << "{\"model_dir\": \n 3,";
  try {
    LoadModelConfig(dir + "/bad.json");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/bad.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoadModelConfig(dir + "/absent.json"), NotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace embcol
