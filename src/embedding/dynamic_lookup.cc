// TFRA's lookup functions over a dynamic_embedding::Variable
// (dynamic_embedding.h): embedding_lookup, embedding_lookup_unique,
// embedding_lookup_sparse, safe_embedding_lookup_sparse and ClipByNorm. They
// only read the variable (Variable::lookup) and never insert.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "embcol/dynamic_embedding.h"
#include "embcol/errors.h"
#include "embedding/dynamic_variable_internal.h"

namespace embcol::dynamic_embedding {
namespace {

using internal::Unique;

void CheckShape(const KeyView& ids, const std::vector<int64_t>& shape, const std::string& name) {
  for (int64_t d : shape) {
    if (d < 0) throw InvalidArgument("dynamic embedding " + name + ": ids shape has a negative dimension.");
  }
  if (NumElements(shape) != ids.size()) {
    throw InvalidArgument("dynamic embedding " + name + ": " + std::to_string(ids.size()) +
                          " ids do not fill their shape of " + std::to_string(NumElements(shape)) +
                          " elements; pass the ids' own shape.");
  }
}

}  // namespace

// ------------------------------------------------------------------ lookups
void ClipByNorm(std::span<float> rows, int64_t dim, float max_norm) {
  for (size_t start = 0; start + dim <= rows.size(); start += dim) {
    double sq = 0;
    for (int64_t d = 0; d < dim; ++d) sq += double(rows[start + d]) * rows[start + d];
    const double norm = std::sqrt(sq);
    if (norm > max_norm) {
      const double scale = max_norm / norm;
      for (int64_t d = 0; d < dim; ++d) rows[start + d] = static_cast<float>(rows[start + d] * scale);
    }
  }
}

DenseTensor embedding_lookup(const Variable& var, const KeyView& ids,
                             const std::vector<int64_t>& shape, std::optional<float> max_norm) {
  CheckShape(ids, shape, var.name());
  std::vector<int64_t> out_shape = shape;
  out_shape.push_back(var.dim());
  DenseTensor out = DenseTensor::Zeros(out_shape);
  var.lookup(ids, out.values);
  if (max_norm.has_value()) ClipByNorm(out.values, var.dim(), *max_norm);
  return out;
}

DenseTensor embedding_lookup_unique(const Variable& var, const KeyView& ids,
                                    const std::vector<int64_t>& shape) {
  CheckShape(ids, shape, var.name());
  KeyList unique;
  std::vector<int64_t> inverse;
  Unique(ids, &unique, &inverse);
  const int64_t dim = var.dim();
  std::vector<float> rows(unique.size() * dim);
  var.lookup(unique.view(), rows);
  std::vector<int64_t> out_shape = shape;
  out_shape.push_back(dim);
  DenseTensor out = DenseTensor::Zeros(out_shape);
  for (int64_t i = 0; i < ids.size(); ++i) {
    std::copy_n(rows.data() + inverse[i] * dim, dim, out.values.data() + i * dim);
  }
  return out;
}

namespace {

// Combines rows of (id, weight) entries: out[r] = combiner over its ids.
std::vector<float> CombineRows(const Variable& var, const RaggedIds& rows, Combiner combiner) {
  const int64_t dim = var.dim();
  KeyList unique;
  std::vector<int64_t> inverse;
  Unique(KeyView(rows.ids), &unique, &inverse);
  std::vector<float> emb(unique.size() * dim);
  var.lookup(unique.view(), emb);
  std::vector<float> out(rows.num_rows() * dim, 0.0f);
  for (int64_t r = 0; r < rows.num_rows(); ++r) {
    double sum_w = 0, sum_w2 = 0;
    std::vector<double> acc(dim, 0.0);
    for (int64_t k = rows.row_splits[r]; k < rows.row_splits[r + 1]; ++k) {
      const double w = rows.has_weights() ? rows.weights[k] : 1.0;
      sum_w += w;
      sum_w2 += w * w;
      const float* e = emb.data() + inverse[k] * dim;
      for (int64_t d = 0; d < dim; ++d) acc[d] += w * e[d];
    }
    double scale = 1.0;
    if (combiner == Combiner::kMean) scale = sum_w == 0 ? 0.0 : 1.0 / sum_w;
    if (combiner == Combiner::kSqrtn) scale = sum_w2 == 0 ? 0.0 : 1.0 / std::sqrt(sum_w2);
    for (int64_t d = 0; d < dim; ++d) out[r * dim + d] = static_cast<float>(acc[d] * scale);
  }
  return out;
}

void RequireInt64(const Variable& var, const char* fn) {
  if (var.key_dtype() != KeyType::kInt64) {
    throw InvalidArgument("dynamic embedding variable " + var.name() + ": " + fn +
                          " takes int64 ids but the variable has " +
                          std::string(KeyTypeName(var.key_dtype())) +
                          " keys; use embedding_lookup with keys of that type.");
  }
}

}  // namespace

DenseTensor embedding_lookup_sparse(const Variable& var, const IdTensor& sp_ids, Combiner combiner) {
  RequireInt64(var, "embedding_lookup_sparse");
  if (sp_ids.has_keys()) {
    throw InvalidArgument("dynamic embedding variable " + var.name() + ": embedding_lookup_sparse got ids of a "
                          "dynamic-vocabulary column (positions in the batch's key list); pass "
                          "the raw keys as ids, or evaluate the column with DenseFeatures.");
  }
  const int rank = sp_ids.rank();
  if (rank < 1 || static_cast<int64_t>(sp_ids.indices.size()) != sp_ids.nnz() * rank ||
      (sp_ids.has_weights() && sp_ids.weights.size() != sp_ids.ids.size())) {
    throw InvalidArgument("dynamic embedding variable " + var.name() +
                          ": embedding_lookup_sparse needs sp_ids of rank >= 1 with nnz*rank "
                          "indices and one weight per id (or none).");
  }
  int64_t num_rows = 0;
  for (int64_t i = 0; i < sp_ids.nnz(); ++i) {
    num_rows = std::max(num_rows, sp_ids.indices[i * rank] + 1);
  }
  // Group entries by segment (their first index), keeping their order.
  RaggedIds rows;
  rows.row_splits.assign(num_rows + 1, 0);
  for (int64_t i = 0; i < sp_ids.nnz(); ++i) ++rows.row_splits[sp_ids.indices[i * rank] + 1];
  for (int64_t r = 0; r < num_rows; ++r) rows.row_splits[r + 1] += rows.row_splits[r];
  rows.ids.resize(sp_ids.nnz());
  if (sp_ids.has_weights()) rows.weights.resize(sp_ids.nnz());
  std::vector<int64_t> fill(rows.row_splits.begin(), rows.row_splits.end() - 1);
  for (int64_t i = 0; i < sp_ids.nnz(); ++i) {
    const int64_t at = fill[sp_ids.indices[i * rank]]++;
    rows.ids[at] = sp_ids.ids[i];
    if (sp_ids.has_weights()) rows.weights[at] = sp_ids.weights[i];
  }
  return DenseTensor({num_rows, var.dim()}, CombineRows(var, rows, combiner));
}

DenseTensor safe_embedding_lookup_sparse(const Variable& var, const IdTensor& sp_ids,
                                         Combiner combiner, std::optional<int64_t> default_id) {
  RequireInt64(var, "safe_embedding_lookup_sparse");
  if (sp_ids.has_keys()) {
    throw InvalidArgument("dynamic embedding variable " + var.name() + ": safe_embedding_lookup_sparse got ids of a "
                          "dynamic-vocabulary column (positions in the batch's key list); pass "
                          "the raw keys as ids, or evaluate the column with DenseFeatures.");
  }
  if (sp_ids.rank() < 2) {
    throw InvalidArgument("dynamic embedding variable " + var.name() +
                          ": safe_embedding_lookup_sparse needs sp_ids of rank >= 2, got rank " +
                          std::to_string(sp_ids.rank()) + ".");
  }
  const RaggedIds ragged = ToRagged(sp_ids);
  const bool prune = ragged.has_weights() && combiner != Combiner::kSum;
  RaggedIds kept;
  kept.row_splits.push_back(0);
  std::vector<bool> was_empty(ragged.num_rows(), false);
  for (int64_t r = 0; r < ragged.num_rows(); ++r) {
    for (int64_t k = ragged.row_splits[r]; k < ragged.row_splits[r + 1]; ++k) {
      const float w = ragged.has_weights() ? ragged.weights[k] : 1.0f;
      if (prune && !(w > 0)) continue;
      kept.ids.push_back(ragged.ids[k]);
      kept.weights.push_back(w);
    }
    if (static_cast<int64_t>(kept.ids.size()) == kept.row_splits.back()) {
      was_empty[r] = true;
      kept.ids.push_back(default_id.value_or(0));
      kept.weights.push_back(1.0f);
    }
    kept.row_splits.push_back(static_cast<int64_t>(kept.ids.size()));
  }
  std::vector<float> values = CombineRows(var, kept, combiner);
  if (!default_id.has_value()) {
    for (int64_t r = 0; r < ragged.num_rows(); ++r) {
      if (was_empty[r]) std::fill_n(values.begin() + r * var.dim(), var.dim(), 0.0f);
    }
  }
  std::vector<int64_t> shape(sp_ids.dense_shape.begin(), sp_ids.dense_shape.end() - 1);
  shape.push_back(var.dim());
  return DenseTensor(std::move(shape), std::move(values));
}

}  // namespace embcol::dynamic_embedding
