// Estimator: a whole model run from a ModelConfig (model_config.h) -- what
// `embcol train`, `evaluate` and `predict` do, and what tf.estimator's
// canned estimators do in Python: build the features layer, the model, the
// head and the optimizers; read data through an InputPipeline; train with
// periodic evaluation, checkpoints (checkpoint.h), TensorBoard summaries and
// a progress line; resume from the latest checkpoint in model_dir.
//
// Resuming: the constructor restores the latest checkpoint of model_dir if
// there is one -- every table with its optimizer slots (dynamic tables with
// their keys and policy metadata), the dense parameters and their optimizer
// slots, and the global step -- after checking that the checkpoint was
// written for the same model (its stored config's feature_columns, model,
// head and label_key must equal the current ones). Train then continues the
// same batch sequence: the pipeline skips the global_step batches already
// trained on, so with one parse order (it is deterministic) and one thread
// a run stopped at step 200 and resumed to 400 ends with the same
// parameters as an uninterrupted run to 400.
//
// Event files: training scalars (loss, examples/sec, global_step/sec, each
// dynamic table's size) go to model_dir, evaluation scalars to
// model_dir/eval, as TensorFlow's estimators lay them out.
//
// Thread-compatible: one call at a time.
#ifndef EMBCOL_ESTIMATOR_H_
#define EMBCOL_ESTIMATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "embcol/dense_features.h"
#include "embcol/feature.h"
#include "embcol/model.h"
#include "embcol/model_config.h"
#include "embcol/tensor.h"

namespace embcol {

struct EstimatorOptions {
  // Progress lines and messages. nullptr: std::cerr.
  std::ostream* log = nullptr;
  // Show the progress line (a redrawn line on a terminal, periodic lines
  // otherwise). Default true.
  bool progress = true;
  // fsync checkpoints (tests may turn it off). Default true.
  bool sync_checkpoints = true;
  // Restore the latest checkpoint of model_dir at construction. Default true.
  bool restore = true;
  // Write TensorBoard event files. Default true.
  bool summaries = true;
  // Called after every training step with the new global step and the
  // step's loss (a hook, e.g. to record the loss sequence).
  std::function<void(int64_t global_step, double loss)> on_step;
};

struct EvalResult {
  int64_t global_step = 0;
  int64_t examples = 0;
  // Per head: "average_loss" (the head's loss per example, weighted),
  // "label/mean", "prediction/mean"; binary: "auc", "log_loss",
  // "accuracy"; multi-class: "accuracy"; regression: "mean_squared_error".
  std::map<std::string, double> metrics;
};

struct TrainResult {
  int64_t global_step = 0;  // after training
  int64_t steps = 0;        // steps this call ran
  int64_t examples = 0;     // examples this call trained on
  double seconds = 0.0;
  double last_loss = 0.0;   // loss of the last step (0 when no step ran)
  std::optional<EvalResult> eval;  // the final evaluation, with eval data
  std::string checkpoint;   // the last checkpoint written ("" when none)
};

class Estimator {
 public:
  // Builds the model; restores the latest checkpoint of model_dir (see
  // above). Throws InvalidArgument when the pieces do not fit (naming the
  // config path), FailedPrecondition when model_dir holds another model's
  // checkpoint, and what checkpoint reading throws.
  explicit Estimator(ModelConfig config, EstimatorOptions options = {});
  ~Estimator();
  Estimator(const Estimator&) = delete;
  Estimator& operator=(const Estimator&) = delete;

  // Trains on config.train.data until the global step reaches max_steps
  // (when > 0) or the epochs run out; evaluates every eval_every_steps and
  // at the end (when there is eval data); saves checkpoints every
  // save_checkpoints_steps and at the end. max_steps_override > 0 replaces
  // train.max_steps. Returns at once when the global step is already there.
  // Throws InvalidArgument naming "$.train" without data or without
  // max_steps and epochs, and what the pipeline, the parser and the model
  // throw (a checkpoint saved before the error stays valid).
  TrainResult Train(int64_t max_steps_override = 0);

  // Evaluates on `data` (default: config.eval.data), at most `steps`
  // batches (0: all; default: config.eval.steps). Throws InvalidArgument
  // naming "$.eval" when there is no data.
  EvalResult Evaluate(const DataSourceConfig* data = nullptr, std::optional<int64_t> steps = {});

  // Scores every example of `data` and writes one line per example to
  // out_path (tab-separated; binary: logit and probability; multi-class:
  // class id and the probabilities; regression: the predictions), after a
  // header line. Written to a temporary name and renamed into place.
  // Returns the number of examples.
  int64_t Predict(const DataSourceConfig& data, const std::string& out_path);

  // Writes a checkpoint of the current state to model_dir now; returns its
  // directory.
  std::string SaveCheckpoint();

  int64_t global_step() const;
  const ModelConfig& config() const;
  const DenseFeatures& features() const;
  LogitsModel& model();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace embcol

#endif  // EMBCOL_ESTIMATOR_H_
