// `embcol export-embeddings --checkpoint CKPT --table NAME --out PATH
// [--format tsv|npy]`: writes one embedding table of a checkpoint as keys
// and vectors (docs/cli.md). A fixed table's keys are its row ids.
//
//   tsv  one line per row: key, then the dim values, tab-separated; values
//        in the shortest decimal form that reads back as the same float32;
//        string keys escaped (\t \n \r \\ and \xHH for other bytes < 0x20
//        and 0x7f).
//   npy  PATH: NumPy .npy (format 1.0) float32 [rows, dim], C order;
//        KeysPath(PATH): int64 [rows] in the same order. String keys cannot
//        be written as .npy (InvalidArgument: use tsv).
//
// Memory: a fixed table is streamed in chunks of rows; a dynamic table one
// saved part at a time. Output goes to a temporary name in the same
// directory, renamed into place once complete (both files for npy).
//
// Thread-safety: thread-safe (no shared state); two exports to the same
// PATH at once race on the rename.
#ifndef EMBCOL_CLI_EXPORT_EMBEDDINGS_H_
#define EMBCOL_CLI_EXPORT_EMBEDDINGS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace embcol::cli {

struct ExportEmbeddingsArgs {
  std::string checkpoint;  // checkpoint directory or model_dir
  std::string table;       // table name (as in `embcol inspect`)
  std::string out;         // output path
  // "tsv" or "npy"; empty (the default): from out's extension (.tsv, .npy).
  std::string format;
  // Bytes read at a time from a fixed table's weights (rows may straddle
  // reads). Default 4 MiB; must be >= 1.
  size_t chunk_bytes = 4u << 20;
};

struct ExportEmbeddingsResult {
  std::string format;              // "tsv" or "npy"
  int64_t rows = 0;
  int64_t dim = 0;
  std::vector<std::string> files;  // written, the vectors first
};

// Throws NotFound listing the checkpoint's tables for an unknown table,
// InvalidArgument for a bad format / extension or string keys as npy,
// Unavailable naming the file on a write error, DataLoss from the reader.
ExportEmbeddingsResult RunExportEmbeddings(const ExportEmbeddingsArgs& args);

// Adds the `export-embeddings` subcommand to `app`, parsing into `args`
// (which must outlive the parse).
CLI::App* AddExportEmbeddingsCommand(CLI::App& app, ExportEmbeddingsArgs& args);
// The line printed after an export: "wrote R rows x D (FORMAT) to FILES\n".
std::string ExportEmbeddingsSummary(const ExportEmbeddingsResult& result);

// The keys file of an npy export: PATH without a trailing ".npy", plus
// ".keys.npy" (emb.npy -> emb.keys.npy).
std::string KeysPath(const std::string& out);

// The .npy format 1.0 header for a little-endian C-order array: magic,
// version 1.0, uint16 header length, the dict padded with spaces and a
// newline so that the whole header is a multiple of 64 bytes.
// descr: "<f4" or "<i8"; shape: e.g. {rows, dim} or {rows}.
std::string NpyHeader(const std::string& descr, const std::vector<int64_t>& shape);

// Shortest decimal text of a float that parses back to the same float.
std::string FloatText(float value);

}  // namespace embcol::cli

#endif  // EMBCOL_CLI_EXPORT_EMBEDDINGS_H_
