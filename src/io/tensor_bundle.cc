#include "embcol/tensor_bundle.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/closest_names.h"
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
      std::string prefix = fs::path(state).is_absolute() ? state : path + "/" + state;
      // A model_dir copied elsewhere keeps the absolute paths of its old
      // place: then look for the prefix next to the state file.
      const std::string moved = path + "/" + fs::path(state).filename().string();
      if (!IsFile(prefix + std::string(kIndexSuffix)) && IsFile(moved + std::string(kIndexSuffix))) {
        prefix = moved;
      }
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


std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Bytes per element of the fixed-size dtypes; 0 for string, resource,
// variant and unknown ones.
size_t ElementSize(const std::string& dtype) {
  if (dtype == "float64" || dtype == "int64" || dtype == "uint64" || dtype == "complex64") return 8;
  if (dtype == "float32" || dtype == "int32" || dtype == "uint32") return 4;
  if (dtype == "int16" || dtype == "uint16" || dtype == "float16" || dtype == "bfloat16") return 2;
  if (dtype == "int8" || dtype == "uint8" || dtype == "bool") return 1;
  if (dtype == "complex128") return 16;
  return 0;
}

// The entry checksum of a string tensor's bytes: `n` varint64 lengths, a
// fixed32 (masked CRC of the lengths), then the concatenated strings. The
// checksum covers each length as a little-endian uint32 (uint64 when it
// does not fit), then the 4 stored bytes, then the strings -- not the
// varint bytes themselves. Returns the masked value; nullopt when the
// lengths do not decode or do not add up to the size.
std::optional<uint32_t> StringTensorCrc(const char* data, size_t size, int64_t n) {
  const char* p = data;
  const char* const limit = data + size;
  uint32_t crc = 0;
  uint64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t len = 0;
    if (!internal::GetVarint64(&p, limit, &len)) return std::nullopt;
    total += len;
    if (len <= 0xffffffffull) {
      const uint32_t l32 = static_cast<uint32_t>(len);
      crc = internal::Crc32cExtend(crc, &l32, 4);  // little-endian host
    } else {
      crc = internal::Crc32cExtend(crc, &len, 8);
    }
  }
  if (limit - p < 4 || static_cast<uint64_t>(limit - p - 4) != total) return std::nullopt;
  crc = internal::Crc32cExtend(crc, p, 4 + total);
  return internal::MaskCrc32c(crc);
}

// Printable form of a binary key for messages.
std::string Printable(const std::string& key) {
  std::string out;
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
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
    tensorflow::BundleEntryProto e;
    if (!e.ParseFromString(entries[i].second)) {
      throw DataLoss("TensorFlow checkpoint index " + index_path + ": the entry of tensor \"" +
                     Printable(key) + "\" is not a valid BundleEntryProto.");
    }
    BundleTensorInfo t;
    // Per-slice entries of partitioned variables have binary keys that
    // start with a zero byte; the full tensor's entry lists their slices.
    SlicePart part;
    std::string variable;
    if (key[0] == '\0' && !internal::DecodeSliceKey(key, &variable, &part.start, &part.length)) {
      throw DataLoss("TensorFlow checkpoint index " + index_path + ": slice key \"" +
                     Printable(key) + "\" does not decode.");
    }
    t.name = key[0] == '\0' ? variable : key;
    t.dtype = DtypeName(e.dtype());
    for (const auto& d : e.shape().dim()) t.shape.push_back(d.size());
    t.shard = e.shard_id();
    t.offset = e.offset();
    t.size = e.size();
    t.masked_crc32c = e.crc32c();
    t.num_slices = e.slices_size();
    const bool bad_dim = std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; });
    if (t.shard < 0 || t.shard >= num_shards_ || t.offset < 0 || t.size < 0 || bad_dim) {
      throw DataLoss("TensorFlow checkpoint index " + index_path + ": tensor \"" +
                     Printable(key) + "\" points at shard " + std::to_string(t.shard) + " of " +
                     std::to_string(num_shards_) + ", offset " + std::to_string(t.offset) +
                     ", size " + std::to_string(t.size) + ", shape " + ShapeToString(t.shape) +
                     ", which is invalid.");
    }
    if (key[0] == '\0') {
      part.bytes = std::move(t);
      slices_[variable].push_back(std::move(part));
    } else {
      tensors_.push_back(std::move(t));
    }
  }
}

bool TensorBundleReader::Has(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const auto& t, const std::string& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name;
}

std::vector<std::string> TensorBundleReader::ClosestNames(const std::string& name,
                                                          size_t n) const {
  std::vector<std::string> names;
  for (const auto& t : tensors_) names.push_back(t.name);
  return internal::ClosestNames(name, names, n);
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
  size_t bytes = static_cast<size_t>(t.size);
  if (t.num_slices > 0) bytes = static_cast<size_t>(t.num_elements()) * ElementSize(t.dtype);
  std::string out(bytes, '\0');
  ReadInto(name, out.data(), out.size());
  return out;
}

void TensorBundleReader::ReadInto(const std::string& name, void* dst, size_t bytes) const {
  const BundleTensorInfo& t = Info(name);
  const std::string what = "tensor \"" + name + "\" of TensorFlow checkpoint " + prefix_;
  if (t.num_slices > 0) {
    const size_t element = ElementSize(t.dtype);
    if (element == 0) {
      throw InvalidArgument(what + " is a partitioned " + t.dtype +
                            " variable; embcol assembles slices of numeric tensors only.");
    }
    if (bytes != static_cast<size_t>(t.num_elements()) * element) {
      throw InvalidArgument(what + " has " + std::to_string(t.num_elements() * element) +
                            " bytes; the destination holds " + std::to_string(bytes) + ".");
    }
    ReadSlices(t, element, static_cast<char*>(dst));
    return;
  }
  if (bytes != static_cast<uint64_t>(t.size)) {
    throw InvalidArgument(what + " has " + std::to_string(t.size) +
                          " bytes; the destination holds " + std::to_string(bytes) + ".");
  }
  ReadChecked(name, t, static_cast<char*>(dst));
}

