// ModelConfig: the JSON document that `embcol train`, `evaluate` and
// `predict` read (--config MODEL.json) -- the feature columns, the model,
// the head, the optimizers, the data and the training schedule of one model,
// the way a tf.estimator canned estimator is configured in Python.
// docs/model-config.md lists every key with its default.
//
//   {
//     "model_dir": "clicks_model",
//     "feature_columns": [ ...columns as TensorFlow serializes them... ],
//     "label_key": "label",
//     "model": {"type": "dnn", "hidden_units": [64, 32]},
//     "head": {"type": "binary_classification"},
//     "embedding_optimizer": {"class_name": "Adagrad", "config": {"learning_rate": 0.05}},
//     "dense_optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.001}},
//     "train": {"data": {"files": ["train.tfrecord"], "format": "tfrecord"},
//               "batch_size": 256, "max_steps": 2000, "eval_every_steps": 1000},
//     "eval": {"data": {"files": ["eval.tfrecord"], "format": "tfrecord"}}
//   }
//
// Parsing checks every key and value before anything runs. An error is an
// InvalidArgument whose message starts with the JSON path of the problem,
// e.g. "$.train.batch_size: must be an integer >= 1; got 0." or
// "$.model: unknown key 'hiden_units'; expected keys: (...)". Relative file
// paths (data files, feature_columns_file, model_dir) are resolved against
// the directory of the config file.
//
// A ModelConfig is a plain value: thread-compatible.
#ifndef EMBCOL_MODEL_CONFIG_H_
#define EMBCOL_MODEL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/csv.h"
#include "embcol/dense_optimizer.h"
#include "embcol/dnn.h"
#include "embcol/feature_column.h"
#include "embcol/head.h"
#include "embcol/linear_model.h"
#include "embcol/sparse_optimizer.h"

namespace embcol {

// Where examples come from.
struct DataSourceConfig {
  // File names or glob patterns, resolved against the config's directory.
  std::vector<std::string> files;
  // "tfrecord" (tf.Example records), "csv", "tsv" or "criteo".
  std::string format = "tfrecord";
  // tfrecord: "auto" (by file extension), "", "GZIP" or "ZLIB".
  std::string compression = "auto";
  // csv / tsv / criteo: the layout. For csv and tsv without "columns", the
  // names come from the first file's header line and the types from the
  // feature columns (see docs/model-config.md); csv_infer_columns is then
  // true and csv.columns empty until the data is opened.
  CsvSchema csv;
  bool csv_infer_columns = false;
  // Where this source was read, e.g. "$.train.data" (for messages).
  std::string json_path;
};

struct ModelSpec {
  // "dnn" (DNNClassifier / DNNRegressor), "linear" (a linear model over
  // the features layer's output; with sum_inputs, LinearClassifier's weight
  // per bucket) or "dnn_linear_combined" (wide & deep: WideDeepModel).
  std::string type = "dnn";
  DnnOptions dnn;        // hidden_units, activation, dropout
  LinearOptions linear;  // sum_inputs
  // dnn_linear_combined: the columns (by DenseFeatures name) each part reads.
  std::vector<std::string> linear_columns, dnn_columns;
};

struct HeadSpec {
  // "binary_classification", "multi_class" or "regression".
  std::string type = "binary_classification";
  int64_t n_classes = 2;        // multi_class: > 2
  int64_t label_dimension = 1;  // regression: >= 1
  HeadOptions options;          // loss_reduction
  int64_t logits_dimension() const;
};

struct TrainSpec {
  std::optional<DataSourceConfig> data;
  int64_t batch_size = 128;
  // Train until the global step reaches max_steps (TensorFlow's
  // train(max_steps=...)); 0: until the data runs out (see epochs).
  int64_t max_steps = 0;
  // Passes over the data; 0 repeats until max_steps. At least one of
  // max_steps and epochs must be > 0.
  int64_t epochs = 0;
  bool shuffle = true;
  int64_t shuffle_buffer_size = 10000;
  // Seed of the shuffle (the model's seed is ModelConfig::seed).
  uint64_t shuffle_seed = 0;
  int num_parse_threads = 2;
  // Threads of a fixed table's optimizer step.
  int num_threads = 1;
  bool drop_remainder = false;
  // Steps between evaluations on the eval data (0: only at the end, when
  // there is eval data), checkpoints (0: only at the end), summary points
  // written to the event file, and progress lines.
  int64_t eval_every_steps = 0;
  int64_t save_checkpoints_steps = 1000;
  int64_t save_summary_steps = 100;
  int keep_checkpoint_max = 5;
};

struct EvalSpec {
  std::optional<DataSourceConfig> data;
  int64_t batch_size = 1024;
  // Batches per evaluation; 0: the whole eval data.
  int64_t steps = 0;
};

struct ModelConfig {
  std::string model_dir;
  std::vector<ColumnPtr> feature_columns;
  std::string label_key = "label";
  std::optional<std::string> weight_key;
  ModelSpec model;
  HeadSpec head;
  SparseOptimizer embedding_optimizer = SparseOptimizer::Adagrad();
  DenseOptimizer dense_optimizer = DenseOptimizer::Adagrad();
  // dnn_linear_combined: the linear part's dense parameters and the tables
  // of columns only the linear part reads (TensorFlow's linear_optimizer).
  std::optional<SparseOptimizer> linear_optimizer;
  // Seeds the tables' and the model's initial values (and dropout).
  uint64_t seed = 0;
  TrainSpec train;
  EvalSpec eval;
  // The document as given (stored in checkpoints, compared on resume).
  nlohmann::json document;
  // The directory relative paths were resolved against.
  std::string base_dir;
};

// Parses a config document. base_dir: the directory relative paths are
// resolved against ("" = the working directory). Throws InvalidArgument
// starting with the JSON path of the first problem.
ModelConfig ParseModelConfig(const nlohmann::json& document, const std::string& base_dir = "");

// Reads and parses the file at `path` (relative paths resolve against its
// directory). Throws NotFound naming the path when it cannot be read,
// InvalidArgument naming the path, line and column for JSON that does not
// parse, and what ParseModelConfig throws.
ModelConfig LoadModelConfig(const std::string& path);

// Parses one data source object found at `json_path`.
DataSourceConfig ParseDataSource(const nlohmann::json& source, const std::string& json_path,
                                 const std::string& base_dir = "");

}  // namespace embcol

#endif  // EMBCOL_MODEL_CONFIG_H_
