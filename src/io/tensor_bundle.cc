#include "embcol/tensor_bundle.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crc32c.h"
#include "embcol/errors.h"
#include "io/proto/tensor_bundle.pb.h"
#include "io/tensor_bundle_table.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little,
              "TensorBundleReader copies little-endian tensor bytes as they are");

constexpr std::string_view kIndexSuffix = ".index";
constexpr std::string_view kStateFile = "checkpoint";
constexpr std::string_view kStateKey = "model_checkpoint_path";

std::string ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw NotFound(std::string(what) + " " + path + " cannot be opened: " +
                   std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool IsDir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// The model_checkpoint_path of TensorFlow's text `checkpoint` file in
// `dir`, or "" when the file is absent or is not TensorFlow's (embcol's
// own state file of the same name is JSON).
std::string TfStatePath(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kStateFile);
  if (!IsFile(path)) return "";
  const std::string text = ReadWholeFile(path, "checkpoint state file");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line.compare(start, kStateKey.size(), kStateKey) != 0) {
      continue;
    }
    const size_t open = line.find('"', start + kStateKey.size());
    if (open == std::string::npos) continue;
    std::string value;
    for (size_t i = open + 1; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) ++i;  // \" and \\ .
      value += line[i];
    }
    return value;
  }
  return "";
}

// The `*.index` files directly in `dir`, sorted.
std::vector<std::string> IndexFilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > kIndexSuffix.size() && name.ends_with(kIndexSuffix) &&
        e.is_regular_file(ec)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ResolvePrefix(const std::string& path) {
  if (IsFile(path + std::string(kIndexSuffix))) return path;
  if (path.ends_with(kIndexSuffix) && IsFile(path)) {
    return path.substr(0, path.size() - kIndexSuffix.size());
  }
  if (IsDir(path)) {
    const std::string state = TfStatePath(path);
    if (!state.empty()) {
      const std::string prefix =
          fs::path(state).is_absolute() ? state : path + "/" + state;
      if (!IsFile(prefix + std::string(kIndexSuffix))) {
        throw NotFound("TensorFlow checkpoint state " + path + "/checkpoint names " + state +
                       ", but " + prefix + ".index does not exist; restore the checkpoint "
                       "files or fix model_checkpoint_path.");
      }
      return prefix;
    }
    const std::vector<std::string> indexes = IndexFilesIn(path);
    if (indexes.size() == 1) {
      return path + "/" + indexes[0].substr(0, indexes[0].size() - kIndexSuffix.size());
    }
    if (indexes.size() > 1) {
      std::string list;
      for (const auto& n : indexes) list += (list.empty() ? "" : ", ") + n;
      throw NotFound("directory " + path + " holds several TensorFlow checkpoints (" + list +
                     ") and no `checkpoint` state file; give the prefix of one, e.g. " + path +
                     "/" + indexes.back().substr(0, indexes.back().size() - 6) + ".");
    }
  }
  throw NotFound("no TensorFlow checkpoint at " + path + ": expected a prefix with " + path +
                 ".index, a directory with a `checkpoint` state file, or a directory "
                 "holding one *.index file.");
}

