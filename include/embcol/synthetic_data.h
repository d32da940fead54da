// A deterministic synthetic click dataset with a planted logistic model, for
// demos, tests and `embcol gen-data`: categorical features with
// Zipf-distributed ids (one may use raw 64-bit keys, for a dynamic
// vocabulary), numeric features, and labels drawn from a known model
//
//   logit = bias + sum_f w_f[id_f] + sum_j v_j x_j,   label ~ Bernoulli(sigmoid(logit))
//
// with w_f[id] ~ N(0, weight_stddev) and v_j ~ N(0, numeric_weight_stddev).
// The planted weights depend only on model_seed, the examples only on
// (model_seed, data_seed): two datasets with the same model_seed and other
// data_seeds are a train and a test split of one model. The planted logits
// are kept, so a trained model can be compared with the best possible one
// (the AUC of the planted logits).
//
// The dataset can be written as TSV or as TFRecord files of tf.Example
// (WriteClicksTsv, WriteClicksTfRecord, ClicksExampleSpec to parse them).
//
// Pure functions of their options; the result is a plain value: thread-safe.
#ifndef EMBCOL_SYNTHETIC_DATA_H_
#define EMBCOL_SYNTHETIC_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "embcol/example_parser.h"
#include "embcol/feature.h"

namespace embcol {

struct SyntheticCategorical {
  std::string name;
  int64_t vocabulary_size = 100;  // distinct ids, >= 1
  double zipf_exponent = 1.05;    // 0: uniform
  // false: ids 0 .. vocabulary_size-1 (for identity columns); true: raw
  // 64-bit keys spread over the int64 range (for a dynamic vocabulary).
  bool raw_keys = false;
};

struct SyntheticClickOptions {
  int64_t num_examples = 100000;
  uint64_t model_seed = 1;
  uint64_t data_seed = 1;
  std::vector<SyntheticCategorical> categorical = {{"user", 200, 1.05, false},
                                                   {"item", 500, 1.05, false},
                                                   {"query", 800, 1.05, true},
                                                   {"context", 10, 0.0, false}};
  // Numeric features "num_0", "num_1", ..., each N(0, 1).
  int64_t num_numeric = 2;
  double weight_stddev = 0.8;
  double numeric_weight_stddev = 0.5;
  double bias = -0.4;
};

struct SyntheticClicks {
  std::vector<std::string> categorical_names;
  std::vector<std::vector<int64_t>> categorical;  // [feature][example]
  std::vector<std::string> numeric_names;
  std::vector<std::vector<float>> numeric;        // [feature][example]
  std::vector<float> labels;                      // 0 or 1
  std::vector<float> planted_logits;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  // Examples [begin, end): each categorical feature a Dense [n, 1] int64
  // feature, each numeric a Dense [n, 1] float feature, and "label" a Dense
  // [n, 1] float feature. Throws OutOfRange for a bad range.
  FeatureBatch Batch(int64_t begin, int64_t end) const;
};

// Throws InvalidArgument naming the field for num_examples < 0, a
// vocabulary_size < 1, a negative exponent or stddev, or duplicate names.
SyntheticClicks GenerateClicks(const SyntheticClickOptions& options);

// Tab-separated with a header line: label, the numeric features, then the
// categorical ones. Written to a temporary file and renamed into place.
// Throws Unavailable naming the path when it cannot be written.
void WriteClicksTsv(const SyntheticClicks& data, const std::string& path);

// A TFRecord file of one tf.Example per example, in order:
//   "label"                   float_list [label]
//   each numeric feature      float_list [x]
//   each categorical feature  int64_list [id] (the raw key for raw_keys)
// `compression`: "" / "NONE", "GZIP" or "ZLIB" (tfrecord.h). Maps are
// serialized deterministically (features in key order), so the same data
// gives the same bytes. Written to a temporary file and renamed into place.
// Throws InvalidArgument naming the path for an unknown compression,
// Unavailable naming the path when it cannot be written.
void WriteClicksTfRecord(const SyntheticClicks& data, const std::string& path,
                         const std::string& compression = "");

// How to parse those files (ParseExamples), as MakeParseExampleSpec spells
// it for the columns a model would put over them, plus the label:
//   "label", numeric features  FixedLenFeature({1}, float32), required
//                              (numeric_column's spec)
//   categorical features       VarLenFeature(int64) (identity and int64
//                              dynamic-vocabulary columns' spec)
// so it merges with MakeParseExampleSpec(columns) without conflicts.
ParseSpec ClicksExampleSpec(const SyntheticClicks& data);

// The output of `embcol gen-data`.
struct ClicksFileFormat {
  std::string format = "tsv";  // "tsv" or "tfrecord"
  std::string compression;     // tfrecord only: "", "GZIP" or "ZLIB"
};

// Resolves gen-data's --format / --compression for `path`:
//   format ""  -> "tfrecord" when the path ends in .tfrecord or .tfrecords
//                 (optionally followed by .gz), else "tsv"
//   compression "" with tfrecord -> "GZIP" when the path ends in .gz
// Names are case-insensitive; compression "NONE" means none. Throws
// InvalidArgument for an unknown format or compression, a compression with
// TSV, or a TSV path ending in .gz (TSV output is not compressed).
ClicksFileFormat ResolveClicksFileFormat(const std::string& path, const std::string& format,
                                         const std::string& compression);

// WriteClicksTsv or WriteClicksTfRecord, as `format` says.
void WriteClicks(const SyntheticClicks& data, const std::string& path,
                 const ClicksFileFormat& format);

}  // namespace embcol

#endif  // EMBCOL_SYNTHETIC_DATA_H_
