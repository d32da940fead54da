// The in-memory dynamic table's operations over the whole table: size,
// memory, clear, export, import and the metadata scans of restrict
// policies (the batch operations are in dynamic_table.cc).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "embcol/errors.h"
#include "embedding/dynamic_table_impl.h"

namespace embcol::internal {

int64_t DynamicTable::Size() const {
  int64_t n = 0;
  for (const auto& sh : shards_) n += sh->size();
  return n;
}

int64_t DynamicTable::MemoryBytes() const {
  int64_t bytes = static_cast<int64_t>(sizeof(*this));
  for (const auto& sh : shards_) {
    std::shared_lock lock(sh->mu);
    bytes += sh->MemoryBytes();
  }
  return bytes;
}

void DynamicTable::Clear() {
  std::vector<std::unique_lock<RwLock>> locks;
  locks.reserve(shards_.size());
  for (const auto& sh : shards_) locks.emplace_back(sh->mu);  // ascending order
  for (const auto& sh : shards_) sh->Reset();
}

// Appends shard `sh`'s entries to out, from position j on (out's vectors
// sized for them). REQUIRES: sh.mu held (shared).
void DynamicTable::AppendShard(const Shard& sh, ExportedEntries& out, int64_t& j) const {
  const int64_t dim = spec_.dim;
  const int64_t slot_floats = spec_.num_slots() * dim;
  sh.ForEachEntry([&](uint32_t e) {
    const EntryHeader* h = sh.header(e);
    switch (spec_.key_type) {
      case KeyType::kInt64: out.int64_keys.push_back(h->key); break;
      case KeyType::kInt32: out.int32_keys.push_back(static_cast<int32_t>(h->key)); break;
      case KeyType::kString: out.string_keys.push_back(sh.string_key(e)); break;
    }
    ReadRow(sh, e, out.values.data() + j * dim);
    if (slot_floats > 0) {
      std::memcpy(out.slots.data() + j * slot_floats, Slots(sh, e),
                  static_cast<size_t>(slot_floats) * sizeof(float));
    }
    out.meta[j] = h->meta;
    ++j;
  });
}

ExportedEntries DynamicTable::Sized(int64_t n) const {
  ExportedEntries out;
  out.key_type = spec_.key_type;
  switch (spec_.key_type) {
    case KeyType::kInt64: out.int64_keys.reserve(n); break;
    case KeyType::kInt32: out.int32_keys.reserve(n); break;
    case KeyType::kString: out.string_keys.reserve(n); break;
  }
  out.values.resize(static_cast<size_t>(n * spec_.dim));
  out.slots.resize(static_cast<size_t>(n * spec_.num_slots() * spec_.dim));
  out.meta.resize(static_cast<size_t>(n));
  return out;
}

ExportedEntries DynamicTable::Export() const {
  std::vector<std::shared_lock<RwLock>> locks;
  locks.reserve(shards_.size());
  for (const auto& sh : shards_) locks.emplace_back(sh->mu);  // ascending order
  ExportedEntries out = Sized(Size());
  int64_t j = 0;
  for (const auto& shard : shards_) AppendShard(*shard, out, j);
  return out;
}

int DynamicTable::ExportPartCount() const { return static_cast<int>(shards_.size()); }

ExportedEntries DynamicTable::ExportPart(int part) const {
  if (part < 0 || part >= ExportPartCount()) {
    throw InvalidArgument(Where() + ": ExportPart(" + std::to_string(part) +
                          ") is out of range; the table has " +
                          std::to_string(ExportPartCount()) + " parts (its shards)");
  }
  const Shard& sh = *shards_[part];
  std::shared_lock lock(sh.mu);
  ExportedEntries out = Sized(sh.size());  // exact: writers wait for the lock
  int64_t j = 0;
  AppendShard(sh, out, j);
  return out;
}

void DynamicTable::Import(const KeyView& keys, std::span<const float> values,
                          std::span<const float> slots, std::span<const EntryMeta> meta) {
  CheckKeys(keys, "Import");
  const int64_t n = keys.size();
  const int64_t dim = spec_.dim;
  const int64_t slot_floats = spec_.num_slots() * dim;
  CheckSize(values.size(), n * dim, "values", "Import", n);
  if (!slots.empty()) CheckSize(slots.size(), n * slot_floats, "slot values", "Import", n);
  if (!meta.empty()) CheckSize(meta.size(), n, "meta records", "Import", n);
  for (int64_t i = 0; i < n; ++i) {
    const bool bad_value = !std::all_of(values.begin() + i * dim, values.begin() + (i + 1) * dim,
                                        [](float x) { return std::isfinite(x); });
    const bool bad_slot =
        !slots.empty() && !std::all_of(slots.begin() + i * slot_floats,
                                       slots.begin() + (i + 1) * slot_floats,
                                       [](float x) { return std::isfinite(x); });
    if (bad_value || bad_slot) {
      throw InvalidArgument(Where() + ": Import found NaN or Inf in the " +
                            (bad_value ? "values" : "slot values") + " of key " +
                            KeyText(keys, i) +
                            "; nothing was imported. Fix or drop that entry.");
    }
  }
  // Build the new contents aside, then swap them in under all locks.
  std::vector<std::unique_ptr<Shard>> fresh = MakeShards();
  VisitKeys(keys, [&](const auto& acc) {
    const Grouped g = Group(acc, n);
    for (size_t s = 0; s < fresh.size(); ++s) {
      Shard& sh = *fresh[s];
      sh.Reserve(g.starts[s + 1] - g.starts[s]);
      for (uint32_t k = g.starts[s]; k < g.starts[s + 1]; ++k) {
        const uint32_t i = g.order[k];
        uint32_t e = sh.Find(g.hashes[i], acc.Int(i), acc.Str(i));
        if (e == kEmpty) e = sh.Insert(g.hashes[i], acc.Int(i), acc.Str(i), spec_.name);
        WriteRow(sh, e, values.data() + int64_t{i} * dim);
        if (slots.empty()) {
          InitSlots(sh, e);
        } else if (slot_floats > 0) {
          std::memcpy(Slots(sh, e), slots.data() + int64_t{i} * slot_floats,
                      static_cast<size_t>(slot_floats) * sizeof(float));
        }
        sh.header(e)->meta = meta.empty() ? EntryMeta{} : meta[i];
      }
    }
  });
  {
    std::vector<std::unique_lock<RwLock>> locks;
    locks.reserve(shards_.size());
    for (const auto& sh : shards_) locks.emplace_back(sh->mu);  // ascending order
    for (size_t s = 0; s < shards_.size(); ++s) shards_[s]->SwapContents(*fresh[s]);
  }
  // `fresh` now holds the old contents; freed here, with no lock held.
}

void DynamicTable::ForEachMeta(MetaFn fn) const {
  for (const auto& shard : shards_) {
    const Shard& sh = *shard;
    std::shared_lock lock(sh.mu);
    sh.ForEachEntry([&](uint32_t e) {
      const EntryHeader* h = sh.header(e);
      KeyRef key;
      key.type = spec_.key_type;
      if (spec_.key_type == KeyType::kString) {
        key.string = sh.string_key(e);
      } else {
        key.integer = h->key;
      }
      fn(key, h->meta);
    });
  }
}

int64_t DynamicTable::EvictIf(EvictFn pred) {
  int64_t removed = 0;
  for (const auto& shard : shards_) {
    Shard& sh = *shard;
    std::unique_lock lock(sh.mu);
    removed += sh.EraseIf([&](uint32_t e) {
      const EntryHeader* h = sh.header(e);
      KeyRef key;
      key.type = spec_.key_type;
      if (spec_.key_type == KeyType::kString) {
        key.string = sh.string_key(e);
      } else {
        key.integer = h->key;
      }
      return pred(key, h->meta);
    });
  }
  return removed;
}

}  // namespace embcol::internal
