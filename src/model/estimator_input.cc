// The Estimator's input side (estimator_input.h).
#include "model/estimator_input.h"

#include <glob.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "embcol/csv.h"
#include "embcol/errors.h"
#include "embcol/example_parser.h"
#include "embcol/tfrecord.h"

namespace embcol::internal {
namespace {

// The first file a pattern list names (glob order), or "" when none.
std::string FirstFile(const std::vector<std::string>& patterns) {
  for (const std::string& pattern : patterns) {
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
    if (!matches.empty()) return *std::min_element(matches.begin(), matches.end());
  }
  return "";
}

// CSV columns from the header line of the first file: the label and weight
// as float32, a column's feature with the dtype its parse spec asks for
// (VarLen features may be missing: no id; FixedLen ones take their default
// or are required), anything else as an optional string.
CsvSchema InferCsvSchema(const DataSourceConfig& data, const ModelConfig& config,
                         const ParseSpec& spec) {
  const std::string file = FirstFile(data.files);
  if (file.empty()) {
    throw NotFound(data.json_path + ".files: no file matches " + data.files.front() +
                   (data.files.size() > 1 ? " (or the other patterns)" : "") + ".");
  }
  std::ifstream in(file);
  std::string header;
  if (!in || !std::getline(in, header)) {
    throw InvalidArgument(data.json_path + ": cannot read the header line of '" + file +
                          "' to name the columns; give \"csv\": {\"columns\": [...]}.");
  }
  if (!header.empty() && header.back() == '\r') header.pop_back();
  CsvSchema schema = data.csv;
  for (std::string& name : SplitCsvLine(header, schema.delimiter, schema.quoting, file + ": ")) {
    CsvColumn column;
    column.name = std::move(name);
    if (column.name == config.label_key || (config.weight_key && column.name == *config.weight_key)) {
      column.type = DType::kFloat32;
    } else if (auto it = spec.find(column.name); it != spec.end()) {
      if (const auto* fixed = std::get_if<FixedLenFeature>(&it->second)) {
        column.type = fixed->dtype;
        if (fixed->default_value && fixed->shape.size() <= 1) {
          std::visit(
              [&](const auto& values) {
                if (values.size() != 1) return;
                using T = std::decay_t<decltype(values[0])>;
                if constexpr (std::is_same_v<T, std::string>) {
                  column.default_value = values[0];
                } else {
                  column.default_value = std::to_string(values[0]);
                }
              },
              *fixed->default_value);
        }
      } else {
        column.type = std::get<VarLenFeature>(it->second).dtype;
        column.optional = true;
      }
    } else {
      column.optional = true;  // not read by the model
    }
    schema.columns.push_back(std::move(column));
  }
  return schema;
}

void CheckHasColumn(const CsvSchema& schema, const std::string& name, const std::string& what,
                    const std::string& where) {
  for (const CsvColumn& c : schema.columns) {
    if (c.name == name) return;
  }
  std::string names;
  for (const CsvColumn& c : schema.columns) names += (names.empty() ? "" : ", ") + c.name;
  throw InvalidArgument(where + ": the data has no column '" + name + "' (the " + what +
                        "); its columns are: " + names + ".");
}

}  // namespace

InputPipelineOptions MakeInputOptions(const DataSourceConfig& data, const ModelConfig& config,
                                      bool with_label) {
  InputPipelineOptions o;
  o.file_patterns = data.files;
  const std::string where = data.json_path;
  if (data.format == "tfrecord") {
    ParseSpec spec = MakeParseExampleSpec(config.feature_columns);
    if (with_label) {
      spec[config.label_key] =
          FixedLenFeature{{config.head.label_dimension}, DType::kFloat32, std::nullopt};
      if (config.weight_key) {
        spec[*config.weight_key] = FixedLenFeature{{}, DType::kFloat32, std::nullopt};
      }
    }
    o.reader_factory = TFRecordReaderFactory(data.compression);
    o.parser = [spec = std::move(spec)](const std::vector<std::string>& records) {
      return ParseExamples(records, spec);
    };
    return o;
  }
  CsvSchema schema = data.csv;
  if (data.csv_infer_columns) {
    schema = InferCsvSchema(data, config, MakeParseExampleSpec(config.feature_columns));
  }
  if (with_label) {
    CheckHasColumn(schema, config.label_key, "label_key", where);
    if (config.weight_key) CheckHasColumn(schema, *config.weight_key, "weight_key", where);
  }
  o.reader_factory = CsvReaderFactory(schema);
  o.parser = [schema, context = where + ": "](const std::vector<std::string>& lines) {
    return ParseCsv(lines, schema, context);
  };
  return o;
}

namespace {

const Feature& DenseFeature(const FeatureBatch& batch, const std::string& key,
                            const std::string& what, const std::string& where) {
  if (!batch.Has(key)) {
    throw InvalidArgument(where + ": the examples have no feature '" + key + "' (the " + what +
                          "); set \"" + what + "\" to the feature that holds it.");
  }
  const Feature& f = batch.Get(key);
  if (f.is_sparse()) {
    throw InvalidArgument(where + ": the " + what + " feature '" + key +
                          "' has missing values; every example needs one.");
  }
  return f;
}

std::vector<float> AsFloats(const Feature& f, const std::string& key, const std::string& where) {
  if (f.dtype() == DType::kFloat32) return f.float_values();
  if (f.dtype() == DType::kInt64) {
    const Int64s& v = f.int64_values();
    return std::vector<float>(v.begin(), v.end());
  }
  throw InvalidArgument(where + ": feature '" + key + "' holds strings; labels and weights must "
                        "be numbers.");
}

}  // namespace

DenseTensor BatchLabels(const FeatureBatch& batch, const std::string& key,
                        int64_t label_dimension, const std::string& where) {
  const Feature& f = DenseFeature(batch, key, "label_key", where);
  std::vector<float> values = AsFloats(f, key, where);
  const int64_t rows = f.shape().empty() ? 1 : f.shape()[0];
  if (rows * label_dimension != static_cast<int64_t>(values.size())) {
    throw InvalidArgument(where + ": label feature '" + key + "' has shape " +
                          ShapeString(f.shape()) + "; the head wants " +
                          std::to_string(label_dimension) + " value(s) per example.");
  }
  return DenseTensor({rows, label_dimension}, std::move(values));
}

std::vector<float> BatchWeights(const FeatureBatch& batch, const std::string& key,
                                int64_t batch_size, const std::string& where) {
  const Feature& f = DenseFeature(batch, key, "weight_key", where);
  std::vector<float> values = AsFloats(f, key, where);
  if (static_cast<int64_t>(values.size()) != batch_size) {
    throw InvalidArgument(where + ": weight feature '" + key + "' has shape " +
                          ShapeString(f.shape()) + "; give one weight per example.");
  }
  return values;
}

int64_t BatchSize(const FeatureBatch& batch, const std::string& label_key) {
  if (batch.Has(label_key) && !batch.Get(label_key).shape().empty()) {
    return batch.Get(label_key).shape()[0];
  }
  for (const auto& [key, f] : batch.features()) {
    if (!f.shape().empty()) return f.shape()[0];
  }
  return 0;
}

}  // namespace embcol::internal
