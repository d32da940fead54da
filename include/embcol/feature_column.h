// FeatureColumn: the base of every column, and the two interfaces columns
// implement.
//
//   CategoricalColumn - maps raw features to ids in [0, num_buckets) (plus
//                       optional weights): identity, vocabulary, hash,
//                       crossed, weighted, bucketized, sequence wrappers.
//                       A dynamic-vocabulary column instead returns raw
//                       keys (IdTensor::keys) with ids indexing them, and
//                       num_buckets() == kDynamicVocabularySize.
//   DenseColumn       - produces variable_size() floats per example:
//                       numeric, bucketized, indicator, embedding columns.
//
// Columns are immutable value objects, created by the factory functions in
// categorical_column.h, dense_column.h and embedding_column.h and held by
// shared_ptr<const ...>; they are thread-safe. Each has TensorFlow's derived
// `name()` (used to sort DenseFeatures outputs) and `class_name()` (its
// serialized class). JSON (de)serialization lives in serialization.h.
#ifndef EMBCOL_FEATURE_COLUMN_H_
#define EMBCOL_FEATURE_COLUMN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "embcol/feature.h"
#include "embcol/tensor.h"

namespace embcol {

class FeatureColumn {
 public:
  virtual ~FeatureColumn() = default;
  // TensorFlow's column name, e.g. "aaa", "aaa_embedding", "a_X_b".
  virtual std::string name() const = 0;
  // The class name written in serialized configs, e.g. "EmbeddingColumn".
  virtual std::string class_name() const = 0;
  // Raw feature keys this column reads from a FeatureBatch, sorted, unique.
  virtual std::vector<std::string> input_keys() const = 0;
};

class CategoricalColumn : public virtual FeatureColumn {
 public:
  // Number of distinct ids: the row count of an embedding table.
  virtual int64_t num_buckets() const = 0;
  // Reads this column's feature(s) from `batch` and returns the id tensor
  // with the same indices/dense_shape as the (sparsified) input; rank-1
  // input becomes [batch, 1]. Throws InvalidArgument naming the feature key
  // for a missing feature, rank 0, a wrong dtype or an out-of-range value.
  virtual IdTensor GetSparseTensors(const FeatureBatch& batch) const = 0;
  // True for sequence_categorical_column_with_* columns.
  virtual bool is_sequence() const { return false; }
};

class DenseColumn : public virtual FeatureColumn {
 public:
  // Number of output floats per example (variable_shape.num_elements()).
  virtual int64_t variable_size() const = 0;
};

using ColumnPtr = std::shared_ptr<const FeatureColumn>;
using CategoricalColumnPtr = std::shared_ptr<const CategoricalColumn>;
using DenseColumnPtr = std::shared_ptr<const DenseColumn>;

// The batch size of a raw feature (its first dimension). Throws
// InvalidArgument "Feature (key: K) cannot have rank 0." for rank 0.
int64_t FeatureBatchSize(const Feature& feature, const std::string& key);

}  // namespace embcol

#endif  // EMBCOL_FEATURE_COLUMN_H_
