// ModelConfig parsing (model_config.h): every key checked, errors named by
// their JSON path.
#include "embcol/model_config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "embcol/errors.h"
#include "embcol/serialization.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw InvalidArgument(path + ": " + what);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// One JSON object at `path`, with typed getters whose errors name
// "<path>.<key>". Unknown keys are refused at construction.
class Object {
 public:
  Object(const json& value, std::string path, std::vector<std::string> allowed)
      : value_(value), path_(std::move(path)) {
    if (!value_.is_object()) Fail(path_, "must be a JSON object; got " + value_.dump() + ".");
    for (const auto& [key, v] : value_.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Fail(path_, "unknown key '" + key + "'; expected keys: (" + Join(allowed) + ").");
      }
    }
  }
  std::string Path(const std::string& key) const { return path_ + "." + key; }
  const json* Find(const std::string& key) const {
    auto it = value_.find(key);
    return it == value_.end() || it->is_null() ? nullptr : &*it;
  }
  const json& Require(const std::string& key) const {
    const json* v = Find(key);
    if (v == nullptr) Fail(path_, "missing key '" + key + "'.");
    return *v;
  }
  int64_t Int(const std::string& key, int64_t fallback, int64_t min) const {
    const json* v = Find(key);
    if (v == nullptr) return fallback;
    int64_t out = 0;
    if (v->is_number_integer()) {
      out = v->get<int64_t>();
    } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
               std::abs(v->get<double>()) < 9e18) {
      out = static_cast<int64_t>(v->get<double>());
    } else {
      Fail(Path(key), "must be an integer >= " + std::to_string(min) + "; got " + v->dump() + ".");
    }
    if (out < min) {
      Fail(Path(key), "must be an integer >= " + std::to_string(min) + "; got " + v->dump() + ".");
    }
    return out;
  }
  double Number(const std::string& key, double fallback, double min, double max_exclusive) const {
    const json* v = Find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number() || !(v->get<double>() >= min) || !(v->get<double>() < max_exclusive)) {
      std::ostringstream range;
      range << "in [" << min << ", " << max_exclusive << ")";
      Fail(Path(key), "must be a number " + range.str() + "; got " + v->dump() + ".");
    }
    return v->get<double>();
  }
  bool Bool(const std::string& key, bool fallback) const {
    const json* v = Find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) Fail(Path(key), "must be true or false; got " + v->dump() + ".");
    return v->get<bool>();
  }
  std::string String(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices = {}) const {
    const json* v = Find(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) Fail(Path(key), "must be a string; got " + v->dump() + ".");
    std::string s = v->get<std::string>();
    if (!choices.empty() && std::find(choices.begin(), choices.end(), s) == choices.end()) {
      Fail(Path(key), "unknown value \"" + s + "\"; expected one of: " + Join(choices) + ".");
    }
    return s;
  }
  const json& value() const { return value_; }
  const std::string& path() const { return path_; }

 private:
  const json& value_;
  std::string path_;
};

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || base_dir.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

DType ParseCsvDType(const std::string& name, const std::string& path) {
  if (name == "int64") return DType::kInt64;
  if (name == "float32" || name == "float") return DType::kFloat32;
  if (name == "string") return DType::kString;
  Fail(path, "unknown dtype \"" + name + "\"; expected one of: int64, float32, string.");
}

CsvSchema ParseCsvSchema(const Object& o, const std::string& format, bool* infer) {
  CsvSchema schema;
  schema.delimiter = format == "tsv" ? '\t' : ',';
  schema.quoting = format != "tsv";
  if (const json* d = o.Find("delimiter")) {
    if (!d->is_string() || d->get<std::string>().size() != 1) {
      Fail(o.Path("delimiter"), "must be a one-character string; got " + d->dump() + ".");
    }
    schema.delimiter = d->get<std::string>()[0];
  }
  schema.quoting = o.Bool("quoting", schema.quoting);
  schema.header = o.Bool("header", false);
  const json* columns = o.Find("columns");
  if (columns == nullptr) {
    if (!schema.header) {
      Fail(o.path(), "give \"columns\" (the file's columns in order), or set \"header\": true "
                     "to take the names from the first line of the first file.");
    }
    *infer = true;
    return schema;
  }
  if (!columns->is_array() || columns->empty()) {
    Fail(o.Path("columns"), "must be a non-empty list; got " + columns->dump() + ".");
  }
  for (size_t i = 0; i < columns->size(); ++i) {
    const std::string path = o.Path("columns") + "[" + std::to_string(i) + "]";
    const json& c = (*columns)[i];
    CsvColumn column;
    if (c.is_string()) {
      column.name = c.get<std::string>();
    } else {
      Object co(c, path, {"name", "dtype", "default", "optional"});
      column.name = co.String("name", "");
      if (column.name.empty()) Fail(path, "missing key 'name'.");
      column.type = ParseCsvDType(co.String("dtype", "string"), co.Path("dtype"));
      if (const json* def = co.Find("default")) {
        column.default_value = def->is_string() ? def->get<std::string>() : def->dump();
      }
      column.optional = co.Bool("optional", false);
      if (column.optional && column.default_value) {
        Fail(path, "a column cannot be both optional and have a default; drop one of them.");
      }
    }
    schema.columns.push_back(std::move(column));
  }
  return schema;
}

