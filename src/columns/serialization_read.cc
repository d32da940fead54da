// Reading TensorFlow's feature-column JSON: DeserializeFeatureColumn(s).
// One reader per class checks the exact key set (TF's _check_config_keys,
// plus the lenient defaults in docs/config-format.md), converts the fields
// and builds the column with its factory, which validates it. Every error
// carries the JSON path of the problem.
#include <algorithm>
#include <functional>
#include <utility>

#include "columns/serialization_internal.h"
#include "embcol/categorical_column.h"
#include "embcol/dense_column.h"
#include "embcol/embedding_column.h"
#include "embcol/serialization.h"

namespace embcol {
namespace {

using namespace internal;  // NOLINT: the helpers of this layer

const char* const kKnownClasses =
    "BucketizedColumn, CrossedColumn, DynamicVocabularyCategoricalColumn, EmbeddingColumn, "
    "HashedCategoricalColumn, "
    "IdentityCategoricalColumn, IndicatorColumn, NumericColumn, SequenceNumericColumn, "
    "SequenceCategoricalColumn, SharedEmbeddingColumn, VocabularyFileCategoricalColumn, "
    "VocabularyListCategoricalColumn, WeightedCategoricalColumn";

[[noreturn]] void PythonCode(const std::string& path, const std::string& what) {
  Invalid(path, what + " names Python code, which embcol cannot run. Remove it (null) "
                       "or replace it with a built-in equivalent.");
}

CategoricalColumnPtr ReadCategorical(const json& value, DeserializeContext& ctx,
                                     const std::string& path) {
  ColumnPtr column = DeserializeFeatureColumn(value, ctx, path);
  auto categorical = std::dynamic_pointer_cast<const CategoricalColumn>(column);
  if (!categorical) {
    Invalid(path, "expected a categorical column; got " + column->class_name() + " '" +
                      column->name() + "'.");
  }
  return categorical;
}

// ---- dense -----------------------------------------------------------------

// Flattens a default_value nested like `shape` (each level a list or tuple).
void FlattenDefault(const json& value, const std::vector<int64_t>& shape, size_t dim,
                    const std::string& path, std::vector<float>& out) {
  if (dim == shape.size()) {
    out.push_back(static_cast<float>(ToNumber(value, path)));
    return;
  }
  const json* items = TupleItems(value);
  if (items == nullptr || static_cast<int64_t>(items->size()) != shape[dim]) {
    Invalid(path, "default_value must be null, a number, or nested lists shaped like "
                  "shape; expected " + std::to_string(shape[dim]) + " items here, got " +
                  value.dump() + ".");
  }
  for (size_t i = 0; i < items->size(); ++i) {
    FlattenDefault((*items)[i], shape, dim + 1, IndexPath(path, i), out);
  }
}

// The "shape" of a numeric column: a list of ints >= 1.
std::vector<int64_t> ReadShape(const json& c, const std::string& path) {
  const std::string shape_path = KeyPath(path, "shape");
  std::vector<int64_t> shape;
  const json& shape_items = RequireList(c["shape"], shape_path);
  for (size_t i = 0; i < shape_items.size(); ++i) {
    shape.push_back(ToInt(shape_items[i], IndexPath(shape_path, i)));
    if (shape.back() < 1) {
      Invalid(IndexPath(shape_path, i), "shape dimensions must be >= 1; got " +
                                            std::to_string(shape.back()) + ".");
    }
  }
  return shape;
}

ColumnPtr ReadNumeric(const json& c, DeserializeContext&, const std::string& path) {
  CheckKeys(c, path, {"key", "shape", "default_value", "dtype", "normalizer_fn"});
  const std::string key = GetString(c, path, "key");
  std::vector<int64_t> shape = ReadShape(c, path);
  const DType dtype = GetDType(c, path, "dtype", kIntDType | kFloatDType);
  if (!c["normalizer_fn"].is_null()) {
    PythonCode(KeyPath(path, "normalizer_fn"),
               "normalizer_fn " + c["normalizer_fn"].dump());
  }
  std::optional<std::vector<float>> default_value;
  const json& d = c["default_value"];
  const std::string default_path = KeyPath(path, "default_value");
  if (d.is_number()) {  // lenient: TF always writes the expanded form
    int64_t size = 1;
    for (int64_t s : shape) size *= s;
    default_value.emplace(static_cast<size_t>(size), static_cast<float>(d.get<double>()));
  } else if (!d.is_null()) {
    default_value.emplace();
    FlattenDefault(d, shape, 0, default_path, *default_value);
  }
  return numeric_column(key, std::move(shape), std::move(default_value), dtype);
}

ColumnPtr ReadSequenceNumeric(const json& c, DeserializeContext&, const std::string& path) {
  CheckKeys(c, path, {"key", "shape", "default_value", "dtype", "normalizer_fn"});
  const std::string key = GetString(c, path, "key");
  std::vector<int64_t> shape = ReadShape(c, path);
  const DType dtype = GetDType(c, path, "dtype", kIntDType | kFloatDType);
  if (!c["normalizer_fn"].is_null()) {
    PythonCode(KeyPath(path, "normalizer_fn"),
               "normalizer_fn " + c["normalizer_fn"].dump());
  }
  const json& d = c["default_value"];
  if (!d.is_number()) {
    Invalid(KeyPath(path, "default_value"),
            "SequenceNumericColumn default_value must be a number (the padding value); "
            "got " + d.dump() + ".");
  }
  return sequence_numeric_column(key, std::move(shape), static_cast<float>(d.get<double>()),
                                 dtype);
}

ColumnPtr ReadBucketized(const json& c, DeserializeContext& ctx, const std::string& path) {
  CheckKeys(c, path, {"source_column", "boundaries"});
  const std::string source_path = KeyPath(path, "source_column");
  ColumnPtr source = DeserializeFeatureColumn(c["source_column"], ctx, source_path);
  auto numeric = std::dynamic_pointer_cast<const NumericColumn>(source);
  if (!numeric) {
    Invalid(source_path, "source_column must be a NumericColumn; got " +
                             source->class_name() + " '" + source->name() + "'.");
  }
  const std::string b_path = KeyPath(path, "boundaries");
  std::vector<double> boundaries;
  const json& items = RequireList(c["boundaries"], b_path);
  for (size_t i = 0; i < items.size(); ++i) {
    boundaries.push_back(ToNumber(items[i], IndexPath(b_path, i)));
  }
  return bucketized_column(std::move(numeric), std::move(boundaries));
}

ColumnPtr ReadIndicator(const json& c, DeserializeContext& ctx, const std::string& path) {
  CheckKeys(c, path, {"categorical_column"});
  return indicator_column(
      ReadCategorical(c["categorical_column"], ctx, KeyPath(path, "categorical_column")));
}

// ---- categorical -----------------------------------------------------------

ColumnPtr ReadIdentity(const json& c, DeserializeContext&, const std::string& path) {
  CheckKeys(c, path, {"key", "number_buckets", "default_value"});
  return categorical_column_with_identity(GetString(c, path, "key"),
                                          GetInt(c, path, "number_buckets"),
                                          GetOptionalInt(c, path, "default_value"));
}

ColumnPtr ReadHashed(const json& c, DeserializeContext&, const std::string& path) {
  CheckKeys(c, path, {"key", "hash_bucket_size", "dtype"});
  return categorical_column_with_hash_bucket(
      GetString(c, path, "key"), GetInt(c, path, "hash_bucket_size"),
      GetDType(c, path, "dtype", kStringDType | kIntDType));
}

ColumnPtr ReadVocabularyList(const json& c, DeserializeContext&, const std::string& path) {
  CheckKeys(c, path, {"key", "vocabulary_list", "dtype", "default_value", "num_oov_buckets"});
  const DType dtype = GetDType(c, path, "dtype", kStringDType | kIntDType);
  const std::string v_path = KeyPath(path, "vocabulary_list");
  const json& items = RequireList(c["vocabulary_list"], v_path);
  std::variant<Strings, Int64s> vocabulary;
  if (dtype == DType::kString) {
    Strings words;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        Invalid(IndexPath(v_path, i), "dtype is 'string', so every vocabulary entry must "
                                      "be a string; got " + items[i].dump() + ".");
      }
      words.push_back(items[i].get<std::string>());
    }
    vocabulary = std::move(words);
  } else {
    Int64s ids;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_number_integer()) {
        Invalid(IndexPath(v_path, i), "dtype is an integer type, so every vocabulary entry "
                                      "must be an integer; got " + items[i].dump() + ".");
      }
      ids.push_back(ToInt(items[i], IndexPath(v_path, i)));
    }
    vocabulary = std::move(ids);
  }
  return categorical_column_with_vocabulary_list(
      GetString(c, path, "key"), std::move(vocabulary), dtype,
      GetInt(c, path, "default_value"), GetInt(c, path, "num_oov_buckets"));
}

