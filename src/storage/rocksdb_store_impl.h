// The RocksDB-backed dynamic table's class (embcol/rocksdb_store.h), shared
// by rocksdb_store.cc (opening, the cache, batch operations) and
// rocksdb_store_whole.cc (operations over the whole table).
//
// Design note.
//
//   cache_  : encoded data key -> Cached { data = row | slots (float32, row
//             already rounded to the storage dtype), meta, dirty, in_db,
//             freq, seq }
//   order_  : (rank, seq) -> cache node, rank = 0 (lru) or freq (lfu); the
//             first element is the next victim
//
// Invariants (all under mu_):
//   1. The table's contents = the database's data keys, overlaid with the
//      cached entries (a cached entry replaces the database's value).
//   2. A clean cached entry equals its database value; a dirty one has not
//      been written back. in_db says whether the database holds the key.
//   3. size = db_count_ + new_count_, new_count_ = #cached entries with
//      !in_db; the size record in the database equals db_count_.
//   4. bytes_ = sum of EntryBytes over the cache; after every public call
//      bytes_ <= cache_bytes (eviction runs at the end of a call, so the
//      entries of the running batch stay put while it runs).
//
// A batch: encode the keys; MultiGet the ones not cached and cache those
// found (Load); apply the operation in batch order through cache_ (a key
// inserted by an earlier position is found by a later one); evict down to
// the budget, writing dirty victims in one WriteBatch with the size record.
//
// Thread-safety: as DynamicStore; one mutex.
#ifndef EMBCOL_STORAGE_ROCKSDB_STORE_IMPL_H_
#define EMBCOL_STORAGE_ROCKSDB_STORE_IMPL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/node_hash_map.h>
#include <rocksdb/db.h>

#include "embcol/rocksdb_store.h"
#include "embedding/store_rows.h"
#include "storage/rocksdb_format.h"

namespace embcol::internal {

class RocksDbStoreImpl final : public RocksDbStore {
 public:
  explicit RocksDbStoreImpl(const RocksDbStoreOptions& options);
  ~RocksDbStoreImpl() override;

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
  int ExportPartCount() const override { return parts_; }
  ExportedEntries ExportPart(int part) const override;
  void Import(const KeyView& keys, std::span<const float> values,
              std::span<const float> slots, std::span<const EntryMeta> meta) override;
  void ForEachMeta(MetaFn fn) const override;
  int64_t EvictIf(EvictFn pred) override;

  void Flush() override;
  void Checkpoint(const std::string& dir) override;
  const std::string& path() const override { return path_; }
  CacheStats cache_stats() const override;

 private:
  struct Cached {
    std::vector<float> data;  // row (dim) then slots (num_slots * dim)
    EntryMeta meta;
    bool dirty = false;
    bool in_db = false;
    uint64_t freq = 0;
    uint64_t seq = 0;
  };
  using CacheMap = absl::node_hash_map<std::string, Cached>;
  using Node = CacheMap::value_type;
  using OrderKey = std::pair<uint64_t, uint64_t>;  // (rank, seq)

  std::string Where() const;
  void CheckKeys(const KeyView& keys, const char* op) const;
  void CheckSize(size_t got, int64_t want, const char* what, const char* op, int64_t n) const;
  [[noreturn]] void ThrowStatus(const rocksdb::Status& s, const std::string& doing) const;
  void Open(const RocksDbStoreOptions& options);
  void ReadTableRecord(int requested_parts);

  // Encoded keys of a batch.
  std::vector<std::string> EncodeAll(const KeyView& keys) const;
  // Caches every key of `enc` that the database holds and the cache lacks
  // (one MultiGet). REQUIRES: mu_.
  void Load(const std::vector<std::string>& enc) const;
  // The cached entry of `key` (touched for eviction order), or nullptr.
  // REQUIRES: mu_.
  Cached* Find(const std::string& key) const;
  // Caches a new entry (dirty, not in the database) with `row` (rounded
  // here), initial slots and zero meta. REQUIRES: mu_, key not cached.
  Cached* Insert(const std::string& key, const float* row) const;
  void Erase(CacheMap::iterator it) const;
  void Touch(Node& node) const;
  OrderKey OrderOf(const Cached& c) const { return {lfu_ ? c.freq : 0, c.seq}; }
  int64_t EntryBytes(const Node& node) const;
  // Writes back dirty victims and drops entries until bytes_ <= budget.
  void EvictToBudget() const;
  // Writes every dirty entry back (one WriteBatch, synced when `sync`).
  void FlushLocked(bool sync) const;
  // Writes `batch` plus the size record. REQUIRES: mu_.
  void Write(rocksdb::WriteBatch& batch, bool sync, const std::string& doing) const;
  // Decodes a data key / value read from the database; DataLoss naming the
  // key on a bad size.
  KeyRef DecodeKeyOrThrow(std::string_view encoded) const;
  void CheckValueSize(std::string_view value, const KeyRef& key) const;
  void AppendEntry(std::string_view key, std::string_view value, ExportedEntries& out) const;
  // Exports data keys in [begin, end) of a snapshot. REQUIRES: FlushLocked
  // before the snapshot was taken.
  ExportedEntries ExportRange(const rocksdb::Snapshot* snapshot, const std::string& begin,
                              const std::string& end) const;

  DynamicStoreSpec spec_;
  std::string path_;
  int64_t cache_budget_;
  bool lfu_;
  int parts_ = rocks::kDefaultParts;
  rocks::ValueLayout layout_;
  InitialRows initial_rows_;
  std::unique_ptr<rocksdb::DB> db_;

  mutable std::mutex mu_;
  mutable CacheMap cache_;                  // guarded by mu_
  mutable std::map<OrderKey, Node*> order_;  // guarded by mu_
  mutable uint64_t next_seq_ = 0;           // guarded by mu_
  mutable int64_t bytes_ = 0;               // guarded by mu_
  mutable int64_t dirty_ = 0;               // guarded by mu_
  mutable int64_t db_count_ = 0;            // guarded by mu_
  mutable int64_t new_count_ = 0;           // guarded by mu_
  mutable int64_t hits_ = 0;                // guarded by mu_
  mutable int64_t misses_ = 0;              // guarded by mu_
};

}  // namespace embcol::internal

#endif  // EMBCOL_STORAGE_ROCKSDB_STORE_IMPL_H_