void TensorBundleReader::ReadChecked(const std::string& name, const BundleTensorInfo& t,
                                     char* dst) const {
  const std::string path = DataFile(t.shard);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw NotFound("data shard " + path + " of TensorFlow checkpoint " + prefix_ +
                   " (tensor \"" + name + "\") cannot be opened: " + std::strerror(errno) +
                   "; copy every .data-* file next to the .index file.");
  }
  in.seekg(t.offset);
  in.read(dst, t.size);
  if (!in || in.gcount() != t.size) {
    throw DataLoss("data shard " + path + " is truncated: tensor \"" + name + "\" needs bytes [" +
                   std::to_string(t.offset) + ", " + std::to_string(t.offset + t.size) +
                   "), the read at byte offset " + std::to_string(t.offset) +
                   " came up short; the checkpoint cannot be used.");
  }
  std::optional<uint32_t> actual;
  if (t.dtype == "string") {
    actual = StringTensorCrc(dst, static_cast<size_t>(t.size), t.num_elements());
  } else {
    actual = internal::MaskCrc32c(internal::Crc32c(dst, t.size));
  }
  if (actual != t.masked_crc32c) {
    throw DataLoss("data shard " + path + " is corrupt: tensor \"" + name + "\" (" +
                   std::to_string(t.size) + " bytes at byte offset " +
                   std::to_string(t.offset) + ") fails its CRC-32C check; the checkpoint "
                   "cannot be used.");
  }
}

void TensorBundleReader::ReadSlices(const BundleTensorInfo& t, size_t element,
                                    char* dst) const {
  const std::string what =
      "partitioned variable \"" + t.name + "\" of TensorFlow checkpoint " + prefix_;
  auto it = slices_.find(t.name);
  const size_t found = it == slices_.end() ? 0 : it->second.size();
  if (found != static_cast<size_t>(t.num_slices)) {
    throw DataLoss(what + " lists " + std::to_string(t.num_slices) +
                   " slices, but the index holds " + std::to_string(found) +
                   " slice entries for it; the checkpoint is incomplete.");
  }
  const size_t rank = t.shape.size();
  std::vector<int64_t> stride(rank, 1);
  for (size_t d = rank; d-- > 1;) stride[d - 1] = stride[d] * t.shape[d];
  int64_t covered = 0;
  std::string buffer;
  for (const SlicePart& p : it->second) {
    std::vector<int64_t> start(rank), length(rank);
    bool ok = rank > 0 && p.start.size() == rank;
    for (size_t d = 0; ok && d < rank; ++d) {
      const bool full = p.length[d] == -1;
      start[d] = full ? 0 : p.start[d];
      length[d] = full ? t.shape[d] : p.length[d];
      ok = start[d] >= 0 && length[d] >= 0 && start[d] + length[d] <= t.shape[d];
    }
    if (!ok) {
      throw DataLoss(what + " of shape " + ShapeToString(t.shape) + " has a slice (start " +
                     ShapeToString(p.start) + ", length " + ShapeToString(p.length) +
                     ") outside it.");
    }
    int64_t n = 1;
    for (int64_t l : length) n *= l;
    if (p.bytes.size != n * static_cast<int64_t>(element)) {
      throw DataLoss(what + ": the slice at start " + ShapeToString(start) + " has " +
                     std::to_string(p.bytes.size) + " bytes for " + std::to_string(n) +
                     " elements of " + t.dtype + ".");
    }
    buffer.resize(static_cast<size_t>(p.bytes.size));
    ReadChecked(t.name + "\" slice at start " + ShapeToString(start) + " \"", p.bytes,
                buffer.data());
    // Copy the box row by row: its last dimension is contiguous in both.
    const int64_t run = length[rank - 1];
    std::vector<int64_t> index(rank, 0);
    for (int64_t r = 0; run > 0 && r < n / run; ++r) {
      int64_t at = start[rank - 1];
      for (size_t d = 0; d + 1 < rank; ++d) at += (start[d] + index[d]) * stride[d];
      std::memcpy(dst + at * element, buffer.data() + r * run * element, run * element);
      for (size_t d = rank - 1; d-- > 0;) {
        if (++index[d] < length[d]) break;
        index[d] = 0;
      }
    }
    covered += n;
  }
  if (covered != t.num_elements()) {
    throw DataLoss(what + ": its slices hold " + std::to_string(covered) + " elements, the " +
                   "variable " + std::to_string(t.num_elements()) + "; the checkpoint is "
                   "incomplete.");
  }
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
  if (t.num_slices == 0 && t.size != t.num_elements() * static_cast<int64_t>(sizeof(T))) {
    throw DataLoss("tensor \"" + name + "\" of TensorFlow checkpoint " + reader.prefix() +
                   " has " + std::to_string(t.size) + " bytes, but shape " +
                   ShapeToString(t.shape) + " of " + dtype + " needs " +
                   std::to_string(t.num_elements() * sizeof(T)) + ".");
  }
  std::vector<T> out(static_cast<size_t>(t.num_elements()));
  reader.ReadInto(name, out.data(), out.size() * sizeof(T));
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