ColumnPtr ReadVocabularyFile(const json& c, DeserializeContext&, const std::string& path) {
  // file_format was added in TF 2.4-2.6; older configs lack it.
  CheckKeys(c, path,
            {"key", "vocabulary_file", "vocabulary_size", "num_oov_buckets", "dtype",
             "default_value"},
            {"file_format"});
  if (c.contains("file_format") && !c["file_format"].is_null()) {
    Invalid(KeyPath(path, "file_format"),
            "file_format " + c["file_format"].dump() +
                " is not supported; embcol reads text vocabulary files only "
                "(file_format null).");
  }
  // TF's factory stores an unset default_value as -1; pass it back as unset.
  std::optional<int64_t> default_value = GetOptionalInt(c, path, "default_value");
  if (default_value == -1) default_value.reset();
  return categorical_column_with_vocabulary_file(
      GetString(c, path, "key"), GetString(c, path, "vocabulary_file"),
      GetOptionalInt(c, path, "vocabulary_size"), GetInt(c, path, "num_oov_buckets"),
      default_value,
      GetDType(c, path, "dtype", kStringDType | kIntDType));
}

// embcol's DynamicVocabularyCategoricalColumn: {"key", "dtype"}, dtype one
// of "int64", "int32", "string" exactly (the table's key dtype).
ColumnPtr ReadDynamicVocabulary(const json& c, DeserializeContext&, const std::string& path) {
  CheckKeys(c, path, {"key", "dtype"});
  const std::string dtype = GetString(c, path, "dtype");
  if (dtype != "int64" && dtype != "int32" && dtype != "string") {
    Invalid(KeyPath(path, "dtype"), "the key dtype must be \"int64\", \"int32\" or "
                                    "\"string\"; got \"" + dtype + "\".");
  }
  return categorical_column_with_dynamic_vocabulary(GetString(c, path, "key"), dtype);
}

