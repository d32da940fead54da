#include "columns/sparse_input.h"

#include <string>
#include <variant>

#include "embcol/errors.h"

namespace embcol {
namespace internal {
namespace {

std::string DTypeText(DType dtype) { return std::string(DTypeName(dtype)); }

// True for a dense cell that Sparsify() drops.
bool Dropped(int64_t v, DropCells drop) {
  return (drop == DropCells::kIgnoreIds && v == -1) ||
         (drop == DropCells::kZeroWeights && v == 0);
}
bool Dropped(float v, DropCells drop) {
  return drop == DropCells::kZeroWeights && v == 0.0f;
}
bool Dropped(const std::string& v, DropCells drop) {
  return drop == DropCells::kIgnoreIds && v.empty();
}

// Dense feature -> sparse: every kept cell gets its full row-major index.
SparseView SparsifyDense(const Feature& feature, DropCells drop) {
  SparseView view;
  view.feature = &feature;
  view.dense_shape = feature.shape();
  if (view.dense_shape.size() == 1) view.dense_shape.push_back(1);
  const int rank = view.rank();
  std::vector<int64_t> index(rank, 0);  // index of the current cell
  const int64_t n = feature.num_values();
  std::visit(
      [&](const auto& values) {
        bool any_dropped = false;
        for (int64_t i = 0; i < n; ++i) {
          if (Dropped(values[i], drop)) {
            any_dropped = true;
            break;
          }
        }
        view.all_values = !any_dropped;
        view.indices.reserve(static_cast<size_t>(n) * rank);
        if (any_dropped) view.positions.reserve(n);
        for (int64_t i = 0; i < n; ++i) {
          if (!any_dropped || !Dropped(values[i], drop)) {
            view.indices.insert(view.indices.end(), index.begin(), index.end());
            if (any_dropped) view.positions.push_back(i);
          }
          // Advance the row-major multi-index.
          for (int d = rank - 1; d >= 0; --d) {
            if (++index[d] < view.dense_shape[d]) break;
            index[d] = 0;
          }
        }
      },
      feature.values());
  return view;
}

}  // namespace

void CheckRankNotZero(const Feature& feature, std::string_view key) {
  if (feature.rank() != 0) return;
  throw InvalidArgument("Feature (key: " + std::string(key) +
                        ") cannot have rank 0. Given: a dense " +
                        DTypeText(feature.dtype()) +
                        " scalar of shape []; give the feature a batch "
                        "dimension (shape [batch] or [batch, n]).");
}

const Feature& GetRawFeature(const FeatureBatch& batch, std::string_view key) {
  const Feature& feature = batch.Get(key);
  CheckRankNotZero(feature, key);
  return feature;
}

SparseView Sparsify(const Feature& feature, DropCells drop) {
  if (!feature.is_sparse()) return SparsifyDense(feature, drop);
  SparseView view;
  view.feature = &feature;
  view.dense_shape = feature.shape();
  if (view.dense_shape.size() == 1) {
    // [n] -> [n, 1]: index (i) becomes (i, 0).
    view.dense_shape.push_back(1);
    view.indices.reserve(feature.indices().size() * 2);
    for (int64_t i : feature.indices()) {
      view.indices.push_back(i);
      view.indices.push_back(0);
    }
  } else {
    view.indices = feature.indices();
  }
  return view;
}

void CheckStringOrIntInput(const Feature& feature, std::string_view key,
                           std::string_view column) {
  if (feature.dtype() != DType::kFloat32) return;
  throw InvalidArgument("column_name: " + std::string(key) +
                        " input_tensor dtype must be string or integer. dtype: " +
                        DTypeText(feature.dtype()) + ". In " + std::string(column) +
                        ": feed feature '" + std::string(key) +
                        "' as string or int64 values (use numeric_column or "
                        "bucketized_column for float features).");
}

void CheckCompatibleInput(DType column_dtype, const Feature& feature,
                          std::string_view key, std::string_view column) {
  const bool column_int = column_dtype == DType::kInt64;
  const bool input_int = feature.dtype() == DType::kInt64;
  if (column_int == input_int) return;
  throw InvalidArgument(
      "Column dtype and SparseTensors dtype must be compatible. key: " +
      std::string(key) + ", column dtype: " + DTypeText(column_dtype) +
      ", tensor dtype: " + DTypeText(feature.dtype()) + ". In " +
      std::string(column) + ": feed " + DTypeText(column_dtype) +
      " values or create the column with dtype " + DTypeText(feature.dtype()) + ".");
}

void CheckIntegerInput(const Feature& feature, std::string_view key,
                       std::string_view column) {
  if (feature.dtype() == DType::kInt64) return;
  throw InvalidArgument("Invalid input, not integer. key: " + std::string(key) +
                        " dtype: " + DTypeText(feature.dtype()) + ". In " +
                        std::string(column) + ": feed int64 ids.");
}

IdTensor TakeIndices(SparseView& view) {
  IdTensor out;
  out.ids.reserve(static_cast<size_t>(view.nnz()));
  out.indices = std::move(view.indices);
  out.dense_shape = std::move(view.dense_shape);
  return out;
}

void CheckStringOrIntDType(DType dtype, std::string_view key,
                           std::string_view what, std::string_view column) {
  if (dtype != DType::kFloat32) return;
  const std::string prefix = "column_name: " + std::string(key) +
                             (what.empty() ? "" : " " + std::string(what));
  throw InvalidArgument(prefix + " dtype must be string or integer. dtype: float32. In " +
                        std::string(column) + ": use dtype string or int64.");
}

}  // namespace internal

}  // namespace embcol
