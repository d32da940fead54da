// embedding_column and shared_embeddings: TensorFlow's dense columns that
// look categorical ids up in a trainable table and combine them, with the
// accelerator arguments of tf.tpu.experimental.embedding_column /
// shared_embedding_columns.
//
// A column holds its configuration only; the table itself is created and
// owned by the layer that evaluates the column (DenseFeatures /
// SequenceFeatures, see dense_features.h) from table_name(), the column's
// num_buckets x dimension and its initializer. Columns from one
// shared_embeddings call share one table, named by the collection. Over a
// categorical_column_with_dynamic_vocabulary column the table is a dynamic
// table (dynamic_embedding::Variable) keyed by the raw feature values, with
// the storage settings of EmbeddingColumnOptions::dynamic_table.
//
// Columns are immutable and thread-safe.
#ifndef EMBCOL_EMBEDDING_COLUMN_H_
#define EMBCOL_EMBEDDING_COLUMN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/categorical_column.h"
#include "embcol/combiner.h"
#include "embcol/feature_column.h"
#include "embcol/initializer.h"
#include "embcol/learning_rate.h"

namespace embcol {

// embedding_lookup_device values (TensorFlow's names).
inline constexpr const char* kLookupDeviceCpu = "cpu";
inline constexpr const char* kLookupDeviceTensorCore = "tpu_tensor_core";
inline constexpr const char* kLookupDeviceEmbeddingCore = "tpu_embedding_core";

// Storage settings of a dynamic table (embcol extension, written as
// "dynamic_table" in the column JSON, docs/config-format.md 6.4). Only for
// columns over a dynamic-vocabulary categorical column. The JSON-valued
// fields are kept as given here and turned into objects when the table is
// created (TableSet), which reports a bad one naming the column.
struct DynamicTableOptions {
  // Total initial capacity in keys, split evenly across shards (TFRA's
  // init_size). Default 0: the store's own default. Must be >= 0.
  int64_t init_capacity = 0;
  // Number of shards when `devices` is empty. Default 1. Must be >= 1.
  int64_t num_shards = 1;
  // One shard per entry (names are kept, placement is not modelled).
  // Default empty: `num_shards` shards.
  std::vector<std::string> devices;
  // Storage of the rows: "float32" (default), "float16" or "bfloat16".
  std::string value_dtype = "float32";
  // The store, as kv_creator.h describes it ({"class_name", "config"}, or
  // "memory"). Default null: the in-memory table.
  nlohmann::json kv_creator;
  // A restrict policy's get_config() (restrict_policy.h). Default null: none.
  nlohmann::json restrict_policy;
  // An admission filter's get_config() (restrict_policy.h). Default null:
  // every key is admitted.
  nlohmann::json admission_filter;

  bool operator==(const DynamicTableOptions& other) const;
};

struct EmbeddingColumnOptions {
  // "mean", "sqrtn" or "sum".
  std::string combiner = "mean";
  // nullopt: TruncatedNormal(mean 0, stddev 1/sqrt(dimension)).
  std::optional<InitializerConfig> initializer;
  // Both or neither; the table's initial value is read from that tensor.
  std::optional<std::string> ckpt_to_load_from;
  std::optional<std::string> tensor_name_in_ckpt;
  // Each looked-up row is L2-clipped to max_norm before combining.
  std::optional<double> max_norm;
  // false freezes the table.
  bool trainable = true;
  // true: ids < 0 pruned, weights <= 0 pruned (mean, sqrtn), empty rows 0.
  bool use_safe_embedding_lookup = true;
  // Accelerator arguments. max_sequence_length > 0 (sequence columns only)
  // pads or truncates sequences to exactly that length.
  int64_t max_sequence_length = 0;
  std::optional<LearningRateFn> learning_rate_fn;
  // nullopt, "cpu", "tpu_tensor_core" or "tpu_embedding_core".
  std::optional<std::string> embedding_lookup_device;
  // [batch (-1 for any), width]; required by "tpu_tensor_core".
  std::optional<std::vector<int64_t>> tensor_core_shape;
  // Dynamic-table storage (embcol). A column over a dynamic vocabulary
  // always has one (nullopt given: the defaults of DynamicTableOptions);
  // setting it for a fixed-vocabulary column is an error.
  std::optional<DynamicTableOptions> dynamic_table;
};

// What every embedding-producing column exposes to the layer that runs it.
class EmbeddingColumnBase : public DenseColumn {
 public:
  virtual const CategoricalColumnPtr& categorical_column() const = 0;
  // The table's name: the column name for embedding_column, the collection
  // name for shared embeddings.
  virtual const std::string& table_name() const = 0;
  virtual int64_t dimension() const = 0;
  virtual const EmbeddingColumnOptions& options() const = 0;
  Combiner combiner() const;
  // kDynamicVocabularySize for a dynamic-vocabulary column.
  int64_t num_buckets() const { return categorical_column()->num_buckets(); }
  // True when the table is a dynamic table (the categorical column, beneath
  // weighted / sequence wrappers, is a DynamicVocabularyCategoricalColumn).
  bool has_dynamic_vocabulary() const { return HasDynamicVocabulary(*categorical_column()); }
  // The key dtype of the dynamic table ("int64", "int32", "string").
  // REQUIRES: has_dynamic_vocabulary().
  const std::string& key_dtype() const {
    return FindDynamicVocabularyColumn(*categorical_column())->dtype();
  }
  int64_t variable_size() const override { return dimension(); }
  bool is_sequence() const { return categorical_column()->is_sequence(); }
};

class EmbeddingColumn final : public EmbeddingColumnBase {
 public:
  // Validates like TensorFlow (see embedding_column below).
  EmbeddingColumn(CategoricalColumnPtr categorical_column, int64_t dimension,
                  EmbeddingColumnOptions options);
  std::string name() const override;  // "<categorical name>_embedding"
  std::string class_name() const override { return "EmbeddingColumn"; }
  std::vector<std::string> input_keys() const override {
    return categorical_->input_keys();
  }
  const CategoricalColumnPtr& categorical_column() const override {
    return categorical_;
  }
  const std::string& table_name() const override { return table_name_; }
  int64_t dimension() const override { return dimension_; }
  const EmbeddingColumnOptions& options() const override { return options_; }

