// `embcol inspect CHECKPOINT [--json]`: what a checkpoint holds -- its
// step, every tensor (name, dtype, shape, bytes) and one summary per
// embedding table (fixed: rows x dim and slot names; dynamic: keys, dim,
// slot count). docs/cli.md describes the output.
//
// Checkpoint formats are told apart by DetectCheckpointFormat and each has
// its own reader behind InspectCheckpoint; only embcol's own format
// (docs/checkpoint-format.md) is read so far. A new format adds an enum
// value, a detection rule and an Inspect<Format> function that fills the
// same JSON document.
//
// Thread-safety: the functions are thread-safe (they share no state).
#ifndef EMBCOL_CLI_INSPECT_H_
#define EMBCOL_CLI_INSPECT_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/checkpoint.h"

namespace CLI {
class App;
}  // namespace CLI

namespace embcol::cli {

enum class CheckpointFormat {
  kEmbcol,  // a ckpt-<step> directory (`manifest`) or a model_dir whose
            // `checkpoint` state file is JSON
  kTensorFlow,  // a TensorFlow tensor bundle (PREFIX.index + data files),
                // see tensor_bundle.h for the accepted paths
};

// The format of the checkpoint at `path`. Throws NotFound naming the path
// when no known format matches.
CheckpointFormat DetectCheckpointFormat(const std::string& path);

// One embedding table of a checkpoint, found from its tensor names.
struct TableSummary {
  std::string name;
  bool dynamic = false;
  int64_t rows = 0;                // fixed: rows; dynamic: number of keys
  int64_t dim = 0;                 // 0 for a dynamic table saved with no parts
  std::vector<std::string> slots;  // fixed: optimizer slot names, sorted
  int64_t num_slots = 0;           // slots per entry (fixed: slots.size())
  CheckpointDtype key_dtype = CheckpointDtype::kInt64;  // dynamic only
  std::vector<std::string> parts;  // dynamic: tensor prefixes of its parts
};

// The tables of an embcol checkpoint, sorted by name:
//   fixed    `<t>/embedding_weights` float32 [rows, dim], slots
//            `<t>/embedding_weights/<slot>`;
//   dynamic  `<t>/num_parts` with its parts, or the single-part layout
//            `<t>/keys|values|slots|meta` of older checkpoints.
// Reads only the manifest and the part counts.
std::vector<TableSummary> ListTables(const CheckpointReader& reader);

// The names of `tables`, comma-separated (for error messages).
std::string TableNames(const std::vector<TableSummary>& tables);

// The document both output forms are made from:
//   {"path", "format": "embcol", "directory", "step",
//    "tensors": [{"name", "dtype", "shape", "bytes"}],
//    "tables": [{"name", "kind": "fixed", "rows", "dim", "slots": [..]} |
//               {"name", "kind": "dynamic", "keys", "dim", "num_slots",
//                "key_dtype", "parts"}]}
// Throws NotFound / DataLoss from the checkpoint's reader.
nlohmann::json InspectCheckpoint(const std::string& path);

// The text form (docs/cli.md), ending in a newline.
std::string FormatInspectText(const nlohmann::json& doc);

struct InspectArgs {
  std::string path;
  bool json = false;  // JSON (dumped with 1-space indent) instead of text
};
// What `embcol inspect` prints.
std::string RunInspect(const InspectArgs& args);
// Adds the `inspect` subcommand to `app`, parsing into `args` (which must
// outlive the parse).
CLI::App* AddInspectCommand(CLI::App& app, InspectArgs& args);

}  // namespace embcol::cli

#endif  // EMBCOL_CLI_INSPECT_H_
