// CheckpointReader: parses and checks the manifest, streams tensors with
// CRC-32C verification (docs/checkpoint-format.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "core/closest_names.h"
#include "core/crc32c.h"
#include "embcol/checkpoint.h"
#include "embcol/errors.h"
#include "embcol/tensor.h"
#include "io/checkpoint_format.h"

namespace embcol {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NotFound("checkpoint: cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}


}  // namespace

std::optional<CheckpointState> ReadCheckpointState(const std::string& model_dir) {
  const std::string path = model_dir + "/" + std::string(internal::kStateFile);
  if (!FileExists(path)) return std::nullopt;
  const std::string text = ReadWholeFile(path);
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    CheckpointState state;
    state.latest = j.at("latest").get<std::string>();
    state.all = j.at("all").get<std::vector<std::string>>();
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw DataLoss("checkpoint: state file " + path + " is corrupt (" + e.what() +
                   "); delete it and pass a checkpoint directory explicitly");
  }
}

struct CheckpointReader::Impl {
  std::string dir;
  int64_t step = 0;
  std::vector<CheckpointTensorInfo> tensors;  // sorted by name
};

CheckpointReader::CheckpointReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  std::string dir = path;
  const std::string manifest_name(internal::kManifestFile);
  if (!FileExists(dir + "/" + manifest_name)) {
    auto state = ReadCheckpointState(path);
    if (!state) {
      throw NotFound("CheckpointReader: " + path + " holds neither a checkpoint (" +
                     manifest_name + ") nor a state file (" + std::string(internal::kStateFile) +
                     "); pass a model_dir or a ckpt-<step> directory");
    }
    dir = path + "/" + state->latest;
  }
  impl_->dir = dir;
  const std::string mpath = dir + "/" + manifest_name;
  const std::string text = ReadWholeFile(mpath);
  const size_t nl = text.find('\n');
  char magic[32] = {};
  int version = 0;
  unsigned crc = 0;
  size_t length = 0;
  if (nl == std::string::npos ||
      std::sscanf(text.substr(0, nl).c_str(), "%31s %d %x %zu", magic, &version, &crc, &length) != 4 ||
      std::string_view(magic) != internal::kCheckpointMagic) {
    throw DataLoss("CheckpointReader: " + mpath + " has no valid header line; the manifest is corrupt");
  }
  if (version != internal::kCheckpointVersion) {
    throw DataLoss("CheckpointReader: " + mpath + " has format version " + std::to_string(version) +
                   "; this embcol reads version " + std::to_string(internal::kCheckpointVersion));
  }
  const std::string body = text.substr(nl + 1);
  if (body.size() != length || internal::Crc32c(body) != crc) {
    throw DataLoss("CheckpointReader: manifest " + mpath +
                   " is truncated or corrupt (length or CRC-32C mismatch at offset " +
                   std::to_string(nl + 1) + ")");
  }
  try {
    nlohmann::json j = nlohmann::json::parse(body);
    impl_->step = j.at("step").get<int64_t>();
    std::map<std::string, uint64_t> shard_bytes;
    for (const auto& s : j.at("shards")) {
      shard_bytes[s.at("file").get<std::string>()] = s.at("bytes").get<uint64_t>();
    }
    for (const auto& t : j.at("tensors")) {
      CheckpointTensorInfo info;
      info.name = t.at("name").get<std::string>();
      info.dtype = internal::ParseCheckpointDtype(t.at("dtype").get<std::string>(), mpath);
      info.shape = t.at("shape").get<std::vector<int64_t>>();
      info.file = t.at("file").get<std::string>();
      info.offset = t.at("offset").get<uint64_t>();
      info.length = t.at("length").get<uint64_t>();
      info.crc32c = t.at("crc32c").get<uint32_t>();
      auto it = shard_bytes.find(info.file);
      if (it == shard_bytes.end() || info.offset + info.length > it->second) {
        throw DataLoss("CheckpointReader: manifest " + mpath + " places tensor \"" + info.name +
                       "\" outside its shard " + info.file);
      }
      impl_->tensors.push_back(std::move(info));
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataLoss("CheckpointReader: manifest " + mpath + " is malformed: " + e.what());
  }
  std::sort(impl_->tensors.begin(), impl_->tensors.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
}

CheckpointReader::~CheckpointReader() = default;
CheckpointReader::CheckpointReader(CheckpointReader&&) noexcept = default;

const std::string& CheckpointReader::directory() const { return impl_->dir; }
int64_t CheckpointReader::step() const { return impl_->step; }
const std::vector<CheckpointTensorInfo>& CheckpointReader::tensors() const { return impl_->tensors; }

bool CheckpointReader::Has(const std::string& name) const {
  auto it = std::lower_bound(impl_->tensors.begin(), impl_->tensors.end(), name,
                             [](const auto& t, const std::string& n) { return t.name < n; });
  return it != impl_->tensors.end() && it->name == name;
}

const CheckpointTensorInfo& CheckpointReader::Info(const std::string& name) const {
  auto it = std::lower_bound(impl_->tensors.begin(), impl_->tensors.end(), name,
                             [](const auto& t, const std::string& n) { return t.name < n; });
  if (it != impl_->tensors.end() && it->name == name) return *it;
  std::vector<std::string> names;
  for (const auto& t : impl_->tensors) names.push_back(t.name);
  std::string list;
  for (const std::string& n : internal::ClosestNames(name, names, 5)) {
    list += (list.empty() ? "" : ", ") + n;
  }
  throw NotFound("checkpoint " + impl_->dir + " has no tensor \"" + name + "\"" +
                 (list.empty() ? std::string("; it holds no tensors")
                               : "; closest names: " + list));
}

void CheckpointReader::Stream(const std::string& name,
                              const std::function<void(const void*, size_t)>& fn,
                              size_t chunk_bytes) const {
  const CheckpointTensorInfo& info = Info(name);
  const std::string path = impl_->dir + "/" + info.file;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw DataLoss("checkpoint: shard " + path + " of tensor \"" + name +
                   "\" cannot be opened: " + std::strerror(errno));
  }
  std::vector<char> buf(std::max<size_t>(1, std::min<uint64_t>(chunk_bytes, info.length)));
  uint32_t crc = 0;
  uint64_t done = 0;
  try {
    while (done < info.length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), info.length - done));
      ssize_t got = ::pread(fd, buf.data(), want, static_cast<off_t>(info.offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        throw DataLoss("checkpoint: shard " + path + " is truncated: tensor \"" + name +
                       "\" needs bytes up to offset " + std::to_string(info.offset + info.length) +
                       ", the file ends at offset " + std::to_string(info.offset + done));
      }
      crc = internal::Crc32cExtend(crc, buf.data(), static_cast<size_t>(got));
      fn(buf.data(), static_cast<size_t>(got));
      done += static_cast<uint64_t>(got);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (crc != info.crc32c) {
    throw DataLoss("checkpoint: CRC-32C mismatch in tensor \"" + name + "\" of shard " + path +
                   " (bytes at offset " + std::to_string(info.offset) + ", length " +
                   std::to_string(info.length) + "): the file is corrupt");
  }
}

