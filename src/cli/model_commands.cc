// `embcol train | evaluate | predict` (model_commands.h).
#include "cli/model_commands.h"

#include <iomanip>
#include <sstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "embcol/checkpoint.h"
#include "embcol/errors.h"
#include "embcol/estimator.h"
#include "embcol/model_config.h"

namespace embcol::cli {
namespace {

ModelConfig Load(const ModelCommandArgs& args) {
  ModelConfig config = LoadModelConfig(args.config_path);
  if (!args.model_dir.empty()) config.model_dir = args.model_dir;
  return config;
}

// --data FILES: the eval data's format and CSV layout (else the training
// data's), with these files, and --format when given.
DataSourceConfig DataFromArgs(const ModelCommandArgs& args, const ModelConfig& config) {
  DataSourceConfig data;
  if (config.eval.data) {
    data = *config.eval.data;
  } else if (config.train.data) {
    data = *config.train.data;
  }
  data.files = args.data;
  data.json_path = "--data";
  if (!args.format.empty()) {
    if (args.format != "tfrecord" && args.format != "csv" && args.format != "tsv" &&
        args.format != "criteo") {
      throw InvalidArgument("--format: unknown format \"" + args.format +
                            "\"; expected tfrecord, csv, tsv or criteo.");
    }
    if ((args.format == "csv" || args.format == "tsv") && data.format != args.format) {
      throw InvalidArgument("--format " + args.format + ": the config's data is not " +
                            args.format + ", so there is no column layout to use; describe the "
                            "data in $.eval.data instead.");
    }
    data.format = args.format;
    if (data.format == "criteo") data.csv = CriteoSchema();
  }
  return data;
}

std::string Metrics(const EvalResult& r) {
  std::ostringstream s;
  s << "global step " << r.global_step << " | " << r.examples << " examples";
  for (const auto& [name, value] : r.metrics) {
    s << " | " << name << ' ' << std::fixed << std::setprecision(4) << value;
  }
  return s.str();
}

}  // namespace

std::vector<CLI::App*> AddModelCommands(CLI::App& app, ModelCommandArgs& args) {
  CLI::App* train = app.add_subcommand(
      "train", "Train the model of MODEL.json (resuming from the latest checkpoint in its "
               "model_dir), evaluating and checkpointing as the config says; prints the final "
               "evaluation.");
  CLI::App* evaluate = app.add_subcommand(
      "evaluate", "Evaluate the latest checkpoint of MODEL.json's model_dir; prints the "
                  "metrics as JSON.");
  CLI::App* predict = app.add_subcommand(
      "predict", "Score every example with the latest checkpoint; writes one line per "
                 "example to --out.");
  for (CLI::App* cmd : {train, evaluate, predict}) {
    cmd->add_option("--config", args.config_path, "The model config (docs/model-config.md)")
        ->required();
    cmd->add_option("--model-dir", args.model_dir, "Overrides the config's model_dir");
  }
  train->add_option("--max-steps", args.max_steps, "Overrides $.train.max_steps");
  train->add_flag("--no-progress", args.no_progress, "Do not print the progress line");
  for (CLI::App* cmd : {evaluate, predict}) {
    cmd->add_option("--data", args.data,
                    "Files or glob patterns instead of $.eval.data (same format and layout)");
    cmd->add_option("--format", args.format, "With --data: tfrecord, csv, tsv or criteo");
  }
  evaluate->add_option("--steps", args.steps, "Batches to evaluate (default $.eval.steps; 0: all)");
  predict->add_option("--out", args.out, "Where the scores go (tab-separated, with a header)")
      ->required();
  return {train, evaluate, predict};
}

void RunModelCommand(const std::string& name, const ModelCommandArgs& args, std::ostream& out) {
  ModelConfig config = Load(args);
  EstimatorOptions options;
  options.progress = !args.no_progress;
  if (name == "train") {
    Estimator estimator(std::move(config), options);
    const TrainResult r = estimator.Train(args.max_steps);
    out << "trained " << r.steps << " steps (" << r.examples << " examples) in " << std::fixed
        << std::setprecision(1) << r.seconds << " s; global step " << r.global_step << std::endl;
    if (!r.checkpoint.empty()) out << "checkpoint: " << r.checkpoint << std::endl;
    if (r.eval) {
      out << "final eval: " << Metrics(*r.eval) << std::endl;
      const auto auc = r.eval->metrics.find("auc");
      const auto ll = r.eval->metrics.find("log_loss");
      if (auc != r.eval->metrics.end() && ll != r.eval->metrics.end()) {
        out << "AUC " << std::setprecision(4) << auc->second << ", log loss " << ll->second
            << std::endl;
      }
    }
    return;
  }
  options.progress = false;
  Estimator estimator(std::move(config), options);
  if (!ReadCheckpointState(estimator.config().model_dir)) {
    throw FailedPrecondition(name + ": model_dir '" + estimator.config().model_dir +
                             "' has no checkpoint; run `embcol train` first.");
  }
  std::optional<DataSourceConfig> data;
  if (!args.data.empty()) data = DataFromArgs(args, estimator.config());
  if (name == "evaluate") {
    std::optional<int64_t> steps;
    if (args.steps >= 0) steps = args.steps;
    const EvalResult r = estimator.Evaluate(data ? &*data : nullptr, steps);
    nlohmann::ordered_json j;
    j["global_step"] = r.global_step;
    j["examples"] = r.examples;
    j["metrics"] = r.metrics;
    out << j.dump(2) << std::endl;
    return;
  }
  if (!data) {
    if (!estimator.config().eval.data) {
      throw InvalidArgument("predict: give --data FILES, or $.eval.data in the config.");
    }
    data = *estimator.config().eval.data;
  }
  const int64_t n = estimator.Predict(*data, args.out);
  out << "wrote " << n << " predictions to " << args.out << std::endl;
}

}  // namespace embcol::cli
