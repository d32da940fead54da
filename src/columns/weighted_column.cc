// weighted_categorical_column (reference §2.5).
#include <algorithm>
#include <memory>
#include <string>

#include "columns/sparse_input.h"
#include "embcol/categorical_column.h"
#include "embcol/errors.h"

namespace embcol {

WeightedCategoricalColumn::WeightedCategoricalColumn(
    CategoricalColumnPtr categorical_column, std::string weight_feature_key,
    DType dtype)
    : inner_(std::move(categorical_column)),
      weight_feature_key_(std::move(weight_feature_key)),
      dtype_(dtype) {
  if (!inner_) {
    throw InvalidArgument(
        "categorical_column must be set. In weighted_categorical_column: pass the "
        "categorical column whose ids the weights apply to.");
  }
  const std::string column = "weighted_categorical_column '" + name() + "'";
  if (weight_feature_key_.empty()) {
    throw InvalidArgument("weight_feature_key must be a non-empty string. In " +
                          column + ": give the name of the weight feature.");
  }
  if (dtype_ == DType::kString) {
    throw InvalidArgument("dtype string is not convertible to float. In " + column +
                          ": use dtype float32 or int64.");
  }
  const std::vector<std::string> keys = inner_->input_keys();
  if (std::find(keys.begin(), keys.end(), weight_feature_key_) != keys.end()) {
    throw InvalidArgument("Parse config for weight_feature_key " + weight_feature_key_ +
                          " already exists for " + inner_->name() + ". In " + column +
                          ": the weight feature must differ from the id feature.");
  }
}

std::string WeightedCategoricalColumn::name() const {
  return inner_->name() + "_weighted_by_" + weight_feature_key_;
}

std::vector<std::string> WeightedCategoricalColumn::input_keys() const {
  std::vector<std::string> keys = inner_->input_keys();
  keys.push_back(weight_feature_key_);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

IdTensor WeightedCategoricalColumn::GetSparseTensors(const FeatureBatch& batch) const {
  IdTensor out = inner_->GetSparseTensors(batch);
  const std::string column = "weighted_categorical_column '" + name() + "'";
  const Feature& weights = internal::GetRawFeature(batch, weight_feature_key_);
  if (weights.dtype() != dtype_) {
    throw InvalidArgument("Bad dtype, expected " + std::string(DTypeName(dtype_)) +
                          ", but got " + std::string(DTypeName(weights.dtype())) +
                          ". In " + column + ": feed weight feature '" +
                          weight_feature_key_ + "' as " +
                          std::string(DTypeName(dtype_)) +
                          " or create the column with that dtype.");
  }
  const internal::SparseView view =
      internal::Sparsify(weights, internal::DropCells::kZeroWeights);
  const int64_t nnz = view.nnz();
  if (nnz != out.nnz()) {
    const std::vector<std::string> id_keys = inner_->input_keys();
    std::string id_key_text;
    for (const std::string& k : id_keys) {
      id_key_text += (id_key_text.empty() ? "'" : ", '") + k + "'";
    }
    throw InvalidArgument(
        column + ": weight feature '" + weight_feature_key_ + "' has " +
        std::to_string(nnz) + " values (after dropping 0 cells of a dense input) but "
        "id feature " + id_key_text + " gives " + std::to_string(out.nnz()) +
        " ids; weights pair with ids by position, so give one weight per id "
        "(the same indices).");
  }
  out.weights.resize(static_cast<size_t>(nnz));
  if (weights.dtype() == DType::kFloat32) {
    const Floats& values = weights.float_values();
    for (int64_t i = 0; i < nnz; ++i) out.weights[i] = values[view.position(i)];
  } else {
    const Int64s& values = weights.int64_values();
    for (int64_t i = 0; i < nnz; ++i) {
      out.weights[i] = static_cast<float>(values[view.position(i)]);
    }
  }
  return out;
}

CategoricalColumnPtr weighted_categorical_column(CategoricalColumnPtr categorical_column,
                                                 const std::string& weight_feature_key,
                                                 DType dtype) {
  return std::make_shared<WeightedCategoricalColumn>(std::move(categorical_column),
                                                     weight_feature_key, dtype);
}

}  // namespace embcol