std::vector<std::string> ColumnNames(const Object& o, const std::string& key) {
  const json& list = o.Require(key);
  if (!list.is_array() || list.empty()) {
    Fail(o.Path(key), "must be a non-empty list of column names (as DenseFeatures names "
                      "them, e.g. \"user_embedding\"); got " + list.dump() + ".");
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) {
      Fail(o.Path(key) + "[" + std::to_string(i) + "]",
           "must be a column name; got " + list[i].dump() + ".");
    }
    names.push_back(list[i].get<std::string>());
  }
  return names;
}

ModelSpec ParseModelSpec(const json& value, const std::string& path, uint64_t seed) {
  ModelSpec spec;
  Object o(value, path,
           {"type", "hidden_units", "activation", "dropout", "sum_inputs",
            "linear_feature_columns", "dnn_feature_columns"});
  spec.type = o.String("type", "dnn", {"dnn", "linear", "dnn_linear_combined"});
  const bool dnn = spec.type != "linear";
  const bool linear = spec.type != "dnn";
  if (dnn) {
    if (const json* units = o.Find("hidden_units")) {
      if (!units->is_array()) {
        Fail(o.Path("hidden_units"), "must be a list of layer widths; got " + units->dump() + ".");
      }
      for (size_t i = 0; i < units->size(); ++i) {
        const json& u = (*units)[i];
        if (!u.is_number_integer() || u.get<int64_t>() < 1) {
          Fail(o.Path("hidden_units") + "[" + std::to_string(i) + "]",
               "must be an integer >= 1; got " + u.dump() + ".");
        }
        spec.dnn.hidden_units.push_back(u.get<int64_t>());
      }
    } else {
      Fail(path, "missing key 'hidden_units' (the widths of the hidden layers, e.g. [64, 32]).");
    }
    try {
      spec.dnn.activation = ParseActivation(o.String("activation", "relu"));
    } catch (const InvalidArgument& e) {
      Fail(o.Path("activation"), e.what());
    }
    spec.dnn.dropout = static_cast<float>(o.Number("dropout", 0.0, 0.0, 1.0));
    spec.dnn.seed = seed;
  } else {
    for (const char* key : {"hidden_units", "activation", "dropout"}) {
      if (o.Find(key)) Fail(o.Path(key), "applies to the \"dnn\" and \"dnn_linear_combined\" types only.");
    }
  }
  if (linear) {
    spec.linear.sum_inputs = o.Bool("sum_inputs", false);
  } else if (o.Find("sum_inputs")) {
    Fail(o.Path("sum_inputs"), "applies to the \"linear\" and \"dnn_linear_combined\" types only.");
  }
  if (spec.type == "dnn_linear_combined") {
    spec.linear_columns = ColumnNames(o, "linear_feature_columns");
    spec.dnn_columns = ColumnNames(o, "dnn_feature_columns");
  } else {
    for (const char* key : {"linear_feature_columns", "dnn_feature_columns"}) {
      if (o.Find(key)) Fail(o.Path(key), "applies to \"type\": \"dnn_linear_combined\" only.");
    }
  }
  return spec;
}

HeadSpec ParseHeadSpec(const json& value, const std::string& path) {
  HeadSpec spec;
  Object o(value, path, {"type", "n_classes", "label_dimension", "loss_reduction"});
  spec.type = o.String("type", "binary_classification",
                       {"binary_classification", "multi_class", "regression"});
  if (spec.type == "multi_class") {
    spec.n_classes = o.Int("n_classes", 0, 3);
    if (spec.n_classes == 0) Fail(path, "missing key 'n_classes' (the number of classes, > 2).");
  } else if (o.Find("n_classes")) {
    Fail(o.Path("n_classes"), "applies to \"type\": \"multi_class\" only.");
  }
  if (spec.type == "regression") {
    spec.label_dimension = o.Int("label_dimension", 1, 1);
  } else if (o.Find("label_dimension")) {
    Fail(o.Path("label_dimension"), "applies to \"type\": \"regression\" only.");
  }
  try {
    spec.options.loss_reduction =
        ParseLossReduction(o.String("loss_reduction", "sum_over_batch_size"));
  } catch (const InvalidArgument& e) {
    Fail(o.Path("loss_reduction"), e.what());
  }
  return spec;
}

