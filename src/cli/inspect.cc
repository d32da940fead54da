#include "cli/inspect.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string_view>

#include <CLI/CLI.hpp>

#include "embcol/errors.h"
#include "embcol/tensor.h"
#include "embcol/tensor_bundle.h"

namespace embcol::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kWeights = "/embedding_weights";
constexpr std::string_view kNumParts = "/num_parts";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The first non-blank byte of a file, or 0 when it has none / cannot be read.
char FirstNonBlank(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c)) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return c;
  }
  return 0;
}

TableSummary FixedTable(const CheckpointReader& reader, const CheckpointTensorInfo& weights) {
  TableSummary t;
  t.name = weights.name.substr(0, weights.name.size() - kWeights.size());
  t.rows = weights.shape[0];
  t.dim = weights.shape[1];
  const std::string slot_prefix = weights.name + "/";
  for (const CheckpointTensorInfo& info : reader.tensors()) {
    if (info.name.size() > slot_prefix.size() && info.name.starts_with(slot_prefix) &&
        info.name.find('/', slot_prefix.size()) == std::string::npos) {
      t.slots.push_back(info.name.substr(slot_prefix.size()));
    }
  }
  std::sort(t.slots.begin(), t.slots.end());
  t.num_slots = static_cast<int64_t>(t.slots.size());
  return t;
}

// Fills keys, dim and slots of a dynamic table from its parts' shapes.
TableSummary DynamicTable(const CheckpointReader& reader, const std::string& name,
                          std::vector<std::string> parts) {
  TableSummary t;
  t.name = name;
  t.dynamic = true;
  t.parts = std::move(parts);
  for (size_t p = 0; p < t.parts.size(); ++p) {
    const CheckpointTensorInfo& keys = reader.Info(t.parts[p] + "/keys");
    const CheckpointTensorInfo& slots = reader.Info(t.parts[p] + "/slots");
    if (keys.shape.size() != 1 || slots.shape.size() != 3) {
      throw DataLoss("checkpoint " + reader.directory() + ": dynamic table \"" + name +
                     "\" part \"" + t.parts[p] + "\" has keys " + ShapeString(keys.shape) +
                     " and slots " + ShapeString(slots.shape) +
                     "; expected [n] and [n, num_slots, dim]");
    }
    t.rows += keys.shape[0];
    if (p == 0) {
      t.key_dtype = keys.dtype;
      t.num_slots = slots.shape[1];
      t.dim = slots.shape[2];
    }
  }
  return t;
}

}  // namespace

CheckpointFormat DetectCheckpointFormat(const std::string& path) {
  const fs::path dir(path);
  if (fs::is_regular_file(dir / "manifest")) return CheckpointFormat::kEmbcol;
  // embcol's state file is JSON; TensorFlow's `checkpoint` file is a text
  // proto (model_checkpoint_path: ...), which another reader will take.
  if (fs::is_regular_file(dir / "checkpoint") && FirstNonBlank(dir / "checkpoint") == '{') {
    return CheckpointFormat::kEmbcol;
  }
  if (IsTensorBundle(path)) return CheckpointFormat::kTensorFlow;
  throw NotFound("'" + path +
                 "' is not a checkpoint this build can read: expected an embcol checkpoint "
                 "directory (holding `manifest`), a model_dir (holding the JSON state file "
                 "`checkpoint`), or a TensorFlow checkpoint (PREFIX of PREFIX.index, or its "
                 "directory)");
}

