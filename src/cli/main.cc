// The `embcol` command.
//
//   embcol transform --columns COLUMNS.json --input BATCH.json [--tables]
//   embcol gen-data --out PATH [--examples N] [--seed S] [--data-seed D]
//                   [--format tsv|tfrecord] [--compression GZIP|ZLIB|NONE]
//   embcol train --config MODEL.json [--max-steps N] [--model-dir DIR]
//   embcol evaluate --config MODEL.json [--data FILES...] [--steps N]
//   embcol predict --config MODEL.json --out SCORES.tsv [--data FILES...]
//   embcol inspect CHECKPOINT [--json]
//   embcol export-embeddings --checkpoint CKPT --table NAME --out PATH [--format tsv|npy]
//
// Errors: exit status 2 and one line on stderr, "<ErrorType>: <message>".
#include <cmath>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/model_commands.h"
#include "cli/export_embeddings.h"
#include "cli/inspect.h"
#include "cli/transform.h"
#include "embcol/errors.h"
#include "embcol/metrics.h"
#include "embcol/synthetic_data.h"

namespace {

int Fail(std::string_view type, std::string message) {
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  std::cerr << type << ": " << message << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"embcol: TensorFlow-compatible feature columns and embeddings"};
  app.require_subcommand(1);

  embcol::cli::TransformArgs transform;
  CLI::App* cmd = app.add_subcommand(
      "transform", "Evaluate the columns of COLUMNS.json on BATCH.json; print JSON.");
  cmd->add_option("--columns", transform.columns_path,
                  "A JSON list of serialized feature columns, or a DenseFeatures / "
                  "SequenceFeatures layer config")->required();
  cmd->add_option("--input", transform.input_path,
                  "A batch: {\"features\": {KEY: FEATURE}}")->required();
  cmd->add_flag("--tables", transform.show_tables,
                "Also print each embedding table's shape under \"tables\"");
  cmd->add_option("--seed", transform.seed,
                  "Seed for initializers whose seed is null (default 0)");

  embcol::SyntheticClickOptions gen;
  std::string gen_out;
  CLI::App* gen_cmd = app.add_subcommand(
      "gen-data",
      "Write a deterministic synthetic click dataset (TSV with a header, or TFRecord of "
      "tf.Example) drawn from a planted logistic model: user, item (Zipf ids), query (Zipf "
      "raw 64-bit keys), context, num_0, num_1 and label.");
  gen_cmd->add_option("--out", gen_out, "Output path")->required();
  std::string gen_format, gen_compression;
  gen_cmd->add_option("--format", gen_format,
                      "tsv or tfrecord (default: tfrecord for a path ending in .tfrecord or "
                      ".tfrecords, optionally + .gz; else tsv)");
  gen_cmd->add_option("--compression", gen_compression,
                      "TFRecord only: GZIP, ZLIB or NONE (default: GZIP for a path ending "
                      "in .gz, else NONE)");
  gen_cmd->add_option("--examples", gen.num_examples, "Number of examples (default 100000)");
  gen_cmd->add_option("--seed", gen.model_seed, "Seed of the planted model (default 1)");
  gen_cmd->add_option("--data-seed", gen.data_seed,
                      "Seed of the examples: same --seed and another --data-seed give a "
                      "held-out split of the same model (default 1)");

  embcol::cli::ModelCommandArgs model_args;
  const std::vector<CLI::App*> model_cmds = embcol::cli::AddModelCommands(app, model_args);
  embcol::cli::InspectArgs inspect;
  CLI::App* inspect_cmd = embcol::cli::AddInspectCommand(app, inspect);
  embcol::cli::ExportEmbeddingsArgs export_args;
  CLI::App* export_cmd = embcol::cli::AddExportEmbeddingsCommand(app, export_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail("InvalidArgument", std::string(e.what()) + " (see embcol --help)");
  }

  try {
    for (CLI::App* c : model_cmds) {
      if (c->parsed()) embcol::cli::RunModelCommand(c->get_name(), model_args, std::cout);
    }
    if (cmd->parsed()) {
      std::cout << embcol::cli::RunTransform(transform).dump() << std::endl;
    }
    if (gen_cmd->parsed()) {
      const embcol::ClicksFileFormat format =
          embcol::ResolveClicksFileFormat(gen_out, gen_format, gen_compression);
      const embcol::SyntheticClicks data = embcol::GenerateClicks(gen);
      embcol::WriteClicks(data, gen_out, format);
      double positives = 0;
      for (float y : data.labels) positives += y;
      std::cout << "wrote " << data.size() << " examples to " << gen_out << " ("
                << format.format << (format.compression.empty() ? "" : " " + format.compression)
                << ", positive rate " << (data.size() > 0 ? positives / data.size() : 0.0)
                << ")" << std::endl;
      if (data.size() > 0) {
        // The best any model can do on these examples: the planted logits.
        std::vector<float> p(data.planted_logits.size());
        for (size_t i = 0; i < p.size(); ++i) p[i] = 1.0f / (1.0f + std::exp(-data.planted_logits[i]));
        try {
          std::cout << "planted model on these examples: AUC " << std::fixed << std::setprecision(4)
                    << embcol::Auc(data.planted_logits, data.labels) << ", log loss "
                    << embcol::LogLoss(p, data.labels) << std::endl;
        } catch (const embcol::InvalidArgument&) {
          // a single class (tiny datasets): no AUC to report
        }
      }
    }
    if (inspect_cmd->parsed()) std::cout << embcol::cli::RunInspect(inspect) << std::flush;
    if (export_cmd->parsed()) {
      std::cout << embcol::cli::ExportEmbeddingsSummary(
          embcol::cli::RunExportEmbeddings(export_args)) << std::flush;
    }
    return 0;
  } catch (const embcol::Error& e) {
    return Fail(embcol::ErrorCodeName(e.code()), e.what());
  } catch (const std::exception& e) {
    return Fail("Internal", e.what());
  }
}
