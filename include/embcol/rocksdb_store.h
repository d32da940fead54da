// A dynamic embedding table on disk: a DynamicStore (embcol/dynamic_store.h)
// whose entries -- row, optimizer slots and policy metadata -- live in a
// RocksDB database directory, with a cache of hot entries in memory in
// front. Use it for tables larger than RAM, or tables that must survive a
// restart without a separate checkpoint step.
//
// The cache holds decoded entries, bounded by a byte budget and evicted LRU
// or LFU. Writes go to the cache (write-back); a changed entry is written
// to the database when it is evicted, on Flush(), Checkpoint(), an export,
// and when the store is destroyed. Cache misses of a batch are read with
// one MultiGet, write-backs go out in one WriteBatch. Removes, Clear and
// Import write to the database at once. The on-disk layout (keys, values,
// the table record) is specified in docs/storage.md.
//
// A batch may hold the cache above its budget while it runs (its own
// entries are evicted at the end of the batch), so memory peaks at
// cache_bytes plus one batch's entries.
//
// Errors: besides those of DynamicStore, reading a value of the wrong size
// throws DataLoss and a failed RocksDB read or write throws Unavailable,
// each naming the path, the table and (for values) the key.
//
// Thread-safe: one mutex guards the cache and the database writes, so calls
// are serialized (reads of a cold cache hold it during their MultiGet).
// ExportPart iterates a RocksDB snapshot without the mutex.
#ifndef EMBCOL_ROCKSDB_STORE_H_
#define EMBCOL_ROCKSDB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "embcol/dynamic_embedding.h"
#include "embcol/dynamic_store.h"

namespace embcol {

struct RocksDbStoreOptions {
  // Name, key type, dim, storage dtype, initializer, seed and slots, as the
  // in-memory table takes them (dynamic_store.h). An existing database must
  // have been created with the same key type, dim, storage dtype and slot
  // count (InvalidArgument otherwise); the name, initializer and seed are
  // not stored and come from here.
  DynamicStoreSpec spec;

  // The database directory. Required.
  std::string path;

  // Byte budget of the in-memory cache of decoded entries (key, row, slots,
  // meta and bookkeeping, about 100 bytes per entry plus 4 * dim * (1 +
  // num_slots)). Default 64 MiB. 0 caches nothing beyond one batch.
  int64_t cache_bytes = int64_t{64} << 20;

  // Which entry the cache evicts first: "lru" (least recently used, the
  // default) or "lfu" (least frequently used since it was cached; ties by
  // recency).
  std::string cache_policy = "lru";

  // Create the database when `path` holds none. Default true; false makes a
  // missing database a NotFound.
  bool create_if_missing = true;

  // Parts of the streaming export (ExportPart), fixed when the database is
  // created and stored in it: a key's part is Fingerprint64(key bytes) mod
  // this. In [1, 4096]; 0 (the default) means 64 for a new database and the
  // stored count for an existing one. Each part is one range of the
  // database, so saving a table holds about size / export_parts entries in
  // memory at a time.
  int export_parts = 0;
};

// The DynamicStore interface plus what only a persistent store has.
class RocksDbStore : public DynamicStore {
 public:
  // Writes back every changed cached entry (one WriteBatch, then a sync of
  // the write-ahead log). Throws Unavailable naming the path on an I/O error.
  virtual void Flush() = 0;

  // Writes a consistent copy of the table to `dir` (a new directory on the
  // same filesystem, hard-linking RocksDB's files where it can) with
  // rocksdb::Checkpoint, after flushing the cache. `dir` opens as a store
  // with NewRocksDbStore. Throws InvalidArgument naming `dir` when it
  // already exists, Unavailable on an I/O error.
  virtual void Checkpoint(const std::string& dir) = 0;

  // The database directory.
  virtual const std::string& path() const = 0;

  struct CacheStats {
    int64_t entries = 0;  // entries cached now
    int64_t bytes = 0;    // their bytes, as counted against cache_bytes
    int64_t dirty = 0;    // of which changed since read or written back
    int64_t hits = 0;     // keys found in the cache, since opening
    int64_t misses = 0;   // keys read from the database (found or not)
  };
  virtual CacheStats cache_stats() const = 0;
};

// Opens (or creates) the store. The destructor writes back the cache; it
// cannot throw, so call Flush() first to see write errors. Throws:
//   InvalidArgument  a bad spec (as NewDynamicTable), an empty path, a
//                    negative cache_bytes, an unknown cache_policy,
//                    export_parts outside [0, 4096], or a database created
//                    for another key type / dim / dtype / slot count;
//   NotFound         no database at `path` and create_if_missing is false;
//   Unavailable      RocksDB cannot open the directory (locked by another
//                    process, permissions, I/O error);
//   FailedPrecondition  the database has another format version;
//   DataLoss         the database's table or size record is unreadable.
// Every message names the path and the table.
std::unique_ptr<RocksDbStore> NewRocksDbStore(const RocksDbStoreOptions& options);

namespace dynamic_embedding {

// The class name of the RocksDB store in kv_creator configs (kv_creator.h).
inline constexpr const char* kRocksDbKvCreator = "RocksDBTableCreator";

// The kv_creator factory of "RocksDBTableCreator". Config fields:
//   "path"          required string: a directory holding one database per
//                   shard, at <path>/<shard name> (shard names are unique
//                   per variable, so variables may share a path)
//   "cache_bytes"   integer >= 0, per shard; default 64 MiB
//   "cache_policy"  "lru" (default) or "lfu"
//   "create_if_missing"  bool, default true
//   "export_parts"  integer in [0, 4096], default 0 (see RocksDbStoreOptions)
// Throws InvalidArgument naming `context` and the field for a bad config.
KvCreator RocksDbKvCreatorFromConfig(const nlohmann::json& config, const std::string& context);

}  // namespace dynamic_embedding
}  // namespace embcol

#endif  // EMBCOL_ROCKSDB_STORE_H_