std::vector<TableSummary> ListTables(const CheckpointReader& reader) {
  std::map<std::string, TableSummary> tables;
  std::set<std::string> part_prefixes;
  for (const CheckpointTensorInfo& info : reader.tensors()) {
    if (EndsWith(info.name, kNumParts) && info.dtype == CheckpointDtype::kInt64 &&
        info.shape.empty()) {
      const std::string name = info.name.substr(0, info.name.size() - kNumParts.size());
      std::vector<std::string> parts = DynamicTableParts(reader, name);
      part_prefixes.insert(parts.begin(), parts.end());
      tables[name] = DynamicTable(reader, name, std::move(parts));
    }
  }
  for (const CheckpointTensorInfo& info : reader.tensors()) {
    if (EndsWith(info.name, kWeights) && info.dtype == CheckpointDtype::kFloat32 &&
        info.shape.size() == 2) {
      TableSummary t = FixedTable(reader, info);
      tables[t.name] = std::move(t);
    } else if (EndsWith(info.name, "/keys")) {
      // The single-part layout of older checkpoints: <t>/keys|values|slots|meta.
      const std::string name = info.name.substr(0, info.name.size() - 5);
      if (part_prefixes.count(name) == 0 && tables.count(name) == 0 &&
          reader.Has(name + "/values") && reader.Has(name + "/slots") &&
          reader.Has(name + "/meta")) {
        tables[name] = DynamicTable(reader, name, {name});
      }
    }
  }
  std::vector<TableSummary> out;
  for (auto& [name, t] : tables) out.push_back(std::move(t));
  return out;
}

std::string TableNames(const std::vector<TableSummary>& tables) {
  if (tables.empty()) return "(none)";
  std::string out;
  for (const TableSummary& t : tables) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

namespace {

nlohmann::json InspectEmbcol(const std::string& path) {
  const CheckpointReader reader(path);
  nlohmann::json doc = {{"path", path},
                        {"format", "embcol"},
                        {"directory", reader.directory()},
                        {"step", reader.step()}};
  nlohmann::json tensors = nlohmann::json::array();
  for (const CheckpointTensorInfo& info : reader.tensors()) {
    tensors.push_back({{"name", info.name},
                       {"dtype", std::string(CheckpointDtypeName(info.dtype))},
                       {"shape", info.shape},
                       {"bytes", info.length}});
  }
  doc["tensors"] = std::move(tensors);
  nlohmann::json tables = nlohmann::json::array();
  for (const TableSummary& t : ListTables(reader)) {
    if (t.dynamic) {
      tables.push_back({{"name", t.name},
                        {"kind", "dynamic"},
                        {"keys", t.rows},
                        {"dim", t.dim},
                        {"num_slots", t.num_slots},
                        {"key_dtype", std::string(CheckpointDtypeName(t.key_dtype))},
                        {"parts", t.parts.size()}});
    } else {
      tables.push_back({{"name", t.name},
                        {"kind", "fixed"},
                        {"rows", t.rows},
                        {"dim", t.dim},
                        {"slots", t.slots}});
    }
  }
  doc["tables"] = std::move(tables);
  return doc;
}

// A TensorFlow bundle: its tensors, and as tables the rank-2 float32
// tensors named like an embedding column's variable (".../embedding_weights").
// The step is the number after the prefix's last '-' (model.ckpt-1234), if any.
nlohmann::json InspectTensorFlow(const std::string& path) {
  const TensorBundleReader reader(path);
  const std::string& prefix = reader.prefix();
  nlohmann::json step = nullptr;
  const size_t dash = prefix.rfind('-');
  if (dash != std::string::npos && dash + 1 < prefix.size() &&
      prefix.find_first_not_of("0123456789", dash + 1) == std::string::npos) {
    step = std::stoll(prefix.substr(dash + 1));
  }
  nlohmann::json doc = {{"path", path}, {"format", "tensorflow"}, {"directory", prefix},
                        {"step", step}};
  nlohmann::json tensors = nlohmann::json::array();
  nlohmann::json tables = nlohmann::json::array();
  for (const BundleTensorInfo& info : reader.tensors()) {
    tensors.push_back({{"name", info.name},
                       {"dtype", info.dtype},
                       {"shape", info.shape},
                       {"bytes", info.size}});
    const std::string_view name = info.name;
    constexpr std::string_view kWeights = "embedding_weights";
    if (info.dtype == "float32" && info.shape.size() == 2 && name.size() >= kWeights.size() &&
        name.substr(name.size() - kWeights.size()) == kWeights) {
      tables.push_back({{"name", info.name},
                        {"kind", "fixed"},
                        {"rows", info.shape[0]},
                        {"dim", info.shape[1]},
                        {"slots", nlohmann::json::array()}});
    }
  }
  doc["tensors"] = std::move(tensors);
  doc["tables"] = std::move(tables);
  return doc;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string ShapeText(const nlohmann::json& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i].get<int64_t>());
  }
  return out + "]";
}

}  // namespace

