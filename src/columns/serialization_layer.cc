// DenseFeatures / SequenceFeatures layer configs (Keras' _BaseFeaturesLayer
// get_config / from_config) and ParseColumnsDocument.
#include <algorithm>
#include <set>

#include "columns/serialization_internal.h"
#include "embcol/dense_column.h"
#include "embcol/embedding_column.h"
#include "embcol/serialization.h"

namespace embcol {
namespace {

using namespace internal;  // NOLINT: the helpers of this layer

bool IsFeaturesLayer(const json& value) {
  return value.is_object() && value.contains("class_name") &&
         (value["class_name"] == kDenseFeatures || value["class_name"] == kSequenceFeatures);
}

// True for the columns SequenceFeatures accepts: embedding or indicator
// columns over a sequence categorical column.
bool IsSequenceDense(const FeatureColumn& column) {
  if (dynamic_cast<const SequenceNumericColumn*>(&column)) return true;
  if (const auto* e = dynamic_cast<const EmbeddingColumnBase*>(&column)) {
    return e->is_sequence();
  }
  if (const auto* i = dynamic_cast<const IndicatorColumn*>(&column)) {
    return i->categorical_column()->is_sequence();
  }
  return false;
}

// What the layers' constructors check (_normalize_feature_columns and the
// DenseFeatures / SequenceFeatures type checks).
void CheckLayerColumns(const std::string& class_name,
                       const std::vector<ColumnPtr>& columns,
                       const std::string& path) {
  if (columns.empty()) {
    Invalid(path, "Expected feature_columns to be non-empty; a " + class_name +
                      " layer needs at least one column.");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < columns.size(); ++i) {
    const FeatureColumn& column = *columns[i];
    const std::string at = IndexPath(path, i);
    if (!names.insert(column.name()).second) {
      Invalid(at, "Duplicate feature column name found for columns: " + column.name() +
                      "; each column of a layer needs its own name.");
    }
    if (class_name == kSequenceFeatures) {
      if (!IsSequenceDense(column)) {
        Invalid(at, "All feature_columns of SequenceFeatures must be sequence dense "
                    "columns (an embedding or indicator column over a "
                    "sequence_categorical_column_with_*); got " + column.class_name() +
                    " '" + column.name() + "'.");
      }
    } else {
      if (dynamic_cast<const DenseColumn*>(&column) == nullptr) {
        Invalid(at, "Items of feature_columns of DenseFeatures must be a DenseColumn "
                    "(numeric, bucketized, indicator or embedding column); got " +
                    column.class_name() + " '" + column.name() + "'.");
      }
      if (IsSequenceDense(column)) {
        Invalid(at, "Column '" + column.name() + "' reads a sequence column; use it in "
                    "a SequenceFeatures layer, not DenseFeatures.");
      }
    }
  }
}

// Layer dtype: a plain "float32" or a Keras Policy object naming float32.
void CheckLayerDType(const json& dtype, const std::string& path) {
  std::string name;
  if (dtype.is_string()) {
    name = dtype.get<std::string>();
  } else if (dtype.is_object() && dtype.contains("config") && dtype["config"].is_object() &&
             dtype["config"].contains("name") && dtype["config"]["name"].is_string()) {
    name = dtype["config"]["name"].get<std::string>();
  }
  if (name != "float32") {
    Invalid(path, "layer dtype " + dtype.dump() +
                      " is not supported; embcol computes feature layers in float32.");
  }
}

LayerConfig ParseLayerAt(const json& layer, const std::string& path) {
  if (!IsFeaturesLayer(layer)) {
    Invalid(path, "expected a layer {\"class_name\": \"DenseFeatures\" | "
                  "\"SequenceFeatures\", \"config\": {...}}; got " +
                  (layer.is_object() && layer.contains("class_name")
                       ? "class_name " + layer["class_name"].dump()
                       : std::string(layer.type_name())) + ".");
  }
  // Only class_name and config are read; the wrapper keys of the various
  // saving paths (module, registered_name, build_config, inbound_nodes,
  // shared_object_id, _is_feature_layer, ...) are ignored.
  const std::string config_path = KeyPath(path, "config");
  if (!layer.contains("config")) Invalid(path, "missing key 'config'.");
  const json& config = layer["config"];
  if (config.is_object() && config.contains("layer was saved without config")) {
    Invalid(config_path, "the layer was saved without its config (TensorFlow cannot "
                         "serialize shared embedding columns); rebuild the columns or "
                         "write them with embcol.");
  }
  CheckKeys(config, config_path, {"name", "trainable", "dtype", "feature_columns"},
            {"partitioner", "batch_input_shape", "dynamic"});
  LayerConfig out;
  out.class_name = layer["class_name"].get<std::string>();
  out.name = GetString(config, config_path, "name");
  out.trainable = GetBool(config, config_path, "trainable");
  CheckLayerDType(config["dtype"], KeyPath(config_path, "dtype"));
  if (config.contains("partitioner") && !config["partitioner"].is_null()) {
    Invalid(KeyPath(config_path, "partitioner"),
            "partitioner " + config["partitioner"].dump() +
                " is not supported: it names Python code, which embcol cannot run; "
                "set it to null.");
  }
  const std::string columns_path = KeyPath(config_path, "feature_columns");
  out.feature_columns = DeserializeFeatureColumns(config["feature_columns"], columns_path);
  CheckLayerColumns(out.class_name, out.feature_columns, columns_path);
  return out;
}

}  // namespace

LayerConfig ParseLayerConfig(const json& layer) { return ParseLayerAt(layer, "$"); }

nlohmann::ordered_json SerializeLayerConfig(const LayerConfig& layer) {
  if (layer.class_name != kDenseFeatures && layer.class_name != kSequenceFeatures) {
    throw InvalidArgument("SerializeLayerConfig: class_name must be DenseFeatures or "
                          "SequenceFeatures; got '" + layer.class_name + "'.");
  }
  for (const ColumnPtr& column : layer.feature_columns) {
    if (!column) {
      throw InvalidArgument("SerializeLayerConfig: layer '" + layer.name +
                            "' holds a null column.");
    }
  }
  std::vector<ColumnPtr> sorted = layer.feature_columns;
  // Keras writes the columns sorted by name (code-point order = byte order).
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const ColumnPtr& a, const ColumnPtr& b) { return a->name() < b->name(); });
  try {
    CheckLayerColumns(layer.class_name, sorted, "layer '" + layer.name + "'");
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string("SerializeLayerConfig: ") + e.what());
  }
  ordered_json config = ordered_json::object();
  config["name"] = layer.name;
  config["trainable"] = layer.trainable;
  config["dtype"] = "float32";
  config["feature_columns"] = SerializeFeatureColumns(sorted);
  config["partitioner"] = nullptr;
  ordered_json out = ordered_json::object();
  out["class_name"] = layer.class_name;
  out["config"] = std::move(config);
  return out;
}

