// Estimator (estimator.h): model building, checkpoints and the train loop.
// Evaluation and prediction are in estimator_eval.cc.
#include "embcol/estimator.h"

#include <chrono>
#include <map>
#include <set>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "embcol/checkpoint.h"
#include "embcol/dnn.h"
#include "embcol/errors.h"
#include "embcol/linear_model.h"
#include "embcol/progress.h"
#include "embcol/wide_deep_model.h"
#include "model/estimator_impl.h"
#include "model/estimator_input.h"

namespace embcol {

using nlohmann::json;

namespace {

// The parts of a config that define the model's variables: a checkpoint
// written with other values cannot be restored into this model.
constexpr const char* kModelKeys[] = {"feature_columns", "feature_columns_file", "model", "head",
                                      "label_key", "embedding_optimizer", "dense_optimizer",
                                      "linear_optimizer"};

std::unique_ptr<Head> MakeHead(const HeadSpec& spec) {
  if (spec.type == "multi_class") return std::make_unique<MultiClassHead>(spec.n_classes, spec.options);
  if (spec.type == "regression") {
    return std::make_unique<RegressionHead>(spec.label_dimension, spec.options);
  }
  return std::make_unique<BinaryClassHead>(spec.options);
}

// The checkpoint name of the dense optimizer of parameters under `prefix`
// ("linear/" -> "dense_optimizer/linear").
std::string DenseOptimizerName(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return "dense_optimizer/" + prefix;
}

}  // namespace

Estimator::Impl::Impl(ModelConfig c, EstimatorOptions o)
    : config(std::move(c)), options(o), log(o.log != nullptr ? *o.log : std::cerr) {
  try {
    // Dynamic tables start with the embedding optimizer's slots, so a
    // persistent store is opened once, in its final layout.
    auto tables = std::make_shared<TableSet>(config.seed);
    tables->set_dynamic_slot_initial_values(config.embedding_optimizer.SlotInitialValues());
    features = std::make_unique<DenseFeatures>(config.feature_columns,
                                               FeaturesLayerOptions{.tables = tables});
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string("$.feature_columns: ") + e.what());
  }
  if (config.model.type == "linear") {
    model = std::make_unique<LinearModel>(features->output_size(), config.model.linear);
  } else if (config.model.type == "dnn") {
    dnn = new Dnn(features->output_size(), config.model.dnn);
    model.reset(dnn);
  } else {
    BuildWideDeep();
  }
  head = MakeHead(config.head);
  trainer = std::make_unique<Trainer>(*features, *model, *head, config.embedding_optimizer,
                                      config.dense_optimizer,
                                      TrainerOptions{.num_threads = config.train.num_threads});
  if (config.linear_optimizer) {
    // The linear part's variables, and the tables only it reads.
    trainer->SetDenseOptimizer("linear/", DenseOptimizer(*config.linear_optimizer));
    for (const std::string& table : linear_only_tables) {
      trainer->table_optimizers().SetOptimizer(table, *config.linear_optimizer);
    }
  }
  // Slots exist from the start, so every checkpoint holds them.
  trainer->table_optimizers().Prepare();
  if (options.restore && ReadCheckpointState(config.model_dir)) Restore();
}

void Estimator::Impl::BuildWideDeep() {
  // Each column's block of the layer output (DenseFeatures' sorted order).
  std::map<std::string, InputBlock> blocks;
  std::map<std::string, std::string> tables;  // column -> its table, if any
  std::string names;
  int64_t offset = 0;
  for (const DenseColumnPtr& c : features->feature_columns()) {
    blocks[c->name()] = InputBlock{offset, c->variable_size()};
    offset += c->variable_size();
    names += (names.empty() ? "" : ", ") + c->name();
    if (const auto* e = dynamic_cast<const EmbeddingColumnBase*>(c.get())) {
      tables[c->name()] = e->table_name();
    }
  }
  auto pick = [&](const std::vector<std::string>& wanted, const char* key) {
    std::vector<InputBlock> out;
    for (size_t i = 0; i < wanted.size(); ++i) {
      auto it = blocks.find(wanted[i]);
      if (it == blocks.end()) {
        throw InvalidArgument("$.model." + std::string(key) + "[" + std::to_string(i) +
                              "]: no feature column is named \"" + wanted[i] +
                              "\"; the columns are: " + names + ".");
      }
      out.push_back(it->second);
    }
    return out;
  };
  std::vector<InputBlock> dnn_blocks = pick(config.model.dnn_columns, "dnn_feature_columns");
  std::vector<InputBlock> linear_blocks =
      pick(config.model.linear_columns, "linear_feature_columns");
  // A table read by a linear column and by no DNN column trains with the
  // linear optimizer.
  std::set<std::string> dnn_tables;
  for (const std::string& c : config.model.dnn_columns) {
    if (tables.count(c)) dnn_tables.insert(tables[c]);
  }
  for (const std::string& c : config.model.linear_columns) {
    if (tables.count(c) && !dnn_tables.count(tables[c])) linear_only_tables.insert(tables[c]);
  }
  auto* wd = new WideDeepModel(features->output_size(), std::move(dnn_blocks), config.model.dnn,
                               std::move(linear_blocks), config.model.linear);
  model.reset(wd);
  dnn = &wd->parts().dnn();
}

