#include "embcol/input_pipeline.h"

#include <glob.h>

#include <algorithm>
#include <utility>

#include "embcol/errors.h"

namespace embcol {
namespace {

// SplitMix64: a small, portable generator, so a seed gives the same order
// with every standard library.
class Rng {
 public:
  Rng(uint64_t seed, int64_t epoch)
      : state_(seed ^ (static_cast<uint64_t>(epoch) + 1) * 0xD1B54A32D192ED03ull) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (multiply-shift; the bias is below 2^-40 for n < 2^24).
  size_t Uniform(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

std::vector<std::string> ExpandPatterns(const std::vector<std::string>& patterns) {
  std::vector<std::string> files;
  for (const std::string& pattern : patterns) {
    glob_t g{};
    const int rc = glob(pattern.c_str(), 0, nullptr, &g);
    if (rc != 0) {
      globfree(&g);
      if (rc == GLOB_NOMATCH) {
        throw NotFound("Input file pattern '" + pattern +
                       "' matches no file; check the path and the wildcard.");
      }
      throw Unavailable("Cannot expand input file pattern '" + pattern + "' (glob error " +
                        std::to_string(rc) + ").");
    }
    std::vector<std::string> matches(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    globfree(&g);
    std::sort(matches.begin(), matches.end());
    files.insert(files.end(), matches.begin(), matches.end());
  }
  return files;
}

// `e` again, as the same class, with `prefix` before its message.
std::exception_ptr WithContext(const Error& e, const std::string& prefix) {
  const std::string m = prefix + e.what();
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      return std::make_exception_ptr(InvalidArgument(m));
    case ErrorCode::kNotFound:
      return std::make_exception_ptr(NotFound(m));
    case ErrorCode::kOutOfRange:
      return std::make_exception_ptr(OutOfRange(m));
    case ErrorCode::kFailedPrecondition:
      return std::make_exception_ptr(FailedPrecondition(m));
    case ErrorCode::kDataLoss:
      return std::make_exception_ptr(DataLoss(m));
    case ErrorCode::kUnavailable:
      return std::make_exception_ptr(Unavailable(m));
    case ErrorCode::kInternal:
      return std::make_exception_ptr(Internal(m));
  }
  return std::make_exception_ptr(Internal(m));
}

void Require(bool ok, const std::string& what) {
  if (!ok) throw InvalidArgument("InputPipelineOptions: " + what);
}

}  // namespace

InputPipeline::InputPipeline(InputPipelineOptions options) : options_(std::move(options)) {
  Require(!options_.file_patterns.empty(),
          "file_patterns is empty; give at least one file or glob.");
  Require(static_cast<bool>(options_.reader_factory), "reader_factory is not set.");
  Require(static_cast<bool>(options_.parser), "parser is not set.");
  Require(options_.batch_size > 0, "batch_size must be > 0.");
  Require(options_.num_epochs >= 0, "num_epochs must be >= 0 (0 repeats forever).");
  Require(options_.max_records >= 0, "max_records must be >= 0 (0 = no limit).");
  Require(options_.skip_batches >= 0, "skip_batches must be >= 0.");
  Require(!options_.shuffle || options_.shuffle_buffer_size > 0,
          "shuffle_buffer_size must be > 0 when shuffle is on.");
  Require(options_.num_parse_threads > 0, "num_parse_threads must be > 0.");
  Require(options_.prefetch_batches > 0, "prefetch_batches must be > 0.");
  files_ = ExpandPatterns(options_.file_patterns);

  reader_ = std::thread([this] { ReadLoop(); });
  for (int i = 0; i < options_.num_parse_threads; ++i) {
    parsers_.emplace_back([this] { ParseLoop(); });
  }
}

InputPipeline::~InputPipeline() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  reader_cv_.notify_all();
  parse_cv_.notify_all();
  next_cv_.notify_all();
  reader_.join();
  for (std::thread& t : parsers_) t.join();
}

bool InputPipeline::Emit(std::vector<std::string>* records, int64_t epoch,
                         const std::string& source) {
  if (skipped_ < options_.skip_batches) {  // cut but never parsed (resuming)
    ++skipped_;
    records->clear();
    return !stop_;
  }
  std::unique_lock<std::mutex> lock(mu_);
  reader_cv_.wait(lock,
                  [this] { return stop_ || produced_ - consumed_ < options_.prefetch_batches; });
  if (stop_) return false;
  const int64_t seq = produced_++;
  slots_[seq];
  work_.push_back(Work{seq, epoch, std::move(*records), source});
  records->clear();
  lock.unlock();
  parse_cv_.notify_one();
  return true;
}

void InputPipeline::ReadLoop() {
  const InputPipelineOptions& o = options_;
  try {
    int64_t total = 0;  // records emitted so far, over all epochs
    bool limit_reached = false;
    for (int64_t epoch = 0; (o.num_epochs == 0 || epoch < o.num_epochs) && !limit_reached;
         ++epoch) {
      Rng rng(o.seed, epoch);
      std::vector<std::string> order = files_;
      if (o.shuffle) {
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Uniform(i)]);
      }
      std::vector<std::string> batch;
      std::string batch_source;  // where the batch's first record comes from
      int64_t epoch_records = 0;
      // Appends one record to the batch; false when reading must stop.
      auto take = [&](std::string&& record, const std::string& path, int64_t offset) {
        if (batch.empty()) batch_source = path + " at byte " + std::to_string(offset);
        batch.push_back(std::move(record));
        ++total;
        ++epoch_records;
        limit_reached = o.max_records > 0 && total >= o.max_records;
        if (static_cast<int64_t>(batch.size()) == o.batch_size &&
            !Emit(&batch, epoch, batch_source)) {
          return false;
        }
        return !limit_reached && !stop_;
      };

      // The shuffle buffer, with each record's file (index in `order`) and
      // byte offset.
      struct Buffered {
        std::string record;
        size_t file = 0;
        int64_t offset = 0;
      };
      std::vector<Buffered> buffer;
      const size_t buffer_size = o.shuffle ? static_cast<size_t>(o.shuffle_buffer_size) : 0;
      bool go = true;
      Buffered in;
      for (size_t f = 0; f < order.size() && go; ++f) {
        std::unique_ptr<RecordReader> reader = o.reader_factory(order[f]);
        in.file = f;
        in.offset = reader->offset();
        while (go && reader->Next(&in.record)) {
          if (!o.shuffle) {
            go = take(std::move(in.record), order[f], in.offset);
          } else if (buffer.size() < buffer_size) {
            buffer.push_back(std::move(in));
            go = !stop_;
          } else {
            std::swap(in, buffer[rng.Uniform(buffer.size())]);
            go = take(std::move(in.record), order[in.file], in.offset);
          }
          in.file = f;
          in.offset = reader->offset();
        }
      }
      while (go && !buffer.empty()) {
        std::swap(buffer[rng.Uniform(buffer.size())], buffer.back());
        go = take(std::move(buffer.back().record), order[buffer.back().file], buffer.back().offset);
        buffer.pop_back();
      }
      if (stop_) break;
      if (!batch.empty() && !o.drop_remainder && !Emit(&batch, epoch, batch_source)) break;
      // Repeating forever over files without records would spin.
      if (epoch_records == 0) break;
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    reader_error_ = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    reader_done_ = true;
  }
  parse_cv_.notify_all();
  next_cv_.notify_all();
}

void InputPipeline::ParseLoop() {
  for (;;) {
    Work work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      parse_cv_.wait(lock, [this] { return stop_ || !work_.empty() || reader_done_; });
      if (stop_ || work_.empty()) return;
      work = std::move(work_.front());
      work_.pop_front();
    }
    Slot done;
    done.ready = true;
    try {
      done.batch.num_records = static_cast<int64_t>(work.records.size());
      done.batch.epoch = work.epoch;
      done.batch.features = options_.parser(work.records);
    } catch (const Error& e) {
      // Same error class, with where the batch comes from.
      done.error = WithContext(e, "Input batch " + std::to_string(options_.skip_batches + work.seq) + " (epoch " +
                                      std::to_string(work.epoch) + ", first record in " +
                                      work.source + "): ");
    } catch (...) {
      done.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      slots_[work.seq] = std::move(done);
    }
    next_cv_.notify_all();
  }
}

bool InputPipeline::Next(Batch* out) {
  if (failed_) std::rethrow_exception(failed_);
  std::unique_lock<std::mutex> lock(mu_);
  next_cv_.wait(lock, [this] {
    auto it = slots_.find(consumed_);
    return (it != slots_.end() && it->second.ready) || (reader_done_ && consumed_ == produced_);
  });
  auto it = slots_.find(consumed_);
  if (it == slots_.end()) {
    if (reader_error_) {
      failed_ = reader_error_;
      std::rethrow_exception(failed_);
    }
    return false;
  }
  Slot slot = std::move(it->second);
  slots_.erase(it);
  ++consumed_;
  lock.unlock();
  reader_cv_.notify_one();
  if (slot.error) {
    failed_ = slot.error;
    std::rethrow_exception(failed_);
  }
  *out = std::move(slot.batch);
  return true;
}

}  // namespace embcol
