// Training the embedding tables of a feature layer: what a training forward
// records (FeaturesTrace), the per-table gradients its backward returns
// (FeatureGradients), and the sparse optimizers that apply them
// (TableOptimizers).
//
// One step, as TensorFlow's TPU embedding columns run it:
//
//   FeaturesTrace trace;
//   DenseTensor x = features.Forward(batch, &trace);   // dynamic tables insert
//   ... model head: loss, d(loss)/dx ...
//   FeatureGradients g = features.Backward(trace, dx);  // one entry per table
//   optimizers.Apply(g, global_step);                   // fused: in the engine
//
// embedding_lookup_device of the columns decides how a table trains:
//   "tpu_embedding_core" (the default): the fused path. Backward gives the
//       deduplicated gradient of the table and TableOptimizers applies the
//       table's own optimizer in one pass over the unique rows, reading and
//       writing each row and its slots once.
//   "tpu_tensor_core": the unfused path. The forward pads each example's ids
//       to tensor_core_shape and gathers dense [batch, width, dim] rows
//       before combining, as a tensor core would; the gradient comes back to
//       the caller as (unique ids, gradient rows) -- TableGradient::grad and,
//       for a dynamic table, TableGradient::keys -- to apply with any
//       optimizer (TableOptimizers::Apply included).
//   "cpu": serving. Lookups work; Backward throws FailedPrecondition.
// Both training paths give the same rows to float rounding.
//
// trainable=false on a column (or on the layer) freezes its table: Backward
// returns no gradient for it. A column's learning_rate_fn replaces its
// table's optimizer's learning rate. Dynamic tables: keys the admission
// filter did not admit are not written; with bp_v2 the step is applied to
// the row as it is now (deltas accumulate, a key removed since the forward
// is skipped), otherwise a key removed since the forward is inserted again
// from its initial row; the restrict policy's ApplyUpdate runs on the
// written keys.
//
// FeaturesTrace and FeatureGradients are plain values. TableOptimizers is
// thread-compatible: Apply needs exclusive use of the fixed tables it
// updates (dynamic tables lock their own entries).
#ifndef EMBCOL_TRAINING_H_
#define EMBCOL_TRAINING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "embcol/dynamic_embedding.h"
#include "embcol/embedding_column.h"
#include "embcol/learning_rate.h"
#include "embcol/sparse_grad.h"
#include "embcol/sparse_optimizer.h"
#include "embcol/table_set.h"
#include "embcol/tensor.h"

namespace embcol {

// What a training forward recorded for Backward: per embedding column, the
// ids it looked up and where its output went.
struct FeaturesTrace {
  struct Column {
    const EmbeddingColumnBase* column = nullptr;
    IdTensor ids;         // as looked up (sequence columns: after truncation)
    int64_t offset = 0;   // first output channel of this column
    // Dynamic-vocabulary columns: the [u, dim] rows of ids.keys the
    // forward read, and what Variable::Forward recorded (admission).
    std::vector<float> block;
    std::shared_ptr<dynamic_embedding::TrainingContext> context;
  };
  std::vector<Column> columns;  // embedding columns, in output order
  int64_t batch_size = 0;
  int64_t steps = 0;            // SequenceFeatures: T; DenseFeatures: 0
  int64_t width = 0;            // the output's last dimension
  bool trainable = true;        // the layer's trainable flag
};

// The gradient of one table, summed over the columns that read it.
struct TableGradient {
  std::string table;
  bool dynamic = false;
  // Fixed table: rows are row ids. Dynamic table: rows are positions in
  // `keys`. One entry per distinct row.
  SparseGrad grad;
  dynamic_embedding::KeyList keys;  // dynamic only: the distinct keys
  std::vector<bool> admitted;       // dynamic only: [keys.size()] may be written
  // The column's learning_rate_fn, when it has one.
  std::optional<LearningRateFn> learning_rate_fn;
  // The columns' embedding_lookup_device (kLookupDevice*; the default
  // "tpu_embedding_core" when unset).
  std::string lookup_device = kLookupDeviceEmbeddingCore;
};

struct FeatureGradients {
  std::vector<TableGradient> tables;  // sorted by table name
  // The entry of `table`, or nullptr.
  const TableGradient* Find(const std::string& table) const;
};

// One fused optimizer step on a dynamic_embedding::Variable (the step
// TableOptimizers runs for a dynamic table; use it directly with the TFRA
// layers, e.g. after EmbeddingCallGrad): grad.rows are positions in `keys`
// (ctx.unique_keys of the Forward), keys with admitted[k] == false
// (ctx.admitted; empty = all) are skipped. The variable gets the
// optimizer's slots on first use (set_slot_initial_values), each key's row
// and slots are updated in place under its entry's lock, then the restrict
// policy's ApplyUpdate runs. bp_v2: a key removed since the forward is
// skipped; otherwise it is inserted again from its initial row. Nothing
// happens for a variable that is not trainable. Throws InvalidArgument
// naming the variable when grad.dim is not its dim, OutOfRange for a row
// outside `keys`.
void ApplyGradients(const SparseOptimizer& optimizer, dynamic_embedding::Variable& var,
                    const KeyView& keys, const std::vector<bool>& admitted,
                    const SparseGrad& grad, int64_t global_step);

// The sparse optimizers of a TableSet's tables and their slots.
class TableOptimizers {
 public:
  // `optimizer` serves every table without one of its own. num_threads:
  // threads of a fixed table's update (rows are split among them).
  TableOptimizers(std::shared_ptr<TableSet> tables, SparseOptimizer optimizer,
                  int num_threads = 1);

