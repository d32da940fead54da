// The in-memory dynamic table's class (embcol/dynamic_table.h): shared by
// dynamic_table.cc (construction, batch operations) and
// dynamic_table_whole.cc (operations over the whole table: size, clear,
// export, import, metadata scans). The shard layout and the algorithms are
// in the design note of dynamic_table.h.
//
// Thread-safety: as DynamicStore (all public methods thread-safe).
#ifndef EMBCOL_EMBEDDING_DYNAMIC_TABLE_IMPL_H_
#define EMBCOL_EMBEDDING_DYNAMIC_TABLE_IMPL_H_

#include <cstdint>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/hashing.h"
#include "embcol/dynamic_store.h"
#include "embcol/dynamic_table.h"
#include "embcol/initializer.h"
#include "embedding/dynamic_table.h"
#include "embedding/store_rows.h"

namespace embcol::internal {

// Key accessors: one per key type, so the batch loops are compiled per type
// with no per-key switch. Int(i) is the key widened to int64 (ignored for
// strings); Str(i) is the bytes (empty for integer keys).
template <typename IntT>
struct IntKeys {
  const KeyView& keys;
  static constexpr bool kStrings = false;
  int64_t Int(int64_t i) const {
    if constexpr (sizeof(IntT) == 8) return keys.int64_at(i);
    return keys.int32_at(i);
  }
  std::string_view Str(int64_t) const { return {}; }
  uint64_t Hash(int64_t i) const { return Fmix64(static_cast<uint64_t>(Int(i))); }
};
struct StringKeys {
  const KeyView& keys;
  static constexpr bool kStrings = true;
  int64_t Int(int64_t) const { return 0; }
  std::string_view Str(int64_t i) const { return keys.string_at(i); }
  uint64_t Hash(int64_t i) const { return Fingerprint64(Str(i)); }
};

template <typename Fn>
decltype(auto) VisitKeys(const KeyView& keys, Fn&& fn) {
  switch (keys.type()) {
    case KeyType::kInt64: return fn(IntKeys<int64_t>{keys});
    case KeyType::kInt32: return fn(IntKeys<int32_t>{keys});
    case KeyType::kString: break;
  }
  return fn(StringKeys{keys});
}

// A key for error messages (strings quoted, cut at 64 bytes).
std::string KeyText(const KeyView& keys, int64_t i);

// A batch's positions grouped by shard: order[starts[s] .. starts[s+1]) are
// the positions of shard s's keys, in batch order.
struct Grouped {
  std::vector<uint64_t> hashes;  // by batch position
  std::vector<uint32_t> order;
  std::vector<uint32_t> starts;
};

class DynamicTable final : public DynamicStore {
 public:
  explicit DynamicTable(const DynamicTableOptions& options);

  const DynamicStoreSpec& spec() const override { return spec_; }
  int64_t Size() const override;
  int64_t MemoryBytes() const override;
  void Lookup(const KeyView& keys, std::span<float> values,
              std::span<bool> exists) const override;
  void LookupOrInit(const KeyView& keys, std::span<float> values,
                    std::span<bool> exists) override;
  void Upsert(const KeyView& keys, std::span<const float> values) override;
  void Accumulate(const KeyView& keys, std::span<const float> values,
                  std::span<const bool> exists_at_lookup) override;
  void UpdateRows(const KeyView& keys, MissingKeys missing, RowUpdateFn fn) override;
  int64_t Remove(const KeyView& keys) override;
  void Clear() override;
  ExportedEntries Export() const override;
  // One part per shard, exported under that shard's read lock.
  int ExportPartCount() const override;
  ExportedEntries ExportPart(int part) const override;
  void Import(const KeyView& keys, std::span<const float> values,
              std::span<const float> slots, std::span<const EntryMeta> meta) override;
  void ForEachMeta(MetaFn fn) const override;
  int64_t EvictIf(EvictFn pred) override;

 private:
  std::string Where() const { return "Dynamic table '" + spec_.name + "'"; }
  void CheckKeys(const KeyView& keys, const char* op) const;
  void CheckSize(size_t got, int64_t want, const char* what, const char* op,
                 int64_t n) const;
  uint32_t ShardOf(uint64_t hash) const {
    return shard_bits_ == 0 ? 0 : static_cast<uint32_t>(hash >> (64 - shard_bits_));
  }
  template <typename Keys>
  Grouped Group(const Keys& keys, int64_t n) const;
  // Counting sort of `positions` (batch positions, in order) by shard:
  // order[starts[s] .. starts[s+1]) are shard s's, in their given order.
  template <typename Positions>
  void SortByShard(const Positions& positions, const uint64_t* hashes,
                   std::vector<uint32_t>& starts, std::vector<uint32_t>& order) const;
  std::vector<std::unique_ptr<Shard>> MakeShards() const;
  // Export helpers: entries with vectors sized (values, slots, meta) or
  // reserved (keys) for n entries; a shard's entries appended from j on.
  ExportedEntries Sized(int64_t n) const;
  void AppendShard(const Shard& sh, ExportedEntries& out, int64_t& j) const;

