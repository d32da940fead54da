// TensorBundleReader: reads TensorFlow checkpoints in the "tensor bundle"
// (V2) format -- `PREFIX.index` (a LevelDB-format table of tensor entries)
// plus `PREFIX.data-0000K-of-0000N` shard files holding the raw bytes, as
// written by tf.compat.v1.train.Saver, tf.train.Checkpoint, Keras
// save_weights and SavedModel (`variables/variables`).
// docs/tensorflow-checkpoint-format.md describes the bytes and what is
// supported.
//
// Use it to take initial values out of a TensorFlow model, for example an
// embedding column's `ckpt_to_load_from` / `tensor_name_in_ckpt`.
// The whole index is read and checked (block CRCs) at construction; tensor
// bytes are read on demand and checked against the entry's CRC-32C.
//
// Thread-safe after construction: every read opens its own file handle.
#ifndef EMBCOL_TENSOR_BUNDLE_H_
#define EMBCOL_TENSOR_BUNDLE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace embcol {

// One tensor of a bundle, as its index entry describes it.
struct BundleTensorInfo {
  std::string name;            // TF1 variable name or TF2 object path
  std::string dtype;           // "float32", "float64", "int32", "int64", "string", ...
  std::vector<int64_t> shape;  // {} for a scalar
  int shard = 0;               // K of PREFIX.data-0000K-of-0000N
  int64_t offset = 0;          // byte offset in that shard
  int64_t size = 0;            // bytes in that shard
  uint32_t masked_crc32c = 0;  // as stored: masked CRC-32C of the bytes
  // > 0 for a partitioned variable saved as slices (TF1 Saver with a
  // partitioner): the entry holds no bytes itself; reads assemble the
  // slices (numeric dtypes only), and offset/size/masked_crc32c are 0.
  int num_slices = 0;

  int64_t num_elements() const;  // product of shape (1 for a scalar)
};

// The shape as text, "[4, 3]" ("[]" for a scalar).
std::string ShapeToString(const std::vector<int64_t>& shape);

// True when `path` names a tensor bundle: a prefix with `path.index` (or
// the .index file itself), a directory holding `*.index` files, or a
// directory whose `checkpoint` file is TensorFlow's text state
// (`model_checkpoint_path: "..."`). Does not read the index.
bool IsTensorBundle(const std::string& path);

class TensorBundleReader {
 public:
  // `path` is a bundle prefix ("dir/model.ckpt-123", "variables/variables"),
  // a directory with TensorFlow's `checkpoint` text file (its
  // model_checkpoint_path is read, relative to the directory unless
  // absolute; an absolute path that no longer exists is looked up next to
  // the state file), or a directory holding exactly one `*.index` file (a
  // SavedModel's `variables/` directory). Throws NotFound naming the path
  // when none of these, DataLoss naming the file and byte offset for a
  // corrupt or truncated index (bad magic, bad block CRC, bad Snappy data,
  // bad entry or slice key), InvalidArgument for a big-endian bundle.
  explicit TensorBundleReader(const std::string& path);

  // The resolved prefix (without ".index").
  const std::string& prefix() const { return prefix_; }
  int num_shards() const { return num_shards_; }

  // Every tensor, sorted by name. Per-slice entries of partitioned
  // variables (binary keys) are not listed; their full tensor is, with
  // num_slices > 0.
  const std::vector<BundleTensorInfo>& tensors() const { return tensors_; }
  bool Has(const std::string& name) const;
  // Throws NotFound naming the checkpoint and listing the tensors whose
  // names are closest to `name` (and, when `want_shape` is given, the
  // tensors of that shape).
  const BundleTensorInfo& Info(const std::string& name,
                               const std::optional<std::vector<int64_t>>& want_shape =
                                   std::nullopt) const;
  const std::vector<int64_t>& Shape(const std::string& name) const { return Info(name).shape; }

  // The tensor's raw bytes, checked against its CRC-32C (each slice's, for
  // a partitioned variable, whose slices are assembled into the full
  // row-major tensor). Throws NotFound for a missing name or a missing data
  // shard (naming the file), DataLoss naming the file and offset for a
  // short shard or a checksum mismatch, or naming the variable for slices
  // that are missing or do not fit it; InvalidArgument for a partitioned
  // variable of a variable-size dtype (string, variant, resource).
  std::string ReadBytes(const std::string& name) const;
  // The same into `dst`, which must hold exactly the tensor's bytes
  // (Info(name).size, or elements x element size for a partitioned
  // variable; InvalidArgument otherwise). No copy is made: a large table reads
  // straight into its storage. On a throw dst's contents are unspecified.
  void ReadInto(const std::string& name, void* dst, size_t bytes) const;
  // Typed reads, row-major. InvalidArgument naming the tensor and its dtype
  // for another dtype; string tensors cannot be read as numbers.
  std::vector<float> ReadFloats(const std::string& name) const;
  std::vector<double> ReadDoubles(const std::string& name) const;
  std::vector<int32_t> ReadInt32s(const std::string& name) const;
  std::vector<int64_t> ReadInt64s(const std::string& name) const;

  // Names of tensors that have exactly `shape`, sorted.
  std::vector<std::string> NamesWithShape(const std::vector<int64_t>& shape) const;
  // Up to `n` names closest to `name` by edit distance, closest first.
  std::vector<std::string> ClosestNames(const std::string& name, size_t n = 5) const;

 private:
  // One saved slice of a partitioned variable: its box (length -1 = the
  // whole dimension) and where its bytes are.
  struct SlicePart {
    std::vector<int64_t> start, length;
    BundleTensorInfo bytes;  // shard, offset, size, masked_crc32c, shape
  };
  std::string DataFile(int shard) const;
  // Reads t.size bytes at t.offset of t's shard into dst and checks them.
  void ReadChecked(const std::string& name, const BundleTensorInfo& t, char* dst) const;
  void ReadSlices(const BundleTensorInfo& t, size_t element_size, char* dst) const;

  std::string prefix_;
  int num_shards_ = 1;
  std::vector<BundleTensorInfo> tensors_;
  std::map<std::string, std::vector<SlicePart>> slices_;  // by variable name
};

}  // namespace embcol

#endif  // EMBCOL_TENSOR_BUNDLE_H_
