// Categorical columns: TensorFlow's tf.feature_column.categorical_column_*
// functions, with TensorFlow's arguments, defaults, id semantics and errors,
// plus embcol's categorical_column_with_dynamic_vocabulary (raw keys for a
// dynamic table, no bucket count).
//
// Each factory validates its arguments and throws InvalidArgument with
// TensorFlow's message (naming the column) on bad ones. The returned columns
// are immutable and thread-safe.
//
// Raw input handling shared by all of them (TensorFlow's rules):
//  * a dense input is sparsified by dropping "ignore" cells: -1 for integer
//    input, "" for string input; kept cells keep their (row, col) index;
//  * a sparse or ragged input is used as given;
//  * rank-1 input becomes [batch, 1]; rank 0 is an error.
#ifndef EMBCOL_CATEGORICAL_COLUMN_H_
#define EMBCOL_CATEGORICAL_COLUMN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "embcol/feature_column.h"

namespace embcol {

// ---- identity ----------------------------------------------------------
// Ids are the integer values themselves. With default_value, values < 0 or
// >= num_buckets become default_value. Without it, values pass unchanged:
// negative ids are later pruned by the safe lookup, ids >= num_buckets are an
// OutOfRange error (naming the key and the id) at GetSparseTensors.
class IdentityCategoricalColumn final : public CategoricalColumn {
 public:
  IdentityCategoricalColumn(std::string key, int64_t num_buckets,
                            std::optional<int64_t> default_value);
  std::string name() const override { return key_; }
  std::string class_name() const override { return "IdentityCategoricalColumn"; }
  std::vector<std::string> input_keys() const override { return {key_}; }
  int64_t num_buckets() const override { return num_buckets_; }
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;

  const std::string& key() const { return key_; }
  const std::optional<int64_t>& default_value() const { return default_value_; }

 private:
  std::string key_;
  int64_t num_buckets_;
  std::optional<int64_t> default_value_;
};

// ---- vocabulary list ---------------------------------------------------
// Vocabulary of strings or of integers (Int64s). id = position in the list;
// out-of-vocabulary values get len + Fingerprint64(text) % num_oov_buckets
// when num_oov_buckets > 0, else default_value (-1: pruned by the lookup).
class VocabularyListCategoricalColumn final : public CategoricalColumn {
 public:
  // dtype: nullopt infers string / int64 from the vocabulary.
  VocabularyListCategoricalColumn(std::string key,
                                  std::variant<Strings, Int64s> vocabulary,
                                  std::optional<DType> dtype,
                                  int64_t default_value, int64_t num_oov_buckets);
  std::string name() const override { return key_; }
  std::string class_name() const override {
    return "VocabularyListCategoricalColumn";
  }
  std::vector<std::string> input_keys() const override { return {key_}; }
  int64_t num_buckets() const override;
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;

  const std::string& key() const { return key_; }
  const std::variant<Strings, Int64s>& vocabulary() const { return vocabulary_; }
  DType dtype() const { return dtype_; }
  int64_t default_value() const { return default_value_; }
  int64_t num_oov_buckets() const { return num_oov_buckets_; }

 private:
  struct Index;  // hash index over the vocabulary
  std::string key_;
  std::variant<Strings, Int64s> vocabulary_;
  DType dtype_;
  int64_t default_value_;
  int64_t num_oov_buckets_;
  std::shared_ptr<const Index> index_;
};

// ---- vocabulary file ---------------------------------------------------
// One token per line (the whole line, without "\n" or "\r\n"); id = line
// number. vocabulary_size nullopt: the number of lines. A size larger than
// the file, a missing file, or a duplicate token is an error naming the file.
// The file is read once, at construction.
class VocabularyFileCategoricalColumn final : public CategoricalColumn {
 public:
  VocabularyFileCategoricalColumn(std::string key, std::string vocabulary_file,
                                  std::optional<int64_t> vocabulary_size,
                                  int64_t num_oov_buckets, DType dtype,
                                  std::optional<int64_t> default_value);
  std::string name() const override { return key_; }
  std::string class_name() const override {
    return "VocabularyFileCategoricalColumn";
  }
  std::vector<std::string> input_keys() const override { return {key_}; }
  int64_t num_buckets() const override {
    return vocabulary_size_ + num_oov_buckets_;
  }
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;

  const std::string& key() const { return key_; }
  const std::string& vocabulary_file() const { return vocabulary_file_; }
  int64_t vocabulary_size() const { return vocabulary_size_; }
  int64_t num_oov_buckets() const { return num_oov_buckets_; }
  DType dtype() const { return dtype_; }
  int64_t default_value() const { return default_value_; }  // -1 when unset

