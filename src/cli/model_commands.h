// The model subcommands of `embcol`: train, evaluate and predict, each
// driven by a model config (model_config.h) through the Estimator
// (estimator.h). docs/cli.md describes them. Not thread-safe (one command
// per process).
#ifndef EMBCOL_CLI_MODEL_COMMANDS_H_
#define EMBCOL_CLI_MODEL_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace embcol::cli {

struct ModelCommandArgs {
  std::string config_path;
  std::string model_dir;            // overrides $.model_dir
  int64_t max_steps = 0;            // train: overrides $.train.max_steps
  int64_t steps = -1;               // evaluate: batches (-1: $.eval.steps)
  std::vector<std::string> data;    // evaluate / predict: files instead of $.eval.data
  std::string format;               // with --data: overrides the format
  std::string out;                  // predict: the scores file
  bool no_progress = false;
};

// Adds "train", "evaluate" and "predict" to `app`; `args` receives their
// options. Returns the three subcommands.
std::vector<CLI::App*> AddModelCommands(CLI::App& app, ModelCommandArgs& args);

// Runs the parsed subcommand `name`, printing its result to `out`.
// Throws embcol::Error subclasses.
void RunModelCommand(const std::string& name, const ModelCommandArgs& args, std::ostream& out);

}  // namespace embcol::cli

#endif  // EMBCOL_CLI_MODEL_COMMANDS_H_
