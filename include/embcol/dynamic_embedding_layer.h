// TFRA's Keras layers de.keras.layers.Embedding and SquashedEmbedding over a
// dynamic_embedding::Variable (dynamic_embedding.h).
//
// Embedding::call(ids, shape) returns shape + [embedding_size]: ids are
// deduplicated (with_unique, tf.unique order), looked up, optionally clipped
// to max_norm per row (tf.clip_by_norm) and gathered back. The combiner is
// only stored, as in TFRA. With a TrainingContext the call goes through
// Variable::Forward (train mode inserts admitted keys; ids are always
// deduplicated there, so duplicates share one row and one update); without
// one it is a pure lookup that never inserts. max_norm clips the returned
// rows; the context keeps the unclipped rows as read.
//
// SquashedEmbedding::call reduces that result with the combiner (sum, mean,
// min, max, prod, std = population std): a 2-D result (n, dim) is reduced
// over axis 0 to (dim); a result of rank r > 2 is reduced over axis 1, r-2
// times (TFRA's nested reduction), giving (batch, dim). For r > 3 this is a
// reduce of reduces: identical to a flat reduction for sum/mean/min/max/
// prod, but for std it is the std of per-group stds, not of all elements.
// embcol implements TFRA's nested rule deliberately.
//
// The layer's variable is named "<name>-parameter". get_config / from_config
// use the JSON fields TFRA's get_config writes, plus embcol's extension
// "admission_filter"; docs/dynamic-embedding-config.md documents every
// field. Errors name the layer.
//
// Thread-safety: call() and the accessors are thread-safe (the Variable is);
// set_weights and from_config are thread-compatible.
#ifndef EMBCOL_DYNAMIC_EMBEDDING_LAYER_H_
#define EMBCOL_DYNAMIC_EMBEDDING_LAYER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/dynamic_embedding.h"
#include "embcol/tensor.h"

namespace embcol::dynamic_embedding {

struct EmbeddingOptions {
  // Floats per key. Required, >= 1.
  int64_t embedding_size = 0;
  // "int64" (default), "int32" or "string".
  std::string key_dtype = "int64";
  // "float32" (default), "float16"/"half" or "bfloat16".
  std::string value_dtype = "float32";
  // "sum" (default), "mean", "min", "max", "prod", "std"; Embedding also
  // stores "sqrtn" (it never applies the combiner).
  std::string combiner = "sum";
  // Default Keras RandomNormal(mean 0, stddev 0.05).
  InitializerConfig initializer{
      "RandomNormal", {{"mean", 0.0}, {"stddev", 0.05}, {"seed", nullptr}}};
  // One shard per entry; empty (default): one shard.
  std::vector<std::string> devices;
  // Default "DynamicEmbeddingLayer".
  std::string name = "DynamicEmbeddingLayer";
  // Deduplicate ids before the lookup (duplicates share one row). Default
  // true. Not part of get_config (TFRA does not save it).
  bool with_unique = true;
  // False: training never inserts or updates a key. Default true.
  bool trainable = true;
  // WriteBack accumulates deltas instead of overwriting (TFRA's bp_v2).
  // Default false.
  bool bp_v2 = false;
  // Passed to the Variable (restrict_policy.h). Default none.
  std::unique_ptr<RestrictPolicy> restrict_policy;
  // Passed to the Variable: a new key gets a row only once admitted
  // (restrict_policy.h). Default none (every key admitted). An embcol
  // extension: TFRA has no admission filter.
  std::unique_ptr<AdmissionFilter> admission_filter;
  // Variable init_size. Default 0 (the store default).
  int64_t init_capacity = 0;
  // Empty (default): DefaultPartition. A custom one makes get_config throw.
  Partitioner partitioner;
  // The store, as a serializable description (kv_creator.h):
  // {"class_name": ..., "config": {...}}, "memory" or null. null (default):
  // the in-memory table. Used when `kv_creator` below is empty. Either way
  // it must name a registered class (the constructor checks it against the
  // kv_creator registry), so what get_config writes from_config can load.
  nlohmann::json kv_creator_config = nullptr;
  // A C++ store function. Empty (default): `kv_creator_config` decides.
  // When set it is used, and get_config writes `kv_creator_config` as its
  // description (the caller vouches that they match); with no description
  // get_config throws FailedPrecondition.
  KvCreator kv_creator;
  // Per-row L2 clip on read; nullopt (default): none.
  std::optional<float> max_norm;
};

class Embedding {
 public:
  // Throws InvalidArgument naming the layer for embedding_size < 1, an
  // unknown combiner, key_dtype or value_dtype, or a bad or unregistered
  // kv_creator_config.
  explicit Embedding(EmbeddingOptions options);
  virtual ~Embedding();
  Embedding(const Embedding&) = delete;
  Embedding& operator=(const Embedding&) = delete;

