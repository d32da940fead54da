#include "cli/export_embeddings.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/inspect.h"
#include "embcol/checkpoint.h"
#include "embcol/errors.h"
#include "embcol/tensor.h"

namespace embcol::cli {

static_assert(std::endian::native == std::endian::little,
              "checkpoint bytes and .npy '<f4'/'<i8' are written as in memory");

namespace {

namespace fs = std::filesystem;

constexpr size_t kFlushBytes = 1u << 20;   // output buffer

// A file written under a temporary name and renamed to `path` by Commit;
// removed if destroyed uncommitted. Buffered up to kFlushBytes.
class OutFile {
 public:
  explicit OutFile(std::string path)
      : path_(std::move(path)), tmp_(path_ + ".tmp-" + std::to_string(::getpid())) {
    file_ = std::fopen(tmp_.c_str(), "wb");
    if (file_ == nullptr) {
      throw Unavailable("export-embeddings: cannot create '" + tmp_ + "': " +
                        std::strerror(errno) + "; check that the directory exists and is "
                        "writable");
    }
    buffer_.reserve(kFlushBytes);
  }
  ~OutFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) {
      std::error_code ec;
      fs::remove(tmp_, ec);
    }
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  void Write(const void* data, size_t bytes) {
    buffer_.append(static_cast<const char*>(data), bytes);
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  void Write(std::string_view s) { Write(s.data(), s.size()); }
  void Put(char c) {
    buffer_.push_back(c);
    if (buffer_.size() >= kFlushBytes) Flush();
  }

  // Flushes and closes the temporary file (done for every file first).
  void Close() {
    Flush();
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) Fail();
  }
  void Commit() {
    std::error_code ec;
    fs::rename(tmp_, path_, ec);
    if (ec) {
      throw Unavailable("export-embeddings: cannot rename '" + tmp_ + "' to '" + path_ +
                        "': " + ec.message());
    }
    committed_ = true;
  }
  const std::string& path() const { return path_; }

 private:
  void Flush() {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      Fail();
    }
    buffer_.clear();
  }
  [[noreturn]] void Fail() {
    throw Unavailable("export-embeddings: cannot write '" + tmp_ + "': " + std::strerror(errno) +
                      "; check the free space of its file system");
  }

  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  bool committed_ = false;
};

// The output of one export: rows are appended one at a time.
class RowWriter {
 public:
  RowWriter(const ExportEmbeddingsArgs& args, bool npy, int64_t rows, int64_t dim)
      : npy_(npy), values_(args.out) {
    if (npy_) {
      keys_.emplace(KeysPath(args.out));
      values_.Write(NpyHeader("<f4", {rows, dim}));
      keys_->Write(NpyHeader("<i8", {rows}));
    }
  }
  void Row(int64_t key, const float* row, int64_t dim) {
    if (npy_) {
      keys_->Write(&key, sizeof(key));
      values_.Write(row, static_cast<size_t>(dim) * sizeof(float));
      return;
    }
    char text[24];
    const auto [end, ec] = std::to_chars(text, text + sizeof(text), key);
    values_.Write(std::string_view(text, end - text));
    Values(row, dim);
  }
  void Row(std::string_view key, const float* row, int64_t dim) {
    for (unsigned char c : key) {
      switch (c) {
        case '\t': values_.Write("\\t"); break;
        case '\n': values_.Write("\\n"); break;
        case '\r': values_.Write("\\r"); break;
        case '\\': values_.Write("\\\\"); break;
        default:
          if (c < 0x20 || c == 0x7f) {
            static constexpr char kHex[] = "0123456789abcdef";
            const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
            values_.Write(esc, 4);
          } else {
            values_.Put(static_cast<char>(c));
          }
      }
    }
    Values(row, dim);
  }
  std::vector<std::string> Commit() {
    values_.Close();
    if (keys_) keys_->Close();
    if (keys_) keys_->Commit();
    values_.Commit();
    std::vector<std::string> files = {values_.path()};
    if (keys_) files.push_back(keys_->path());
    return files;
  }

 private:
  void Values(const float* row, int64_t dim) {
    for (int64_t c = 0; c < dim; ++c) {
      values_.Put('\t');
      values_.Write(FloatText(row[c]));
    }
    values_.Put('\n');
  }

  bool npy_;
  OutFile values_;
  std::optional<OutFile> keys_;
};

std::string ResolveFormat(const ExportEmbeddingsArgs& args) {
  if (!args.format.empty()) {
    if (args.format == "tsv" || args.format == "npy") return args.format;
    throw InvalidArgument("export-embeddings: unknown --format '" + args.format +
                          "'; use tsv or npy");
  }
  std::string ext = fs::path(args.out).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".tsv") return "tsv";
  if (ext == ".npy") return "npy";
  throw InvalidArgument("export-embeddings: cannot tell the format of '" + args.out +
                        "' from its extension; name it .tsv or .npy, or pass --format tsv|npy");
}

// Fixed table: row ids as keys, rows streamed from the weights tensor.
void ExportFixed(const CheckpointReader& reader, const TableSummary& t, size_t chunk_bytes,
                 RowWriter& out) {
  std::vector<float> row(static_cast<size_t>(t.dim));
  const size_t row_bytes = row.size() * sizeof(float);
  size_t filled = 0;
  int64_t r = 0;
  reader.Stream(t.name + "/embedding_weights", [&](const void* data, size_t bytes) {
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const size_t take = std::min(bytes, row_bytes - filled);
      std::memcpy(reinterpret_cast<char*>(row.data()) + filled, p, take);
      filled += take;
      p += take;
      bytes -= take;
      if (filled == row_bytes) {
        out.Row(r++, row.data(), t.dim);
        filled = 0;
      }
    }
  }, std::max<size_t>(chunk_bytes, 1));
}

