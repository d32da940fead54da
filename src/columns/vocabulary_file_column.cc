// categorical_column_with_vocabulary_file (reference §2.3). The file is read
// once, here; the lookup is a VocabularyListCategoricalColumn over its first
// vocabulary_size lines.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "embcol/categorical_column.h"
#include "embcol/errors.h"
#include "columns/sparse_input.h"

namespace embcol {
namespace {

// Splits `text` into lines as Python's file iteration does (a final line
// without "\n" still counts), dropping the "\n" and one trailing "\r".
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

}  // namespace

VocabularyFileCategoricalColumn::VocabularyFileCategoricalColumn(
    std::string key, std::string vocabulary_file,
    std::optional<int64_t> vocabulary_size, int64_t num_oov_buckets, DType dtype,
    std::optional<int64_t> default_value)
    : key_(std::move(key)),
      vocabulary_file_(std::move(vocabulary_file)),
      vocabulary_size_(0),
      num_oov_buckets_(num_oov_buckets),
      dtype_(dtype),
      default_value_(default_value.value_or(-1)) {
  const std::string column = "categorical_column_with_vocabulary_file '" + key_ + "'";
  if (key_.empty()) {
    throw InvalidArgument(
        "key must be a non-empty string. In categorical_column_with_vocabulary_file: "
        "give the name of a string or int64 feature.");
  }
  if (vocabulary_file_.empty()) {
    throw InvalidArgument("Missing vocabulary_file in " + key_ + ". In " + column +
                          ": give the path of a text file with one token per line.");
  }
  if (vocabulary_size && *vocabulary_size < 1) {
    throw InvalidArgument("Invalid vocabulary_size in " + key_ + ". In " + column +
                          ": vocabulary_size is " + std::to_string(*vocabulary_size) +
                          "; it must be >= 1, or omit it to use the line count.");
  }
  if (num_oov_buckets_ < 0) {
    throw InvalidArgument("Invalid num_oov_buckets " + std::to_string(num_oov_buckets_) +
                          " in " + key_ + ". In " + column +
                          ": num_oov_buckets must be >= 0.");
  }
  // -1 is the stored form of "no default" (default_value() returns it), so a
  // column rebuilt from its accessors is accepted; the factory applies
  // TensorFlow's stricter "default_value is not None" check.
  if (default_value_ != -1 && num_oov_buckets_ > 0) {
    throw InvalidArgument("Can't specify both num_oov_buckets and default_value in " +
                          key_ + ". In " + column +
                          ": set default_value or num_oov_buckets, not both.");
  }
  internal::CheckStringOrIntDType(dtype_, key_, "vocabulary", column);

  std::error_code ignored;
  if (std::filesystem::is_directory(vocabulary_file_, ignored)) {
    throw InvalidArgument("vocabulary_file in " + key_ + " does not exist. In " +
                          column + ": '" + vocabulary_file_ +
                          "' is a directory; give the path of a text file.");
  }
  std::ifstream in(vocabulary_file_, std::ios::binary);
  if (!in) {
    throw InvalidArgument("vocabulary_file in " + key_ + " does not exist. In " +
                          column + ": cannot open '" + vocabulary_file_ + "' (" +
                          std::strerror(errno) + "); check the path.");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw InvalidArgument("vocabulary_file in " + key_ + " cannot be read. In " +
                          column + ": reading '" + vocabulary_file_ + "' failed.");
  }
  const std::string text = std::move(buffer).str();
  const std::vector<std::string_view> lines = SplitLines(text);
  const int64_t line_count = static_cast<int64_t>(lines.size());
  if (line_count == 0) {
    throw InvalidArgument("Invalid vocab_size in " + key_ + ". In " + column +
                          ": vocabulary_file '" + vocabulary_file_ +
                          "' is empty; it needs one token per line.");
  }
  vocabulary_size_ = vocabulary_size.value_or(line_count);
  if (vocabulary_size_ > line_count) {
    throw InvalidArgument("Invalid vocab_size in " + key_ + ". In " + column +
                          ": vocabulary_size is " + std::to_string(vocabulary_size_) +
                          " but vocabulary_file '" + vocabulary_file_ + "' has " +
                          std::to_string(line_count) +
                          " lines; lower vocabulary_size or omit it.");
  }

  // Only the first vocabulary_size lines form the vocabulary (TensorFlow's
  // table initializer stops there), so only they are checked.
  auto duplicate = [&](std::string_view token, int64_t first, int64_t second) {
    return InvalidArgument(
        "HashTable has different value for same key. Key " + std::string(token) +
        " has " + std::to_string(first) + " and trying to add value " +
        std::to_string(second) + ". In " + column + ": vocabulary_file '" +
        vocabulary_file_ + "' repeats token '" + std::string(token) + "' on line " +
        std::to_string(first + 1) + " and line " + std::to_string(second + 1) +
        "; remove the repeat.");
  };
  std::variant<Strings, Int64s> vocabulary;
  if (dtype_ == DType::kInt64) {
    Int64s ids;
    ids.reserve(vocabulary_size_);
    absl::flat_hash_map<int64_t, int64_t> seen;
    for (int64_t i = 0; i < vocabulary_size_; ++i) {
      int64_t value = 0;
      if (!absl::SimpleAtoi(absl::string_view(lines[i].data(), lines[i].size()),
                            &value)) {
        throw InvalidArgument("Field " + std::string(lines[i]) +
                              " is not a valid int64 key. In " + column +
                              ": line " + std::to_string(i + 1) + " of vocabulary_file '" +
                              vocabulary_file_ +
                              "' is not an integer; fix the line or use dtype string.");
      }
      auto [it, inserted] = seen.try_emplace(value, i);
      if (!inserted) throw duplicate(lines[i], it->second, i);
      ids.push_back(value);
    }
    vocabulary = std::move(ids);
  } else {
    Strings tokens;
    tokens.reserve(vocabulary_size_);
    absl::flat_hash_map<std::string_view, int64_t> seen;
    for (int64_t i = 0; i < vocabulary_size_; ++i) {
      auto [it, inserted] = seen.try_emplace(lines[i], i);
      if (!inserted) throw duplicate(lines[i], it->second, i);
      tokens.emplace_back(lines[i]);
    }
    vocabulary = std::move(tokens);
  }
  list_ = std::make_shared<VocabularyListCategoricalColumn>(
      key_, std::move(vocabulary), dtype_, default_value_, num_oov_buckets_);
}

IdTensor VocabularyFileCategoricalColumn::GetSparseTensors(
    const FeatureBatch& batch) const {
  return list_->GetSparseTensors(batch);
}

CategoricalColumnPtr categorical_column_with_vocabulary_file(
    const std::string& key, const std::string& vocabulary_file,
    std::optional<int64_t> vocabulary_size, int64_t num_oov_buckets,
    std::optional<int64_t> default_value, DType dtype) {
  if (default_value && num_oov_buckets > 0) {
    throw InvalidArgument("Can't specify both num_oov_buckets and default_value in " +
                          key + ". In categorical_column_with_vocabulary_file '" + key +
                          "': set default_value or num_oov_buckets, not both.");
  }
  return std::make_shared<VocabularyFileCategoricalColumn>(
      key, vocabulary_file, vocabulary_size, num_oov_buckets, dtype, default_value);
}

CategoricalColumnPtr sequence_categorical_column_with_vocabulary_file(
    const std::string& key, const std::string& vocabulary_file,
    std::optional<int64_t> vocabulary_size, int64_t num_oov_buckets,
    std::optional<int64_t> default_value, DType dtype) {
  return std::make_shared<SequenceCategoricalColumn>(
      categorical_column_with_vocabulary_file(key, vocabulary_file, vocabulary_size,
                                              num_oov_buckets, default_value, dtype));
}

}  // namespace embcol
