// `embcol transform`: evaluates the columns of a JSON file on a JSON batch
// and prints the result as JSON (see docs/cli.md for the contract).
#ifndef EMBCOL_CLI_TRANSFORM_H_
#define EMBCOL_CLI_TRANSFORM_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace embcol::cli {

struct TransformArgs {
  std::string columns_path;
  std::string input_path;
  bool show_tables = false;  // add "tables": {name: [rows, dim]}
  uint64_t seed = 0;
};

// Returns the output document. Throws embcol errors.
nlohmann::json RunTransform(const TransformArgs& args);

// Reads and parses a JSON file; InvalidArgument / NotFound naming the path.
nlohmann::json ReadJsonFile(const std::string& path);

}  // namespace embcol::cli

#endif  // EMBCOL_CLI_TRANSFORM_H_
