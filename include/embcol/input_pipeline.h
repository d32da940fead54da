// InputPipeline: files -> records -> shuffled batches -> parsed FeatureBatch,
// the equivalent of tf.data's list_files + sequential reading + shuffle +
// batch + map(parse, num_parallel_calls) + prefetch, with a deterministic
// order.
//
// The file list is fixed at construction (globs expanded with glob(3), each
// pattern's matches sorted, patterns kept in the given order). Per epoch one
// reader thread visits the files (in a seeded random order when shuffling),
// reads their records in order through the RecordReaderFactory, passes
// them through a shuffle buffer and cuts batches of batch_size records.
// Batches never span two epochs: an epoch's last batch holds the remainder
// (or is dropped with drop_remainder). Parse threads turn batches into
// FeatureBatch with the parser callback, in parallel; Next returns them in
// the order they were cut, so the output depends only on the options (and
// seed), never on thread timing.
//
// Shuffling (seeded, as tf.data.Dataset.shuffle with reshuffle_each_iteration
// and a seed): epoch e shuffles the file order and then keeps a buffer of
// shuffle_buffer_size records; each new record takes the place of a
// uniformly chosen buffered record, which is emitted; at the end of the epoch
// the buffer is emptied in random order. The buffer does not mix epochs.
//
// Memory is bounded: at most `prefetch_batches` batches are in flight (cut
// and not yet returned by Next), plus the shuffle buffer.
//
// Errors: a reader or parser exception is rethrown by the Next call that
// would have returned the failing batch (batches before it are returned
// first); the pipeline then stays failed and every later Next rethrows it.
// A parser's embcol::Error comes back as the same class with the prefix
// "Input batch N (epoch E, first record in PATH at byte B): " (N counts
// from 0 over the whole run), so with ParseCsv's "line K" of the batch the
// record can be found; other exceptions are rethrown unchanged.
// The destructor stops and joins all threads, even mid-epoch.
//
// Thread-compatible: call Next from one thread at a time.
#ifndef EMBCOL_INPUT_PIPELINE_H_
#define EMBCOL_INPUT_PIPELINE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "embcol/feature.h"
#include "embcol/record_reader.h"

namespace embcol {

using BatchParser = std::function<FeatureBatch(const std::vector<std::string>& records)>;

struct InputPipelineOptions {
  // File names or glob(3) patterns. A pattern that matches nothing is a
  // NotFound error naming it. Required.
  std::vector<std::string> file_patterns;
  // Opens a file (e.g. LineReaderFactory()). Required.
  RecordReaderFactory reader_factory;
  // Parses one batch of records (e.g. a lambda calling ParseCsv). Required.
  // Called from the parse threads concurrently, so it must be thread-safe.
  BatchParser parser;
  // Records per batch. Default 128; must be > 0.
  int64_t batch_size = 128;
  // Passes over the files; 0 repeats forever. Default 1.
  int64_t num_epochs = 1;
  // Stop after this many records in total (over all epochs); 0 = no limit.
  // The last batch may then be short (or dropped with drop_remainder).
  int64_t max_records = 0;
  // Shuffle files per epoch and records through the shuffle buffer.
  // Default false (records in file order).
  bool shuffle = false;
  // Shuffle buffer size in records (used when shuffle). Default 10000; > 0.
  int64_t shuffle_buffer_size = 10000;
  // Seed of the shuffle: the same seed gives the same order. Default 0.
  uint64_t seed = 0;
  // Threads running `parser`. Default 1; must be > 0.
  int num_parse_threads = 1;
  // Drop a short last batch (per epoch, and at max_records). Default false.
  bool drop_remainder = false;
  // Batches in flight between the reader and Next. Default 4; must be > 0.
  int prefetch_batches = 4;
  // Cut and discard (without parsing) the first skip_batches batches of the
  // run, as if Next had returned them: a resumed training run uses it to
  // continue the same batch sequence. Batch numbers in error messages still
  // count them. Default 0; must be >= 0.
  int64_t skip_batches = 0;
};

struct Batch {
  FeatureBatch features;
  // Records in this batch (batch_size except for a remainder).
  int64_t num_records = 0;
  // Epoch the records come from, counting from 0.
  int64_t epoch = 0;
};

class InputPipeline {
 public:
  // Validates the options (InvalidArgument naming the field), expands the
  // patterns (NotFound naming an unmatched pattern) and starts the threads.
  explicit InputPipeline(InputPipelineOptions options);
  ~InputPipeline();
  InputPipeline(const InputPipeline&) = delete;
  InputPipeline& operator=(const InputPipeline&) = delete;

  // The next batch into *out; false once the epochs or the record limit are
  // exhausted. Rethrows a reader or parser error (see above).
  bool Next(Batch* out);

  // The files of one epoch before shuffling: each pattern's sorted matches.
  const std::vector<std::string>& files() const { return files_; }

 private:
  struct Slot {
    bool ready = false;
    Batch batch;
    std::exception_ptr error;
  };
  struct Work {
    int64_t seq = 0;
    int64_t epoch = 0;
    std::vector<std::string> records;
    std::string source;  // "PATH at byte N" of the first record
  };

  void ReadLoop();
  void ParseLoop();
  // Hands a cut batch to the parse threads; false when stopping.
  bool Emit(std::vector<std::string>* records, int64_t epoch, const std::string& source);

  InputPipelineOptions options_;
  std::vector<std::string> files_;

  std::mutex mu_;
  std::condition_variable reader_cv_;  // room for another batch, or stop
  std::condition_variable parse_cv_;   // work queued, or stop
  std::condition_variable next_cv_;    // a slot became ready, or end
  std::atomic<bool> stop_{false};
  bool reader_done_ = false;         // no more batches will be cut
  int64_t skipped_ = 0;              // batches cut and dropped (skip_batches); reader only
  int64_t produced_ = 0;             // batches cut (next sequence number)
  int64_t consumed_ = 0;             // batches returned by Next
  std::deque<Work> work_;            // cut, waiting for a parse thread
  std::map<int64_t, Slot> slots_;    // by sequence number, consumed_ .. produced_-1
  std::exception_ptr reader_error_;  // surfaces after batch produced_-1
  std::exception_ptr failed_;        // rethrown by every Next after an error

  std::thread reader_;
  std::vector<std::thread> parsers_;
};

}  // namespace embcol

#endif  // EMBCOL_INPUT_PIPELINE_H_