  // ids.size() == product(shape). Returns shape + [embedding_size].
  // ctx: see the file comment.
  virtual DenseTensor call(const KeyView& ids, const std::vector<int64_t>& shape,
                           TrainingContext* ctx = nullptr);

  // {"embedding_size", "key_dtype", "value_dtype", "combiner", "initializer",
  //  "devices", "name", "trainable", "bp_v2", "restrict_policy",
  //  "admission_filter" (null when none; embcol extension), "init_capacity",
  //  "partitioner" ("default"), "kv_creator" ({"class_name", "config"}, as
  //  TFRA writes the creator object), "max_norm"}. FailedPrecondition naming
  // the layer for a custom partitioner, or a custom kv_creator function
  // without a kv_creator_config (C++ functions cannot be serialized).
  nlohmann::json get_config() const;
  // Accepts what get_config writes; "partitioner" may be null, "kv_creator"
  // may also be the legacy "memory" or null, "admission_filter" and
  // "restrict_policy" null or absent. Unknown fields are ignored, as Keras
  // ignores extra kwargs it pops.
  static std::unique_ptr<Embedding> from_config(const nlohmann::json& config);

  // Keys and values ([n, embedding_size]) of the variable.
  ExportedEntries get_weights() const { return variable_->export_(); }
  // Replaces the contents (Variable::import_; atomic).
  void set_weights(const ExportedEntries& weights) { variable_->import_(weights); }
  int64_t size() const { return variable_->size(); }
  int64_t count_params() const { return size() * embedding_size(); }

  int64_t embedding_size() const { return options_.embedding_size; }
  const std::string& name() const { return options_.name; }
  const std::string& combiner() const { return options_.combiner; }
  Variable& variable() { return *variable_; }
  const Variable& variable() const { return *variable_; }

 protected:
  // Parses options shared by from_config of both classes.
  static EmbeddingOptions OptionsFromConfig(const nlohmann::json& config, const char* class_name);
  std::string Context() const;

  EmbeddingOptions options_;  // kv_creator_config canonical; the policies moved out
  // A C++ kv_creator with no kv_creator_config: get_config refuses.
  bool custom_kv_creator_undescribed_ = false;
  std::unique_ptr<Variable> variable_;
};

class SquashedEmbedding : public Embedding {
 public:
  // Default name "SquashedEmbedding" is not special: pass any name.
  explicit SquashedEmbedding(EmbeddingOptions options);
  // Embedding::call, then the nested combiner reduction (file comment).
  DenseTensor call(const KeyView& ids, const std::vector<int64_t>& shape,
                   TrainingContext* ctx = nullptr) override;
  static std::unique_ptr<SquashedEmbedding> from_config(const nlohmann::json& config);
};

// Reduces axis `axis` of x with the Squashed combiner. REQUIRES
// 0 <= axis < rank; combiner one of sum/mean/min/max/prod/std.
DenseTensor ReduceAxis(const DenseTensor& x, int axis, const std::string& combiner);

}  // namespace embcol::dynamic_embedding

#endif  // EMBCOL_DYNAMIC_EMBEDDING_LAYER_H_