 private:
  std::string key_;
  std::string vocabulary_file_;
  int64_t vocabulary_size_;
  int64_t num_oov_buckets_;
  DType dtype_;
  int64_t default_value_;
  std::shared_ptr<const VocabularyListCategoricalColumn> list_;  // the lookup
};

// ---- hash bucket -------------------------------------------------------
// id = Fingerprint64(bytes) mod hash_bucket_size (unsigned). Integer values
// are hashed through their decimal text ("-5"), as TensorFlow does.
class HashedCategoricalColumn final : public CategoricalColumn {
 public:
  HashedCategoricalColumn(std::string key, int64_t hash_bucket_size, DType dtype);
  std::string name() const override { return key_; }
  std::string class_name() const override { return "HashedCategoricalColumn"; }
  std::vector<std::string> input_keys() const override { return {key_}; }
  int64_t num_buckets() const override { return hash_bucket_size_; }
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;

  const std::string& key() const { return key_; }
  int64_t hash_bucket_size() const { return hash_bucket_size_; }
  DType dtype() const { return dtype_; }

 private:
  std::string key_;
  int64_t hash_bucket_size_;
  DType dtype_;
};

// ---- weighted ----------------------------------------------------------
// Pairs the inner column's ids with the float values of weight_feature_key,
// by position (value i of the weights goes with id i). The weight feature
// must have as many values as the id feature (checked; TensorFlow fails
// later with a shape error). A dense weight feature drops 0.0 cells.
class WeightedCategoricalColumn final : public CategoricalColumn {
 public:
  WeightedCategoricalColumn(CategoricalColumnPtr categorical_column,
                            std::string weight_feature_key, DType dtype);
  std::string name() const override;  // "<inner>_weighted_by_<key>"
  std::string class_name() const override { return "WeightedCategoricalColumn"; }
  std::vector<std::string> input_keys() const override;
  int64_t num_buckets() const override { return inner_->num_buckets(); }
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;
  bool is_sequence() const override { return inner_->is_sequence(); }

  const CategoricalColumnPtr& categorical_column() const { return inner_; }
  const std::string& weight_feature_key() const { return weight_feature_key_; }
  DType dtype() const { return dtype_; }

 private:
  CategoricalColumnPtr inner_;
  std::string weight_feature_key_;
  DType dtype_;
};

// ---- crossed -----------------------------------------------------------
// A key is a raw string feature name or a categorical column (not a hashed
// one). Ids are TensorFlow's SparseCross hashes: per row the cartesian
// product of the inputs' values (last input fastest), each value
// fingerprinted (strings: Fingerprint64; int64 ids: the raw value), folded
// with FingerprintCat64 starting from hash_key (default 0xDECAFCAFFE),
// mod hash_bucket_size.
using CrossedKey = std::variant<std::string, CategoricalColumnPtr>;
inline constexpr uint64_t kDefaultHashKey = 0xDECAFCAFFEull;

class CrossedColumn final : public CategoricalColumn {
 public:
  CrossedColumn(std::vector<CrossedKey> keys, int64_t hash_bucket_size,
                std::optional<int64_t> hash_key);
  std::string name() const override;  // sorted leaf names joined by "_X_"
  std::string class_name() const override { return "CrossedColumn"; }
  std::vector<std::string> input_keys() const override;
  int64_t num_buckets() const override { return hash_bucket_size_; }
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;

  const std::vector<CrossedKey>& keys() const { return keys_; }
  int64_t hash_bucket_size() const { return hash_bucket_size_; }
  const std::optional<int64_t>& hash_key() const { return hash_key_; }

 private:
  std::vector<CrossedKey> keys_;
  int64_t hash_bucket_size_;
  std::optional<int64_t> hash_key_;
};

// ---- dynamic vocabulary (embcol) ----------------------------------------
// A column without a vocabulary or bucket count: the raw keys of the feature
// (int64, int32 or string) are the keys of a dynamic table
// (dynamic_embedding::Variable), so there is no hashing and no collision.
// TensorFlow has no such column; DeepRec's categorical_column_with_embedding
// is the closest. Usable only through embedding_column / shared_embeddings,
// whose layer backs it with a dynamic table (table_set.h).
//
// GetSparseTensors deduplicates the batch's keys in first-occurrence order
// into IdTensor::keys and sets ids[i] = the position of value i's key in that
// list. Every key is valid, negative ones included (as in TFRA); a dense
// input still drops its -1 / "" cells (the ignore value of every categorical
// column), a sparse or ragged input is used as given.
//
// num_buckets() is kDynamicVocabularySize: indicator_column, crossed_column
// and fixed tables, which need a bucket count, reject the column.
inline constexpr int64_t kDynamicVocabularySize = -1;

class DynamicVocabularyCategoricalColumn final : public CategoricalColumn {
 public:
  // dtype: the key dtype, "int64", "int32" or "string". Integer keys are
  // read from an int64 feature (int32: each value must fit in int32).
  DynamicVocabularyCategoricalColumn(std::string key, std::string dtype);
  std::string name() const override { return key_; }
  std::string class_name() const override {
    return "DynamicVocabularyCategoricalColumn";
  }
  std::vector<std::string> input_keys() const override { return {key_}; }
  int64_t num_buckets() const override { return kDynamicVocabularySize; }
  // Throws InvalidArgument naming the column and the feature for an integer
  // feature under a string column or the reverse (float features included),
  // and for an int32 column's value outside the int32 range.
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;