// Dynamic table: one saved part in memory at a time.
void ExportDynamic(const CheckpointReader& reader, const TableSummary& t, RowWriter& out) {
  for (const std::string& part : t.parts) {
    const CheckpointTensorInfo& info = reader.Info(part + "/values");
    const int64_t n = reader.Info(part + "/keys").shape.at(0);
    if (info.dtype != CheckpointDtype::kFloat32 || info.shape != std::vector<int64_t>{n, t.dim}) {
      throw DataLoss("checkpoint " + reader.directory() + ": tensor \"" + info.name +
                     "\" is " + std::string(CheckpointDtypeName(info.dtype)) + " " +
                     ShapeString(info.shape) + ", expected float32 [" + std::to_string(n) +
                     ", " + std::to_string(t.dim) + "] for dynamic table \"" + t.name + "\"");
    }
    const std::vector<float> values = reader.ReadFloats(part + "/values");
    const float* row = values.data();
    switch (t.key_dtype) {
      case CheckpointDtype::kInt64:
        for (int64_t key : reader.ReadInt64s(part + "/keys")) {
          out.Row(key, row, t.dim);
          row += t.dim;
        }
        break;
      case CheckpointDtype::kInt32:
        for (int32_t key : reader.ReadInt32s(part + "/keys")) {
          out.Row(int64_t{key}, row, t.dim);
          row += t.dim;
        }
        break;
      case CheckpointDtype::kString:
        for (const std::string& key : reader.ReadStrings(part + "/keys")) {
          out.Row(std::string_view(key), row, t.dim);
          row += t.dim;
        }
        break;
      default:
        throw DataLoss("checkpoint " + reader.directory() + ": tensor \"" + part +
                       "/keys\" has dtype " + std::string(CheckpointDtypeName(t.key_dtype)) +
                       "; dynamic table keys are int64, int32 or string");
    }
  }
}

}  // namespace

std::string KeysPath(const std::string& out) {
  std::string base = out;
  if (base.size() >= 4 && base.compare(base.size() - 4, 4, ".npy") == 0) {
    base.resize(base.size() - 4);
  }
  return base + ".keys.npy";
}

std::string NpyHeader(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  // magic (6) + version (2) + length (2) + dict + padding + '\n' = 64k bytes.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  const size_t len = dict.size();
  std::string header("\x93NUMPY\x01\x00", 8);
  header.push_back(static_cast<char>(len & 0xff));
  header.push_back(static_cast<char>(len >> 8));
  return header + dict;
}

std::string FloatText(float value) {
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, end - text);
}

ExportEmbeddingsResult RunExportEmbeddings(const ExportEmbeddingsArgs& args) {
  ExportEmbeddingsResult result;
  result.format = ResolveFormat(args);
  switch (DetectCheckpointFormat(args.checkpoint)) {
    case CheckpointFormat::kEmbcol: break;
    case CheckpointFormat::kTensorFlow:
      throw InvalidArgument("export-embeddings: '" + args.checkpoint +
                            "' is a TensorFlow checkpoint; export-embeddings reads embcol "
                            "checkpoints (load the tensor into a model with ckpt_to_load_from, "
                            "train or save it, then export).");
  }
  const CheckpointReader reader(args.checkpoint);
  const std::vector<TableSummary> tables = ListTables(reader);
  auto it = std::find_if(tables.begin(), tables.end(),
                         [&](const TableSummary& t) { return t.name == args.table; });
  if (it == tables.end()) {
    throw NotFound("export-embeddings: checkpoint " + reader.directory() + " has no table \"" +
                   args.table + "\"; its tables: " + TableNames(tables));
  }
  const TableSummary& t = *it;
  const bool npy = result.format == "npy";
  if (npy && t.dynamic && t.key_dtype == CheckpointDtype::kString) {
    throw InvalidArgument("export-embeddings: table \"" + t.name +
                          "\" has string keys, which .npy cannot hold; use --format tsv");
  }
  result.rows = t.rows;
  result.dim = t.dim;
  RowWriter out(args, npy, t.rows, t.dim);
  if (t.dynamic) {
    ExportDynamic(reader, t, out);
  } else {
    ExportFixed(reader, t, args.chunk_bytes, out);
  }
  result.files = out.Commit();
  return result;
}

CLI::App* AddExportEmbeddingsCommand(CLI::App& app, ExportEmbeddingsArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "export-embeddings", "Write one table of a checkpoint as keys and vectors (TSV or .npy).");
  cmd->add_option("--checkpoint", args.checkpoint, "A checkpoint directory or a model_dir")
      ->required();
  cmd->add_option("--table", args.table, "The table's name (see embcol inspect)")->required();
  cmd->add_option("--out", args.out, "Output path (.tsv or .npy)")->required();
  cmd->add_option("--format", args.format, "tsv or npy (default: from --out's extension)");
  return cmd;
}

std::string ExportEmbeddingsSummary(const ExportEmbeddingsResult& result) {
  std::string files;
  for (const std::string& f : result.files) files += (files.empty() ? "" : ", ") + f;
  return "wrote " + std::to_string(result.rows) + " rows x " + std::to_string(result.dim) + " (" +
         result.format + ") to " + files + "\n";
}

}  // namespace embcol::cli