void Estimator::Impl::Restore() {
  const CheckpointReader reader(config.model_dir);
  const json metadata = reader.Has("metadata") ? RestoreMetadata(reader) : json::object();
  const json stored = metadata.value("config", json::object());
  for (const char* key : kModelKeys) {
    const json mine = config.document.contains(key) ? config.document[key] : json();
    const json theirs = stored.contains(key) ? stored[key] : json();
    if (mine != theirs) {
      throw FailedPrecondition(
          "model_dir '" + config.model_dir + "' holds checkpoint '" + reader.directory() +
          "' of another model: $." + key + " differs (checkpoint: " + theirs.dump() +
          ", config: " + mine.dump() + "). Use a new model_dir, or restore the old value.");
    }
  }
  TableSet& tables = features->tables();
  TableOptimizers& opt = trainer->table_optimizers();
  for (const EmbeddingTable* t : tables.tables()) {
    RestoreTable(reader, *tables.Find(t->name()), opt.state(t->name()));
  }
  for (const dynamic_embedding::Variable* v : tables.dynamic_tables()) {
    RestoreDynamicTable(reader, *tables.FindDynamic(v->name()));
  }
  const std::vector<DenseParam> params = model->Parameters();
  RestoreDenseParams(reader, params);
  RestoreDenseOptimizer(reader, trainer->dense_optimizer());
  for (auto& [prefix, opt] : trainer->dense_optimizers_by_prefix()) {
    RestoreDenseOptimizer(reader, opt, DenseOptimizerName(prefix));
  }
  const int64_t step = RestoreGlobalStep(reader);
  trainer->set_global_step(step);
  if (dnn != nullptr) dnn->set_dropout_step(static_cast<uint64_t>(step));
  log << "Restored " << reader.directory() << " (global step " << step << ")." << std::endl;
}

std::string Estimator::Impl::Save() {
  CheckpointWriterOptions wo;
  wo.keep_max = config.train.keep_checkpoint_max;
  wo.sync = options.sync_checkpoints;
  CheckpointWriter writer(config.model_dir, trainer->global_step(), wo);
  const TableSet& tables = features->tables();
  for (const EmbeddingTable* t : tables.tables()) {
    SaveTable(writer, *t, trainer->table_optimizers().state(t->name()));
  }
  for (const dynamic_embedding::Variable* v : tables.dynamic_tables()) SaveDynamicTable(writer, *v);
  const std::vector<DenseParam> params = model->Parameters();
  SaveDenseParams(writer, params);
  SaveDenseOptimizer(writer, trainer->dense_optimizer());
  for (const auto& [prefix, opt] : trainer->dense_optimizers_by_prefix()) {
    SaveDenseOptimizer(writer, opt, DenseOptimizerName(prefix));
  }
  SaveGlobalStep(writer, trainer->global_step());
  SaveMetadata(writer, json{{"config", config.document}, {"format", "embcol-model"}});
  last_saved_step = trainer->global_step();
  return writer.Commit();
}

Estimator::Estimator(ModelConfig config, EstimatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), options)) {}
Estimator::~Estimator() = default;

int64_t Estimator::global_step() const { return impl_->trainer->global_step(); }
const ModelConfig& Estimator::config() const { return impl_->config; }
const DenseFeatures& Estimator::features() const { return *impl_->features; }
LogitsModel& Estimator::model() { return *impl_->model; }
std::string Estimator::SaveCheckpoint() { return impl_->Save(); }

