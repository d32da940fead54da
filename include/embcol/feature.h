// Feature: one input tensor of a batch, as a feature column receives it.
//
// A feature is either dense (a shape and row-major values) or sparse (COO:
// indices, values, dense_shape -- TensorFlow's tf.SparseTensor). Ragged input
// (row_splits + values) is accepted and stored as the equivalent sparse
// tensor, with index (row, j) for the j-th value of a row. Values are int64,
// float32 or strings. A FeatureBatch maps feature keys to features.
//
// Construction validates the input (index counts, bounds, ordering) and
// throws InvalidArgument naming `key` when one is given. Sparse indices that
// are not in row-major order are reordered (values move with them), as
// tf.sparse.reorder would.
//
// Feature and FeatureBatch are thread-compatible: const methods may be called
// concurrently; mutation needs external synchronization.
#ifndef EMBCOL_FEATURE_H_
#define EMBCOL_FEATURE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace embcol {

enum class DType { kInt64, kFloat32, kString };

// "int64", "float32", "string" (TensorFlow's dtype names).
std::string_view DTypeName(DType dtype);

using Int64s = std::vector<int64_t>;
using Floats = std::vector<float>;
using Strings = std::vector<std::string>;
using Values = std::variant<Int64s, Floats, Strings>;

class Feature {
 public:
  // Dense tensor. REQUIRES: number of values == product of shape. A rank-0
  // shape ({}) is allowed here; columns reject it with TensorFlow's error.
  static Feature Dense(std::vector<int64_t> shape, Values values,
                       std::string_view key = {});
  // COO sparse tensor. `indices` holds nnz * rank entries, row-major (the
  // index of value i is indices[i*rank .. i*rank+rank-1]); rank is
  // dense_shape.size(). Every index must lie inside dense_shape.
  static Feature Sparse(std::vector<int64_t> indices, Values values,
                        std::vector<int64_t> dense_shape,
                        std::string_view key = {});
  // Ragged rows: row_splits has batch+1 non-decreasing entries starting at 0
  // and ending at values.size(). Stored as sparse with dense_shape
  // [batch, longest row].
  static Feature Ragged(std::vector<int64_t> row_splits, Values values,
                        std::string_view key = {});

  bool is_sparse() const { return sparse_; }
  DType dtype() const;
  // Dense: the shape. Sparse: dense_shape.
  const std::vector<int64_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  // Number of stored values (dense: product of shape; sparse: nnz).
  int64_t num_values() const;
  // Sparse only: nnz * rank indices, row-major ordered.
  const std::vector<int64_t>& indices() const { return indices_; }

  const Values& values() const { return values_; }
  // REQUIRES: dtype() matches; otherwise throws InvalidArgument.
  const Int64s& int64_values() const;
  const Floats& float_values() const;
  const Strings& string_values() const;

 private:
  Feature() = default;
  bool sparse_ = false;
  std::vector<int64_t> shape_;
  std::vector<int64_t> indices_;
  Values values_;
};

class FeatureBatch {
 public:
  FeatureBatch() = default;
  // Adds or replaces the feature stored under `key`.
  void Set(const std::string& key, Feature feature);
  bool Has(std::string_view key) const;
  // Throws InvalidArgument "Feature K is not in features dictionary." when
  // absent (TensorFlow raises ValueError with that text).
  const Feature& Get(std::string_view key) const;
  const std::map<std::string, Feature, std::less<>>& features() const {
    return features_;
  }

 private:
  std::map<std::string, Feature, std::less<>> features_;
};

}  // namespace embcol

#endif  // EMBCOL_FEATURE_H_