TrainSpec ParseTrainSpec(const json& value, const std::string& path, const std::string& base) {
  TrainSpec t;
  Object o(value, path,
           {"data", "batch_size", "max_steps", "epochs", "shuffle", "shuffle_buffer_size",
            "shuffle_seed", "num_parse_threads", "num_threads", "drop_remainder",
            "eval_every_steps", "save_checkpoints_steps", "save_summary_steps",
            "keep_checkpoint_max"});
  if (const json* d = o.Find("data")) t.data = ParseDataSource(*d, o.Path("data"), base);
  t.batch_size = o.Int("batch_size", t.batch_size, 1);
  t.max_steps = o.Int("max_steps", 0, 0);
  t.epochs = o.Int("epochs", 0, 0);
  t.shuffle = o.Bool("shuffle", t.shuffle);
  t.shuffle_buffer_size = o.Int("shuffle_buffer_size", t.shuffle_buffer_size, 1);
  t.shuffle_seed = static_cast<uint64_t>(o.Int("shuffle_seed", 0, 0));
  t.num_parse_threads = static_cast<int>(o.Int("num_parse_threads", t.num_parse_threads, 1));
  t.num_threads = static_cast<int>(o.Int("num_threads", t.num_threads, 1));
  t.drop_remainder = o.Bool("drop_remainder", t.drop_remainder);
  t.eval_every_steps = o.Int("eval_every_steps", 0, 0);
  t.save_checkpoints_steps = o.Int("save_checkpoints_steps", t.save_checkpoints_steps, 0);
  t.save_summary_steps = o.Int("save_summary_steps", t.save_summary_steps, 1);
  t.keep_checkpoint_max = static_cast<int>(o.Int("keep_checkpoint_max", 5, 1));
  return t;
}

EvalSpec ParseEvalSpec(const json& value, const std::string& path, const std::string& base) {
  EvalSpec e;
  Object o(value, path, {"data", "batch_size", "steps"});
  if (const json* d = o.Find("data")) e.data = ParseDataSource(*d, o.Path("data"), base);
  e.batch_size = o.Int("batch_size", e.batch_size, 1);
  e.steps = o.Int("steps", 0, 0);
  return e;
}

std::vector<ColumnPtr> ParseColumns(const json& value, const std::string& path) {
  try {
    if (value.is_array()) return DeserializeFeatureColumns(value, path);
    return ParseColumnsDocument(value);
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    // Column errors already carry their "$..." path; others get this one.
    if (what.rfind("$", 0) == 0) throw;
    Fail(path, what);
  }
}

json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw NotFound("cannot read config file '" + path + "': " + std::strerror(errno) + ".");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw InvalidArgument("config file '" + path + "' is not valid JSON: " + e.what());
  }
}

}  // namespace

int64_t HeadSpec::logits_dimension() const {
  if (type == "multi_class") return n_classes;
  if (type == "regression") return label_dimension;
  return 1;
}

DataSourceConfig ParseDataSource(const json& source, const std::string& json_path,
                                 const std::string& base_dir) {
  DataSourceConfig d;
  d.json_path = json_path;
  Object o(source, json_path, {"files", "format", "compression", "csv"});
  const json& files = o.Require("files");
  if (files.is_string()) {
    d.files.push_back(Resolve(base_dir, files.get<std::string>()));
  } else if (files.is_array() && !files.empty()) {
    for (size_t i = 0; i < files.size(); ++i) {
      if (!files[i].is_string()) {
        Fail(o.Path("files") + "[" + std::to_string(i) + "]",
             "must be a file name or glob pattern; got " + files[i].dump() + ".");
      }
      d.files.push_back(Resolve(base_dir, files[i].get<std::string>()));
    }
  } else {
    Fail(o.Path("files"), "must be a file name or a non-empty list of names / glob patterns; got " +
                              files.dump() + ".");
  }
  d.format = o.String("format", "tfrecord", {"tfrecord", "csv", "tsv", "criteo"});
  d.compression = o.String("compression", "auto", {"auto", "", "GZIP", "ZLIB"});
  if (o.Find("compression") && d.format != "tfrecord") {
    Fail(o.Path("compression"), "applies to \"format\": \"tfrecord\" only.");
  }
  if (d.format == "csv" || d.format == "tsv") {
    const json* csv = o.Find("csv");
    if (csv == nullptr) {
      Fail(json_path, "format \"" + d.format + "\" needs \"csv\": {\"columns\": [...]} or "
                      "{\"header\": true}.");
    }
    Object co(*csv, o.Path("csv"), {"columns", "header", "delimiter", "quoting"});
    d.csv = ParseCsvSchema(co, d.format, &d.csv_infer_columns);
  } else if (d.format == "criteo") {
    if (o.Find("csv")) Fail(o.Path("csv"), "the criteo layout is fixed; remove \"csv\".");
    d.csv = CriteoSchema();
  } else if (o.Find("csv")) {
    Fail(o.Path("csv"), "applies to csv and tsv formats only.");
  }
  return d;
}