  // Gives `table` its own optimizer. Throws FailedPrecondition naming the
  // table when it has already been updated with another one (its slots
  // would not match).
  void SetOptimizer(const std::string& table, SparseOptimizer optimizer);
  // The optimizer `table` is trained with.
  const SparseOptimizer& optimizer(const std::string& table) const;

  // Applies each table's optimizer at global_step (the column's
  // learning_rate_fn, when set, replaces the optimizer's learning rate).
  // Fixed tables get their slot matrices on first use; dynamic tables get
  // slot rows in every entry (Variable::set_slot_initial_values). Throws
  // NotFound naming the table when it is not in the TableSet, and what
  // ApplySparse throws; a failed table leaves the tables after it
  // unchanged.
  void Apply(const FeatureGradients& gradients, int64_t global_step);
  void Apply(const TableGradient& gradient, int64_t global_step);
  // The fused step of a fixed table read by one pooled lookup: its
  // backward and the optimizer update in one pass over the distinct rows
  // (FusedPooledStep). ragged: the ids the lookup combined; d_out: its
  // output gradient, ragged.num_rows() * dim floats. Throws NotFound for an
  // unknown table, OutOfRange naming it for an id outside it.
  void ApplyFused(const std::string& table, const std::optional<LearningRateFn>& learning_rate_fn,
                  const RaggedIds& ragged, Combiner combiner, std::optional<float> max_norm,
                  const float* d_out, int64_t global_step);

  // Gives every table of the TableSet its optimizer slots now rather than
  // at its first update: slot matrices for fixed tables, slot rows for
  // dynamic ones. Restoring a checkpoint calls it first, so the slots exist
  // to be filled. Idempotent.
  void Prepare();

  // The slots of a fixed table, or nullptr before its first update.
  SparseOptimizerState* state(const std::string& table);
  const SparseOptimizerState* state(const std::string& table) const;
  const std::shared_ptr<TableSet>& tables() const { return tables_; }

 private:
  SparseOptimizer OptimizerFor(const std::string& table,
                               const std::optional<LearningRateFn>& learning_rate_fn) const;
  SparseOptimizerState& StateFor(const SparseOptimizer& optimizer, EmbeddingTable& table);

  std::shared_ptr<TableSet> tables_;
  SparseOptimizer default_;
  int num_threads_;
  std::map<std::string, SparseOptimizer> per_table_;
  std::map<std::string, std::unique_ptr<SparseOptimizerState>> states_;
  std::map<std::string, std::string> used_with_;  // table -> optimizer class it was updated with
};

}  // namespace embcol

#endif  // EMBCOL_TRAINING_H_
