// Checkpoints: embcol's own on-disk format for everything a training run
// needs to continue where it stopped -- fixed embedding tables and their
// optimizer slots, dynamic tables (keys, rows, slot rows, policy metadata),
// dense parameters and their optimizer slots, the global step and a JSON
// metadata blob (for example the model config). docs/checkpoint-format.md
// specifies the bytes.
//
// A checkpoint is a directory `model_dir/ckpt-<step>/` holding shard files
// (`data-00000`, `data-00001`, ...) and a manifest (`manifest`) that lists
// every tensor with its dtype, shape, shard, offset, length and CRC-32C.
// `model_dir/checkpoint` (a small JSON state file) names the latest
// checkpoint and the kept ones. CheckpointWriter builds the directory under
// a temporary name, fsyncs every file, renames it into place, then replaces
// the state file atomically and deletes checkpoints beyond `keep_max`: a
// crash at any point leaves the previously listed checkpoints readable.
//
// Tensors are streamed: the writer copies at most `chunk_bytes` at a time
// from the caller's memory to the shard (a large table is never copied
// whole), and the reader streams into the caller's memory the same way.
//
// Tensor names follow TensorFlow's variables: `<table>/embedding_weights`,
// `<table>/embedding_weights/<slot>`, dense parameters by their name,
// `<param>/<slot>` for dense optimizer slots, `global_step`, `metadata`,
// and `<table>/num_parts` plus `<table>/part_<k>/keys|values|slots|meta`
// for dynamic tables (saved one part at a time).
//
// Thread-safety: CheckpointWriter is not thread-safe (one writer per
// checkpoint). CheckpointReader is thread-safe after construction (each
// read opens its own file handle).
#ifndef EMBCOL_CHECKPOINT_H_
#define EMBCOL_CHECKPOINT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/dense_optimizer.h"
#include "embcol/dense_param.h"
#include "embcol/dynamic_embedding.h"
#include "embcol/embedding_table.h"
#include "embcol/sparse_optimizer.h"

namespace embcol {

// Element types of checkpoint tensors. All little-endian. kString: each
// element is a uint32 byte length followed by the bytes. kJson: one UTF-8
// JSON text (shape {}).
enum class CheckpointDtype { kFloat32, kInt64, kInt32, kUint32, kString, kJson };
// "float32", "int64", "int32", "uint32", "string", "json".
std::string_view CheckpointDtypeName(CheckpointDtype dtype);

struct CheckpointTensorInfo {
  std::string name;
  CheckpointDtype dtype = CheckpointDtype::kFloat32;
  std::vector<int64_t> shape;  // {} for a scalar
  std::string file;            // shard file name inside the checkpoint directory
  uint64_t offset = 0;         // byte offset in the shard (a multiple of 64)
  uint64_t length = 0;         // bytes
  uint32_t crc32c = 0;         // CRC-32C of the bytes (unmasked)

  int64_t num_elements() const;  // product of shape (1 for a scalar)
};

struct CheckpointWriterOptions {
  // A new shard file starts before a tensor when the current one holds at
  // least this many bytes (a tensor never spans two shards). Default 256 MiB.
  uint64_t shard_bytes = 256ull << 20;
  // Largest single copy / write. Default 4 MiB. Must be >= 64.
  size_t chunk_bytes = 4u << 20;
  // Checkpoints kept in model_dir after a save (the newest ones, this one
  // included). Default 5. Must be >= 1.
  int keep_max = 5;
  // fsync files and directories. Default true; tests may turn it off.
  bool sync = true;
};

// Builds `model_dir/ckpt-<step>/`. Add tensors, then Commit(). Destroying
// an uncommitted writer removes its temporary directory.
class CheckpointWriter {
 public:
  // Creates model_dir if needed and the temporary directory. Throws
  // InvalidArgument for step < 0 or bad options, Unavailable naming the path
  // on an I/O error.
  CheckpointWriter(std::string model_dir, int64_t step, CheckpointWriterOptions options = {});
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Adds one tensor of fixed-size elements (not kString / kJson) from
  // `data` (num_elements(shape) elements, `bytes` bytes). Throws
  // InvalidArgument naming the tensor for a repeated name or a size that
  // does not match the shape; Unavailable on an I/O error.
  void Add(const std::string& name, CheckpointDtype dtype, std::vector<int64_t> shape,
           const void* data, size_t bytes);
  void AddFloats(const std::string& name, std::vector<int64_t> shape,
                 std::span<const float> values);
  void AddInt64s(const std::string& name, std::span<const int64_t> values);
  void AddInt32s(const std::string& name, std::span<const int32_t> values);
  void AddStrings(const std::string& name, std::span<const std::string> values);
  void AddScalarInt64(const std::string& name, int64_t value);
  void AddJson(const std::string& name, const nlohmann::json& value);

  // Streaming form: BeginTensor, any number of Append calls, EndTensor.
  // EndTensor checks that the bytes match the shape (InvalidArgument).
  void BeginTensor(const std::string& name, CheckpointDtype dtype, std::vector<int64_t> shape);
  void Append(const void* data, size_t bytes);
  void EndTensor();

  // Writes the manifest, syncs, renames into place, updates the state file
  // and applies retention. Returns the checkpoint's directory. Throws
  // FailedPrecondition if a tensor is still open or Commit ran already,
  // InvalidArgument if `ckpt-<step>` already exists, Unavailable on I/O.
  std::string Commit();

