// Save / Restore of the model pieces (tables, dynamic tables, dense
// parameters, dense optimizer slots, global step, metadata) on top of
// CheckpointWriter / CheckpointReader.
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "embcol/checkpoint.h"
#include "embcol/errors.h"
#include "embcol/tensor.h"

namespace embcol {
namespace {

// Info of `name`, checked to be `dtype` with `shape`.
const CheckpointTensorInfo& Expect(const CheckpointReader& reader, const std::string& name,
                                   CheckpointDtype dtype, const std::vector<int64_t>& shape,
                                   const std::string& what) {
  const CheckpointTensorInfo& info = reader.Info(name);
  if (info.dtype != dtype || info.shape != shape) {
    throw InvalidArgument("checkpoint " + reader.directory() + ": tensor \"" + name + "\" is " +
                          std::string(CheckpointDtypeName(info.dtype)) + " " +
                          ShapeString(info.shape) + " but " + what + " needs " +
                          std::string(CheckpointDtypeName(dtype)) + " " + ShapeString(shape) +
                          "; build the model with the shapes it was saved with");
  }
  return info;
}

std::string WeightsName(const std::string& table) { return table + "/embedding_weights"; }

}  // namespace

// ------------------------------------------------------------ fixed tables

void SaveTable(CheckpointWriter& writer, const EmbeddingTable& table,
               const SparseOptimizerState* state) {
  const int64_t rows = table.num_rows(), dim = table.dim();
  writer.Add(WeightsName(table.name()), CheckpointDtype::kFloat32, {rows, dim}, table.data(),
             static_cast<size_t>(rows * dim) * sizeof(float));
  if (state == nullptr) return;
  if (state->num_rows() != rows || state->dim() != dim) {
    throw InvalidArgument("SaveTable: the optimizer state of table \"" + table.name() +
                          "\" is " + std::to_string(state->num_rows()) + " x " +
                          std::to_string(state->dim()) + ", the table " + std::to_string(rows) +
                          " x " + std::to_string(dim) + "; pass the table's own state");
  }
  for (int64_t s = 0; s < state->num_slots(); ++s) {
    writer.Add(WeightsName(table.name()) + "/" + state->slots()[s].name,
               CheckpointDtype::kFloat32, {rows, state->width(s)}, state->data(s),
               static_cast<size_t>(rows * state->width(s)) * sizeof(float));
  }
}

void RestoreTable(const CheckpointReader& reader, EmbeddingTable& table,
                  SparseOptimizerState* state) {
  const int64_t rows = table.num_rows(), dim = table.dim();
  const std::string weights = WeightsName(table.name());
  const std::string what = "table \"" + table.name() + "\"";
  Expect(reader, weights, CheckpointDtype::kFloat32, {rows, dim}, what);
  if (state != nullptr) {
    if (state->num_rows() != rows || state->dim() != dim) {
      throw InvalidArgument("RestoreTable: the optimizer state of table \"" + table.name() +
                            "\" does not match the table's shape");
    }
    for (int64_t s = 0; s < state->num_slots(); ++s) {
      Expect(reader, weights + "/" + state->slots()[s].name, CheckpointDtype::kFloat32,
             {rows, state->width(s)}, what + " (optimizer slot)");
    }
  }
  // Verify everything before the first byte is copied in.
  reader.Verify(weights);
  if (state != nullptr) {
    for (int64_t s = 0; s < state->num_slots(); ++s) reader.Verify(weights + "/" + state->slots()[s].name);
  }
  reader.ReadInto(weights, table.data(), static_cast<size_t>(rows * dim) * sizeof(float));
  if (state != nullptr) {
    for (int64_t s = 0; s < state->num_slots(); ++s) {
      reader.ReadInto(weights + "/" + state->slots()[s].name, state->data(s),
                      static_cast<size_t>(rows * state->width(s)) * sizeof(float));
    }
  }
}

// ---------------------------------------------------------- dynamic tables

namespace {

static_assert(sizeof(EntryMeta) == 2 * sizeof(uint32_t) &&
                  offsetof(EntryMeta, last_update) == 0 &&
                  offsetof(EntryMeta, frequency) == sizeof(uint32_t),
              "EntryMeta must be laid out as the uint32 [n, 2] meta tensor");

CheckpointDtype KeyDtype(KeyType type) {
  switch (type) {
    case KeyType::kInt64: return CheckpointDtype::kInt64;
    case KeyType::kInt32: return CheckpointDtype::kInt32;
    case KeyType::kString: return CheckpointDtype::kString;
  }
  return CheckpointDtype::kInt64;
}

std::string NumPartsName(const std::string& table) { return table + "/num_parts"; }

// Writes one exported part under `prefix` (prefix/keys|values|slots|meta),
// after checking that the store filled it consistently.
void WritePart(CheckpointWriter& writer, const dynamic_embedding::Variable& variable,
               const std::string& prefix, const ExportedEntries& part) {
  const int64_t n = part.size(), dim = variable.dim(), slots = variable.num_slots();
  if (part.key_type != variable.key_dtype() ||
      static_cast<int64_t>(part.values.size()) != n * dim ||
      static_cast<int64_t>(part.slots.size()) != n * slots * dim ||
      static_cast<int64_t>(part.meta.size()) != n) {
    throw InvalidArgument("SaveDynamicTable: the store of dynamic table \"" + variable.name() +
                          "\" exported an inconsistent part for \"" + prefix + "\" (" +
                          std::to_string(n) + " keys, " + std::to_string(part.values.size()) +
                          " values, " + std::to_string(part.slots.size()) + " slot values, " +
                          std::to_string(part.meta.size()) +
                          " meta records); fix its ExportPart implementation");
  }
  switch (part.key_type) {
    case KeyType::kInt64: writer.AddInt64s(prefix + "/keys", part.int64_keys); break;
    case KeyType::kInt32: writer.AddInt32s(prefix + "/keys", part.int32_keys); break;
    case KeyType::kString: writer.AddStrings(prefix + "/keys", part.string_keys); break;
  }
  writer.AddFloats(prefix + "/values", {n, dim}, part.values);
  writer.AddFloats(prefix + "/slots", {n, slots, dim}, part.slots);
  writer.Add(prefix + "/meta", CheckpointDtype::kUint32, {n, 2}, part.meta.data(),
             part.meta.size() * sizeof(EntryMeta));
}

}  // namespace

std::string DynamicTablePartName(const std::string& table, int64_t part) {
  std::string digits = std::to_string(part);
  if (digits.size() < 5) digits.insert(0, 5 - digits.size(), '0');
  return table + "/part_" + digits;
}

std::vector<std::string> DynamicTableParts(const CheckpointReader& reader,
                                           const std::string& table) {
  if (!reader.Has(NumPartsName(table)) && reader.Has(table + "/keys")) {
    return {table};  // written before tables were saved in parts
  }
  Expect(reader, NumPartsName(table), CheckpointDtype::kInt64, {},
         "dynamic table \"" + table + "\"");  // NotFound names the tensor
  const int64_t parts = reader.ReadScalarInt64(NumPartsName(table));
  if (parts < 0 || parts > (int64_t{1} << 24)) {
    throw DataLoss("checkpoint " + reader.directory() + ": tensor \"" + NumPartsName(table) +
                   "\" holds " + std::to_string(parts) +
                   ", not a part count; the checkpoint is corrupt");
  }
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(parts));
  for (int64_t k = 0; k < parts; ++k) out.push_back(DynamicTablePartName(table, k));
  return out;
}

