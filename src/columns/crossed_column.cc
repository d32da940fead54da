// crossed_column (reference §2.6): TensorFlow's sparse_cross_hashed.
//
// Per batch row, the values of every leaf input (in the given key order,
// nested crosses flattened) are enumerated as a cartesian product with the
// last input varying fastest. Each combination hashes to
//   h = hash_key;  for each input i: h = FingerprintCat64(h, f_i)
//   id = h mod hash_bucket_size             (all on uint64)
// where f_i is Fingerprint64(bytes) for a string value and the raw int64
// bits for an integer value (categorical ids included). The j-th combination
// of row r gets index (r, j); dense_shape is [batch, longest row].
#include <algorithm>
#include <memory>
#include <string>
#include <variant>

#include "columns/sparse_input.h"
#include "core/hashing.h"
#include "embcol/categorical_column.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

std::string KeyText(const CrossedKey& key) {
  if (const auto* s = std::get_if<std::string>(&key)) return "'" + *s + "'";
  const auto& column = std::get<CategoricalColumnPtr>(key);
  return column ? column->class_name() + "(" + column->name() + ")" : "null column";
}

std::string KeysText(const std::vector<CrossedKey>& keys) {
  std::string s = "[";
  for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + KeyText(keys[i]);
  return s + "]";
}

// Appends the leaf keys of `keys` (nested crosses flattened) in order.
void CollectLeaves(const std::vector<CrossedKey>& keys, std::vector<CrossedKey>* leaves) {
  for (const CrossedKey& key : keys) {
    if (const auto* column = std::get_if<CategoricalColumnPtr>(&key)) {
      if (const auto* crossed = dynamic_cast<const CrossedColumn*>(column->get())) {
        CollectLeaves(crossed->keys(), leaves);
        continue;
      }
    }
    leaves->push_back(key);
  }
}

// One leaf input of a batch: per-value fingerprints grouped by row.
struct LeafValues {
  int64_t batch_size = 0;
  std::vector<int64_t> row_splits;  // batch_size + 1 entries
  std::vector<uint64_t> hashes;     // f_i of every value, row-major
};

// Groups values by their first index coordinate. REQUIRES: indices are
// row-major ordered (so each row's values are contiguous and in order).
void FillRowSplits(const std::vector<int64_t>& indices, int rank, int64_t nnz,
                   LeafValues* leaf) {
  leaf->row_splits.assign(static_cast<size_t>(leaf->batch_size) + 1, 0);
  for (int64_t i = 0; i < nnz; ++i) ++leaf->row_splits[indices[i * rank] + 1];
  for (int64_t r = 0; r < leaf->batch_size; ++r) {
    leaf->row_splits[r + 1] += leaf->row_splits[r];
  }
}

LeafValues RawLeaf(const FeatureBatch& batch, const std::string& key,
                   const std::string& column) {
  const Feature& feature = internal::GetRawFeature(batch, key);
  internal::CheckStringOrIntInput(feature, key, column);
  const internal::SparseView view = internal::Sparsify(feature, internal::DropCells::kNone);
  LeafValues leaf;
  leaf.batch_size = view.dense_shape[0];
  const int64_t nnz = view.nnz();
  FillRowSplits(view.indices, view.rank(), nnz, &leaf);
  leaf.hashes.reserve(static_cast<size_t>(nnz));
  if (feature.dtype() == DType::kString) {
    const Strings& values = feature.string_values();
    for (int64_t i = 0; i < nnz; ++i) {
      leaf.hashes.push_back(internal::Fingerprint64(values[view.position(i)]));
    }
  } else {
    const Int64s& values = feature.int64_values();
    for (int64_t i = 0; i < nnz; ++i) {
      leaf.hashes.push_back(static_cast<uint64_t>(values[view.position(i)]));
    }
  }
  return leaf;
}

LeafValues ColumnLeaf(const FeatureBatch& batch, const CategoricalColumn& leaf_column,
                      const std::string& column) {
  const IdTensor ids = leaf_column.GetSparseTensors(batch);
  if (ids.has_keys()) {  // positions in a per-batch key list, not ids
    throw InvalidArgument(column + ": column " + leaf_column.name() +
                          " gives raw keys of a dynamic vocabulary, not ids; cross its "
                          "feature name as a string key instead.");
  }
  if (ids.has_weights()) {
    throw InvalidArgument(
        "crossed_column does not support weight_tensor, but the given column "
        "populates weight_tensor. Given column: " + leaf_column.name() + ". In " +
        column + ": cross the unweighted column instead.");
  }
  LeafValues leaf;
  leaf.batch_size = ids.dense_shape[0];
  FillRowSplits(ids.indices, ids.rank(), ids.nnz(), &leaf);
  leaf.hashes.assign(ids.ids.begin(), ids.ids.end());  // raw int64 bits
  return leaf;
}

}  // namespace

