#include "embcol/feature.h"

#include <algorithm>
#include <numeric>

#include "embcol/errors.h"
#include "embcol/tensor.h"

namespace embcol {
namespace {

std::string Where(std::string_view key) {
  return key.empty() ? std::string("feature") : "feature '" + std::string(key) + "'";
}

size_t ValueCount(const Values& values) {
  return std::visit([](const auto& v) { return v.size(); }, values);
}

// Reorders the entries of `values` by `order`.
Values Permute(const Values& values, const std::vector<size_t>& order) {
  return std::visit(
      [&](const auto& v) -> Values {
        std::decay_t<decltype(v)> out;
        out.reserve(v.size());
        for (size_t i : order) out.push_back(v[i]);
        return out;
      },
      values);
}

}  // namespace

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kInt64: return "int64";
    case DType::kFloat32: return "float32";
    case DType::kString: return "string";
  }
  return "unknown";
}

Feature Feature::Dense(std::vector<int64_t> shape, Values values,
                       std::string_view key) {
  for (int64_t d : shape) {
    if (d < 0) {
      throw InvalidArgument(Where(key) + ": dense shape has a negative dimension " +
                            std::to_string(d) + "; dimensions must be >= 0.");
    }
  }
  const int64_t expected = NumElements(shape);
  if (static_cast<int64_t>(ValueCount(values)) != expected) {
    throw InvalidArgument(Where(key) + ": dense shape holds " +
                          std::to_string(expected) + " values but " +
                          std::to_string(ValueCount(values)) +
                          " were given; give exactly one value per cell.");
  }
  Feature f;
  f.sparse_ = false;
  f.shape_ = std::move(shape);
  f.values_ = std::move(values);
  return f;
}

Feature Feature::Sparse(std::vector<int64_t> indices, Values values,
                        std::vector<int64_t> dense_shape, std::string_view key) {
  const size_t rank = dense_shape.size();
  const size_t nnz = ValueCount(values);
  if (rank == 0) {
    throw InvalidArgument(Where(key) +
                          ": a sparse tensor needs a dense_shape of rank >= 1.");
  }
  for (int64_t d : dense_shape) {
    if (d < 0) {
      throw InvalidArgument(Where(key) + ": dense_shape has a negative dimension " +
                            std::to_string(d) + ".");
    }
  }
  if (indices.size() != nnz * rank) {
    throw InvalidArgument(Where(key) + ": sparse tensor has " + std::to_string(nnz) +
                          " values of rank " + std::to_string(rank) + ", so " +
                          std::to_string(nnz * rank) + " index entries are needed; " +
                          std::to_string(indices.size()) + " were given.");
  }
  for (size_t i = 0; i < nnz; ++i) {
    for (size_t d = 0; d < rank; ++d) {
      const int64_t x = indices[i * rank + d];
      if (x < 0 || x >= dense_shape[d]) {
        throw InvalidArgument(Where(key) + ": index " + std::to_string(x) +
                              " of value " + std::to_string(i) + " (dimension " +
                              std::to_string(d) + ") is outside dense_shape [0, " +
                              std::to_string(dense_shape[d]) + ").");
      }
    }
  }
  auto less = [&](size_t a, size_t b) {
    return std::lexicographical_compare(
        indices.begin() + a * rank, indices.begin() + (a + 1) * rank,
        indices.begin() + b * rank, indices.begin() + (b + 1) * rank);
  };
  bool ordered = true;
  for (size_t i = 1; i < nnz && ordered; ++i) ordered = !less(i, i - 1);
  Feature f;
  f.sparse_ = true;
  f.shape_ = std::move(dense_shape);
  if (ordered) {
    f.indices_ = std::move(indices);
    f.values_ = std::move(values);
  } else {
    std::vector<size_t> order(nnz);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), less);
    f.indices_.reserve(indices.size());
    for (size_t i : order) {
      f.indices_.insert(f.indices_.end(), indices.begin() + i * rank,
                        indices.begin() + (i + 1) * rank);
    }
    f.values_ = Permute(values, order);
  }
  return f;
}

Feature Feature::Ragged(std::vector<int64_t> row_splits, Values values,
                        std::string_view key) {
  const int64_t nnz = static_cast<int64_t>(ValueCount(values));
  if (row_splits.empty() || row_splits.front() != 0 || row_splits.back() != nnz) {
    throw InvalidArgument(Where(key) + ": row_splits must start at 0 and end at the "
                          "number of values (" + std::to_string(nnz) + ").");
  }
  std::vector<int64_t> indices;
  indices.reserve(2 * nnz);
  int64_t longest = 0;
  for (size_t r = 0; r + 1 < row_splits.size(); ++r) {
    if (row_splits[r + 1] < row_splits[r]) {
      throw InvalidArgument(Where(key) + ": row_splits must be non-decreasing; entry " +
                            std::to_string(r + 1) + " is smaller than entry " +
                            std::to_string(r) + ".");
    }
    const int64_t len = row_splits[r + 1] - row_splits[r];
    longest = std::max(longest, len);
    for (int64_t j = 0; j < len; ++j) {
      indices.push_back(static_cast<int64_t>(r));
      indices.push_back(j);
    }
  }
  Feature f;
  f.sparse_ = true;
  f.shape_ = {static_cast<int64_t>(row_splits.size()) - 1, longest};
  f.indices_ = std::move(indices);
  f.values_ = std::move(values);
  return f;
}

DType Feature::dtype() const {
  switch (values_.index()) {
    case 0: return DType::kInt64;
    case 1: return DType::kFloat32;
    default: return DType::kString;
  }
}

int64_t Feature::num_values() const {
  return static_cast<int64_t>(ValueCount(values_));
}

const Int64s& Feature::int64_values() const {
  if (const auto* v = std::get_if<Int64s>(&values_)) return *v;
  throw InvalidArgument(std::string("feature holds ") + std::string(DTypeName(dtype())) +
                        " values, not int64.");
}
const Floats& Feature::float_values() const {
  if (const auto* v = std::get_if<Floats>(&values_)) return *v;
  throw InvalidArgument(std::string("feature holds ") + std::string(DTypeName(dtype())) +
                        " values, not float32.");
}
const Strings& Feature::string_values() const {
  if (const auto* v = std::get_if<Strings>(&values_)) return *v;
  throw InvalidArgument(std::string("feature holds ") + std::string(DTypeName(dtype())) +
                        " values, not string.");
}

void FeatureBatch::Set(const std::string& key, Feature feature) {
  features_.insert_or_assign(key, std::move(feature));
}

bool FeatureBatch::Has(std::string_view key) const {
  return features_.find(key) != features_.end();
}

const Feature& FeatureBatch::Get(std::string_view key) const {
  auto it = features_.find(key);
  if (it == features_.end()) {
    std::string known;
    for (const auto& [k, v] : features_) known += (known.empty() ? "" : ", ") + k;
    throw InvalidArgument("Feature " + std::string(key) +
                          " is not in features dictionary. Given features: [" +
                          known + "]; add it to the batch or remove the column "
                          "that reads it.");
  }
  return it->second;
}

}  // namespace embcol