 private:
  CategoricalColumnPtr categorical_;
  int64_t dimension_;
  EmbeddingColumnOptions options_;
  std::string table_name_;
};

// The table settings all columns of one shared_embeddings call hold in
// common (their options() differ only in max_sequence_length).
class SharedEmbeddingColumn final : public EmbeddingColumnBase {
 public:
  SharedEmbeddingColumn(CategoricalColumnPtr categorical_column,
                        int64_t dimension, std::string collection_name,
                        EmbeddingColumnOptions options);
  std::string name() const override;  // "<categorical name>_shared_embedding"
  std::string class_name() const override { return "SharedEmbeddingColumn"; }
  std::vector<std::string> input_keys() const override {
    return categorical_->input_keys();
  }
  const CategoricalColumnPtr& categorical_column() const override {
    return categorical_;
  }
  const std::string& table_name() const override { return collection_name_; }
  const std::string& shared_embedding_collection_name() const {
    return collection_name_;
  }
  int64_t dimension() const override { return dimension_; }
  const EmbeddingColumnOptions& options() const override { return options_; }

 private:
  CategoricalColumnPtr categorical_;
  int64_t dimension_;
  std::string collection_name_;
  EmbeddingColumnOptions options_;
};

using EmbeddingColumnPtr = std::shared_ptr<const EmbeddingColumnBase>;

// Throws InvalidArgument naming the column for: dynamic_table set for a
// fixed-vocabulary column or holding a bad number (init_capacity < 0,
// num_shards < 1); dimension < 1; only one of
// ckpt_to_load_from / tensor_name_in_ckpt; an unknown initializer ("must be
// callable"); an unknown combiner; max_norm <= 0; max_sequence_length < 0,
// > 0 for a non-sequence column or 0 for a sequence column given to a
// lookup device; a bad embedding_lookup_device or tensor_core_shape.
std::shared_ptr<const EmbeddingColumn> embedding_column(
    CategoricalColumnPtr categorical_column, int64_t dimension,
    EmbeddingColumnOptions options = {});

// One column per input column, in input order, all reading one table named
// shared_embedding_collection_name (default: the sorted column names joined
// by "_" plus "_shared_embedding"). `max_sequence_lengths` is empty (all 0)
// or one entry per column; options.max_sequence_length is ignored. All
// columns must be of the same type (after unwrapping weighted / sequence)
// and have the same num_buckets; dynamic-vocabulary columns must all be
// dynamic, with the same key dtype.
std::vector<std::shared_ptr<const SharedEmbeddingColumn>> shared_embeddings(
    const std::vector<CategoricalColumnPtr>& categorical_columns,
    int64_t dimension, EmbeddingColumnOptions options = {},
    std::optional<std::string> shared_embedding_collection_name = std::nullopt,
    std::vector<int64_t> max_sequence_lengths = {});

// Checks that columns meant to share one table agree: same collection name,
// same categorical type (after unwrapping weighted / sequence wrappers), same
// num_buckets, same dimension and the same table-level options (initializer,
// ckpt_to_load_from, tensor_name_in_ckpt, trainable, learning_rate_fn,
// embedding_lookup_device, tensor_core_shape, dynamic_table); either all or
// none have a dynamic vocabulary, with one key dtype; names unique. Throws
// InvalidArgument naming the collection and the two disagreeing columns.
// shared_embeddings() calls it; so does the JSON loader.
void ValidateSharedEmbeddingColumns(
    const std::vector<std::shared_ptr<const SharedEmbeddingColumn>>& columns);

}  // namespace embcol

#endif  // EMBCOL_EMBEDDING_COLUMN_H_
