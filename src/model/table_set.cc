#include "embcol/table_set.h"

#include <cmath>
#include <filesystem>
#include <optional>
#include <utility>

#include "embcol/checkpoint.h"
#include "embcol/errors.h"
#include "embcol/kv_creator.h"
#include "embcol/restrict_policy.h"
#include "embcol/tensor_bundle.h"

namespace embcol {
namespace {

// A dynamic table has no fixed [num_buckets, dimension] tensor to load.
void CheckNoDynamicCheckpoint(const EmbeddingColumnBase& column) {
  const EmbeddingColumnOptions& o = column.options();
  if (o.ckpt_to_load_from) {
    throw FailedPrecondition(
        "column " + column.name() + ": ckpt_to_load_from='" + *o.ckpt_to_load_from +
        "' asks for the initial table from a checkpoint, but the column has a dynamic "
        "vocabulary, whose table has no fixed rows to load; remove "
        "ckpt_to_load_from/tensor_name_in_ckpt (restore a saved dynamic table with "
        "RestoreDynamicTable instead).");
  }
}

std::string JoinNames(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// What both checkpoint kinds say about the wanted tensor.
struct FoundTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<std::string> same_shape;  // names of tensors with the wanted shape
};

// The table of `column` filled from its ckpt_to_load_from /
// tensor_name_in_ckpt: a TensorFlow bundle or an embcol checkpoint. The
// tensor is read straight into the table's storage.
std::unique_ptr<EmbeddingTable> LoadTable(const EmbeddingColumnBase& column) {
  const EmbeddingColumnOptions& o = column.options();
  const std::string& ckpt = *o.ckpt_to_load_from;
  if (!o.tensor_name_in_ckpt) {
    throw InvalidArgument("column " + column.name() + ": ckpt_to_load_from is set but "
                          "tensor_name_in_ckpt is not; give both or neither.");
  }
  const std::string& tensor = *o.tensor_name_in_ckpt;
  const std::vector<int64_t> want{column.num_buckets(), column.dimension()};
  const std::string what = "column " + column.name() + ": tensor \"" + tensor +
                           "\" of checkpoint " + ckpt + " (ckpt_to_load_from)";
  const bool tf = IsTensorBundle(ckpt);
  std::optional<TensorBundleReader> bundle;
  std::optional<CheckpointReader> own;
  FoundTensor found;
  if (tf) {
    bundle.emplace(ckpt);
    try {
      const BundleTensorInfo& t = bundle->Info(tensor, want);  // NotFound lists names
      found = {t.dtype, t.shape, bundle->NamesWithShape(want)};
    } catch (const NotFound& e) {
      throw NotFound("column " + column.name() + " (tensor_name_in_ckpt): " + e.what());
    }
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(ckpt, ec)) {
      throw NotFound("column " + column.name() + ": ckpt_to_load_from='" + ckpt +
                     "' names no checkpoint: expected a TensorFlow checkpoint (" + ckpt +
                     ".index, or a directory with a `checkpoint` file or one *.index) or an "
                     "embcol checkpoint directory / model_dir; fix the path.");
    }
    own.emplace(ckpt);
    std::vector<std::string> same;
    for (const auto& t : own->tensors()) {
      if (t.shape == want) same.push_back(t.name);
    }
    if (!own->Has(tensor)) {
      try {
        own->Info(tensor);  // throws NotFound with the closest names
      } catch (const NotFound& e) {
        std::string msg = e.what();
        if (!msg.empty() && msg.back() == '.') msg.pop_back();
        throw NotFound("column " + column.name() + " (tensor_name_in_ckpt): " + msg +
                       "; tensors of shape " + ShapeToString(want) + ": " + JoinNames(same) +
                       ".");
      }
    }
    const CheckpointTensorInfo& t = own->Info(tensor);
    found = {std::string(CheckpointDtypeName(t.dtype)), t.shape, std::move(same)};
  }
  if (found.shape != want || found.dtype != "float32") {
    throw InvalidArgument(what + " is " + found.dtype + " " + ShapeToString(found.shape) +
                          ", but the table needs float32 " + ShapeToString(want) +
                          " (num_buckets x dimension). Tensors of that shape in the "
                          "checkpoint: " + JoinNames(found.same_shape) +
                          "; name one of them in tensor_name_in_ckpt or fix the column.");
  }
  auto table = std::make_unique<EmbeddingTable>(column.table_name(), want[0], want[1]);
  const size_t n = static_cast<size_t>(want[0] * want[1]);
  float* data = table->data();
  if (tf) {
    bundle->ReadInto(tensor, data, n * sizeof(float));
  } else {
    own->ReadInto(tensor, data, n * sizeof(float));
  }
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(data[i])) {
      throw InvalidArgument(what + " holds a non-finite value (" + std::to_string(data[i]) +
                            ") at row " + std::to_string(i / want[1]) + ", column " +
                            std::to_string(i % want[1]) + "; an embedding table must be "
                            "finite.");
    }
  }
  return table;
}