void SaveDynamicTable(CheckpointWriter& writer, const dynamic_embedding::Variable& variable) {
  const std::string& name = variable.name();
  const int parts = variable.export_part_count();
  writer.AddScalarInt64(NumPartsName(name), parts);
  // One part in memory at a time: export it, stream it out, drop it.
  for (int k = 0; k < parts; ++k) {
    WritePart(writer, variable, DynamicTablePartName(name, k), variable.export_part(k));
  }
}

void RestoreDynamicTable(const CheckpointReader& reader, dynamic_embedding::Variable& variable) {
  const std::string& name = variable.name();
  const std::string what = "dynamic table \"" + name + "\"";
  const std::vector<std::string> parts = DynamicTableParts(reader, name);
  const CheckpointDtype key_dtype = KeyDtype(variable.key_dtype());
  const int64_t dim = variable.dim(), slots = variable.num_slots();
  // Check every part's names, dtypes and shapes before reading anything.
  std::vector<int64_t> sizes;
  int64_t total = 0;
  for (const std::string& prefix : parts) {
    const CheckpointTensorInfo& keys = reader.Info(prefix + "/keys");
    if (keys.shape.size() != 1) {
      throw InvalidArgument("checkpoint " + reader.directory() + ": tensor \"" + keys.name +
                            "\" has shape " + ShapeString(keys.shape) + "; " + what +
                            " needs a vector of keys");
    }
    const int64_t n = keys.shape[0];
    Expect(reader, prefix + "/keys", key_dtype, {n},
           what + " (key dtype " + std::string(KeyTypeName(variable.key_dtype())) + ")");
    Expect(reader, prefix + "/values", CheckpointDtype::kFloat32, {n, dim}, what);
    Expect(reader, prefix + "/slots", CheckpointDtype::kFloat32, {n, slots, dim}, what);
    Expect(reader, prefix + "/meta", CheckpointDtype::kUint32, {n, 2}, what);
    sizes.push_back(n);
    total += n;
  }
  // The whole import is built in memory (Import replaces the contents in
  // one step). Each read verifies its tensor before copying, and the
  // variable is touched only after every part was read.
  ExportedEntries entries;
  entries.key_type = variable.key_dtype();
  switch (entries.key_type) {
    case KeyType::kInt64: entries.int64_keys.resize(static_cast<size_t>(total)); break;
    case KeyType::kInt32: entries.int32_keys.resize(static_cast<size_t>(total)); break;
    case KeyType::kString: entries.string_keys.reserve(static_cast<size_t>(total)); break;
  }
  entries.values.resize(static_cast<size_t>(total * dim));
  entries.slots.resize(static_cast<size_t>(total * slots * dim));
  entries.meta.resize(static_cast<size_t>(total));
  int64_t at = 0;
  for (size_t p = 0; p < parts.size(); ++p) {
    const std::string& prefix = parts[p];
    const int64_t n = sizes[p];
    switch (entries.key_type) {
      case KeyType::kInt64:
        reader.ReadInto(prefix + "/keys", entries.int64_keys.data() + at,
                        static_cast<size_t>(n) * sizeof(int64_t));
        break;
      case KeyType::kInt32:
        reader.ReadInto(prefix + "/keys", entries.int32_keys.data() + at,
                        static_cast<size_t>(n) * sizeof(int32_t));
        break;
      case KeyType::kString:
        for (std::string& key : reader.ReadStrings(prefix + "/keys")) {
          entries.string_keys.push_back(std::move(key));
        }
        break;
    }
    reader.ReadInto(prefix + "/values", entries.values.data() + at * dim,
                    static_cast<size_t>(n * dim) * sizeof(float));
    reader.ReadInto(prefix + "/slots", entries.slots.data() + at * slots * dim,
                    static_cast<size_t>(n * slots * dim) * sizeof(float));
    reader.ReadInto(prefix + "/meta", entries.meta.data() + at,
                    static_cast<size_t>(n) * sizeof(EntryMeta));
    at += n;
  }
  variable.import_(entries);
}