  // The largest buffer the writer allocated (only AddStrings allocates one)
  // and the largest single write, in bytes; neither exceeds chunk_bytes.
  size_t max_buffer_bytes() const;
  size_t max_write_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads one checkpoint.
class CheckpointReader {
 public:
  // `path` is a checkpoint directory (holding `manifest`) or a model_dir
  // (holding the `checkpoint` state file; its latest checkpoint is read).
  // Throws NotFound naming the path when neither, DataLoss naming the file
  // for a corrupt manifest or state file.
  explicit CheckpointReader(const std::string& path);
  ~CheckpointReader();
  CheckpointReader(CheckpointReader&&) noexcept;

  const std::string& directory() const;
  int64_t step() const;
  // Every tensor, sorted by name.
  const std::vector<CheckpointTensorInfo>& tensors() const;
  bool Has(const std::string& name) const;
  // Throws NotFound naming the tensor and listing the names closest to it.
  const CheckpointTensorInfo& Info(const std::string& name) const;

  // Streams the tensor's bytes to `fn` in pieces of at most chunk_bytes,
  // then checks the CRC-32C. Throws DataLoss naming the file, tensor and
  // offset for a short file or a checksum mismatch (after the last call to
  // fn: a caller that must not see bad data calls Verify first).
  void Stream(const std::string& name, const std::function<void(const void*, size_t)>& fn,
              size_t chunk_bytes = 4u << 20) const;
  // Reads and checks the checksum without keeping the bytes.
  void Verify(const std::string& name) const;
  // Reads into dst (exactly Info(name).length bytes, else InvalidArgument).
  // The tensor is verified before dst is touched.
  void ReadInto(const std::string& name, void* dst, size_t bytes) const;

  // Typed reads: InvalidArgument naming the tensor for another dtype.
  std::vector<float> ReadFloats(const std::string& name) const;
  std::vector<int64_t> ReadInt64s(const std::string& name) const;
  std::vector<int32_t> ReadInt32s(const std::string& name) const;
  std::vector<uint32_t> ReadUint32s(const std::string& name) const;
  std::vector<std::string> ReadStrings(const std::string& name) const;
  int64_t ReadScalarInt64(const std::string& name) const;
  nlohmann::json ReadJson(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `checkpoint` state file of model_dir: the latest checkpoint's
// directory name and all kept ones, oldest first. nullopt when absent.
struct CheckpointState {
  std::string latest;
  std::vector<std::string> all;
};
std::optional<CheckpointState> ReadCheckpointState(const std::string& model_dir);

// ------------------------------------------------------ model helpers
// Each Restore checks names, dtypes and shapes first and throws (NotFound /
// InvalidArgument naming the tensor, the expected and the found shape)
// before changing anything; data is verified before it is copied in.

// `<table>/embedding_weights` [num_rows, dim] and, with a state,
// `<table>/embedding_weights/<slot>` [num_rows, width] per slot.
void SaveTable(CheckpointWriter& writer, const EmbeddingTable& table,
               const SparseOptimizerState* state = nullptr);
void RestoreTable(const CheckpointReader& reader, EmbeddingTable& table,
                  SparseOptimizerState* state = nullptr);

// `<name>/num_parts` (int64 scalar P) and, for each part k < P (the
// variable's export parts, Variable::export_part), with
// p = DynamicTablePartName(name, k): `p/keys` [n_k] (int64, int32 or
// string), `p/values` [n_k, dim], `p/slots` [n_k, num_slots, dim], `p/meta`
// [n_k, 2] uint32 (last_update, frequency). Save holds one part in memory
// at a time. Restore checks every part, reads them all into one import
// (memory: the whole table once) and replaces the variable's contents
// (import_); the key dtype, dim and slot count must match. Restore also
// reads the single-part layout `<name>/keys|values|slots|meta` of older
// checkpoints.
void SaveDynamicTable(CheckpointWriter& writer, const dynamic_embedding::Variable& variable);
void RestoreDynamicTable(const CheckpointReader& reader, dynamic_embedding::Variable& variable);
// `<table>/part_<k>` with k in at least 5 decimal digits (part_00000).
std::string DynamicTablePartName(const std::string& table, int64_t part);
// The tensor-name prefixes of a saved dynamic table's parts, in order (the
// old single-part layout: {table}). Throws NotFound naming
// `<table>/num_parts` when the checkpoint holds no dynamic table `table`,
// DataLoss for a part count below 0 or above 2^24.
std::vector<std::string> DynamicTableParts(const CheckpointReader& reader,
                                           const std::string& table);

// One float32 tensor [size] per parameter, named by the parameter.
// Restore writes into each param's value span.
void SaveDenseParams(CheckpointWriter& writer, std::span<const DenseParam> params);
void RestoreDenseParams(const CheckpointReader& reader, std::span<const DenseParam> params);

// `<param>/<slot>` [size] for every parameter with slots, and
// `<name>/params` (string list of those parameters). A model with several
// dense optimizers (e.g. wide & deep) saves each under its own name.
void SaveDenseOptimizer(CheckpointWriter& writer, const DenseOptimizer& optimizer,
                        const std::string& name = "dense_optimizer");
void RestoreDenseOptimizer(const CheckpointReader& reader, DenseOptimizer& optimizer,
                           const std::string& name = "dense_optimizer");

// `global_step` (int64 scalar) and `metadata` (json).
void SaveGlobalStep(CheckpointWriter& writer, int64_t global_step);
int64_t RestoreGlobalStep(const CheckpointReader& reader);
void SaveMetadata(CheckpointWriter& writer, const nlohmann::json& metadata);
nlohmann::json RestoreMetadata(const CheckpointReader& reader);

}  // namespace embcol

#endif  // EMBCOL_CHECKPOINT_H_
