// TensorBoard event files (format: include/embcol/summary_writer.h).
//
// The writer is a TFRecordWriter under a mutex; each Add* call serializes
// one tensorflow.Event and appends it as one record. The file name is
// reserved with O_CREAT | O_EXCL before the TFRecordWriter opens it, so two
// writers never share a file.
#include "embcol/summary_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "embcol/errors.h"
#include "embcol/tfrecord.h"
#include "io/proto/event.pb.h"

namespace embcol {
namespace {

constexpr char kFileVersion[] = "brain.Event:2";

double WallTimeNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string host(buf);
  std::replace(host.begin(), host.end(), '/', '_');
  return host;
}

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF): protobuf string fields must be, or TensorBoard's
// parser rejects the whole event.
bool IsValidUtf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++p;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    const uint32_t min_cp = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += extra + 1;
  }
  return true;
}

void CheckTag(const std::string& tag, const std::string& path) {
  if (tag.empty()) {
    throw InvalidArgument("event file " + path + ": a scalar's tag is empty; give it a name "
                          "such as \"loss\" or \"train/auc\".");
  }
  if (!IsValidUtf8(tag)) {
    throw InvalidArgument("event file " + path + ": scalar tag '" + tag +
                          "' is not valid UTF-8; TensorBoard cannot read it. Use a UTF-8 name.");
  }
}

std::string Serialize(const tensorflow::Event& event) {
  std::string out;
  if (!event.SerializeToString(&out)) throw Internal("serializing a tensorflow.Event failed");
  return out;
}

// Creates a new, empty file named `base` + `suffix` (+ ".<k>" when taken).
std::string ReserveFile(const std::string& base, const std::string& suffix) {
  for (int k = 0;; ++k) {
    const std::string path = base + suffix + (k == 0 ? "" : "." + std::to_string(k));
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      return path;
    }
    if (errno != EEXIST || k >= 1000) {
      throw Unavailable("event file " + path + " cannot be created: " + std::strerror(errno) +
                        "; check that the log directory is writable.");
    }
  }
}

std::atomic<int64_t> g_writer_counter{0};

}  // namespace

struct SummaryWriter::Impl {
  explicit Impl(const std::string& path) : writer(path) {}
  TFRecordWriter writer;
};

SummaryWriter::SummaryWriter(const std::string& logdir, SummaryWriterOptions options)
    : logdir_(logdir), flush_seconds_(options.flush_seconds) {
  if (logdir_.empty()) {
    throw InvalidArgument("SummaryWriter: the log directory is empty; pass a directory such "
                          "as \"runs/exp1\".");
  }
  if (!(flush_seconds_ >= 0)) {
    throw InvalidArgument("SummaryWriter " + logdir_ + ": flush_seconds must be >= 0, got " +
                          std::to_string(flush_seconds_) + ".");
  }
  std::error_code ec;
  std::filesystem::create_directories(logdir_, ec);
  if (ec || !std::filesystem::is_directory(logdir_)) {
    throw Unavailable("SummaryWriter: log directory " + logdir_ + " cannot be created" +
                      (ec ? ": " + ec.message() : " (a file has that name)") +
                      "; check the path and permissions.");
  }
  const double now = WallTimeNow();
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%010lld", static_cast<long long>(now));
  const std::string base = (std::filesystem::path(logdir_) /
                            ("events.out.tfevents." + std::string(seconds) + "." + Hostname()))
                               .string();
  const std::string suffix =
      !options.filename_suffix.empty()
          ? options.filename_suffix
          : "." + std::to_string(::getpid()) + "." + std::to_string(g_writer_counter++);
  path_ = ReserveFile(base, suffix);
  impl_ = std::make_unique<Impl>(path_);

  tensorflow::Event first;
  first.set_wall_time(now);
  first.set_file_version(kFileVersion);
  std::lock_guard<std::mutex> lock(mu_);
  impl_->writer.Write(Serialize(first));
  // The version record goes out at once: TensorBoard lists the run as soon
  // as the file has a readable record.
  impl_->writer.Flush();
  last_flush_ = std::chrono::steady_clock::now();
}

SummaryWriter::~SummaryWriter() {
  try {
    Close();
  } catch (const std::exception&) {
    // A destructor cannot report; Close() does.
  }
}

void SummaryWriter::AddScalar(const std::string& tag, double value, int64_t step) {
  AddScalars(step, {{tag, value}});
}

void SummaryWriter::AddScalars(int64_t step,
                               const std::vector<std::pair<std::string, double>>& scalars) {
  for (const auto& [tag, value] : scalars) CheckTag(tag, path_);
  if (scalars.empty()) return;
  tensorflow::Event event;
  event.set_wall_time(WallTimeNow());
  event.set_step(step);
  tensorflow::Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    tensorflow::Summary::Value* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  const std::string serialized = Serialize(event);
  std::lock_guard<std::mutex> lock(mu_);
  WriteEventLocked(serialized);
}

void SummaryWriter::WriteEventLocked(const std::string& serialized) {
  if (impl_ == nullptr) {
    throw FailedPrecondition("SummaryWriter " + path_ + ": write after Close(); create a new "
                             "SummaryWriter to write more events.");
  }
  impl_->writer.Write(serialized);
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_flush_).count() >= flush_seconds_) {
    impl_->writer.Flush();
    last_flush_ = now;
  }
}

void SummaryWriter::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (impl_ == nullptr) return;
  impl_->writer.Flush();
  last_flush_ = std::chrono::steady_clock::now();
}

void SummaryWriter::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (impl_ == nullptr) return;
  std::unique_ptr<Impl> impl = std::move(impl_);
  impl->writer.Close();
}

// ---- reading --------------------------------------------------------------

namespace {

void ReadFile(const std::string& path, std::vector<ScalarEvent>* out) {
  TFRecordReader reader(path, "");
  std::string record;
  tensorflow::Event event;
  for (;;) {
    const int64_t offset = reader.offset();
    if (!reader.Next(&record)) break;
    if (!event.ParseFromString(record)) {
      throw DataLoss("event file " + path + ": the record at byte offset " +
                     std::to_string(offset) + " is not a tensorflow.Event; the file is "
                     "damaged or not an event file.");
    }
    if (!event.has_summary()) continue;
    for (const tensorflow::Summary::Value& v : event.summary().value()) {
      if (!v.has_simple_value()) continue;
      out->push_back({v.tag(), event.step(), v.simple_value(), event.wall_time()});
    }
  }
}

}  // namespace

std::vector<ScalarEvent> ReadScalarEvents(const std::string& path_or_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path_or_dir, ec);
  if (!fs::exists(st)) {
    throw NotFound("event file or log directory " + path_or_dir + " does not exist; check "
                   "the path.");
  }
  std::vector<ScalarEvent> out;
  if (!fs::is_directory(st)) {
    ReadFile(path_or_dir, &out);
    return out;
  }
  std::vector<std::string> files;
  for (const fs::directory_entry& e : fs::directory_iterator(path_or_dir, ec)) {
    if (e.is_regular_file() && e.path().filename().string().find("tfevents") != std::string::npos) {
      files.push_back(e.path().string());
    }
  }
  if (ec) {
    throw Unavailable("log directory " + path_or_dir + " cannot be listed: " + ec.message() +
                      ".");
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) ReadFile(f, &out);
  return out;
}

}  // namespace embcol
