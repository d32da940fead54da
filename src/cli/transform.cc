#include "cli/transform.h"

#include <fstream>
#include <memory>
#include <sstream>

#include "embcol/batch_json.h"
#include "embcol/dense_features.h"
#include "embcol/errors.h"
#include "embcol/serialization.h"

namespace embcol::cli {

nlohmann::json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw NotFound("cannot open '" + path + "': no such readable file.");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw InvalidArgument("'" + path + "' is not valid JSON: " + e.what());
  }
}

namespace {

bool IsSequence(const ColumnPtr& c) {
  if (dynamic_cast<const SequenceNumericColumn*>(c.get())) return true;
  if (auto* e = dynamic_cast<const EmbeddingColumnBase*>(c.get())) return e->is_sequence();
  if (auto* i = dynamic_cast<const IndicatorColumn*>(c.get())) {
    return i->categorical_column()->is_sequence();
  }
  return false;
}

}  // namespace

nlohmann::json RunTransform(const TransformArgs& args) {
  std::vector<ColumnPtr> columns;
  try {
    columns = ParseColumnsDocument(ReadJsonFile(args.columns_path));
  } catch (const Error& e) {
    const std::string what = e.what();
    const std::string prefixed = what.find(args.columns_path) == std::string::npos
                                     ? args.columns_path + ": " + what
                                     : what;
    if (e.code() == ErrorCode::kInvalidArgument) throw InvalidArgument(prefixed);
    throw;
  }
  std::vector<ColumnPtr> dense_columns, sequence_columns;
  for (const auto& c : columns) (IsSequence(c) ? sequence_columns : dense_columns).push_back(c);

  const FeatureBatch batch =
      FeatureBatchFromJson(ReadJsonFile(args.input_path), args.input_path);
  auto tables = std::make_shared<TableSet>(args.seed);
  FeaturesLayerOptions options;
  options.tables = tables;

  nlohmann::json out = nlohmann::json::object();
  if (!dense_columns.empty()) {
    DenseFeatures layer(dense_columns, options);
    out["dense"] = DenseTensorToJson(layer(batch));
  }
  if (!sequence_columns.empty()) {
    SequenceFeatures layer(sequence_columns, options);
    SequenceFeatures::Output result = layer(batch);
    out["sequence"] = {{"output", DenseTensorToJson(result.output)},
                       {"sequence_length", result.sequence_length}};
  }
  if (args.show_tables) {
    nlohmann::json t = nlohmann::json::object();
    for (const EmbeddingTable* table : tables->tables()) {
      t[table->name()] = {table->num_rows(), table->dim()};
    }
    // A dynamic table's rows are the keys it holds (lookups do not insert).
    for (const dynamic_embedding::Variable* table : tables->dynamic_tables()) {
      t[table->name()] = {table->size(), table->dim()};
    }
    out["tables"] = t;
  }
  return out;
}

}  // namespace embcol::cli
