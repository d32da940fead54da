// Internal to the Estimator (estimator.h): its state, shared by
// estimator.cc (building, checkpoints, training) and estimator_eval.cc
// (evaluation, prediction, summaries). Not public. Thread-compatible.
#ifndef EMBCOL_MODEL_ESTIMATOR_IMPL_H_
#define EMBCOL_MODEL_ESTIMATOR_IMPL_H_

#include <cstdint>
#include <memory>
#include <set>
#include <ostream>
#include <string>

#include "embcol/dense_features.h"
#include "embcol/dnn.h"
#include "embcol/estimator.h"
#include "embcol/head.h"
#include "embcol/model.h"
#include "embcol/summary_writer.h"
#include "embcol/trainer.h"

namespace embcol {

struct Estimator::Impl {
  Impl(ModelConfig config, EstimatorOptions options);

  // model = a WideDeepModel over the columns config.model names (estimator.cc).
  void BuildWideDeep();
  // Checkpoints (estimator.cc).
  void Restore();
  std::string Save();

  // Summaries (estimator_eval.cc): training scalars to model_dir, eval
  // scalars to model_dir/eval; no-ops when options.summaries is false.
  void WriteTrainSummary(int64_t step, double loss, double examples_per_sec,
                         double steps_per_sec);
  void WriteEvalSummary(const EvalResult& result);
  void FlushSummaries();
  // "eval at step S on N examples: auc 0.7812 | average_loss 0.5123 | ..."
  static std::string FormatEval(const EvalResult& result);

  ModelConfig config;
  EstimatorOptions options;
  std::ostream& log;
  std::unique_ptr<DenseFeatures> features;
  std::unique_ptr<LogitsModel> model;
  Dnn* dnn = nullptr;  // the model's DNN, if it has one (for its dropout step)
  std::set<std::string> linear_only_tables;  // dnn_linear_combined
  std::unique_ptr<Head> head;
  std::unique_ptr<Trainer> trainer;
  int64_t last_saved_step = -1;
  std::unique_ptr<SummaryWriter> train_summary;
  std::unique_ptr<SummaryWriter> eval_summary;
};

}  // namespace embcol

#endif  // EMBCOL_MODEL_ESTIMATOR_IMPL_H_