std::vector<ColumnPtr> ParseColumnsDocument(const json& document) {
  if (document.is_array()) return DeserializeFeatureColumns(document, "$");
  if (IsFeaturesLayer(document)) return ParseLayerAt(document, "$").feature_columns;
  // A Keras model (model.to_json(), .keras config.json): find the one
  // feature layer in config.layers.
  if (document.is_object() && document.contains("config") &&
      document["config"].is_object() && document["config"].contains("layers") &&
      document["config"]["layers"].is_array()) {
    const json& layers = document["config"]["layers"];
    std::vector<size_t> found;
    for (size_t i = 0; i < layers.size(); ++i) {
      if (IsFeaturesLayer(layers[i])) found.push_back(i);
    }
    if (found.size() == 1) {
      return ParseLayerAt(layers[found[0]], IndexPath("$.config.layers", found[0]))
          .feature_columns;
    }
    Invalid("$.config.layers",
            found.empty()
                ? "the model has no DenseFeatures or SequenceFeatures layer."
                : "the model has " + std::to_string(found.size()) +
                      " DenseFeatures/SequenceFeatures layers; pass the one layer entry "
                      "you want.");
  }
  Invalid("$", "expected a JSON array of feature columns, a DenseFeatures / "
               "SequenceFeatures layer config, or a Keras model holding one; got " +
               (document.is_object() && document.contains("class_name")
                    ? "class_name " + document["class_name"].dump()
                    : std::string(document.type_name())) + ".");
}

}  // namespace embcol