CrossedColumn::CrossedColumn(std::vector<CrossedKey> keys, int64_t hash_bucket_size,
                             std::optional<int64_t> hash_key)
    : keys_(std::move(keys)), hash_bucket_size_(hash_bucket_size), hash_key_(hash_key) {
  if (keys_.size() < 2) {
    throw InvalidArgument("keys must be a list with length > 1. Given: " +
                          KeysText(keys_) + ". In crossed_column: cross at least two "
                          "features or columns.");
  }
  if (hash_bucket_size_ < 1) {
    throw InvalidArgument("hash_bucket_size must be > 1. hash_bucket_size: " +
                          std::to_string(hash_bucket_size_) + ". In crossed_column " +
                          KeysText(keys_) + ": use hash_bucket_size >= 1.");
  }
  for (const CrossedKey& key : keys_) {
    if (const auto* s = std::get_if<std::string>(&key)) {
      if (s->empty()) {
        throw InvalidArgument(
            "Unsupported key type. All keys must be either string, or categorical "
            "column except HashedCategoricalColumn. Given: ''. In crossed_column " +
            KeysText(keys_) + ": a feature key must be non-empty.");
      }
      continue;
    }
    const CategoricalColumn* column = std::get<CategoricalColumnPtr>(key).get();
    if (column == nullptr) {
      throw InvalidArgument(
          "Unsupported key type. All keys must be either string, or categorical "
          "column except HashedCategoricalColumn. Given: null column. In "
          "crossed_column " + KeysText(keys_) + ": pass a feature key or a column.");
    }
    if (dynamic_cast<const HashedCategoricalColumn*>(column) != nullptr) {
      throw InvalidArgument(
          "categorical_column_with_hash_bucket is not supported for crossing. Hashing "
          "before crossing will increase probability of collision. Instead, use the "
          "feature name as a string. Given: " + column->name() + ". In crossed_column " +
          KeysText(keys_) + ": pass '" + column->name() + "' as a string key.");
    }
    if (HasDynamicVocabulary(*column)) {
      throw InvalidArgument(
          "crossed_column cannot cross " + column->name() + " (" + column->class_name() +
          "): a dynamic-vocabulary column has no bucket ids to cross. In crossed_column " +
          KeysText(keys_) + ": pass '" + column->name() +
          "' as a string key (its raw values are crossed), or use the column in an "
          "embedding_column.");
    }
    if (dynamic_cast<const WeightedCategoricalColumn*>(column) != nullptr) {
      throw InvalidArgument(
          "crossed_column does not support weight_tensor, but the given column "
          "populates weight_tensor. Given column: " + column->name() +
          ". In crossed_column " + KeysText(keys_) +
          ": cross the unweighted column instead.");
    }
  }
}

std::string CrossedColumn::name() const {
  std::vector<CrossedKey> leaves;
  CollectLeaves(keys_, &leaves);
  std::vector<std::string> names;
  names.reserve(leaves.size());
  for (const CrossedKey& leaf : leaves) {
    if (const auto* s = std::get_if<std::string>(&leaf)) {
      names.push_back(*s);
    } else {
      names.push_back(std::get<CategoricalColumnPtr>(leaf)->name());
    }
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "_X_" : "") + names[i];
  return out;
}

std::vector<std::string> CrossedColumn::input_keys() const {
  std::vector<CrossedKey> leaves;
  CollectLeaves(keys_, &leaves);
  std::vector<std::string> keys;
  for (const CrossedKey& leaf : leaves) {
    if (const auto* s = std::get_if<std::string>(&leaf)) {
      keys.push_back(*s);
    } else {
      for (std::string& k : std::get<CategoricalColumnPtr>(leaf)->input_keys()) {
        keys.push_back(std::move(k));
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

IdTensor CrossedColumn::GetSparseTensors(const FeatureBatch& batch) const {
  const std::string column = "crossed_column '" + name() + "'";
  std::vector<CrossedKey> leaf_keys;
  CollectLeaves(keys_, &leaf_keys);
  std::vector<LeafValues> leaves;
  leaves.reserve(leaf_keys.size());
  for (const CrossedKey& key : leaf_keys) {
    if (const auto* s = std::get_if<std::string>(&key)) {
      leaves.push_back(RawLeaf(batch, *s, column));
    } else {
      leaves.push_back(ColumnLeaf(batch, *std::get<CategoricalColumnPtr>(key), column));
    }
    if (leaves.back().batch_size != leaves.front().batch_size) {
      throw InvalidArgument(
          "Expected batch size " + std::to_string(leaves.front().batch_size) + " got " +
          std::to_string(leaves.back().batch_size) + ". In " + column + ": input " +
          KeyText(key) + " has a different batch size than input " +
          KeyText(leaf_keys.front()) + "; feed features with the same first dimension.");
    }
  }
  const int64_t batch_size = leaves.front().batch_size;
  const size_t n = leaves.size();
  const uint64_t seed = static_cast<uint64_t>(hash_key_.value_or(kDefaultHashKey));
  const uint64_t buckets = static_cast<uint64_t>(hash_bucket_size_);

  IdTensor out;
  int64_t longest = 0;
  std::vector<int64_t> counter(n);  // position within each leaf's row
  for (int64_t r = 0; r < batch_size; ++r) {
    int64_t combinations = 1;
    for (const LeafValues& leaf : leaves) {
      combinations *= leaf.row_splits[r + 1] - leaf.row_splits[r];
    }
    longest = std::max(longest, combinations);
    std::fill(counter.begin(), counter.end(), 0);
    for (int64_t j = 0; j < combinations; ++j) {
      uint64_t h = seed;
      for (size_t i = 0; i < n; ++i) {
        h = internal::FingerprintCat64(h, leaves[i].hashes[leaves[i].row_splits[r] + counter[i]]);
      }
      out.ids.push_back(static_cast<int64_t>(h % buckets));
      out.indices.push_back(r);
      out.indices.push_back(j);
      // Advance the odometer, last input fastest.
      for (size_t i = n; i-- > 0;) {
        if (++counter[i] < leaves[i].row_splits[r + 1] - leaves[i].row_splits[r]) break;
        counter[i] = 0;
      }
    }
  }
  out.dense_shape = {batch_size, longest};
  return out;
}

CategoricalColumnPtr crossed_column(std::vector<CrossedKey> keys,
                                    int64_t hash_bucket_size,
                                    std::optional<int64_t> hash_key) {
  return std::make_shared<CrossedColumn>(std::move(keys), hash_bucket_size, hash_key);
}

}  // namespace embcol
