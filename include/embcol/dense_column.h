// Dense columns that need no table: numeric_column, bucketized_column and
// indicator_column, with TensorFlow's arguments, defaults and errors.
// (Embedding columns are in embedding_column.h.)
//
// Each column computes its output from the batch alone, [batch,
// variable_size()]. Columns are immutable and thread-safe.
#ifndef EMBCOL_DENSE_COLUMN_H_
#define EMBCOL_DENSE_COLUMN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "embcol/categorical_column.h"
#include "embcol/feature_column.h"

namespace embcol {

// A dense column that can compute its own output from a batch.
class StatelessDenseColumn : public DenseColumn {
 public:
  // Returns [batch, variable_size()] (or, for a sequence input to an
  // indicator column, [batch, T, variable_size()]).
  virtual DenseTensor GetDenseTensor(const FeatureBatch& batch) const = 0;
};

// numeric_column(key, shape=(1,), default_value=None, dtype=float32,
// normalizer_fn=None). Input: a dense int64 or float feature of shape
// [batch] + shape (rank-1 input [batch] when shape is (1,)); a sparse input
// is an error, as in TensorFlow.
class NumericColumn final : public StatelessDenseColumn {
 public:
  using NormalizerFn = std::function<float(float)>;
  NumericColumn(std::string key, std::vector<int64_t> shape,
                std::optional<std::vector<float>> default_value, DType dtype,
                NormalizerFn normalizer_fn);
  std::string name() const override { return key_; }
  std::string class_name() const override { return "NumericColumn"; }
  std::vector<std::string> input_keys() const override { return {key_}; }
  int64_t variable_size() const override;
  DenseTensor GetDenseTensor(const FeatureBatch& batch) const override;

  const std::string& key() const { return key_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  // Expanded to the full shape, or nullopt.
  const std::optional<std::vector<float>>& default_value() const {
    return default_value_;
  }
  DType dtype() const { return dtype_; }
  bool has_normalizer() const { return static_cast<bool>(normalizer_fn_); }

 private:
  std::string key_;
  std::vector<int64_t> shape_;
  std::optional<std::vector<float>> default_value_;
  DType dtype_;
  NormalizerFn normalizer_fn_;
};

// bucketized_column(source_column, boundaries). Bucket i covers
// [boundaries[i-1], boundaries[i]); as a categorical column, element j of a
// source of shape [d] has id  j * (len(boundaries)+1) + bucket.
// As a dense column the output is the one-hot of the buckets.
class BucketizedColumn final : public StatelessDenseColumn,
                               public CategoricalColumn {
 public:
  BucketizedColumn(std::shared_ptr<const NumericColumn> source_column,
                   std::vector<double> boundaries);
  std::string name() const override { return source_->name() + "_bucketized"; }
  std::string class_name() const override { return "BucketizedColumn"; }
  std::vector<std::string> input_keys() const override { return {source_->key()}; }
  int64_t variable_size() const override;  // d * (len(boundaries)+1)
  int64_t num_buckets() const override;    // d * (len(boundaries)+1)
  DenseTensor GetDenseTensor(const FeatureBatch& batch) const override;
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;

  const std::shared_ptr<const NumericColumn>& source_column() const {
    return source_;
  }
  const std::vector<double>& boundaries() const { return boundaries_; }

 private:
  std::vector<int64_t> Buckets(const FeatureBatch& batch, int64_t* batch_size) const;
  std::shared_ptr<const NumericColumn> source_;
  std::vector<double> boundaries_;
};

// indicator_column(categorical_column): multi-hot counts per bucket
// (duplicates add; weighted columns add their weights); negative and
// out-of-range ids contribute nothing.
class IndicatorColumn final : public StatelessDenseColumn {
 public:
  explicit IndicatorColumn(CategoricalColumnPtr categorical_column);
  std::string name() const override {
    return categorical_->name() + "_indicator";
  }
  std::string class_name() const override { return "IndicatorColumn"; }
  std::vector<std::string> input_keys() const override {
    return categorical_->input_keys();
  }
  int64_t variable_size() const override { return categorical_->num_buckets(); }
  DenseTensor GetDenseTensor(const FeatureBatch& batch) const override;

  const CategoricalColumnPtr& categorical_column() const { return categorical_; }

 private:
  CategoricalColumnPtr categorical_;
};

// sequence_numeric_column(key, shape=(1,), default_value=0.0, dtype=float32,
// normalizer_fn=None): a numeric feature per step, for SequenceFeatures.
// Input: a sparse or ragged int64/float feature [batch, L] holding the steps'
// values back to back (L = T * num elements of shape), or [batch, T, n]. A
// dense input is taken whole. Missing cells read default_value.
class SequenceNumericColumn final : public DenseColumn {
 public:
  using NormalizerFn = NumericColumn::NormalizerFn;
  SequenceNumericColumn(std::string key, std::vector<int64_t> shape,
                        float default_value, DType dtype, NormalizerFn normalizer_fn);
  std::string name() const override { return key_; }
  std::string class_name() const override { return "SequenceNumericColumn"; }
  std::vector<std::string> input_keys() const override { return {key_}; }
  int64_t variable_size() const override;

  struct Output {
    DenseTensor values;                    // [batch, T, variable_size()]
    std::vector<int64_t> sequence_length;  // [batch]
  };
  // sequence_length[b] = ceil((1 + largest position present in row b) / n)
  // for [batch, L] input (n = variable_size()), 1 + largest step for
  // [batch, T, n] input. Throws InvalidArgument naming the key when L is not
  // a multiple of n, the dtype is string, or a value is NaN / Inf.
  Output GetSequenceDenseTensor(const FeatureBatch& batch) const;

  const std::string& key() const { return key_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  float default_value() const { return default_value_; }
  DType dtype() const { return dtype_; }
  bool has_normalizer() const { return static_cast<bool>(normalizer_fn_); }

 private:
  std::string key_;
  std::vector<int64_t> shape_;
  float default_value_;
  DType dtype_;
  NormalizerFn normalizer_fn_;
};

std::shared_ptr<const SequenceNumericColumn> sequence_numeric_column(
    const std::string& key, std::vector<int64_t> shape = {1},
    float default_value = 0.0f, DType dtype = DType::kFloat32,
    SequenceNumericColumn::NormalizerFn normalizer_fn = {});

std::shared_ptr<const NumericColumn> numeric_column(
    const std::string& key, std::vector<int64_t> shape = {1},
    std::optional<std::vector<float>> default_value = std::nullopt,
    DType dtype = DType::kFloat32, NumericColumn::NormalizerFn normalizer_fn = {});
std::shared_ptr<const BucketizedColumn> bucketized_column(
    std::shared_ptr<const NumericColumn> source_column,
    std::vector<double> boundaries);
std::shared_ptr<const IndicatorColumn> indicator_column(
    CategoricalColumnPtr categorical_column);

}  // namespace embcol

#endif  // EMBCOL_DENSE_COLUMN_H_
