// categorical_column_with_identity (reference §2.1).
#include <memory>
#include <string>

#include "columns/sparse_input.h"
#include "embcol/categorical_column.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

std::string Describe(const std::string& key) {
  return "categorical_column_with_identity '" + key + "'";
}

}  // namespace

IdentityCategoricalColumn::IdentityCategoricalColumn(
    std::string key, int64_t num_buckets, std::optional<int64_t> default_value)
    : key_(std::move(key)),
      num_buckets_(num_buckets),
      default_value_(default_value) {
  if (key_.empty()) {
    throw InvalidArgument(
        "key must be a non-empty string. In categorical_column_with_identity: "
        "give the name of an int64 feature.");
  }
  if (num_buckets_ < 1) {
    throw InvalidArgument("num_buckets " + std::to_string(num_buckets_) +
                          " < 1, column_name " + key_ + ". In " + Describe(key_) +
                          ": num_buckets must be >= 1.");
  }
  if (default_value_ && (*default_value_ < 0 || *default_value_ >= num_buckets_)) {
    throw InvalidArgument("default_value " + std::to_string(*default_value_) +
                          " not in range [0, " + std::to_string(num_buckets_) +
                          "), column_name " + key_ + ". In " + Describe(key_) +
                          ": choose a default_value in [0, num_buckets) or none.");
  }
}

IdTensor IdentityCategoricalColumn::GetSparseTensors(const FeatureBatch& batch) const {
  const Feature& feature = internal::GetRawFeature(batch, key_);
  internal::CheckIntegerInput(feature, key_, Describe(key_));
  internal::SparseView view = internal::Sparsify(feature, internal::DropCells::kIgnoreIds);
  const Int64s& values = feature.int64_values();
  const int64_t nnz = view.nnz();
  IdTensor out = internal::TakeIndices(view);
  for (int64_t i = 0; i < nnz; ++i) {
    const int64_t position = view.position(i);
    const int64_t v = values[position];
    if (v >= 0 && v < num_buckets_) {
      out.ids.push_back(v);
    } else if (default_value_) {
      out.ids.push_back(*default_value_);
    } else if (v < 0) {
      out.ids.push_back(v);  // pruned later by the safe lookup
    } else {
      throw OutOfRange(Describe(key_) + ": id " + std::to_string(v) + " at value " +
                       std::to_string(position) + " is not in [0, " +
                       std::to_string(num_buckets_) +
                       "); ids must be < num_buckets, or set default_value.");
    }
  }
  return out;
}

CategoricalColumnPtr categorical_column_with_identity(
    const std::string& key, int64_t num_buckets,
    std::optional<int64_t> default_value) {
  return std::make_shared<IdentityCategoricalColumn>(key, num_buckets, default_value);
}

CategoricalColumnPtr sequence_categorical_column_with_identity(
    const std::string& key, int64_t num_buckets,
    std::optional<int64_t> default_value) {
  return std::make_shared<SequenceCategoricalColumn>(
      categorical_column_with_identity(key, num_buckets, default_value));
}

}  // namespace embcol
