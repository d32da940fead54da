// TFRA's Keras Embedding / SquashedEmbedding over a dynamic_embedding::Variable.
#include "embcol/dynamic_embedding_layer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "embcol/errors.h"
#include "embcol/kv_creator.h"
#include "embcol/restrict_policy.h"

namespace embcol::dynamic_embedding {
namespace {

bool IsSquashedCombiner(const std::string& c) {
  return c == "sum" || c == "mean" || c == "min" || c == "max" || c == "prod" || c == "std";
}

}  // namespace

std::string Embedding::Context() const { return "dynamic embedding layer " + options_.name; }

Embedding::Embedding(EmbeddingOptions options) : options_(std::move(options)) {
  if (options_.embedding_size < 1) {
    throw InvalidArgument(Context() + ": embedding_size must be >= 1, got " +
                          std::to_string(options_.embedding_size) + ".");
  }
  if (!IsSquashedCombiner(options_.combiner) && options_.combiner != "sqrtn") {
    throw InvalidArgument(Context() + ": unknown combiner '" + options_.combiner +
                          "'; use one of sum, mean, min, max, prod, std.");
  }
  VariableOptions v;
  v.name = options_.name + "-parameter";
  v.key_dtype = ParseKeyType(options_.key_dtype, Context());
  v.value_dtype = ParseValueDtype(options_.value_dtype, Context());
  v.dim = options_.embedding_size;
  v.devices = options_.devices;
  v.num_shards = 1;
  v.partitioner = options_.partitioner;
  v.initializer = options_.initializer;
  v.trainable = options_.trainable;
  v.restrict_policy = std::move(options_.restrict_policy);
  v.admission_filter = std::move(options_.admission_filter);
  v.bp_v2 = options_.bp_v2;
  v.init_size = options_.init_capacity;
  const bool described = !options_.kv_creator_config.is_null();
  options_.kv_creator_config = CanonicalKvCreatorConfig(options_.kv_creator_config, Context());
  if (options_.kv_creator) {
    v.kv_creator = options_.kv_creator;
    custom_kv_creator_undescribed_ = !described;
  } else if (options_.kv_creator_config["class_name"] != kInMemoryKvCreator) {
    v.kv_creator = KvCreatorFromConfig(options_.kv_creator_config, Context());
  } else {
    // The in-memory class: the Variable's default store (validates the config).
    KvCreatorFromConfig(options_.kv_creator_config, Context());
  }
  variable_ = std::make_unique<Variable>(std::move(v));
}

Embedding::~Embedding() = default;

DenseTensor Embedding::call(const KeyView& ids, const std::vector<int64_t>& shape,
                            TrainingContext* ctx) {
  DenseTensor out;
  if (ctx != nullptr) {
    if (NumElements(shape) != ids.size()) {
      throw InvalidArgument(Context() + ": " + std::to_string(ids.size()) +
                            " ids do not fill their shape; pass the ids' own shape.");
    }
    out.shape = shape;
    out.shape.push_back(embedding_size());
    out.values.resize(ids.size() * embedding_size());
    variable_->Forward(ids, out.values, ctx);
  } else if (options_.with_unique) {
    out = embedding_lookup_unique(*variable_, ids, shape);
  } else {
    out = embedding_lookup(*variable_, ids, shape);
  }
  if (options_.max_norm.has_value()) ClipByNorm(out.values, embedding_size(), *options_.max_norm);
  return out;
}

nlohmann::json Embedding::get_config() const {
  if (!variable_->has_default_partitioner()) {
    throw FailedPrecondition(Context() + ": a custom C++ partitioner cannot be serialized; "
                             "use the default partitioner to save this layer's config.");
  }
  if (custom_kv_creator_undescribed_) {
    throw FailedPrecondition(Context() + ": a custom C++ kv_creator cannot be serialized; set "
                             "EmbeddingOptions::kv_creator_config to the store's "
                             "{\"class_name\", \"config\"} description (kv_creator.h), or use "
                             "a registered store through kv_creator_config alone.");
  }
  nlohmann::json c;
  c["embedding_size"] = options_.embedding_size;
  c["key_dtype"] = options_.key_dtype;
  c["value_dtype"] = options_.value_dtype;
  c["combiner"] = options_.combiner;
  c["initializer"] = options_.initializer.ToJson();
  c["devices"] = options_.devices.empty() ? nlohmann::json(nullptr) : nlohmann::json(options_.devices);
  c["name"] = options_.name;
  c["trainable"] = options_.trainable;
  c["bp_v2"] = options_.bp_v2;
  c["restrict_policy"] = variable_->restrict_policy() ? variable_->restrict_policy()->get_config()
                                                      : nlohmann::json(nullptr);
  c["admission_filter"] = variable_->admission_filter()
                              ? variable_->admission_filter()->get_config()
                              : nlohmann::json(nullptr);
  c["init_capacity"] = options_.init_capacity;
  c["partitioner"] = "default";
  c["kv_creator"] = options_.kv_creator_config;
  c["max_norm"] = options_.max_norm.has_value() ? nlohmann::json(*options_.max_norm)
                                                : nlohmann::json(nullptr);
  return c;
}

EmbeddingOptions Embedding::OptionsFromConfig(const nlohmann::json& config, const char* class_name) {
  const std::string where = std::string("dynamic embedding layer config (") + class_name + ")";
  if (!config.is_object()) throw InvalidArgument(where + ": the config must be a JSON object.");
  EmbeddingOptions o;
  try {
    if (config.contains("name") && !config["name"].is_null()) o.name = config["name"].get<std::string>();
    const std::string ctx = "dynamic embedding layer " + o.name;
    if (!config.contains("embedding_size")) {
      throw InvalidArgument(ctx + ": config has no embedding_size.");
    }
    o.embedding_size = config["embedding_size"].get<int64_t>();
    auto str = [&](const char* key, std::string* out) {
      if (config.contains(key) && !config[key].is_null()) *out = config[key].get<std::string>();
    };
    str("key_dtype", &o.key_dtype);
    str("value_dtype", &o.value_dtype);
    str("combiner", &o.combiner);
    if (config.contains("initializer") && !config["initializer"].is_null()) {
      const auto& init = config["initializer"];
      o.initializer.class_name = init.at("class_name").get<std::string>();
      o.initializer.config = init.value("config", nlohmann::json::object());
    }
    if (config.contains("devices") && !config["devices"].is_null()) {
      o.devices = config["devices"].get<std::vector<std::string>>();
    }
    if (config.contains("trainable")) o.trainable = config["trainable"].get<bool>();
    if (config.contains("bp_v2")) o.bp_v2 = config["bp_v2"].get<bool>();
    if (config.contains("init_capacity")) o.init_capacity = config["init_capacity"].get<int64_t>();
    if (config.contains("restrict_policy") && !config["restrict_policy"].is_null()) {
      o.restrict_policy = RestrictPolicyFromConfig(config["restrict_policy"], ctx);
    }
    if (config.contains("partitioner") && !config["partitioner"].is_null() &&
        config["partitioner"] != "default") {
      throw InvalidArgument(ctx + ": partitioner must be \"default\" or null, got " +
                            config["partitioner"].dump() + ".");
    }
    if (config.contains("admission_filter") && !config["admission_filter"].is_null()) {
      o.admission_filter = AdmissionFilterFromConfig(config["admission_filter"], ctx);
    }
    if (config.contains("kv_creator")) {
      // Validated here so a bad one fails before any store is built.
      o.kv_creator_config = CanonicalKvCreatorConfig(config["kv_creator"], ctx);
    }
    if (config.contains("max_norm") && !config["max_norm"].is_null()) {
      o.max_norm = config["max_norm"].get<float>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(where + " for layer " + o.name + ": a field has the wrong type (" +
                          e.what() + ").");
  }
  return o;
}

std::unique_ptr<Embedding> Embedding::from_config(const nlohmann::json& config) {
  return std::make_unique<Embedding>(OptionsFromConfig(config, "Embedding"));
}

// ------------------------------------------------------------------ Squashed
SquashedEmbedding::SquashedEmbedding(EmbeddingOptions options) : Embedding(std::move(options)) {
  if (!IsSquashedCombiner(options_.combiner)) {
    throw InvalidArgument(Context() + ": unknown combiner '" + options_.combiner +
                          "' for SquashedEmbedding; use one of sum, mean, min, max, prod, std.");
  }
}

std::unique_ptr<SquashedEmbedding> SquashedEmbedding::from_config(const nlohmann::json& config) {
  return std::make_unique<SquashedEmbedding>(OptionsFromConfig(config, "SquashedEmbedding"));
}

DenseTensor SquashedEmbedding::call(const KeyView& ids, const std::vector<int64_t>& shape,
                                    TrainingContext* ctx) {
  DenseTensor x = Embedding::call(ids, shape, ctx);
  const int rank = static_cast<int>(x.shape.size());
  if (rank == 2) return ReduceAxis(x, 0, options_.combiner);
  for (int i = 0; i < rank - 2; ++i) x = ReduceAxis(x, 1, options_.combiner);
  return x;
}

DenseTensor ReduceAxis(const DenseTensor& x, int axis, const std::string& combiner) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.shape[i];
  for (size_t i = axis + 1; i < x.shape.size(); ++i) inner *= x.shape[i];
  const int64_t n = x.shape[axis];
  std::vector<int64_t> shape = x.shape;
  shape.erase(shape.begin() + axis);
  DenseTensor out = DenseTensor::Zeros(shape);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t k) { return double(x.values[(o * n + k) * inner + in]); };
      double r = 0;
      if (combiner == "sum" || combiner == "mean" || combiner == "std") {
        double sum = 0;
        for (int64_t k = 0; k < n; ++k) sum += at(k);
        r = sum;
        if (combiner != "sum") {
          // TF's reduce_mean of an empty axis is NaN (0/0).
          const double mean = sum / n;
          r = mean;
          if (combiner == "std") {
            double sq = 0;
            for (int64_t k = 0; k < n; ++k) sq += (at(k) - mean) * (at(k) - mean);
            r = std::sqrt(sq / n);
          }
        }
      } else if (combiner == "prod") {
        r = 1;
        for (int64_t k = 0; k < n; ++k) r *= at(k);
      } else if (combiner == "min") {
        r = std::numeric_limits<float>::infinity();  // TF's identity for an empty min
        for (int64_t k = 0; k < n; ++k) r = std::min(r, at(k));
      } else if (combiner == "max") {
        r = -std::numeric_limits<float>::infinity();
        for (int64_t k = 0; k < n; ++k) r = std::max(r, at(k));
      } else {
        throw InvalidArgument("ReduceAxis: unknown combiner '" + combiner +
                              "'; use one of sum, mean, min, max, prod, std.");
      }
      out.values[o * inner + in] = static_cast<float>(r);
    }
  }
  return out;
}

}  // namespace embcol::dynamic_embedding
