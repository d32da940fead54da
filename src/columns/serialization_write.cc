// Writing feature columns as TensorFlow's JSON: SerializeFeatureColumn(s).
// Key sets and key order are the namedtuple fields of each TF class
// (docs/config-format.md).
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "columns/serialization_internal.h"
#include "embcol/categorical_column.h"
#include "embcol/dense_column.h"
#include "embcol/embedding_column.h"
#include "embcol/serialization.h"

namespace embcol {
namespace {

using internal::ordered_json;

// A float as the shortest decimal that reads back as the same float, so 0.1f
// is written 0.1 (as Python writes the value the user typed), not
// 0.10000000149011612.
ordered_json FloatValue(float value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  *result.ptr = '\0';
  return ordered_json(std::strtod(buffer, nullptr));
}

// Boundaries are stored as doubles; integral ones are written as JSON ints,
// as TF writes the int boundaries users usually give ([18, 25, 30]).
ordered_json BoundaryValue(double value) {
  if (std::isfinite(value) && std::floor(value) == value && std::abs(value) < 9.0e15) {
    return ordered_json(static_cast<int64_t>(value));
  }
  return ordered_json(value);
}

// Rebuilds the nested default_value of a NumericColumn from its flat values.
ordered_json NestedDefault(const std::vector<float>& flat, const std::vector<int64_t>& shape,
                           size_t dim, size_t* next, DType dtype) {
  ordered_json out = ordered_json::array();
  for (int64_t i = 0; i < shape[dim]; ++i) {
    if (dim + 1 < shape.size()) {
      out.push_back(NestedDefault(flat, shape, dim + 1, next, dtype));
    } else {
      const float v = flat.at((*next)++);
      if (dtype == DType::kInt64) {
        out.push_back(static_cast<int64_t>(std::llround(v)));
      } else {
        out.push_back(FloatValue(v));
      }
    }
  }
  return out;
}

// Copies `object` (a std::map-ordered json object) with the keys in
// `preferred` first, in that order, then the rest alphabetically.
ordered_json Reordered(const nlohmann::json& object,
                       std::initializer_list<const char*> preferred) {
  ordered_json out = ordered_json::object();
  for (const char* key : preferred) {
    if (object.contains(key)) out[key] = ordered_json(object[key]);
  }
  for (const auto& [key, value] : object.items()) {
    if (!out.contains(key)) out[key] = ordered_json(value);
  }
  return out;
}

ordered_json Envelope(const std::string& class_name, ordered_json config) {
  ordered_json out = ordered_json::object();
  out["class_name"] = class_name;
  out["config"] = std::move(config);
  return out;
}

ordered_json OptionalString(const std::optional<std::string>& value) {
  return value ? ordered_json(*value) : ordered_json();
}

ordered_json InitializerJson(const InitializerConfig& initializer) {
  const nlohmann::json envelope = initializer.ToJson();
  // TF-v1 init_ops get_config order: mean/stddev or minval/maxval or value,
  // then seed, then dtype.
  return Envelope(envelope.at("class_name").get<std::string>(),
                  Reordered(envelope.at("config"),
                            {"mean", "stddev", "minval", "maxval", "value", "seed", "dtype"}));
}

ordered_json LearningRateJson(const LearningRateFn& fn, const std::string& column) {
  if (!fn.serializable()) {
    throw FailedPrecondition("Cannot serialize column '" + column +
                             "': its learning_rate_fn '" + fn.name() +
                             "' is a C++ callable; use a built-in schedule "
                             "(LearningRateFn::Constant, ExponentialDecay, "
                             "PiecewiseConstantDecay, CosineDecay).");
  }
  const nlohmann::json& envelope = fn.ToConfig();
  return Envelope(envelope.at("class_name").get<std::string>(),
                  Reordered(envelope.at("config"),
                            {"learning_rate", "initial_learning_rate", "decay_steps",
                             "decay_rate", "staircase", "alpha", "warmup_target",
                             "warmup_steps", "boundaries", "values"}));
}

// embcol's dynamic_table extension: every key, in a fixed order.
ordered_json DynamicTableJson(const DynamicTableOptions& d) {
  ordered_json out = ordered_json::object();
  out["init_capacity"] = d.init_capacity;
  out["num_shards"] = d.num_shards;
  out["devices"] = d.devices;
  out["value_dtype"] = d.value_dtype;
  out["kv_creator"] = ordered_json(d.kv_creator);
  out["restrict_policy"] = ordered_json(d.restrict_policy);
  out["admission_filter"] = ordered_json(d.admission_filter);
  return out;
}

// TensorFlow's embedding keys plus the accelerator keys (6.1).
void WriteEmbeddingKeysTf(const EmbeddingColumnBase& column, ordered_json& config) {
  const EmbeddingColumnOptions& o = column.options();
  config["dimension"] = column.dimension();
  config["combiner"] = o.combiner;
  config["initializer"] = InitializerJson(
      o.initializer ? *o.initializer : DefaultEmbeddingInitializer(column.dimension()));
  config["ckpt_to_load_from"] = OptionalString(o.ckpt_to_load_from);
  config["tensor_name_in_ckpt"] = OptionalString(o.tensor_name_in_ckpt);
  config["max_norm"] = o.max_norm ? ordered_json(*o.max_norm) : ordered_json();
  config["trainable"] = o.trainable;
  config["use_safe_embedding_lookup"] = o.use_safe_embedding_lookup;
  // embcol's accelerator keys: all four, and only when one is not default,
  // so a plain column is exactly what TF writes (and TF can load it).
  if (o.max_sequence_length == 0 && !o.learning_rate_fn && !o.embedding_lookup_device &&
      !o.tensor_core_shape) {
    return;
  }
  config["max_sequence_length"] = o.max_sequence_length;
  config["learning_rate_fn"] =
      o.learning_rate_fn ? LearningRateJson(*o.learning_rate_fn, column.name())
                         : ordered_json();
  config["embedding_lookup_device"] = OptionalString(o.embedding_lookup_device);
  if (o.tensor_core_shape) {
    ordered_json shape = ordered_json::array();
    for (int64_t d : *o.tensor_core_shape) {
      shape.push_back(d == -1 ? ordered_json() : ordered_json(d));  // -1: Python's None
    }
    config["tensor_core_shape"] = std::move(shape);
  } else {
    config["tensor_core_shape"] = nullptr;
  }
}

// The embedding keys both EmbeddingColumn and SharedEmbeddingColumn write
// after their categorical column (and collection name).
void WriteEmbeddingKeys(const EmbeddingColumnBase& column, ordered_json& config) {
  WriteEmbeddingKeysTf(column, config);
  // embcol's dynamic_table, last, for columns over a dynamic vocabulary.
  if (column.options().dynamic_table) {
    config["dynamic_table"] = DynamicTableJson(*column.options().dynamic_table);
  }
}

ordered_json CrossedKeyJson(const CrossedKey& key) {
  if (const auto* raw = std::get_if<std::string>(&key)) return ordered_json(*raw);
  return SerializeFeatureColumn(*std::get<CategoricalColumnPtr>(key));
}

ordered_json SerializeConfig(const FeatureColumn& column) {
  ordered_json c = ordered_json::object();
  if (const auto* numeric = dynamic_cast<const NumericColumn*>(&column)) {
    if (numeric->has_normalizer()) {
      throw FailedPrecondition("Cannot serialize column '" + column.name() +
                               "': its normalizer_fn is a C++ function, which JSON "
                               "cannot express; serialize a column without one.");
    }
    c["key"] = numeric->key();
    c["shape"] = numeric->shape();
    if (numeric->default_value()) {
      size_t next = 0;
      c["default_value"] = NestedDefault(*numeric->default_value(), numeric->shape(), 0,
                                         &next, numeric->dtype());
    } else {
      c["default_value"] = nullptr;
    }
    c["dtype"] = DTypeName(numeric->dtype());
    c["normalizer_fn"] = nullptr;
  } else if (const auto* seq = dynamic_cast<const SequenceNumericColumn*>(&column)) {
    if (seq->has_normalizer()) {
      throw FailedPrecondition("Cannot serialize column '" + column.name() +
                               "': its normalizer_fn is a C++ function, which JSON "
                               "cannot express; serialize a column without one.");
    }
    // TensorFlow writes a scalar default_value here, not the expanded form.
    c["key"] = seq->key();
    c["shape"] = seq->shape();
    c["default_value"] = FloatValue(seq->default_value());
    c["dtype"] = DTypeName(seq->dtype());
    c["normalizer_fn"] = nullptr;
  } else if (const auto* b = dynamic_cast<const BucketizedColumn*>(&column)) {
    c["source_column"] = SerializeFeatureColumn(*b->source_column());
    ordered_json boundaries = ordered_json::array();
    for (double v : b->boundaries()) boundaries.push_back(BoundaryValue(v));
    c["boundaries"] = std::move(boundaries);
  } else if (const auto* id = dynamic_cast<const IdentityCategoricalColumn*>(&column)) {
    c["key"] = id->key();
    c["number_buckets"] = id->num_buckets();
    c["default_value"] = id->default_value() ? ordered_json(*id->default_value())
                                             : ordered_json();
  } else if (const auto* h = dynamic_cast<const HashedCategoricalColumn*>(&column)) {
    c["key"] = h->key();
    c["hash_bucket_size"] = h->hash_bucket_size();
    c["dtype"] = DTypeName(h->dtype());
  } else if (const auto* v = dynamic_cast<const VocabularyListCategoricalColumn*>(&column)) {
    c["key"] = v->key();
    std::visit([&](const auto& vocab) { c["vocabulary_list"] = vocab; }, v->vocabulary());
    c["dtype"] = DTypeName(v->dtype());
    c["default_value"] = v->default_value();
    c["num_oov_buckets"] = v->num_oov_buckets();
  } else if (const auto* f = dynamic_cast<const VocabularyFileCategoricalColumn*>(&column)) {
    c["key"] = f->key();
    c["vocabulary_file"] = f->vocabulary_file();
    c["vocabulary_size"] = f->vocabulary_size();
    c["num_oov_buckets"] = f->num_oov_buckets();
    c["dtype"] = DTypeName(f->dtype());
    c["default_value"] = f->default_value();
    c["file_format"] = nullptr;
  } else if (const auto* dv =
                 dynamic_cast<const DynamicVocabularyCategoricalColumn*>(&column)) {
    c["key"] = dv->key();
    c["dtype"] = dv->dtype();
  } else if (const auto* w = dynamic_cast<const WeightedCategoricalColumn*>(&column)) {
    c["categorical_column"] = SerializeFeatureColumn(*w->categorical_column());
    c["weight_feature_key"] = w->weight_feature_key();
    c["dtype"] = DTypeName(w->dtype());
  } else if (const auto* x = dynamic_cast<const CrossedColumn*>(&column)) {
    ordered_json keys = ordered_json::array();
    for (const CrossedKey& key : x->keys()) keys.push_back(CrossedKeyJson(key));
    c["keys"] = std::move(keys);
    c["hash_bucket_size"] = x->hash_bucket_size();
    c["hash_key"] = x->hash_key() ? ordered_json(*x->hash_key()) : ordered_json();
  } else if (const auto* ind = dynamic_cast<const IndicatorColumn*>(&column)) {
    c["categorical_column"] = SerializeFeatureColumn(*ind->categorical_column());
  } else if (const auto* s = dynamic_cast<const SequenceCategoricalColumn*>(&column)) {
    c["categorical_column"] = SerializeFeatureColumn(*s->categorical_column());
  } else if (const auto* e = dynamic_cast<const EmbeddingColumn*>(&column)) {
    c["categorical_column"] = SerializeFeatureColumn(*e->categorical_column());
    WriteEmbeddingKeys(*e, c);
  } else if (const auto* sh = dynamic_cast<const SharedEmbeddingColumn*>(&column)) {
    c["categorical_column"] = SerializeFeatureColumn(*sh->categorical_column());
    c["shared_embedding_collection_name"] = sh->shared_embedding_collection_name();
    WriteEmbeddingKeys(*sh, c);
  } else {
    throw FailedPrecondition("Cannot serialize column '" + column.name() + "' of class " +
                             column.class_name() +
                             ": embcol has no JSON form for this class.");
  }
  return c;
}

}  // namespace

nlohmann::ordered_json SerializeFeatureColumn(const FeatureColumn& column) {
  return Envelope(column.class_name(), SerializeConfig(column));
}

nlohmann::ordered_json SerializeFeatureColumns(const std::vector<ColumnPtr>& columns) {
  ordered_json out = ordered_json::array();
  for (const ColumnPtr& column : columns) {
    if (!column) throw InvalidArgument("SerializeFeatureColumns: a column is null.");
    out.push_back(SerializeFeatureColumn(*column));
  }
  return out;
}

}  // namespace embcol
