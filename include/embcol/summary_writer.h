// TensorBoard event files: SummaryWriter appends scalar summaries (loss,
// AUC, learning rate, ...) to an event file in a log directory, so that
// `tensorboard --logdir DIR` draws their curves while training runs;
// ReadScalarEvents reads them back (tests, inspection, scripts).
//
// File layout (TensorFlow's convention, which TensorBoard relies on):
//
//   LOGDIR/events.out.tfevents.<unix seconds, 10 digits>.<hostname>.<pid>.<n>
//
// (".<pid>.<n>", n a per-process counter, keeps two writers started in the
// same second apart; TensorBoard reads every file whose name contains
// "tfevents"). The file is a plain (uncompressed) TFRecord file
// (tfrecord.h) whose records are serialized tensorflow.Event protos:
//
//   record 0   Event{wall_time, file_version: "brain.Event:2"}
//   record k   Event{wall_time, step, summary: Summary{value: [
//                Value{tag, simple_value}, ...]}}
//
// Values are stored as float32 (Summary.Value.simple_value): a double is
// rounded to the nearest float, and magnitudes beyond float's range become
// +-inf. NaN and +-inf are written as they are (TensorBoard shows them); a
// diverging loss should be visible, not an error.
//
// SummaryWriter is thread-safe: one mutex guards the file, so a training
// loop and a progress thread may both write. ReadScalarEvents is a pure
// function (thread-safe).
#ifndef EMBCOL_SUMMARY_WRITER_H_
#define EMBCOL_SUMMARY_WRITER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace embcol {

struct SummaryWriterOptions {
  // Buffered events are handed to the operating system when an Add* call
  // finds at least this many seconds passed since the last flush, and by
  // Flush(), Close() and the destructor. 0 flushes after every event.
  // Default 2 (TensorBoard polls for new data every 5 seconds).
  double flush_seconds = 2.0;
  // Appended to the file name in place of the default ".<pid>.<n>". When
  // the name is taken already, ".<n>" is added to make it new.
  std::string filename_suffix;
};

class SummaryWriter {
 public:
  // Creates `logdir` (and its parents) when missing and a new event file in
  // it, and writes the file_version record. Throws Unavailable naming the
  // directory or file when it cannot be created or written.
  explicit SummaryWriter(const std::string& logdir, SummaryWriterOptions options = {});
  // Flushes and closes; errors are swallowed here, so call Close() to see
  // them.
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  // One event at `step` holding one scalar. REQUIRES: `tag` non-empty valid
  // UTF-8 (else InvalidArgument naming the tag). Throws Unavailable naming
  // the file on a write error, FailedPrecondition after Close().
  void AddScalar(const std::string& tag, double value, int64_t step);
  // One event at `step` holding several scalars (e.g. {{"loss", 0.3},
  // {"auc", 0.71}}); same errors as AddScalar, checked before anything is
  // written. An empty list writes nothing.
  void AddScalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars);

  // Hands every event written so far to the operating system (fflush; no
  // fsync), so TensorBoard sees it. Throws Unavailable on a write error.
  void Flush();
  // Flushes and closes the file. Idempotent. Throws Unavailable on error.
  void Close();

  const std::string& logdir() const { return logdir_; }
  // The event file's full path.
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  void WriteEventLocked(const std::string& serialized);

  std::string logdir_;
  std::string path_;
  double flush_seconds_;
  std::mutex mu_;
  std::unique_ptr<Impl> impl_;  // guarded by mu_; null after Close()
  std::chrono::steady_clock::time_point last_flush_;  // guarded by mu_
};

// One scalar read back from an event file.
struct ScalarEvent {
  std::string tag;
  int64_t step = 0;
  float value = 0;          // as stored (float32)
  double wall_time = 0;     // seconds since the Unix epoch

  friend bool operator==(const ScalarEvent&, const ScalarEvent&) = default;
};

// The scalars (Summary.Value.simple_value) of an event file, or of every
// file whose name contains "tfevents" in a directory (not recursive; files
// in name order, which is creation-time order). Events in file order; an
// event with several values gives one ScalarEvent per value, in order.
// Other summaries (histograms, images, tensor summaries) are skipped.
// Throws NotFound naming the path when it does not exist, DataLoss naming
// the file and byte offset for a bad CRC, a truncated record or a record
// that is not an Event.
std::vector<ScalarEvent> ReadScalarEvents(const std::string& path_or_dir);

}  // namespace embcol

#endif  // EMBCOL_SUMMARY_WRITER_H_