ColumnPtr ReadWeighted(const json& c, DeserializeContext& ctx, const std::string& path) {
  CheckKeys(c, path, {"categorical_column", "weight_feature_key", "dtype"});
  return weighted_categorical_column(
      ReadCategorical(c["categorical_column"], ctx, KeyPath(path, "categorical_column")),
      GetString(c, path, "weight_feature_key"),
      GetDType(c, path, "dtype", kIntDType | kFloatDType));
}

ColumnPtr ReadCrossed(const json& c, DeserializeContext& ctx, const std::string& path) {
  CheckKeys(c, path, {"keys", "hash_bucket_size", "hash_key"});
  const std::string k_path = KeyPath(path, "keys");
  const json& items = RequireList(c["keys"], k_path);
  std::vector<CrossedKey> keys;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].is_string()) {  // a raw feature name
      keys.emplace_back(items[i].get<std::string>());
    } else {
      keys.emplace_back(ReadCategorical(items[i], ctx, IndexPath(k_path, i)));
    }
  }
  return crossed_column(std::move(keys), GetInt(c, path, "hash_bucket_size"),
                        GetOptionalInt(c, path, "hash_key"));
}

ColumnPtr ReadSequenceCategorical(const json& c, DeserializeContext& ctx,
                                  const std::string& path) {
  CheckKeys(c, path, {"categorical_column"});
  const std::string inner_path = KeyPath(path, "categorical_column");
  CategoricalColumnPtr inner = ReadCategorical(c["categorical_column"], ctx, inner_path);
  if (inner->is_sequence()) {
    Invalid(inner_path, "a SequenceCategoricalColumn cannot wrap the sequence column '" +
                            inner->name() + "'.");
  }
  return std::make_shared<const SequenceCategoricalColumn>(std::move(inner));
}