std::string DtypeName(int dtype) {
  switch (dtype) {
    case tensorflow::DT_FLOAT: return "float32";
    case tensorflow::DT_DOUBLE: return "float64";
    case tensorflow::DT_INT32: return "int32";
    case tensorflow::DT_UINT8: return "uint8";
    case tensorflow::DT_INT16: return "int16";
    case tensorflow::DT_INT8: return "int8";
    case tensorflow::DT_STRING: return "string";
    case tensorflow::DT_COMPLEX64: return "complex64";
    case tensorflow::DT_INT64: return "int64";
    case tensorflow::DT_BOOL: return "bool";
    case tensorflow::DT_BFLOAT16: return "bfloat16";
    case tensorflow::DT_UINT16: return "uint16";
    case tensorflow::DT_COMPLEX128: return "complex128";
    case tensorflow::DT_HALF: return "float16";
    case tensorflow::DT_RESOURCE: return "resource";
    case tensorflow::DT_VARIANT: return "variant";
    case tensorflow::DT_UINT32: return "uint32";
    case tensorflow::DT_UINT64: return "uint64";
    default: return "dtype" + std::to_string(dtype);
  }
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

int64_t BundleTensorInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

bool IsTensorBundle(const std::string& path) {
  if (IsFile(path + std::string(kIndexSuffix))) return true;
  if (path.ends_with(kIndexSuffix) && IsFile(path)) return true;
  if (!IsDir(path)) return false;
  return !TfStatePath(path).empty() || !IndexFilesIn(path).empty();
}

TensorBundleReader::TensorBundleReader(const std::string& path) : prefix_(ResolvePrefix(path)) {
  const std::string index_path = prefix_ + std::string(kIndexSuffix);
  const std::string file = ReadWholeFile(index_path, "TensorFlow checkpoint index");
  const auto entries = internal::ReadTableEntries(index_path, file);
  if (entries.empty() || !entries.front().first.empty()) {
    throw DataLoss("TensorFlow checkpoint index " + index_path +
                   " has no header entry (empty key); the file is not a tensor bundle index.");
  }
  tensorflow::BundleHeaderProto header;
  if (!header.ParseFromString(entries.front().second)) {
    throw DataLoss("TensorFlow checkpoint index " + index_path +
                   ": the header entry is not a valid BundleHeaderProto.");
  }
  if (header.endianness() != tensorflow::BundleHeaderProto::LITTLE) {
    throw InvalidArgument("TensorFlow checkpoint " + prefix_ +
                          " was written big-endian, which embcol does not read; re-save it "
                          "on a little-endian machine.");
  }
  num_shards_ = header.num_shards();
  if (num_shards_ < 1) {
    throw DataLoss("TensorFlow checkpoint index " + index_path + ": header says " +
                   std::to_string(num_shards_) + " data shards (needs >= 1).");
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    const std::string& key = entries[i].first;
    // Per-slice entries of partitioned variables have binary keys that
    // start with a zero byte; the full tensor's entry lists their slices.
    if (key[0] == '\0') continue;
    tensorflow::BundleEntryProto e;
    if (!e.ParseFromString(entries[i].second)) {
      throw DataLoss("TensorFlow checkpoint index " + index_path + ": the entry of tensor \"" +
                     key + "\" is not a valid BundleEntryProto.");
    }
    BundleTensorInfo t;
    t.name = key;
    t.dtype = DtypeName(e.dtype());
    for (const auto& d : e.shape().dim()) t.shape.push_back(d.size());
    t.shard = e.shard_id();
    t.offset = e.offset();
    t.size = e.size();
    t.masked_crc32c = e.crc32c();
    t.num_slices = e.slices_size();
    if (t.shard < 0 || t.shard >= num_shards_ || t.offset < 0 || t.size < 0) {
      throw DataLoss("TensorFlow checkpoint index " + index_path + ": tensor \"" + key +
                     "\" points at shard " + std::to_string(t.shard) + " of " +
                     std::to_string(num_shards_) + ", offset " + std::to_string(t.offset) +
                     ", size " + std::to_string(t.size) + ", which is invalid.");
    }
    tensors_.push_back(std::move(t));
  }
}

bool TensorBundleReader::Has(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const auto& t, const std::string& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name;
}

std::vector<std::string> TensorBundleReader::ClosestNames(const std::string& name,
                                                          size_t n) const {
  std::vector<std::pair<size_t, std::string>> near;
  for (const auto& t : tensors_) near.emplace_back(EditDistance(name, t.name), t.name);
  std::sort(near.begin(), near.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < near.size() && i < n; ++i) out.push_back(near[i].second);
  return out;
}

std::vector<std::string> TensorBundleReader::NamesWithShape(
    const std::vector<int64_t>& shape) const {
  std::vector<std::string> out;
  for (const auto& t : tensors_) {
    if (t.shape == shape) out.push_back(t.name);
  }
  return out;
}

const BundleTensorInfo& TensorBundleReader::Info(
    const std::string& name, const std::optional<std::vector<int64_t>>& want_shape) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const auto& t, const std::string& n) { return t.name < n; });
  if (it != tensors_.end() && it->name == name) return *it;
  std::string msg = "TensorFlow checkpoint " + prefix_ + " has no tensor \"" + name + "\"";
  if (tensors_.empty()) {
    msg += "; it holds no tensors";
  } else {
    msg += "; closest names: " + Join(ClosestNames(name));
    if (want_shape) {
      const auto same = NamesWithShape(*want_shape);
      msg += "; tensors of shape " + ShapeToString(*want_shape) + ": " +
             (same.empty() ? std::string("none") : Join(same));
    }
  }
  throw NotFound(msg + ".");
}

