// categorical_column_with_dynamic_vocabulary (embcol): raw keys, deduplicated
// per batch, for a dynamic table. See categorical_column.h.
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "columns/sparse_input.h"
#include "embcol/categorical_column.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

std::string Describe(const std::string& key) {
  return "categorical_column_with_dynamic_vocabulary '" + key + "'";
}

// Appends, for each kept value, the position of its key in `unique` (adding
// the key on first sight). `key_of(i)` is the key of kept value i.
template <typename Key, typename Stored, typename KeyOf>
void Dedup(int64_t nnz, KeyOf key_of, std::vector<Stored>& unique, std::vector<int64_t>& ids) {
  std::unordered_map<Key, int64_t> position;
  position.reserve(static_cast<size_t>(nnz));
  for (int64_t i = 0; i < nnz; ++i) {
    const Key key = key_of(i);
    auto [it, inserted] = position.try_emplace(key, static_cast<int64_t>(unique.size()));
    if (inserted) unique.push_back(Stored(key));
    ids.push_back(it->second);
  }
}

}  // namespace

DynamicVocabularyCategoricalColumn::DynamicVocabularyCategoricalColumn(std::string key,
                                                                       std::string dtype)
    : key_(std::move(key)), dtype_(std::move(dtype)) {
  if (key_.empty()) {
    throw InvalidArgument(
        "key must be a non-empty string. In categorical_column_with_dynamic_vocabulary: "
        "give the name of an int64 or string feature.");
  }
  if (dtype_ != "int64" && dtype_ != "int32" && dtype_ != "string") {
    throw InvalidArgument(Describe(key_) + ": dtype '" + dtype_ +
                          "' is not a key dtype; use \"int64\", \"int32\" or \"string\".");
  }
}

IdTensor DynamicVocabularyCategoricalColumn::GetSparseTensors(const FeatureBatch& batch) const {
  const Feature& feature = internal::GetRawFeature(batch, key_);
  const bool want_string = dtype_ == "string";
  if ((feature.dtype() == DType::kString) != want_string ||
      feature.dtype() == DType::kFloat32) {
    std::string fix = std::string("feed ") + (want_string ? "string" : "integer") + " values";
    if (feature.dtype() == DType::kFloat32) {
      fix += " (float features cannot be keys)";
    } else {
      fix += std::string(", or create the column with dtype ") +
             (want_string ? "\"int64\"" : "\"string\"");
    }
    throw InvalidArgument(Describe(key_) + ": feature '" + key_ + "' has dtype " +
                          std::string(DTypeName(feature.dtype())) +
                          ", but the column's keys are " + dtype_ + "; " + fix + ".");
  }
  internal::SparseView view = internal::Sparsify(feature, internal::DropCells::kIgnoreIds);
  const int64_t nnz = view.nnz();
  IdTensor out = internal::TakeIndices(view);
  auto keys = std::make_shared<IdKeys>();
  if (want_string) {
    const Strings& values = feature.string_values();
    std::vector<std::string> unique;
    Dedup<std::string_view>(
        nnz, [&](int64_t i) { return std::string_view(values[view.position(i)]); }, unique,
        out.ids);
    keys->keys = std::move(unique);
  } else if (dtype_ == "int64") {
    const Int64s& values = feature.int64_values();
    std::vector<int64_t> unique;
    Dedup<int64_t>(nnz, [&](int64_t i) { return values[view.position(i)]; }, unique, out.ids);
    keys->keys = std::move(unique);
  } else {
    const Int64s& values = feature.int64_values();
    for (int64_t i = 0; i < nnz; ++i) {
      const int64_t v = values[view.position(i)];
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
        throw InvalidArgument(Describe(key_) + ": feature '" + key_ + "' value " +
                              std::to_string(v) + " at position " +
                              std::to_string(view.position(i)) +
                              " does not fit the column's int32 keys; create the column "
                              "with dtype \"int64\".");
      }
    }
    std::vector<int32_t> unique;
    Dedup<int32_t>(
        nnz, [&](int64_t i) { return static_cast<int32_t>(values[view.position(i)]); }, unique,
        out.ids);
    keys->keys = std::move(unique);
  }
  out.keys = std::move(keys);
  return out;
}

const DynamicVocabularyCategoricalColumn* FindDynamicVocabularyColumn(
    const CategoricalColumn& column) {
  const CategoricalColumn* c = &column;
  for (;;) {
    if (auto* d = dynamic_cast<const DynamicVocabularyCategoricalColumn*>(c)) return d;
    if (auto* w = dynamic_cast<const WeightedCategoricalColumn*>(c)) {
      c = w->categorical_column().get();
    } else if (auto* s = dynamic_cast<const SequenceCategoricalColumn*>(c)) {
      c = s->categorical_column().get();
    } else {
      return nullptr;
    }
  }
}

CategoricalColumnPtr categorical_column_with_dynamic_vocabulary(const std::string& key,
                                                                const std::string& dtype) {
  return std::make_shared<DynamicVocabularyCategoricalColumn>(key, dtype);
}

CategoricalColumnPtr sequence_categorical_column_with_dynamic_vocabulary(
    const std::string& key, const std::string& dtype) {
  return std::make_shared<SequenceCategoricalColumn>(
      categorical_column_with_dynamic_vocabulary(key, dtype));
}

}  // namespace embcol