// ---- embeddings ------------------------------------------------------------

const std::vector<std::string> kAcceleratorKeys = {
    "max_sequence_length", "learning_rate_fn", "embedding_lookup_device",
    "tensor_core_shape"};

std::optional<InitializerConfig> ReadInitializer(const json& value, const std::string& path) {
  if (value.is_null()) return std::nullopt;  // the default, as if omitted
  if (value.is_string()) {
    PythonCode(path, "initializer '" + value.get<std::string>() + "'");
  }
  CheckKeys(value, path, {"class_name", "config"},
            {"module", "registered_name", "__passive_serialization__"});
  InitializerConfig out;
  out.class_name = GetString(value, path, "class_name");
  out.config = value["config"];
  if (!out.config.is_object()) {
    Invalid(KeyPath(path, "config"), "expected a JSON object; got " + out.config.dump() + ".");
  }
  return out;
}

// embcol's dynamic_table extension (docs/config-format.md 6.4). Every key
// may be absent (its default); unknown keys are errors.
DynamicTableOptions ReadDynamicTable(const json& d, const std::string& path) {
  CheckKeys(d, path, {},
            {"init_capacity", "num_shards", "devices", "value_dtype", "kv_creator",
             "restrict_policy", "admission_filter"});
  DynamicTableOptions o;
  if (d.contains("init_capacity")) o.init_capacity = GetInt(d, path, "init_capacity");
  if (d.contains("num_shards")) o.num_shards = GetInt(d, path, "num_shards");
  if (d.contains("devices") && !d["devices"].is_null()) {
    const std::string devices_path = KeyPath(path, "devices");
    const json& items = RequireList(d["devices"], devices_path);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        Invalid(IndexPath(devices_path, i), "expected a device name (string); got " +
                                                items[i].dump() + ".");
      }
      o.devices.push_back(items[i].get<std::string>());
    }
  }
  if (d.contains("value_dtype")) o.value_dtype = GetString(d, path, "value_dtype");
  if (d.contains("kv_creator")) o.kv_creator = d["kv_creator"];
  if (d.contains("restrict_policy")) o.restrict_policy = d["restrict_policy"];
  if (d.contains("admission_filter")) o.admission_filter = d["admission_filter"];
  auto check_envelope = [&](const json& v, const char* key) {
    if (!v.is_null() && !(v.is_object() && v.contains("class_name"))) {
      Invalid(KeyPath(path, key), "expected null or {\"class_name\": ..., \"config\": "
                                  "{...}}; got " + v.dump() + ".");
    }
  };
  check_envelope(o.restrict_policy, "restrict_policy");
  check_envelope(o.admission_filter, "admission_filter");
  if (!(o.kv_creator.is_null() || o.kv_creator.is_string() || o.kv_creator.is_object())) {
    Invalid(KeyPath(path, "kv_creator"), "expected null, \"memory\" or {\"class_name\": "
                                         "..., \"config\": {...}}; got " +
                                             o.kv_creator.dump() + ".");
  }
  return o;
}

