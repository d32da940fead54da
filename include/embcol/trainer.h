// Trainer: runs training steps of a whole model -- a DenseFeatures layer
// (embedding tables and dense columns), a dense LogitsModel on top (Dnn,
// LinearModel or DnnLinearCombined) and a Head -- with a global step, as
// TensorFlow's canned estimators train (DNNClassifier, LinearClassifier,
// DNNLinearCombinedClassifier and their regressors).
//
// One Step:
//   x      = features.Forward(batch, &trace)          (dynamic tables insert)
//   logits = model.Forward(x, training=true)
//   loss, d_logits = head.LossWithGradient(logits, labels, weights)
//   d_x    = model.Backward(d_logits)
//   tables: features.Backward(trace, d_x), then the fused optimizer step
//           (TableOptimizers) for every table on the embedding core; the
//           gradients of "tpu_tensor_core" tables are returned to the caller
//   dense:  each parameter's DenseOptimizer (by name prefix) at global_step
//   global_step += 1
//
// Determinism: with the same seed (the layer's TableSet seed, the model's
// seed) and num_threads = 1, the same batches give the same tables and
// parameters bit for bit. More threads split a fixed table's row updates;
// rows are distinct, so results do not depend on the thread count either.
//
// Thread-compatible: one Step at a time. The layer, model and head are
// borrowed and must outlive the trainer.
#ifndef EMBCOL_TRAINER_H_
#define EMBCOL_TRAINER_H_

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "embcol/dense_features.h"
#include "embcol/dense_optimizer.h"
#include "embcol/feature.h"
#include "embcol/head.h"
#include "embcol/model.h"
#include "embcol/sparse_optimizer.h"
#include "embcol/training.h"

namespace embcol {

struct TrainerOptions {
  // Threads of a fixed table's optimizer step. >= 1.
  int num_threads = 1;
};

struct StepResult {
  double loss = 0.0;            // the head's reduced loss on the batch
  int64_t global_step = 0;      // the step this was (before the increment)
  FeatureGradients unfused;     // gradients of "tpu_tensor_core" tables
};

class Trainer {
 public:
  // embedding_optimizer: every table's (TableOptimizers::SetOptimizer
  // overrides per table); dense_optimizer: every model parameter's
  // (SetDenseOptimizer overrides by name prefix). Throws InvalidArgument
  // when the model's input_dim is not the layer's output_size, or the
  // head's logits_dimension not the model's logits_dim.
  Trainer(const DenseFeatures& features, LogitsModel& model, const Head& head,
          SparseOptimizer embedding_optimizer, DenseOptimizer dense_optimizer,
          TrainerOptions options = {});

  // Parameters whose name starts with `prefix` use `optimizer` (e.g.
  // "linear/" with Ftrl for the wide part of a wide & deep model). The
  // longest matching prefix wins.
  void SetDenseOptimizer(const std::string& prefix, DenseOptimizer optimizer);
  TableOptimizers& table_optimizers() { return tables_; }
  // The default dense optimizer and the per-prefix ones (for checkpoints).
  DenseOptimizer& dense_optimizer() { return dense_default_; }
  std::vector<std::pair<std::string, DenseOptimizer>>& dense_optimizers_by_prefix() {
    return dense_by_prefix_;
  }

  // One training step on a batch; labels as the head wants them,
  // weights empty or one per example. Throws what the layer, model, head
  // and optimizers throw; the batch is checked before any table changes,
  // except that a dynamic table may already hold the batch's new keys.
  StepResult Step(const FeatureBatch& batch, const DenseTensor& labels,
                  std::span<const float> weights = {});
  // Inference: the layer's output through model.Predict and the head.
  HeadPredictions Predict(const FeatureBatch& batch) const;
  // The head's loss on a batch, without training.
  double Evaluate(const FeatureBatch& batch, const DenseTensor& labels,
                  std::span<const float> weights = {}) const;

  int64_t global_step() const { return global_step_; }
  void set_global_step(int64_t step) { global_step_ = step; }

 private:
  const DenseFeatures& features_;
  LogitsModel& model_;
  const Head& head_;
  TableOptimizers tables_;
  DenseOptimizer dense_default_;
  std::vector<std::pair<std::string, DenseOptimizer>> dense_by_prefix_;
  int64_t global_step_ = 0;
};

}  // namespace embcol

#endif  // EMBCOL_TRAINER_H_