// ------------------------------------------------------------ dense params

void SaveDenseParams(CheckpointWriter& writer, std::span<const DenseParam> params) {
  for (const DenseParam& p : params) {
    writer.AddFloats(p.name, {static_cast<int64_t>(p.value.size())},
                     std::span<const float>(p.value.data(), p.value.size()));
  }
}

void RestoreDenseParams(const CheckpointReader& reader, std::span<const DenseParam> params) {
  for (const DenseParam& p : params) {
    Expect(reader, p.name, CheckpointDtype::kFloat32, {static_cast<int64_t>(p.value.size())},
           "dense parameter \"" + p.name + "\"");
  }
  for (const DenseParam& p : params) reader.Verify(p.name);
  for (const DenseParam& p : params) reader.ReadInto(p.name, p.value.data(), p.value.size_bytes());
}

void SaveDenseOptimizer(CheckpointWriter& writer, const DenseOptimizer& optimizer,
                        const std::string& name) {
  const std::vector<std::string> names = optimizer.ParamNames();
  writer.AddStrings(name + "/params", names);
  for (const std::string& param : names) {
    for (const SlotSpec& slot : optimizer.rule().slots()) {
      std::span<const float> values = optimizer.Slot(param, slot.name);
      writer.AddFloats(param + "/" + slot.name, {static_cast<int64_t>(values.size())}, values);
    }
  }
}

void RestoreDenseOptimizer(const CheckpointReader& reader, DenseOptimizer& optimizer,
                           const std::string& name) {
  const std::vector<std::string> names = reader.ReadStrings(name + "/params");
  // Check and read every slot first, then set them: a failure changes nothing.
  std::vector<std::tuple<std::string, std::string, std::vector<float>>> loaded;
  for (const std::string& param : names) {
    for (const SlotSpec& slot : optimizer.rule().slots()) {
      const std::string tensor = param + "/" + slot.name;
      const CheckpointTensorInfo& info = reader.Info(tensor);
      if (info.shape.size() != 1) {
        throw InvalidArgument("checkpoint: dense optimizer slot \"" + tensor + "\" has shape " +
                              ShapeString(info.shape) + "; expected a vector");
      }
      loaded.emplace_back(param, slot.name, reader.ReadFloats(tensor));
    }
  }
  for (auto& [param, slot, values] : loaded) optimizer.SetSlot(param, slot, values);
}

// -------------------------------------------------------- step, metadata

void SaveGlobalStep(CheckpointWriter& writer, int64_t global_step) {
  writer.AddScalarInt64("global_step", global_step);
}
int64_t RestoreGlobalStep(const CheckpointReader& reader) {
  return reader.ReadScalarInt64("global_step");
}
void SaveMetadata(CheckpointWriter& writer, const nlohmann::json& metadata) {
  writer.AddJson("metadata", metadata);
}
nlohmann::json RestoreMetadata(const CheckpointReader& reader) { return reader.ReadJson("metadata"); }

}  // namespace embcol