// Turns the column's dynamic_table settings into Variable options; every
// config error names the column and the field.
dynamic_embedding::VariableOptions DynamicOptions(const EmbeddingColumnBase& column,
                                                  uint64_t seed,
                                                  const std::vector<float>& slot_initial_values) {
  const EmbeddingColumnOptions& o = column.options();
  const DynamicTableOptions d = o.dynamic_table.value_or(DynamicTableOptions{});
  const std::string what = "column " + column.name() + ": dynamic_table";
  dynamic_embedding::VariableOptions v;
  v.name = column.table_name();
  v.key_dtype = ParseKeyType(column.key_dtype(), "column " + column.name() + ": key dtype");
  v.value_dtype = ParseValueDtype(d.value_dtype, what + ".value_dtype");
  v.dim = column.dimension();
  v.devices = d.devices;
  v.num_shards = static_cast<int>(d.num_shards);
  v.initializer = *o.initializer;
  v.seed = seed;
  v.trainable = o.trainable;
  v.init_size = d.init_capacity;
  if (o.trainable) v.slot_initial_values = slot_initial_values;
  if (!d.kv_creator.is_null()) {
    v.kv_creator = dynamic_embedding::KvCreatorFromConfig(d.kv_creator, what + ".kv_creator");
  }
  if (!d.restrict_policy.is_null()) {
    v.restrict_policy = RestrictPolicyFromConfig(d.restrict_policy, what + ".restrict_policy");
  }
  if (!d.admission_filter.is_null()) {
    v.admission_filter =
        AdmissionFilterFromConfig(d.admission_filter, what + ".admission_filter");
  }
  return v;
}

}  // namespace

uint64_t TableSet::TableSeed(const std::string& name) const {
  // The table name's default seed mixed with this set's seed.
  return DefaultTableSeed(name) ^ (seed_ * 0x9E3779B97F4A7C15ull);
}

EmbeddingTable& TableSet::GetOrCreate(const EmbeddingColumnBase& column) {
  const std::string& name = column.table_name();
  if (column.has_dynamic_vocabulary()) {
    throw InvalidArgument("column " + column.name() + " has a dynamic vocabulary, so its "
                          "table '" + name + "' is a dynamic table; use "
                          "TableSet::GetOrCreateDynamic / FindDynamic.");
  }
  if (dynamic_tables_.count(name)) {
    throw InvalidArgument("column " + column.name() + " needs a fixed table '" + name +
                          "', but a dynamic table of that name exists; rename one of "
                          "them (shared columns must agree).");
  }
  auto it = tables_.find(name);
  if (it != tables_.end()) {
    EmbeddingTable& t = *it->second;
    if (t.num_rows() != column.num_buckets() || t.dim() != column.dimension()) {
      throw InvalidArgument("column " + column.name() + " needs table '" + name +
                            "' of shape [" + std::to_string(column.num_buckets()) + ", " +
                            std::to_string(column.dimension()) +
                            "], but a table of that name already has shape [" +
                            std::to_string(t.num_rows()) + ", " +
                            std::to_string(t.dim()) +
                            "]; rename one of them (shared columns must agree).");
    }
    return t;
  }
  const EmbeddingColumnOptions& o = column.options();
  std::unique_ptr<EmbeddingTable> table;
  if (o.ckpt_to_load_from) {
    table = LoadTable(column);  // joins the set only when fully read and checked
  } else {
    table = std::make_unique<EmbeddingTable>(name, column.num_buckets(), column.dimension(),
                                             *o.initializer, TableSeed(name));
  }
  EmbeddingTable& ref = *table;
  tables_.emplace(name, std::move(table));
  return ref;
}

