// Estimator (estimator.h): evaluation, prediction and summaries.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "embcol/errors.h"
#include "embcol/input_pipeline.h"
#include "embcol/metrics.h"
#include "model/estimator_impl.h"
#include "model/estimator_input.h"

namespace embcol {

namespace {

// Weighted sums of one evaluation, over batches.
struct EvalAccumulator {
  double loss_sum = 0.0;  // head loss * batch weight
  double weight_sum = 0.0;
  double label_sum = 0.0, prediction_sum = 0.0;
  int64_t values = 0;
  AucMetric auc;
  LogLossMetric log_loss;
  BinaryAccuracyMetric binary_accuracy;
  AccuracyMetric accuracy;
  MeanSquaredErrorMetric mse;
};

double Sum(std::span<const float> v) {
  double s = 0.0;
  for (float x : v) s += x;
  return s;
}

}  // namespace

EvalResult Estimator::Evaluate(const DataSourceConfig* data, std::optional<int64_t> steps) {
  Impl& m = *impl_;
  if (data == nullptr) {
    if (!m.config.eval.data) throw InvalidArgument("$.eval: missing key 'data' (the examples to evaluate on).");
    data = &*m.config.eval.data;
  }
  const int64_t max_batches = steps.value_or(m.config.eval.steps);
  InputPipelineOptions po = internal::MakeInputOptions(*data, m.config, /*with_label=*/true);
  po.batch_size = m.config.eval.batch_size;
  po.num_epochs = 1;
  po.max_records = max_batches > 0 ? max_batches * po.batch_size : 0;
  po.num_parse_threads = m.config.train.num_parse_threads;
  InputPipeline pipeline(std::move(po));

  const std::string& type = m.config.head.type;
  const bool weighted_reduction = m.head->loss_reduction() == LossReduction::kSumOverBatchSize;
  EvalAccumulator acc;
  EvalResult result;
  result.global_step = m.trainer->global_step();
  Batch batch;
  while (pipeline.Next(&batch)) {
    const FeatureBatch& fb = batch.features;
    const DenseTensor labels =
        internal::BatchLabels(fb, m.config.label_key, m.config.head.label_dimension, data->json_path);
    const int64_t n = labels.shape[0];
    std::vector<float> weights;
    if (m.config.weight_key) {
      weights = internal::BatchWeights(fb, *m.config.weight_key, n, data->json_path);
    }
    const DenseTensor logits = m.model->Predict((*m.features)(fb));
    const double loss = m.head->Loss(logits, labels, weights);
    // sum_over_batch_size: loss = sum(w * l) / (n * d); sum: sum(w * l).
    const double batch_weight = weights.empty() ? static_cast<double>(n) : Sum(weights);
    const double d = type == "regression" ? static_cast<double>(m.config.head.label_dimension) : 1.0;
    acc.loss_sum += weighted_reduction ? loss * static_cast<double>(n) : loss / d;
    acc.weight_sum += batch_weight;
    result.examples += n;
    const HeadPredictions p = m.head->Predictions(logits);
    acc.label_sum += Sum(labels.values);
    acc.values += static_cast<int64_t>(labels.values.size());
    if (type == "binary_classification") {
      acc.prediction_sum += Sum(p.logistic.values);
      acc.auc.Update(p.logistic.values, labels.values, weights);
      acc.log_loss.Update(p.logistic.values, labels.values, weights);
      acc.binary_accuracy.Update(p.logistic.values, labels.values, weights);
    } else if (type == "multi_class") {
      std::vector<float> ids(p.class_ids.begin(), p.class_ids.end());
      acc.prediction_sum += Sum(ids);
      acc.accuracy.Update(ids, labels.values, weights);
    } else {
      acc.prediction_sum += Sum(p.predictions.values);
      acc.mse.Update(p.predictions.values, labels.values, weights);
    }
  }
  if (result.examples == 0) {
    throw InvalidArgument(data->json_path + ": the evaluation data gave no example.");
  }
  // loss_sum is sum(w * loss) over examples (over label elements / d for
  // regression): average_loss is its weighted mean, as TensorFlow reports.
  result.metrics["average_loss"] = acc.loss_sum / acc.weight_sum;
  result.metrics["label/mean"] = acc.label_sum / static_cast<double>(acc.values);
  result.metrics["prediction/mean"] =
      acc.prediction_sum / static_cast<double>(type == "multi_class" ? result.examples : acc.values);
  auto add = [&](const char* name, const Metric& metric) {
    try {
      result.metrics[name] = metric.Result();
    } catch (const InvalidArgument& e) {
      m.log << "eval: " << name << " is undefined on this data (" << e.what() << ")" << std::endl;
    }
  };
  if (type == "binary_classification") {
    add("auc", acc.auc);
    add("log_loss", acc.log_loss);
    add("accuracy", acc.binary_accuracy);
  } else if (type == "multi_class") {
    add("accuracy", acc.accuracy);
  } else {
    add("mean_squared_error", acc.mse);
  }
  m.WriteEvalSummary(result);
  return result;
}

int64_t Estimator::Predict(const DataSourceConfig& data, const std::string& out_path) {
  Impl& m = *impl_;
  InputPipelineOptions po = internal::MakeInputOptions(data, m.config, /*with_label=*/false);
  po.batch_size = m.config.eval.batch_size;
  po.num_epochs = 1;
  po.num_parse_threads = m.config.train.num_parse_threads;
  InputPipeline pipeline(std::move(po));

  const std::string tmp = out_path + ".tmp";
  std::ofstream out(tmp, std::ios::trunc);
  if (!out) throw Unavailable("predict: cannot write '" + tmp + "'.");
  const std::string& type = m.config.head.type;
  if (type == "binary_classification") {
    out << "logit\tprobability\n";
  } else if (type == "multi_class") {
    out << "class_id";
    for (int64_t c = 0; c < m.config.head.n_classes; ++c) out << "\tprobability_" << c;
    out << "\n";
  } else {
    for (int64_t d = 0; d < m.config.head.label_dimension; ++d) {
      out << (d ? "\t" : "") << "prediction_" << d;
    }
    out << "\n";
  }
  out << std::setprecision(9);
  int64_t examples = 0;
  Batch batch;
  try {
    while (pipeline.Next(&batch)) {
      const HeadPredictions p = m.head->Predictions(m.model->Predict((*m.features)(batch.features)));
      const int64_t n = p.logits.shape[0];
      for (int64_t i = 0; i < n; ++i) {
        if (type == "binary_classification") {
          out << p.logits.values[i] << '\t' << p.logistic.values[i] << '\n';
        } else if (type == "multi_class") {
          const int64_t k = m.config.head.n_classes;
          out << p.class_ids[i];
          for (int64_t c = 0; c < k; ++c) out << '\t' << p.probabilities.values[i * k + c];
          out << '\n';
        } else {
          const int64_t d = m.config.head.label_dimension;
          for (int64_t j = 0; j < d; ++j) {
            out << (j ? "\t" : "") << p.predictions.values[i * d + j];
          }
          out << '\n';
        }
      }
      examples += n;
    }
    out.flush();
    if (!out) throw Unavailable("predict: writing '" + tmp + "' failed (disk full?).");
    out.close();
    std::filesystem::rename(tmp, out_path);
  } catch (...) {
    out.close();
    std::remove(tmp.c_str());
    throw;
  }
  return examples;
}

void Estimator::Impl::WriteTrainSummary(int64_t step, double loss, double examples_per_sec,
                                        double steps_per_sec) {
  if (!options.summaries) return;
  if (!train_summary) train_summary = std::make_unique<SummaryWriter>(config.model_dir);
  std::vector<std::pair<std::string, double>> scalars = {
      {"loss", loss}, {"examples/sec", examples_per_sec}, {"global_step/sec", steps_per_sec}};
  for (const dynamic_embedding::Variable* v : features->tables().dynamic_tables()) {
    scalars.emplace_back("table_size/" + v->name(), static_cast<double>(v->size()));
  }
  train_summary->AddScalars(step, scalars);
}

void Estimator::Impl::WriteEvalSummary(const EvalResult& result) {
  if (!options.summaries) return;
  if (!eval_summary) {
    eval_summary = std::make_unique<SummaryWriter>(
        (std::filesystem::path(config.model_dir) / "eval").string());
  }
  std::vector<std::pair<std::string, double>> scalars(result.metrics.begin(), result.metrics.end());
  eval_summary->AddScalars(result.global_step, scalars);
  eval_summary->Flush();
}

void Estimator::Impl::FlushSummaries() {
  if (train_summary) train_summary->Flush();
  if (eval_summary) eval_summary->Flush();
}

std::string Estimator::Impl::FormatEval(const EvalResult& result) {
  std::ostringstream s;
  s << "eval at step " << result.global_step << " on " << result.examples << " examples:";
  const char* sep = " ";
  // The headline metrics first, then the rest in name order.
  for (const char* key : {"auc", "log_loss", "accuracy", "mean_squared_error", "average_loss"}) {
    auto it = result.metrics.find(key);
    if (it == result.metrics.end()) continue;
    s << sep << key << ' ' << std::fixed << std::setprecision(4) << it->second;
    sep = " | ";
  }
  return s.str();
}

}  // namespace embcol