void CheckpointReader::Verify(const std::string& name) const {
  Stream(name, [](const void*, size_t) {});
}

void CheckpointReader::ReadInto(const std::string& name, void* dst, size_t bytes) const {
  const CheckpointTensorInfo& info = Info(name);
  if (bytes != info.length) {
    throw InvalidArgument("checkpoint: tensor \"" + name + "\" has " + std::to_string(info.length) +
                          " bytes, the destination " + std::to_string(bytes));
  }
  Verify(name);
  char* out = static_cast<char*>(dst);
  Stream(name, [&](const void* p, size_t n) {
    std::memcpy(out, p, n);
    out += n;
  });
}

namespace {

template <typename T>
std::vector<T> ReadTyped(const CheckpointReader& reader, const std::string& name,
                         CheckpointDtype dtype) {
  const CheckpointTensorInfo& info = reader.Info(name);
  if (info.dtype != dtype) {
    throw InvalidArgument("checkpoint: tensor \"" + name + "\" is " +
                          std::string(CheckpointDtypeName(info.dtype)) + ", not " +
                          std::string(CheckpointDtypeName(dtype)));
  }
  std::vector<T> out(static_cast<size_t>(info.length / sizeof(T)));
  reader.ReadInto(name, out.data(), info.length);
  return out;
}

}  // namespace

std::vector<float> CheckpointReader::ReadFloats(const std::string& name) const {
  return ReadTyped<float>(*this, name, CheckpointDtype::kFloat32);
}
std::vector<int64_t> CheckpointReader::ReadInt64s(const std::string& name) const {
  return ReadTyped<int64_t>(*this, name, CheckpointDtype::kInt64);
}
std::vector<int32_t> CheckpointReader::ReadInt32s(const std::string& name) const {
  return ReadTyped<int32_t>(*this, name, CheckpointDtype::kInt32);
}
std::vector<uint32_t> CheckpointReader::ReadUint32s(const std::string& name) const {
  return ReadTyped<uint32_t>(*this, name, CheckpointDtype::kUint32);
}

int64_t CheckpointReader::ReadScalarInt64(const std::string& name) const {
  std::vector<int64_t> v = ReadInt64s(name);
  if (!Info(name).shape.empty() || v.size() != 1) {
    throw InvalidArgument("checkpoint: tensor \"" + name + "\" has shape " +
                          ShapeString(Info(name).shape) + ", expected a scalar");
  }
  return v[0];
}

std::vector<std::string> CheckpointReader::ReadStrings(const std::string& name) const {
  const CheckpointTensorInfo& info = Info(name);
  if (info.dtype != CheckpointDtype::kString || info.shape.size() != 1) {
    throw InvalidArgument("checkpoint: tensor \"" + name + "\" is " +
                          std::string(CheckpointDtypeName(info.dtype)) + " " +
                          ShapeString(info.shape) + ", not a string vector");
  }
  std::string bytes(info.length, '\0');
  ReadInto(name, bytes.data(), bytes.size());
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(info.shape[0]));
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 4) break;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const uint32_t len = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
    pos += 4;
    if (bytes.size() - pos < len) {
      pos = bytes.size() + 1;
      break;
    }
    out.emplace_back(bytes.data() + pos, len);
    pos += len;
  }
  if (pos != bytes.size() || static_cast<int64_t>(out.size()) != info.shape[0]) {
    throw DataLoss("checkpoint: string tensor \"" + name + "\" in " + impl_->dir + "/" +
                   info.file + " at offset " + std::to_string(info.offset) +
                   " does not decode to " + std::to_string(info.shape[0]) + " strings");
  }
  return out;
}

nlohmann::json CheckpointReader::ReadJson(const std::string& name) const {
  const CheckpointTensorInfo& info = Info(name);
  if (info.dtype != CheckpointDtype::kJson) {
    throw InvalidArgument("checkpoint: tensor \"" + name + "\" is " +
                          std::string(CheckpointDtypeName(info.dtype)) + ", not json");
  }
  std::string text(info.length, '\0');
  ReadInto(name, text.data(), text.size());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw DataLoss("checkpoint: json tensor \"" + name + "\" does not parse: " + e.what());
  }
}

}  // namespace embcol