dynamic_embedding::Variable& TableSet::GetOrCreateDynamic(const EmbeddingColumnBase& column) {
  const std::string& name = column.table_name();
  if (!column.has_dynamic_vocabulary()) {
    throw InvalidArgument("column " + column.name() + " has a fixed vocabulary (" +
                          std::to_string(column.num_buckets()) + " buckets), so its table '" +
                          name + "' is a fixed table; use TableSet::GetOrCreate / Find.");
  }
  if (tables_.count(name)) {
    throw InvalidArgument("column " + column.name() + " needs a dynamic table '" + name +
                          "', but a fixed table of that name exists; rename one of them "
                          "(shared columns must agree).");
  }
  auto it = dynamic_tables_.find(name);
  if (it != dynamic_tables_.end()) {
    dynamic_embedding::Variable& v = *it->second;
    const std::string key_dtype(KeyTypeName(v.key_dtype()));
    if (v.dim() != column.dimension() || key_dtype != column.key_dtype()) {
      throw InvalidArgument("column " + column.name() + " needs dynamic table '" + name +
                            "' with dim " + std::to_string(column.dimension()) + " and " +
                            column.key_dtype() + " keys, but a table of that name has dim " +
                            std::to_string(v.dim()) + " and " + key_dtype +
                            " keys; rename one of them (shared columns must agree).");
    }
    return v;
  }
  CheckNoDynamicCheckpoint(column);
  auto variable =
      std::make_unique<dynamic_embedding::Variable>(DynamicOptions(column, TableSeed(name),
                                                                   dynamic_slot_initial_values_));
  dynamic_embedding::Variable& ref = *variable;
  dynamic_tables_.emplace(name, std::move(variable));
  return ref;
}

void TableSet::Create(const EmbeddingColumnBase& column) {
  if (column.has_dynamic_vocabulary()) {
    GetOrCreateDynamic(column);
  } else {
    GetOrCreate(column);
  }
}

dynamic_embedding::Variable* TableSet::FindDynamic(const std::string& name) {
  auto it = dynamic_tables_.find(name);
  return it == dynamic_tables_.end() ? nullptr : it->second.get();
}

const dynamic_embedding::Variable* TableSet::FindDynamic(const std::string& name) const {
  auto it = dynamic_tables_.find(name);
  return it == dynamic_tables_.end() ? nullptr : it->second.get();
}

std::vector<const dynamic_embedding::Variable*> TableSet::dynamic_tables() const {
  std::vector<const dynamic_embedding::Variable*> out;
  for (const auto& [name, v] : dynamic_tables_) out.push_back(v.get());
  return out;
}

EmbeddingTable* TableSet::Find(const std::string& name) {
  auto it = tables_.find(name);
  return it == tables_.end() ? nullptr : it->second.get();
}

const EmbeddingTable* TableSet::Find(const std::string& name) const {
  auto it = tables_.find(name);
  return it == tables_.end() ? nullptr : it->second.get();
}

std::vector<const EmbeddingTable*> TableSet::tables() const {
  std::vector<const EmbeddingTable*> out;
  for (const auto& [name, t] : tables_) out.push_back(t.get());
  return out;
}

}  // namespace embcol
