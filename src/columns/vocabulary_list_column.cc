// categorical_column_with_vocabulary_list (reference §2.2). The vocabulary
// file column (vocabulary_file_column.cc) reuses this class for its lookup.
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "columns/sparse_input.h"
#include "core/hashing.h"
#include "embcol/categorical_column.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

std::string Describe(const std::string& key) {
  return "vocabulary column '" + key + "'";
}

std::string ListText(const std::variant<Strings, Int64s>& vocabulary) {
  std::string s = "[";
  std::visit(
      [&](const auto& list) {
        for (size_t i = 0; i < list.size(); ++i) {
          if (i > 0) s += ", ";
          if (i == 8) {
            s += "... (" + std::to_string(list.size()) + " entries)";
            break;
          }
          if constexpr (std::is_same_v<std::decay_t<decltype(list)>, Strings>) {
            s += "'" + list[i] + "'";
          } else {
            s += std::to_string(list[i]);
          }
        }
      },
      vocabulary);
  return s + "]";
}

std::string ValueText(const std::string& v) { return "'" + v + "'"; }
std::string ValueText(int64_t v) { return std::to_string(v); }

}  // namespace

// Hash index from vocabulary entry to its position.
struct VocabularyListCategoricalColumn::Index {
  absl::flat_hash_map<std::string, int64_t> strings;
  absl::flat_hash_map<int64_t, int64_t> ints;
};

VocabularyListCategoricalColumn::VocabularyListCategoricalColumn(
    std::string key, std::variant<Strings, Int64s> vocabulary,
    std::optional<DType> dtype, int64_t default_value, int64_t num_oov_buckets)
    : key_(std::move(key)),
      vocabulary_(std::move(vocabulary)),
      dtype_(DType::kString),
      default_value_(default_value),
      num_oov_buckets_(num_oov_buckets) {
  const std::string column = "categorical_column_with_vocabulary_list '" + key_ + "'";
  if (key_.empty()) {
    throw InvalidArgument(
        "key must be a non-empty string. In categorical_column_with_vocabulary_list: "
        "give the name of a string or int64 feature.");
  }
  const bool int_vocabulary = std::holds_alternative<Int64s>(vocabulary_);
  const DType vocabulary_dtype = int_vocabulary ? DType::kInt64 : DType::kString;
  const size_t size =
      std::visit([](const auto& list) { return list.size(); }, vocabulary_);
  if (size == 0) {
    throw InvalidArgument("vocabulary_list [] must be non-empty, column_name: " + key_ +
                          ". In " + column + ": give at least one entry.");
  }
  if (num_oov_buckets_ < 0) {
    throw InvalidArgument("Invalid num_oov_buckets " + std::to_string(num_oov_buckets_) +
                          " in " + key_ + ". In " + column +
                          ": num_oov_buckets must be >= 0.");
  }
  if (default_value_ != -1 && num_oov_buckets_ > 0) {
    throw InvalidArgument("Can't specify both num_oov_buckets and default_value in " +
                          key_ + ". In " + column +
                          ": leave default_value at -1 or set num_oov_buckets to 0.");
  }
  if (dtype) {
    internal::CheckStringOrIntDType(*dtype, key_, "vocabulary", column);
    if ((*dtype == DType::kInt64) != int_vocabulary) {
      throw InvalidArgument("dtype " + std::string(DTypeName(*dtype)) +
                            " and vocabulary dtype " +
                            std::string(DTypeName(vocabulary_dtype)) +
                            " do not match, column_name: " + key_ + ". In " + column +
                            ": pass a vocabulary of " +
                            std::string(DTypeName(*dtype)) +
                            " values or omit dtype.");
    }
  }
  dtype_ = vocabulary_dtype;

  auto index = std::make_shared<Index>();
  std::visit(
      [&](const auto& list) {
        auto& map = [&]() -> auto& {
          if constexpr (std::is_same_v<std::decay_t<decltype(list)>, Strings>) {
            return index->strings;
          } else {
            return index->ints;
          }
        }();
        map.reserve(list.size());
        for (size_t i = 0; i < list.size(); ++i) {
          auto [it, inserted] = map.try_emplace(list[i], static_cast<int64_t>(i));
          if (!inserted) {
            throw InvalidArgument(
                "Duplicate keys in vocabulary_list " + ListText(vocabulary_) +
                ", column_name: " + key_ + ". In " + column + ": entry " +
                ValueText(list[i]) + " appears at positions " +
                std::to_string(it->second) + " and " + std::to_string(i) +
                "; remove the repeat.");
          }
        }
      },
      vocabulary_);
  index_ = std::move(index);
}

int64_t VocabularyListCategoricalColumn::num_buckets() const {
  const size_t size =
      std::visit([](const auto& list) { return list.size(); }, vocabulary_);
  return static_cast<int64_t>(size) + num_oov_buckets_;
}

IdTensor VocabularyListCategoricalColumn::GetSparseTensors(
    const FeatureBatch& batch) const {
  const std::string column = Describe(key_);
  const Feature& feature = internal::GetRawFeature(batch, key_);
  internal::CheckStringOrIntInput(feature, key_, column);
  internal::CheckCompatibleInput(dtype_, feature, key_, column);
  internal::SparseView view = internal::Sparsify(feature, internal::DropCells::kIgnoreIds);
  const int64_t nnz = view.nnz();
  const int64_t size = num_buckets() - num_oov_buckets_;
  const uint64_t oov = static_cast<uint64_t>(num_oov_buckets_);
  IdTensor out = internal::TakeIndices(view);
  if (dtype_ == DType::kString) {
    const Strings& values = feature.string_values();
    for (int64_t i = 0; i < nnz; ++i) {
      const std::string& v = values[view.position(i)];
      const auto it = index_->strings.find(absl::string_view(v.data(), v.size()));
      if (it != index_->strings.end()) {
        out.ids.push_back(it->second);
      } else if (oov > 0) {
        out.ids.push_back(size + static_cast<int64_t>(internal::Fingerprint64(v) % oov));
      } else {
        out.ids.push_back(default_value_);
      }
    }
  } else {
    const Int64s& values = feature.int64_values();
    for (int64_t i = 0; i < nnz; ++i) {
      const int64_t v = values[view.position(i)];
      const auto it = index_->ints.find(v);
      if (it != index_->ints.end()) {
        out.ids.push_back(it->second);
      } else if (oov > 0) {
        out.ids.push_back(size +
                          static_cast<int64_t>(internal::FingerprintDecimal(v) % oov));
      } else {
        out.ids.push_back(default_value_);
      }
    }
  }
  return out;
}

CategoricalColumnPtr categorical_column_with_vocabulary_list(
    const std::string& key, std::variant<Strings, Int64s> vocabulary_list,
    std::optional<DType> dtype, int64_t default_value, int64_t num_oov_buckets) {
  return std::make_shared<VocabularyListCategoricalColumn>(
      key, std::move(vocabulary_list), dtype, default_value, num_oov_buckets);
}

CategoricalColumnPtr sequence_categorical_column_with_vocabulary_list(
    const std::string& key, std::variant<Strings, Int64s> vocabulary_list,
    std::optional<DType> dtype, int64_t default_value, int64_t num_oov_buckets) {
  return std::make_shared<SequenceCategoricalColumn>(
      categorical_column_with_vocabulary_list(key, std::move(vocabulary_list), dtype,
                                              default_value, num_oov_buckets));
}

}  // namespace embcol