ModelConfig ParseModelConfig(const json& document, const std::string& base_dir) {
  ModelConfig c;
  c.document = document;
  c.base_dir = base_dir;
  Object o(document, "$",
           {"model_dir", "feature_columns", "feature_columns_file", "label_key", "weight_key",
            "model", "head", "embedding_optimizer", "dense_optimizer", "linear_optimizer", "seed",
            "train", "eval"});
  const std::string model_dir = o.String("model_dir", "");
  if (model_dir.empty()) Fail("$", "missing key 'model_dir' (where checkpoints and summaries go).");
  c.model_dir = Resolve(base_dir, model_dir);
  c.seed = static_cast<uint64_t>(o.Int("seed", 0, 0));

  const json* columns = o.Find("feature_columns");
  const json* columns_file = o.Find("feature_columns_file");
  if ((columns == nullptr) == (columns_file == nullptr)) {
    Fail("$", "give exactly one of 'feature_columns' (a list of serialized columns) and "
              "'feature_columns_file' (a JSON file holding them).");
  }
  if (columns != nullptr) {
    c.feature_columns = ParseColumns(*columns, "$.feature_columns");
  } else {
    if (!columns_file->is_string()) {
      Fail("$.feature_columns_file", "must be a file name; got " + columns_file->dump() + ".");
    }
    const std::string file = Resolve(base_dir, columns_file->get<std::string>());
    json loaded;
    try {
      loaded = ReadJsonFile(file);
    } catch (const Error& e) {
      Fail("$.feature_columns_file", e.what());
    }
    c.feature_columns = ParseColumns(loaded, "$.feature_columns_file('" + file + "')");
  }
  if (c.feature_columns.empty()) Fail("$.feature_columns", "must hold at least one column.");

  c.label_key = o.String("label_key", "label");
  if (c.label_key.empty()) Fail("$.label_key", "must not be empty.");
  if (const json* w = o.Find("weight_key")) {
    if (!w->is_string() || w->get<std::string>().empty()) {
      Fail("$.weight_key", "must be a feature name; got " + w->dump() + ".");
    }
    c.weight_key = w->get<std::string>();
  }
  c.model = ParseModelSpec(o.Require("model"), "$.model", c.seed);
  c.head = ParseHeadSpec(o.Find("head") ? *o.Find("head") : json::object(), "$.head");
  c.model.dnn.logits_dim = c.head.logits_dimension();
  c.model.linear.logits_dim = c.head.logits_dimension();

  // TensorFlow's canned defaults: Adagrad at 0.05 for a DNN, FTRL at
  // min(0.2, 1 / sqrt(number of linear columns)) for a linear model.
  auto ftrl = [](size_t columns) {
    const double lr = std::min(0.2, 1.0 / std::sqrt(static_cast<double>(std::max<size_t>(columns, 1))));
    return json{{"class_name", "Ftrl"}, {"config", {{"learning_rate", lr}}}};
  };
  const json adagrad = {{"class_name", "Adagrad"}, {"config", {{"learning_rate", 0.05}}}};
  const json default_optimizer = c.model.type == "linear" ? ftrl(c.feature_columns.size()) : adagrad;
  const json* emb = o.Find("embedding_optimizer");
  const json* dense = o.Find("dense_optimizer");
  c.embedding_optimizer = SparseOptimizer::FromConfig(emb ? *emb : default_optimizer,
                                                      "$.embedding_optimizer");
  c.dense_optimizer =
      DenseOptimizer::FromConfig(dense ? *dense : default_optimizer, "$.dense_optimizer");
  const json* linear_opt = o.Find("linear_optimizer");
  if (c.model.type == "dnn_linear_combined") {
    c.linear_optimizer = SparseOptimizer::FromConfig(
        linear_opt ? *linear_opt : ftrl(c.model.linear_columns.size()), "$.linear_optimizer");
  } else if (linear_opt != nullptr) {
    Fail("$.linear_optimizer", "applies to \"model\": {\"type\": \"dnn_linear_combined\"} "
                               "only; use embedding_optimizer / dense_optimizer.");
  }

  c.train = ParseTrainSpec(o.Find("train") ? *o.Find("train") : json::object(), "$.train",
                           base_dir);
  c.eval = ParseEvalSpec(o.Find("eval") ? *o.Find("eval") : json::object(), "$.eval", base_dir);
  return c;
}

ModelConfig LoadModelConfig(const std::string& path) {
  const json document = ReadJsonFile(path);
  const std::string base = fs::path(path).parent_path().string();
  try {
    return ParseModelConfig(document, base);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(path + ": " + e.what());
  }
}

}  // namespace embcol
