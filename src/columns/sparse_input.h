// Raw-input handling shared by the categorical columns (TensorFlow's rules,
// reference §1): fetching a feature, rejecting rank 0, checking dtypes, and
// turning a dense or sparse feature into sparse form of rank >= 2.
//
// Sparsify() never copies feature values: a SparseView keeps a pointer to the
// feature and, when cells were dropped, the positions of the kept values.
// Everything here is a pure function of its arguments: thread-safe.
#ifndef EMBCOL_COLUMNS_SPARSE_INPUT_H_
#define EMBCOL_COLUMNS_SPARSE_INPUT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "embcol/feature.h"
#include "embcol/tensor.h"

namespace embcol::internal {

// Which cells of a DENSE feature Sparsify() drops (a sparse or ragged feature
// is always used as given).
enum class DropCells {
  kIgnoreIds,    // -1 in integer features, "" in string features (ids)
  kZeroWeights,  // 0 / 0.0 cells (weight features)
  kNone,         // keep every cell (raw inputs of crossed columns)
};

// A feature in sparse form.
//   indices     nnz * rank entries, row-major ordered; rank >= 2
//   dense_shape rank entries; a rank-1 feature [n] becomes [n, 1]
//   value i     is feature->values()[position(i)]
// REQUIRES: `feature` outlives the view.
struct SparseView {
  const Feature* feature = nullptr;
  std::vector<int64_t> indices;
  std::vector<int64_t> dense_shape;
  // Empty when every value of the feature is kept, in order.
  std::vector<int64_t> positions;
  bool all_values = true;

  int rank() const { return static_cast<int>(dense_shape.size()); }
  int64_t nnz() const {
    return all_values ? feature->num_values()
                      : static_cast<int64_t>(positions.size());
  }
  int64_t position(int64_t i) const { return all_values ? i : positions[i]; }
};

// Throws InvalidArgument "Feature (key: K) cannot have rank 0. Given: ..."
// when `feature` is a scalar.
void CheckRankNotZero(const Feature& feature, std::string_view key);

// batch.Get(key) plus the rank-0 check. The reference stays valid as long as
// `batch` is not modified.
const Feature& GetRawFeature(const FeatureBatch& batch, std::string_view key);

// The sparse form of `feature` (see SparseView and DropCells).
// REQUIRES: feature.rank() >= 1.
SparseView Sparsify(const Feature& feature, DropCells drop);

// TensorFlow's fc_utils.assert_string_or_int on the feature's dtype:
// "column_name: K input_tensor dtype must be string or integer. dtype: D."
// `column` describes the column for the message, e.g.
// "categorical_column_with_hash_bucket 'aaa'".
void CheckStringOrIntInput(const Feature& feature, std::string_view key,
                           std::string_view column);

// TensorFlow's "Column dtype and SparseTensors dtype must be compatible."
// check: the column and the feature must agree on being integer.
void CheckCompatibleInput(DType column_dtype, const Feature& feature,
                          std::string_view key, std::string_view column);

// The identity column's check: "Invalid input, not integer. key: K dtype: D".
void CheckIntegerInput(const Feature& feature, std::string_view key,
                       std::string_view column);

// An IdTensor that takes over the view's indices and dense_shape, with room
// reserved for nnz ids. The view keeps its feature and positions, so
// view.position(i) stays usable; its indices and dense_shape are left empty.
IdTensor TakeIndices(SparseView& view);

// Rejects a float32 column dtype: "column_name: K <what> dtype must be string
// or integer. dtype: float32." (construction-time check of hash and
// vocabulary columns).
void CheckStringOrIntDType(DType dtype, std::string_view key,
                           std::string_view what, std::string_view column);

}  // namespace embcol::internal

#endif  // EMBCOL_COLUMNS_SPARSE_INPUT_H_