// The keys EmbeddingColumn and SharedEmbeddingColumn share, into options.
EmbeddingColumnOptions ReadEmbeddingOptions(const json& c, const std::string& path) {
  EmbeddingColumnOptions o;
  o.combiner = GetString(c, path, "combiner");
  o.initializer = ReadInitializer(c["initializer"], KeyPath(path, "initializer"));
  o.ckpt_to_load_from = GetOptionalString(c, path, "ckpt_to_load_from");
  o.tensor_name_in_ckpt = GetOptionalString(c, path, "tensor_name_in_ckpt");
  if (!c["max_norm"].is_null()) {
    o.max_norm = ToNumber(c["max_norm"], KeyPath(path, "max_norm"));
  }
  o.trainable = GetBool(c, path, "trainable");
  // Added in TF 2.2; TF's own from_config defaults it.
  if (c.contains("use_safe_embedding_lookup")) {
    o.use_safe_embedding_lookup = GetBool(c, path, "use_safe_embedding_lookup");
  }
  // embcol's accelerator keys, each optional.
  if (c.contains("max_sequence_length")) {
    o.max_sequence_length = GetInt(c, path, "max_sequence_length");
  }
  if (c.contains("learning_rate_fn") && !c["learning_rate_fn"].is_null()) {
    o.learning_rate_fn =
        LearningRateFn::FromConfig(c["learning_rate_fn"], KeyPath(path, "learning_rate_fn"));
  }
  if (c.contains("embedding_lookup_device")) {
    o.embedding_lookup_device = GetOptionalString(c, path, "embedding_lookup_device");
  }
  if (c.contains("tensor_core_shape") && !c["tensor_core_shape"].is_null()) {
    const std::string s_path = KeyPath(path, "tensor_core_shape");
    const json& items = RequireList(c["tensor_core_shape"], s_path);
    std::vector<int64_t> shape;
    for (size_t i = 0; i < items.size(); ++i) {
      // Python writes an unknown batch as None.
      shape.push_back(items[i].is_null() ? -1 : ToInt(items[i], IndexPath(s_path, i)));
    }
    o.tensor_core_shape = std::move(shape);
  }
  if (c.contains("dynamic_table") && !c["dynamic_table"].is_null()) {
    o.dynamic_table = ReadDynamicTable(c["dynamic_table"], KeyPath(path, "dynamic_table"));
  }
  return o;
}

std::vector<std::string> EmbeddingRequiredKeys(bool shared) {
  std::vector<std::string> keys = {"categorical_column"};
  if (shared) keys.push_back("shared_embedding_collection_name");
  for (const char* k : {"dimension", "combiner", "initializer", "ckpt_to_load_from",
                        "tensor_name_in_ckpt", "max_norm", "trainable"}) {
    keys.push_back(k);
  }
  return keys;
}

std::vector<std::string> EmbeddingOptionalKeys() {
  std::vector<std::string> keys = {"use_safe_embedding_lookup"};
  keys.insert(keys.end(), kAcceleratorKeys.begin(), kAcceleratorKeys.end());
  keys.push_back("dynamic_table");
  return keys;
}

ColumnPtr ReadEmbedding(const json& c, DeserializeContext& ctx, const std::string& path) {
  CheckKeys(c, path, EmbeddingRequiredKeys(false), EmbeddingOptionalKeys());
  CategoricalColumnPtr categorical =
      ReadCategorical(c["categorical_column"], ctx, KeyPath(path, "categorical_column"));
  const int64_t dimension = GetInt(c, path, "dimension");
  return embedding_column(std::move(categorical), dimension, ReadEmbeddingOptions(c, path));
}

ColumnPtr ReadSharedEmbedding(const json& c, DeserializeContext& ctx,
                              const std::string& path) {
  CheckKeys(c, path, EmbeddingRequiredKeys(true), EmbeddingOptionalKeys());
  CategoricalColumnPtr categorical =
      ReadCategorical(c["categorical_column"], ctx, KeyPath(path, "categorical_column"));
  std::optional<std::string> collection =
      GetOptionalString(c, path, "shared_embedding_collection_name");
  if (!collection) {
    // shared_embeddings' default for a single column.
    collection = categorical->name() + "_shared_embedding";
  }
  const int64_t dimension = GetInt(c, path, "dimension");
  return std::make_shared<const SharedEmbeddingColumn>(
      std::move(categorical), dimension, *collection, ReadEmbeddingOptions(c, path));
}

// ---- dispatch ----------------------------------------------------------------

using ReaderFn = ColumnPtr (*)(const json&, DeserializeContext&, const std::string&);