nlohmann::json InspectCheckpoint(const std::string& path) {
  switch (DetectCheckpointFormat(path)) {
    case CheckpointFormat::kEmbcol: return InspectEmbcol(path);
    case CheckpointFormat::kTensorFlow: return InspectTensorFlow(path);
  }
  throw Internal("inspect: unhandled checkpoint format for '" + path + "'");
}

std::string FormatInspectText(const nlohmann::json& doc) {
  std::string out = "checkpoint " + doc["directory"].get<std::string>() + " (" +
                    doc["format"].get<std::string>() + ")" +
                    (doc["step"].is_null() ? std::string()
                                           : ", step " + std::to_string(doc["step"].get<int64_t>())) +
                    "\n";
  const nlohmann::json& tensors = doc["tensors"];
  size_t name_width = 0, dtype_width = 0, shape_width = 0;
  for (const nlohmann::json& t : tensors) {
    name_width = std::max(name_width, t["name"].get<std::string>().size());
    dtype_width = std::max(dtype_width, t["dtype"].get<std::string>().size());
    shape_width = std::max(shape_width, ShapeText(t["shape"]).size());
  }
  out += "tensors: " + std::to_string(tensors.size()) + "\n";
  for (const nlohmann::json& t : tensors) {
    out += "  " + Pad(t["name"].get<std::string>(), name_width) + "  " +
           Pad(t["dtype"].get<std::string>(), dtype_width) + "  " +
           Pad(ShapeText(t["shape"]), shape_width) + "  " +
           std::to_string(t["bytes"].get<uint64_t>()) + " bytes\n";
  }
  const nlohmann::json& tables = doc["tables"];
  size_t table_width = 0;
  for (const nlohmann::json& t : tables) {
    table_width = std::max(table_width, t["name"].get<std::string>().size());
  }
  out += "tables: " + std::to_string(tables.size()) + "\n";
  for (const nlohmann::json& t : tables) {
    out += "  " + Pad(t["name"].get<std::string>(), table_width) + "  ";
    if (t["kind"] == "fixed") {
      std::string slots;
      for (const nlohmann::json& s : t["slots"]) {
        slots += (slots.empty() ? "" : ", ") + s.get<std::string>();
      }
      out += "fixed    " + std::to_string(t["rows"].get<int64_t>()) + " x " +
             std::to_string(t["dim"].get<int64_t>()) +
             ", slots: " + (slots.empty() ? "none" : slots) + "\n";
    } else {
      out += "dynamic  " + std::to_string(t["keys"].get<int64_t>()) + " keys (" +
             t["key_dtype"].get<std::string>() + ") x " +
             std::to_string(t["dim"].get<int64_t>()) + ", " +
             std::to_string(t["num_slots"].get<int64_t>()) + " slots, " +
             std::to_string(t["parts"].get<int64_t>()) + " parts\n";
    }
  }
  return out;
}

std::string RunInspect(const InspectArgs& args) {
  const nlohmann::json doc = InspectCheckpoint(args.path);
  return args.json ? doc.dump(1) + "\n" : FormatInspectText(doc);
}

CLI::App* AddInspectCommand(CLI::App& app, InspectArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Print a checkpoint's step, tensors (name, dtype, shape, bytes) and tables.");
  cmd->add_option("checkpoint", args.path, "A checkpoint directory or a model_dir")->required();
  cmd->add_flag("--json", args.json, "Print JSON instead of text");
  return cmd;
}

}  // namespace embcol::cli
