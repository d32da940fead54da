// TableOptimizers (training.h): the fused optimizer step of every table.
#include <string>
#include <utility>
#include <vector>

#include "embcol/errors.h"
#include "embcol/fused_step.h"
#include "embcol/training.h"

namespace embcol {

TableOptimizers::TableOptimizers(std::shared_ptr<TableSet> tables, SparseOptimizer optimizer,
                                 int num_threads)
    : tables_(std::move(tables)), default_(std::move(optimizer)), num_threads_(num_threads) {
  if (!tables_) throw InvalidArgument("TableOptimizers: the TableSet is null.");
  if (num_threads_ < 1) {
    throw InvalidArgument("TableOptimizers: num_threads must be >= 1, got " +
                          std::to_string(num_threads_) + ".");
  }
}

void TableOptimizers::SetOptimizer(const std::string& table, SparseOptimizer optimizer) {
  auto used = used_with_.find(table);
  if (used != used_with_.end() && used->second != optimizer.class_name()) {
    throw FailedPrecondition("TableOptimizers: table '" + table + "' was already trained with " +
                             used->second + "; its slots do not fit " + optimizer.class_name() +
                             ". Set the optimizer before the first step.");
  }
  per_table_.insert_or_assign(table, std::move(optimizer));
}

const SparseOptimizer& TableOptimizers::optimizer(const std::string& table) const {
  auto it = per_table_.find(table);
  return it == per_table_.end() ? default_ : it->second;
}

SparseOptimizer TableOptimizers::OptimizerFor(
    const std::string& table, const std::optional<LearningRateFn>& learning_rate_fn) const {
  const SparseOptimizer& base = optimizer(table);
  if (!learning_rate_fn) return base;
  return base.WithLearningRate(*learning_rate_fn);
}

SparseOptimizerState& TableOptimizers::StateFor(const SparseOptimizer& opt,
                                                EmbeddingTable& table) {
  auto& state = states_[table.name()];
  if (!state) state = std::make_unique<SparseOptimizerState>(opt, table);
  used_with_[table.name()] = opt.class_name();
  return *state;
}

void TableOptimizers::ApplyFused(const std::string& name,
                                 const std::optional<LearningRateFn>& learning_rate_fn,
                                 const RaggedIds& ragged, Combiner combiner,
                                 std::optional<float> max_norm, const float* d_out,
                                 int64_t global_step) {
  EmbeddingTable* table = tables_->Find(name);
  if (table == nullptr) {
    throw NotFound("TableOptimizers: fused step for table '" + name +
                   "', which is not a fixed table of the TableSet.");
  }
  const SparseOptimizer opt = OptimizerFor(name, learning_rate_fn);
  SparseOptimizerState& state = StateFor(opt, *table);
  const int64_t bad = FusedPooledStep(opt, *table, state, ragged, combiner, max_norm, d_out,
                                      global_step, num_threads_);
  if (bad >= 0) {
    throw OutOfRange("TableOptimizers: id " + std::to_string(ragged.ids[bad]) +
                     " is outside table '" + name + "' of " +
                     std::to_string(table->num_rows()) + " rows.");
  }
}

void TableOptimizers::Prepare() {
  for (const EmbeddingTable* t : tables_->tables()) {
    EmbeddingTable* table = tables_->Find(t->name());
    StateFor(optimizer(t->name()), *table);
  }
  for (const dynamic_embedding::Variable* v : tables_->dynamic_tables()) {
    if (!v->trainable()) continue;
    const SparseOptimizer& opt = optimizer(v->name());
    tables_->FindDynamic(v->name())->set_slot_initial_values(opt.SlotInitialValues());
    used_with_[v->name()] = opt.class_name();
  }
}

SparseOptimizerState* TableOptimizers::state(const std::string& table) {
  auto it = states_.find(table);
  return it == states_.end() ? nullptr : it->second.get();
}

const SparseOptimizerState* TableOptimizers::state(const std::string& table) const {
  auto it = states_.find(table);
  return it == states_.end() ? nullptr : it->second.get();
}

void TableOptimizers::Apply(const FeatureGradients& gradients, int64_t global_step) {
  for (const TableGradient& g : gradients.tables) Apply(g, global_step);
}

void TableOptimizers::Apply(const TableGradient& g, int64_t global_step) {
  const SparseOptimizer opt = OptimizerFor(g.table, g.learning_rate_fn);
  if (!g.dynamic) {
    EmbeddingTable* table = tables_->Find(g.table);
    if (table == nullptr) {
      throw NotFound("TableOptimizers: gradient for table '" + g.table +
                     "', which is not a fixed table of the TableSet.");
    }
    ApplySparse(opt, *table, StateFor(opt, *table), g.grad, global_step, num_threads_);
    return;
  }
  dynamic_embedding::Variable* var = tables_->FindDynamic(g.table);
  if (var == nullptr) {
    throw NotFound("TableOptimizers: gradient for dynamic table '" + g.table +
                   "', which is not a dynamic table of the TableSet.");
  }
  ApplyGradients(opt, *var, g.keys.view(), g.admitted, g.grad, global_step);
  used_with_[g.table] = opt.class_name();
}

void ApplyGradients(const SparseOptimizer& opt, dynamic_embedding::Variable& var,
                    const KeyView& all_view, const std::vector<bool>& admitted,
                    const SparseGrad& grad, int64_t global_step) {
  if (!var.trainable()) return;
  const int64_t dim = var.dim();
  if (grad.dim != dim) {
    throw InvalidArgument("dynamic embedding variable " + var.name() + ": gradient of dim " +
                          std::to_string(grad.dim) + " for rows of dim " + std::to_string(dim) +
                          ".");
  }
  // The admitted keys with a gradient, and their gradient rows.
  dynamic_embedding::KeyList keys;
  keys.type = all_view.type();
  std::vector<int64_t> rows;
  for (int64_t k = 0; k < grad.size(); ++k) {
    const int64_t pos = grad.rows[k];
    if (pos < 0 || pos >= all_view.size()) {
      throw OutOfRange("dynamic embedding variable " + var.name() + ": gradient row " +
                       std::to_string(pos) + " is outside its " +
                       std::to_string(all_view.size()) + " keys.");
    }
    if (!admitted.empty() && !admitted[pos]) continue;
    keys.Append(all_view, pos);
    rows.push_back(k);
  }
  if (rows.empty()) return;
  var.set_slot_initial_values(opt.SlotInitialValues());
  const SparseStepParams step = opt.Step(global_step);
  const int64_t num_slots = opt.num_slots();
  constexpr int64_t kMaxSlots = 8;
  if (num_slots > kMaxSlots) {
    throw Internal("ApplyGradients: " + opt.class_name() + " keeps " +
                   std::to_string(num_slots) + " slots, more than the " +
                   std::to_string(kMaxSlots) + " a dynamic-table step handles.");
  }
  const KeyView view = keys.view();
  // bp_v2: the step lands on the row as it is now, and a key removed since
  // the forward is skipped (TFRA's accumulate rule); otherwise it is
  // re-inserted from its initial row.
  const MissingKeys missing = var.bp_v2() ? MissingKeys::kSkip : MissingKeys::kInsert;
  var.update_rows(view, missing, [&](int64_t i, float* row, float* slots, EntryMeta&, bool) {
    float* slot_rows[kMaxSlots];
    for (int64_t s = 0; s < num_slots; ++s) slot_rows[s] = slots + s * dim;
    UpdateRow(step, row, slot_rows, grad.row(rows[i]), dim);
  });
  var.apply_update_policy(view, global_step);
}

}  // namespace embcol
