// TableSet: the embedding tables of a model, by name.
//
// The layers that evaluate embedding columns (DenseFeatures,
// SequenceFeatures) create a column's table here on first use: an
// embedding_column's table is named after the column ("aaa_embedding"),
// shared embeddings' table after their collection. Several layers can hold
// one TableSet, so shared columns used in both a DenseFeatures and a
// SequenceFeatures layer read one table, as in TensorFlow.
//
// A column over categorical_column_with_dynamic_vocabulary gets a dynamic
// table instead (dynamic_embedding::Variable, keyed by raw feature values),
// reached through GetOrCreateDynamic / FindDynamic. Fixed and dynamic tables
// share one name space: a name is either one or the other.
//
// Thread-compatible: concurrent const access is safe; creating tables or
// writing rows of a fixed table needs external synchronization (a dynamic
// table's own operations are thread-safe, see dynamic_embedding.h).
#ifndef EMBCOL_TABLE_SET_H_
#define EMBCOL_TABLE_SET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "embcol/dynamic_embedding.h"
#include "embcol/embedding_column.h"
#include "embcol/embedding_table.h"

namespace embcol {

class TableSet {
 public:
  // seed mixes into every table's default seed (see initializer.h), so two
  // models with different seeds initialize differently and the same seed
  // reproduces the same tables.
  explicit TableSet(uint64_t seed = 0) : seed_(seed) {}

  // The table of `column`, created (num_buckets x dimension) if absent and
  // filled by the column's initializer -- or, when the column sets
  // ckpt_to_load_from / tensor_name_in_ckpt, with that tensor of that
  // checkpoint, as TensorFlow's init_from_checkpoint does. The checkpoint is
  // told apart by what is on disk: a TensorFlow tensor bundle (a prefix
  // with PREFIX.index, a directory with TensorFlow's text `checkpoint`
  // file, or a directory holding one *.index; see tensor_bundle.h) or an
  // embcol checkpoint (a `ckpt-<step>` directory with `manifest`, or a
  // model_dir with embcol's JSON `checkpoint` file; see checkpoint.h).
  // The tensor must be float32 of shape [num_buckets, dimension] with
  // finite values; a TF1 partitioned variable (saved as slices) is
  // assembled into one table. Loading happens only on creation; an
  // existing table is returned as it is.
  // Throws InvalidArgument if a table of that name exists with another
  // shape, for a dynamic-vocabulary column (use GetOrCreateDynamic) or a
  // name taken by a dynamic table. From the checkpoint: NotFound naming
  // the checkpoint and listing the closest tensor names and the tensors of
  // the wanted shape when the tensor or checkpoint is missing;
  // InvalidArgument naming the column and tensor for another shape or
  // dtype (listing the tensors of the wanted shape) or a non-finite value;
  // DataLoss naming the file and offset for a corrupt checkpoint. Nothing is created when it throws.
  EmbeddingTable& GetOrCreate(const EmbeddingColumnBase& column);

  // The dynamic table of a dynamic-vocabulary column, created if absent:
  // named table_name(), dim = dimension(), key dtype = the column's,
  // initializer = the column's (missing keys read it; see
  // dynamic_embedding.h), its null seed derived as for fixed tables, and
  // the storage of options().dynamic_table (shards, capacity, row dtype,
  // kv_creator, restrict policy, admission filter), trainable as the
  // column. Throws InvalidArgument naming the column for a fixed-vocabulary
  // column, a name taken by a fixed table, an existing dynamic table of
  // another dim or key dtype, or a bad kv_creator / restrict_policy /
  // admission_filter config; FailedPrecondition for ckpt_to_load_from (a
  // dynamic table has no fixed tensor to load; restore a saved one with
  // RestoreDynamicTable, checkpoint.h).
  dynamic_embedding::Variable& GetOrCreateDynamic(const EmbeddingColumnBase& column);

  // Creates the column's table of the right kind if absent (GetOrCreate or
  // GetOrCreateDynamic).
  void Create(const EmbeddingColumnBase& column);

  // nullptr when absent (or when the name is a dynamic table).
  EmbeddingTable* Find(const std::string& name);
  const EmbeddingTable* Find(const std::string& name) const;
  // nullptr when absent (or when the name is a fixed table).
  dynamic_embedding::Variable* FindDynamic(const std::string& name);
  const dynamic_embedding::Variable* FindDynamic(const std::string& name) const;
  // All fixed tables, sorted by name.
  std::vector<const EmbeddingTable*> tables() const;
  // All dynamic tables, sorted by name.
  std::vector<const dynamic_embedding::Variable*> dynamic_tables() const;
  uint64_t seed() const { return seed_; }

  // Optimizer slot initial values that dynamic tables created from now on
  // start with (one per slot; see Variable::set_slot_initial_values). A
  // trainer that knows its optimizer before the layer is built sets them,
  // so a persistent store (RocksDB, Redis) is opened once with its final
  // layout instead of being rebuilt when training first attaches the slots.
  void set_dynamic_slot_initial_values(std::vector<float> values) {
    dynamic_slot_initial_values_ = std::move(values);
  }

 private:
  // The seed of a table named `name` for initializers whose seed is null.
  uint64_t TableSeed(const std::string& name) const;

  uint64_t seed_;
  std::vector<float> dynamic_slot_initial_values_;
  std::map<std::string, std::unique_ptr<EmbeddingTable>> tables_;
  std::map<std::string, std::unique_ptr<dynamic_embedding::Variable>> dynamic_tables_;
};

}  // namespace embcol

#endif  // EMBCOL_TABLE_SET_H_