ReaderFn FindReader(const std::string& class_name) {
  static const std::pair<const char*, ReaderFn> kReaders[] = {
      {"NumericColumn", ReadNumeric},
      {"SequenceNumericColumn", ReadSequenceNumeric},
      {"BucketizedColumn", ReadBucketized},
      {"IdentityCategoricalColumn", ReadIdentity},
      {"HashedCategoricalColumn", ReadHashed},
      {"VocabularyListCategoricalColumn", ReadVocabularyList},
      {"VocabularyFileCategoricalColumn", ReadVocabularyFile},
      {"WeightedCategoricalColumn", ReadWeighted},
      {"DynamicVocabularyCategoricalColumn", ReadDynamicVocabulary},
      {"CrossedColumn", ReadCrossed},
      {"IndicatorColumn", ReadIndicator},
      {"EmbeddingColumn", ReadEmbedding},
      {"SequenceCategoricalColumn", ReadSequenceCategorical},
      {"SharedEmbeddingColumn", ReadSharedEmbedding},
  };
  for (const auto& [name, reader] : kReaders) {
    if (class_name == name) return reader;
  }
  return nullptr;
}

// Adds a new SharedEmbeddingColumn to its collection's group, checking it
// against the members read so far.
void JoinSharedGroup(const std::shared_ptr<const SharedEmbeddingColumn>& column,
                     DeserializeContext& ctx, const std::string& path) {
  auto& group = ctx.shared_groups[column->shared_embedding_collection_name()];
  std::vector<std::shared_ptr<const SharedEmbeddingColumn>> members;
  std::vector<std::string> paths;
  for (const auto& [member, member_path] : group) {
    members.push_back(member);
    paths.push_back(member_path);
  }
  members.push_back(column);
  try {
    ValidateSharedEmbeddingColumns(members);
  } catch (const InvalidArgument& e) {
    Invalid(path, std::string(e.what()) + " (other members of collection '" +
                      column->shared_embedding_collection_name() + "' at " +
                      JoinKeys(paths) + ")");
  }
  group.emplace_back(column, path);
}

}  // namespace

ColumnPtr DeserializeFeatureColumn(const json& envelope, DeserializeContext& ctx,
                                   const std::string& path) {
  if (envelope.is_string()) {
    Invalid(path, "expected a feature column {\"class_name\": ..., \"config\": {...}}; "
                  "got the string " + envelope.dump() +
                  " (raw feature names are allowed only in CrossedColumn.keys).");
  }
  if (!envelope.is_object() || !envelope.contains("class_name") ||
      !envelope.contains("config")) {
    Invalid(path, "Improper config format: expected {\"class_name\": ..., \"config\": "
                  "{...}}; got " + envelope.dump() + ".");
  }
  CheckKeys(envelope, path, {"class_name", "config"}, {"module", "registered_name"});
  const std::string class_name = GetString(envelope, path, "class_name");
  const std::string config_path = KeyPath(path, "config");
  ReaderFn reader = FindReader(class_name);
  if (reader == nullptr) {
    Invalid(path, "Unknown feature_column_v2: " + class_name + "; known classes: " +
                      kKnownClasses + ".");
  }
  ColumnPtr built;
  try {
    built = reader(envelope["config"], ctx, config_path);
  } catch (const Error& e) {
    RethrowAt(e, config_path);  // a factory's message gets the path
  }

  // TF's columns_by_name: one object per "<ClassName>:<name>".
  const std::string key = built->class_name() + ":" + built->name();
  auto it = ctx.columns_by_name.find(key);
  if (it != ctx.columns_by_name.end()) {
    if (SerializeFeatureColumn(*it->second.column) != SerializeFeatureColumn(*built)) {
      Invalid(path, "column " + key + " is defined differently at " + it->second.json_path +
                        "; two columns of one class and name must have the same config.");
    }
    return it->second.column;
  }
  ctx.columns_by_name.emplace(key, DeserializeContext::Built{built, path});
  if (auto shared = std::dynamic_pointer_cast<const SharedEmbeddingColumn>(built)) {
    JoinSharedGroup(shared, ctx, path);
  }
  return built;
}

std::vector<ColumnPtr> DeserializeFeatureColumns(const json& list,
                                                 const std::string& json_path) {
  if (!list.is_array()) {
    Invalid(json_path, "expected a JSON array of feature columns; got " +
                           std::string(list.type_name()) + ".");
  }
  DeserializeContext ctx;
  std::vector<ColumnPtr> columns;
  for (size_t i = 0; i < list.size(); ++i) {
    columns.push_back(DeserializeFeatureColumn(list[i], ctx, IndexPath(json_path, i)));
  }
  return columns;
}

}  // namespace embcol