std::string TensorBundleReader::DataFile(int shard) const {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), ".data-%05d-of-%05d", shard, num_shards_);
  return prefix_ + suffix;
}

std::string TensorBundleReader::ReadBytes(const std::string& name) const {
  const BundleTensorInfo& t = Info(name);
  if (t.num_slices > 0) {
    throw InvalidArgument("tensor \"" + name + "\" of TensorFlow checkpoint " + prefix_ +
                          " is a partitioned variable saved as " +
                          std::to_string(t.num_slices) +
                          " slices, which embcol cannot assemble; re-save it unpartitioned "
                          "(no partitioner) or load its parts one by one.");
  }
  const std::string path = DataFile(t.shard);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw NotFound("data shard " + path + " of TensorFlow checkpoint " + prefix_ +
                   " (tensor \"" + name + "\") cannot be opened: " + std::strerror(errno) +
                   "; copy every .data-* file next to the .index file.");
  }
  std::string bytes(static_cast<size_t>(t.size), '\0');
  in.seekg(t.offset);
  in.read(bytes.data(), t.size);
  if (!in || in.gcount() != t.size) {
    throw DataLoss("data shard " + path + " is truncated: tensor \"" + name + "\" needs bytes [" +
                   std::to_string(t.offset) + ", " + std::to_string(t.offset + t.size) +
                   "), the read at byte offset " + std::to_string(t.offset) +
                   " came up short; the checkpoint cannot be used.");
  }
  const uint32_t actual = internal::MaskCrc32c(internal::Crc32c(bytes));
  if (actual != t.masked_crc32c) {
    throw DataLoss("data shard " + path + " is corrupt: tensor \"" + name + "\" (" +
                   std::to_string(t.size) + " bytes at byte offset " +
                   std::to_string(t.offset) + ") fails its CRC-32C check; the checkpoint "
                   "cannot be used.");
  }
  return bytes;
}

namespace {

template <typename T>
std::vector<T> Typed(const TensorBundleReader& reader, const std::string& name,
                     const char* dtype) {
  const BundleTensorInfo& t = reader.Info(name);
  if (t.dtype != dtype) {
    throw InvalidArgument("tensor \"" + name + "\" of TensorFlow checkpoint " + reader.prefix() +
                          " is " + t.dtype + ", not " + dtype + ".");
  }
  const std::string bytes = reader.ReadBytes(name);  // throws for a partitioned one
  if (t.size != t.num_elements() * static_cast<int64_t>(sizeof(T))) {
    throw DataLoss("tensor \"" + name + "\" of TensorFlow checkpoint " + reader.prefix() +
                   " has " + std::to_string(t.size) + " bytes, but shape " +
                   ShapeToString(t.shape) + " of " + dtype + " needs " +
                   std::to_string(t.num_elements() * sizeof(T)) + ".");
  }
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace

std::vector<float> TensorBundleReader::ReadFloats(const std::string& name) const {
  return Typed<float>(*this, name, "float32");
}
std::vector<double> TensorBundleReader::ReadDoubles(const std::string& name) const {
  return Typed<double>(*this, name, "float64");
}
std::vector<int32_t> TensorBundleReader::ReadInt32s(const std::string& name) const {
  return Typed<int32_t>(*this, name, "int32");
}
std::vector<int64_t> TensorBundleReader::ReadInt64s(const std::string& name) const {
  return Typed<int64_t>(*this, name, "int64");
}

}  // namespace embcol