TrainResult Estimator::Train(int64_t max_steps_override) {
  Impl& m = *impl_;
  const TrainSpec& spec = m.config.train;
  if (!spec.data) throw InvalidArgument("$.train: missing key 'data' (the training examples).");
  const int64_t max_steps = max_steps_override > 0 ? max_steps_override : spec.max_steps;
  if (max_steps == 0 && spec.epochs == 0) {
    throw InvalidArgument("$.train: give \"max_steps\" (train until the global step reaches it) "
                          "or \"epochs\" (passes over the data), or both.");
  }
  TrainResult result;
  const int64_t start = m.trainer->global_step();
  if (max_steps > 0 && start >= max_steps) {
    m.log << "Global step " << start << " has reached max_steps " << max_steps
          << "; nothing to train." << std::endl;
    result.global_step = start;
    return result;
  }
  InputPipelineOptions po = internal::MakeInputOptions(*spec.data, m.config, /*with_label=*/true);
  po.batch_size = spec.batch_size;
  po.num_epochs = spec.epochs;
  po.shuffle = spec.shuffle;
  po.shuffle_buffer_size = spec.shuffle_buffer_size;
  po.seed = spec.shuffle_seed;
  po.num_parse_threads = spec.num_parse_threads;
  po.drop_remainder = spec.drop_remainder;
  po.skip_batches = start;  // continue the same batch sequence after a restore
  InputPipeline pipeline(std::move(po));

  ProgressOptions progress_options;
  progress_options.out = &m.log;
  if (m.options.log == nullptr) progress_options.out = nullptr;  // stderr: terminal detection
  progress_options.total_steps = max_steps;
  progress_options.initial_step = start;
  std::optional<Progress> progress;
  if (m.options.progress) progress.emplace(progress_options);

  const auto t0 = std::chrono::steady_clock::now();
  auto summary_t = t0;
  int64_t summary_step = start, summary_examples = 0;
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  const std::string where = spec.data->json_path;
  Batch batch;
  while ((max_steps == 0 || m.trainer->global_step() < max_steps) && pipeline.Next(&batch)) {
    const FeatureBatch& fb = batch.features;
    const DenseTensor labels =
        internal::BatchLabels(fb, m.config.label_key, m.config.head.label_dimension, where);
    std::vector<float> weights;
    if (m.config.weight_key) {
      weights = internal::BatchWeights(fb, *m.config.weight_key, labels.shape[0], where);
    }
    const StepResult step = m.trainer->Step(fb, labels, weights);
    const int64_t gs = m.trainer->global_step();
    ++result.steps;
    result.examples += batch.num_records;
    summary_examples += batch.num_records;
    result.last_loss = step.loss;
    loss_sum += step.loss;
    ++loss_count;
    if (progress) progress->Update(gs, batch.num_records, step.loss);
    if (m.options.on_step) m.options.on_step(gs, step.loss);
    if (gs % spec.save_summary_steps == 0) {
      const auto now = std::chrono::steady_clock::now();
      const double dt = std::chrono::duration<double>(now - summary_t).count();
      m.WriteTrainSummary(gs, loss_sum / loss_count, dt > 0 ? summary_examples / dt : 0.0,
                          dt > 0 ? (gs - summary_step) / dt : 0.0);
      summary_t = now;
      summary_step = gs;
      summary_examples = 0;
      loss_sum = 0.0;
      loss_count = 0;
    }
    if (spec.save_checkpoints_steps > 0 && gs % spec.save_checkpoints_steps == 0) {
      result.checkpoint = m.Save();
    }
    if (spec.eval_every_steps > 0 && gs % spec.eval_every_steps == 0 && m.config.eval.data) {
      if (progress) progress->Finish();
      result.eval = Evaluate();
      m.log << m.FormatEval(*result.eval) << std::endl;
      if (progress) progress.emplace(progress_options);
    }
  }
  if (progress) progress->Finish();
  result.global_step = m.trainer->global_step();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (result.steps == 0) {
    if (start > 0) {
      m.log << "Global step " << start << ": the " << spec.epochs
            << " epoch(s) of training data are used up; nothing to train (raise "
               "$.train.epochs or max_steps)." << std::endl;
      if (m.config.eval.data) result.eval = Evaluate();
      return result;
    }
    throw InvalidArgument(where + ": the training data gave no batch (empty files?).");
  }
  if (m.last_saved_step != result.global_step) result.checkpoint = m.Save();
  m.FlushSummaries();
  const bool evaluated = result.eval && result.eval->global_step == result.global_step;
  if (m.config.eval.data && !evaluated) result.eval = Evaluate();
  return result;
}

}  // namespace embcol