  // Row codec. REQUIRES: the shard's lock (shared to read, exclusive to write).
  void ReadRow(const Shard& sh, uint32_t e, float* out) const;
  void WriteRow(Shard& sh, uint32_t e, const float* in) const;
  float* Slots(const Shard& sh, uint32_t e) const {
    return reinterpret_cast<float*>(sh.payload(e) + layout_.slots_offset);
  }
  void InitSlots(Shard& sh, uint32_t e) const;
  // Inserts key i of a batch (known absent) with the given row and the
  // slots' initial values. REQUIRES: sh.mu held exclusively.
  template <typename Keys>
  uint32_t InsertRow(Shard& sh, const Keys& acc, int64_t i, uint64_t hash,
                     const float* row) const {
    const uint32_t e = sh.Insert(hash, acc.Int(i), acc.Str(i), spec_.name);
    WriteRow(sh, e, row);
    InitSlots(sh, e);
    return e;
  }
  // The initial row of a key, rounded to the storage dtype. Lock-free.
  void InitialRow(int64_t init_row, float* out) const { initial_rows_.Row(init_row, out); }
  template <typename Keys>
  int64_t InitRowOf(const Keys& keys, int64_t i, uint64_t hash) const {
    if constexpr (Keys::kStrings) return static_cast<int64_t>(hash);
    return keys.Int(i);
  }

  const Shard& ShardFor(uint64_t hash) const { return *shards_[ShardOf(hash)]; }

  // The write pipeline of the design note over positions pos[0..m) of one
  // shard: fn(k, e) for k = 0..m-1 in order, e the key's entry or kEmpty
  // (probed again at its turn, so keys inserted by earlier calls of fn are
  // found). src (optional): rows the writes will read, [n, dim] by batch
  // position, prefetched with the entries. REQUIRES: sh.mu held exclusively.
  template <typename Keys, typename Fn>
  void WritePipeline(Shard& sh, const Keys& acc, const uint64_t* hashes, const uint32_t* pos,
                     int64_t m, const float* src, Fn&& fn) const;

  // The read path of the design note: hashes the keys window by window
  // (kReadWindow keys), locks the shards each window touches (shared,
  // ascending) and calls fn(i, shard, e) for every position i in batch
  // order, e the key's entry or kEmpty. fn must not take locks.
  template <typename Keys, typename Fn>
  void ReadBatch(const Keys& acc, int64_t n, std::vector<uint64_t>& hashes, Fn&& fn) const;

  DynamicStoreSpec spec_;
  EntryLayout layout_;
  InitialRows initial_rows_;
  int64_t shard_init_capacity_;
  int shard_bits_;
  // Declared before shards_: the shards' chunks go back to it.
  std::unique_ptr<ChunkArena> arena_ = std::make_unique<ChunkArena>();
  std::vector<std::unique_ptr<Shard>> shards_;
};

template <typename Positions>
void DynamicTable::SortByShard(const Positions& positions, const uint64_t* hashes,
                               std::vector<uint32_t>& starts,
                               std::vector<uint32_t>& order) const {
  const size_t num_shards = shards_.size();
  starts.assign(num_shards + 1, 0);
  for (const uint32_t i : positions) ++starts[ShardOf(hashes[i]) + 1];
  for (size_t s = 0; s < num_shards; ++s) starts[s + 1] += starts[s];
  std::vector<uint32_t> cursor(starts.begin(), starts.end() - 1);
  order.resize(starts[num_shards]);
  for (const uint32_t i : positions) order[cursor[ShardOf(hashes[i])]++] = i;
}

template <typename Keys>
Grouped DynamicTable::Group(const Keys& keys, int64_t n) const {
  Grouped g;
  g.hashes.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) g.hashes[i] = keys.Hash(i);
  SortByShard(std::views::iota(uint32_t{0}, static_cast<uint32_t>(n)), g.hashes.data(),
              g.starts, g.order);
  return g;
}

}  // namespace embcol::internal

#endif  // EMBCOL_EMBEDDING_DYNAMIC_TABLE_IMPL_H_