  const std::string& key() const { return key_; }
  const std::string& dtype() const { return dtype_; }

 private:
  std::string key_;
  std::string dtype_;
};

// The dynamic-vocabulary column beneath weighted / sequence wrappers, or
// nullptr when `column` has a fixed vocabulary.
const DynamicVocabularyCategoricalColumn* FindDynamicVocabularyColumn(
    const CategoricalColumn& column);
inline bool HasDynamicVocabulary(const CategoricalColumn& column) {
  return FindDynamicVocabularyColumn(column) != nullptr;
}

// ---- sequence ----------------------------------------------------------
// Wraps a non-sequence categorical column (identity, hash, vocabulary list,
// vocabulary file or dynamic vocabulary). GetSparseTensors returns rank-3 ids [B, T, K]: rank-2 input
// [B, T] becomes [B, T, 1]. Usable only through SequenceFeatures.
class SequenceCategoricalColumn final : public CategoricalColumn {
 public:
  explicit SequenceCategoricalColumn(CategoricalColumnPtr categorical_column);
  std::string name() const override { return inner_->name(); }
  std::string class_name() const override { return "SequenceCategoricalColumn"; }
  std::vector<std::string> input_keys() const override {
    return inner_->input_keys();
  }
  int64_t num_buckets() const override { return inner_->num_buckets(); }
  IdTensor GetSparseTensors(const FeatureBatch& batch) const override;
  bool is_sequence() const override { return true; }

  const CategoricalColumnPtr& categorical_column() const { return inner_; }

 private:
  CategoricalColumnPtr inner_;
};

// ---- factories (TensorFlow's names and argument order) -----------------
CategoricalColumnPtr categorical_column_with_identity(
    const std::string& key, int64_t num_buckets,
    std::optional<int64_t> default_value = std::nullopt);
CategoricalColumnPtr categorical_column_with_vocabulary_list(
    const std::string& key, std::variant<Strings, Int64s> vocabulary_list,
    std::optional<DType> dtype = std::nullopt, int64_t default_value = -1,
    int64_t num_oov_buckets = 0);
CategoricalColumnPtr categorical_column_with_vocabulary_file(
    const std::string& key, const std::string& vocabulary_file,
    std::optional<int64_t> vocabulary_size = std::nullopt,
    int64_t num_oov_buckets = 0,
    std::optional<int64_t> default_value = std::nullopt,
    DType dtype = DType::kString);
CategoricalColumnPtr categorical_column_with_hash_bucket(
    const std::string& key, int64_t hash_bucket_size,
    DType dtype = DType::kString);
CategoricalColumnPtr weighted_categorical_column(
    CategoricalColumnPtr categorical_column,
    const std::string& weight_feature_key, DType dtype = DType::kFloat32);
CategoricalColumnPtr crossed_column(std::vector<CrossedKey> keys,
                                    int64_t hash_bucket_size,
                                    std::optional<int64_t> hash_key = std::nullopt);
CategoricalColumnPtr sequence_categorical_column_with_identity(
    const std::string& key, int64_t num_buckets,
    std::optional<int64_t> default_value = std::nullopt);
CategoricalColumnPtr sequence_categorical_column_with_vocabulary_list(
    const std::string& key, std::variant<Strings, Int64s> vocabulary_list,
    std::optional<DType> dtype = std::nullopt, int64_t default_value = -1,
    int64_t num_oov_buckets = 0);
CategoricalColumnPtr sequence_categorical_column_with_vocabulary_file(
    const std::string& key, const std::string& vocabulary_file,
    std::optional<int64_t> vocabulary_size = std::nullopt,
    int64_t num_oov_buckets = 0,
    std::optional<int64_t> default_value = std::nullopt,
    DType dtype = DType::kString);
CategoricalColumnPtr sequence_categorical_column_with_hash_bucket(
    const std::string& key, int64_t hash_bucket_size,
    DType dtype = DType::kString);
// embcol: see DynamicVocabularyCategoricalColumn. Throws InvalidArgument for
// an empty key or a dtype other than "int64", "int32", "string".
CategoricalColumnPtr categorical_column_with_dynamic_vocabulary(
    const std::string& key, const std::string& dtype = "int64");
CategoricalColumnPtr sequence_categorical_column_with_dynamic_vocabulary(
    const std::string& key, const std::string& dtype = "int64");

}  // namespace embcol

#endif  // EMBCOL_CATEGORICAL_COLUMN_H_
