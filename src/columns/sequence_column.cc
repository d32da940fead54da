// sequence_categorical_column_with_* (reference §2.8): the wrapped column's
// ids reshaped to rank 3, [B, T, prod(rest)]. A rank-2 id tensor [B, T]
// becomes [B, T, 1] with index (b, t) -> (b, t, 0); rank 3 is kept; higher
// ranks fold dimensions 2.. into the last one, row-major.
// (The sequence factories live in the file of the column they wrap.)
#include <memory>
#include <string>

#include "embcol/categorical_column.h"
#include "embcol/errors.h"

namespace embcol {

SequenceCategoricalColumn::SequenceCategoricalColumn(
    CategoricalColumnPtr categorical_column)
    : inner_(std::move(categorical_column)) {
  const CategoricalColumn* c = inner_.get();
  if (c == nullptr) {
    throw InvalidArgument(
        "categorical_column must be set. In SequenceCategoricalColumn: wrap an "
        "identity, hash bucket, vocabulary or dynamic vocabulary column.");
  }
  const bool supported =
      dynamic_cast<const IdentityCategoricalColumn*>(c) != nullptr ||
      dynamic_cast<const HashedCategoricalColumn*>(c) != nullptr ||
      dynamic_cast<const VocabularyListCategoricalColumn*>(c) != nullptr ||
      dynamic_cast<const VocabularyFileCategoricalColumn*>(c) != nullptr ||
      dynamic_cast<const DynamicVocabularyCategoricalColumn*>(c) != nullptr;
  if (!supported) {
    throw InvalidArgument(
        "SequenceCategoricalColumn cannot wrap " + c->class_name() + " '" + c->name() +
        "'. Use one of sequence_categorical_column_with_identity, _hash_bucket, "
        "_vocabulary_list, _vocabulary_file or _dynamic_vocabulary.");
  }
}

IdTensor SequenceCategoricalColumn::GetSparseTensors(const FeatureBatch& batch) const {
  IdTensor ids = inner_->GetSparseTensors(batch);
  const int rank = ids.rank();
  if (rank == 3) return ids;
  // rank >= 2 (the inner column expands rank 1 to [batch, 1]).
  const int64_t nnz = ids.nnz();
  std::vector<int64_t> indices;
  indices.reserve(static_cast<size_t>(nnz) * 3);
  for (int64_t i = 0; i < nnz; ++i) {
    const int64_t* index = &ids.indices[i * rank];
    int64_t last = 0;
    for (int d = 2; d < rank; ++d) last = last * ids.dense_shape[d] + index[d];
    indices.push_back(index[0]);
    indices.push_back(index[1]);
    indices.push_back(last);
  }
  int64_t last_dim = 1;
  for (int d = 2; d < rank; ++d) last_dim *= ids.dense_shape[d];
  ids.dense_shape = {ids.dense_shape[0], ids.dense_shape[1], last_dim};
  ids.indices = std::move(indices);
  return ids;
}

}  // namespace embcol
