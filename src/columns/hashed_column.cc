// categorical_column_with_hash_bucket (reference §2.4).
#include <memory>
#include <string>

#include "columns/sparse_input.h"
#include "core/hashing.h"
#include "embcol/categorical_column.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

std::string Describe(const std::string& key) {
  return "categorical_column_with_hash_bucket '" + key + "'";
}

}  // namespace

HashedCategoricalColumn::HashedCategoricalColumn(std::string key,
                                                 int64_t hash_bucket_size, DType dtype)
    : key_(std::move(key)), hash_bucket_size_(hash_bucket_size), dtype_(dtype) {
  if (key_.empty()) {
    throw InvalidArgument(
        "key must be a non-empty string. In categorical_column_with_hash_bucket: "
        "give the name of a string or int64 feature.");
  }
  if (hash_bucket_size_ < 1) {
    throw InvalidArgument("hash_bucket_size must be at least 1. hash_bucket_size: " +
                          std::to_string(hash_bucket_size_) + ", key: " + key_ +
                          ". In " + Describe(key_) + ": use hash_bucket_size >= 1.");
  }
  internal::CheckStringOrIntDType(dtype_, key_, "", Describe(key_));
}

IdTensor HashedCategoricalColumn::GetSparseTensors(const FeatureBatch& batch) const {
  const std::string column = Describe(key_);
  const Feature& feature = internal::GetRawFeature(batch, key_);
  internal::CheckStringOrIntInput(feature, key_, column);
  internal::CheckCompatibleInput(dtype_, feature, key_, column);
  internal::SparseView view = internal::Sparsify(feature, internal::DropCells::kIgnoreIds);
  const int64_t nnz = view.nnz();
  const uint64_t buckets = static_cast<uint64_t>(hash_bucket_size_);
  IdTensor out = internal::TakeIndices(view);
  if (feature.dtype() == DType::kString) {
    const Strings& values = feature.string_values();
    for (int64_t i = 0; i < nnz; ++i) {
      const uint64_t h = internal::Fingerprint64(values[view.position(i)]);
      out.ids.push_back(static_cast<int64_t>(h % buckets));
    }
  } else {
    const Int64s& values = feature.int64_values();
    for (int64_t i = 0; i < nnz; ++i) {
      const uint64_t h = internal::FingerprintDecimal(values[view.position(i)]);
      out.ids.push_back(static_cast<int64_t>(h % buckets));
    }
  }
  return out;
}

CategoricalColumnPtr categorical_column_with_hash_bucket(const std::string& key,
                                                         int64_t hash_bucket_size,
                                                         DType dtype) {
  return std::make_shared<HashedCategoricalColumn>(key, hash_bucket_size, dtype);
}

CategoricalColumnPtr sequence_categorical_column_with_hash_bucket(
    const std::string& key, int64_t hash_bucket_size, DType dtype) {
  return std::make_shared<SequenceCategoricalColumn>(
      categorical_column_with_hash_bucket(key, hash_bucket_size, dtype));
}

}  // namespace embcol
