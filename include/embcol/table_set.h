// TableSet: the embedding tables of a model, by name.
//
// The layers that evaluate embedding columns (DenseFeatures,
// SequenceFeatures) create a column's table here on first use: an
// embedding_column's table is named after the column ("aaa_embedding"),
// shared embeddings' table after their collection. Several layers can hold
// one TableSet, so shared columns used in both a DenseFeatures and a
// SequenceFeatures layer read one table, as in TensorFlow.
//
// Thread-compatible: concurrent const access is safe; creating tables or
// writing rows needs external synchronization.
#ifndef EMBCOL_TABLE_SET_H_
#define EMBCOL_TABLE_SET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "embcol/embedding_column.h"
#include "embcol/embedding_table.h"

namespace embcol {

class TableSet {
 public:
  // seed mixes into every table's default seed (see initializer.h), so two
  // models with different seeds initialize differently and the same seed
  // reproduces the same tables.
  explicit TableSet(uint64_t seed = 0) : seed_(seed) {}

  // The table of `column`, created (num_buckets x dimension, filled by the
  // column's initializer) if absent. Throws InvalidArgument if a table of
  // that name exists with another shape, and FailedPrecondition for a
  // column that asks to load its initial value from a checkpoint
  // (ckpt_to_load_from), which this version cannot read yet.
  EmbeddingTable& GetOrCreate(const EmbeddingColumnBase& column);

  // nullptr when absent.
  EmbeddingTable* Find(const std::string& name);
  const EmbeddingTable* Find(const std::string& name) const;
  // All tables, sorted by name.
  std::vector<const EmbeddingTable*> tables() const;
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  std::map<std::string, std::unique_ptr<EmbeddingTable>> tables_;
};

}  // namespace embcol

#endif  // EMBCOL_TABLE_SET_H_
