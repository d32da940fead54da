#include "embcol/table_set.h"

#include "embcol/errors.h"

namespace embcol {

EmbeddingTable& TableSet::GetOrCreate(const EmbeddingColumnBase& column) {
  const std::string& name = column.table_name();
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
  if (o.ckpt_to_load_from) {
    throw FailedPrecondition(
        "column " + column.name() + ": ckpt_to_load_from='" + *o.ckpt_to_load_from +
        "' asks for the initial table from a checkpoint, and this embcol version "
        "cannot read checkpoints yet; remove ckpt_to_load_from/tensor_name_in_ckpt "
        "or give the values with a Constant initializer.");
  }
  // Seed for initializers whose own seed is null: the table name's default
  // seed mixed with this set's seed.
  const uint64_t seed = DefaultTableSeed(name) ^ (seed_ * 0x9E3779B97F4A7C15ull);
  auto table = std::make_unique<EmbeddingTable>(name, column.num_buckets(),
                                                column.dimension(), *o.initializer, seed);
  EmbeddingTable& ref = *table;
  tables_.emplace(name, std::move(table));
  return ref;
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
