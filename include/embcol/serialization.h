// JSON (de)serialization of feature columns and of DenseFeatures /
// SequenceFeatures layer configs, compatible with TensorFlow's
// tf.feature_column serialization (serialize_feature_column, get_config /
// from_config) and Keras' layer get_config. docs/config-format.md is the
// full spec, including embcol's extensions (accelerator keys on
// EmbeddingColumn, the SharedEmbeddingColumn class, and dynamic tables: the
// DynamicVocabularyCategoricalColumn class and the dynamic_table key).
//
// Use SerializeFeatureColumn / SerializeLayerConfig to write a config that
// TensorFlow can load (plain columns serialize exactly as TF writes them),
// and ParseColumnsDocument (or DeserializeFeatureColumns / ParseLayerConfig)
// to read one TF wrote. Writing returns nlohmann::ordered_json so that key
// order is TF's; reading takes either json flavor.
//
// Reading is strict: every error is an InvalidArgument whose message holds
// the JSON path of the problem (e.g. "$[2].config.categorical_column.config")
// and, for key-set errors, the expected keys. The factory functions validate
// every column as it is built.
//
// The functions are thread-safe; a DeserializeContext is not thread-safe.
#ifndef EMBCOL_SERIALIZATION_H_
#define EMBCOL_SERIALIZATION_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/embedding_column.h"
#include "embcol/feature_column.h"

namespace embcol {

// ---- writing -------------------------------------------------------------

// {"class_name": column.class_name(), "config": {...}} with exactly TF's keys
// in TF's order (nulls included). Throws FailedPrecondition naming the column
// when it holds something JSON cannot express: a C++ normalizer_fn, a C++
// learning_rate_fn.
nlohmann::ordered_json SerializeFeatureColumn(const FeatureColumn& column);
// A JSON array of SerializeFeatureColumn envelopes, in the given order.
nlohmann::ordered_json SerializeFeatureColumns(const std::vector<ColumnPtr>& columns);

// ---- reading -------------------------------------------------------------

// State shared while reading one document: TF's columns_by_name
// de-duplication map and embcol's shared-embedding groups.
struct DeserializeContext {
  struct Built {
    ColumnPtr column;
    std::string json_path;  // where it was first read
  };
  // "<ClassName>:<name>" -> the first column built under that key. A later
  // config with the same key returns that same object; it must serialize to
  // the same JSON (embcol is stricter than TF, which keeps the first silently).
  std::map<std::string, Built> columns_by_name;
  // Collection name -> its SharedEmbeddingColumn members so far, each checked
  // against the others (ValidateSharedEmbeddingColumns) as it is added.
  std::map<std::string, std::vector<std::pair<std::shared_ptr<const SharedEmbeddingColumn>,
                                              std::string>>>
      shared_groups;
};

// Reads the envelope found at `json_path` (used in messages), building any
// nested columns through `context`. A plain string (TF allows one only as a
// raw feature name inside CrossedColumn.keys) is an error here.
ColumnPtr DeserializeFeatureColumn(const nlohmann::json& config,
                                   DeserializeContext& context,
                                   const std::string& json_path);
// Reads a JSON array of envelopes with one shared context, so a parent
// written out in several places is one object.
std::vector<ColumnPtr> DeserializeFeatureColumns(const nlohmann::json& list,
                                                 const std::string& json_path = "$");

// ---- layer configs ---------------------------------------------------------

inline constexpr const char* kDenseFeatures = "DenseFeatures";
inline constexpr const char* kSequenceFeatures = "SequenceFeatures";

struct LayerConfig {
  std::string class_name;  // kDenseFeatures or kSequenceFeatures
  std::string name;        // e.g. "dense_features"
  bool trainable = true;
  std::vector<ColumnPtr> feature_columns;  // as read (TF writes them sorted)
};

// Reads {"class_name": "DenseFeatures" | "SequenceFeatures", "config": {...}}
// as any Keras saving path writes it (wrapper keys such as module,
// registered_name, build_config, inbound_nodes are ignored). Checks what the
// layer's constructor checks: non-empty, unique column names, and the column
// kinds the layer accepts.
LayerConfig ParseLayerConfig(const nlohmann::json& layer);

// {"class_name", "config": {"name", "trainable", "dtype": "float32",
// "feature_columns": [sorted by column name], "partitioner": null}}.
nlohmann::ordered_json SerializeLayerConfig(const LayerConfig& layer);

// Accepts a JSON array of column envelopes, a DenseFeatures /
// SequenceFeatures layer entry, or a Keras model JSON (model.to_json())
// holding exactly one such layer, and returns its columns.
std::vector<ColumnPtr> ParseColumnsDocument(const nlohmann::json& document);

}  // namespace embcol

#endif  // EMBCOL_SERIALIZATION_H_
