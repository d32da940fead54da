// The in-memory dynamic embedding table: embcol's replacement for TFRA's
// CPU cuckoo hash table (de.Variable with the default kv_creator).
//
// A DynamicStore (embcol/dynamic_store.h) held in RAM: keys are hashed into
// `num_shards` independently locked shards, each an open-addressing index
// over an arena of fixed-size entries. It starts at `init_capacity` keys and
// grows without bound, one shard at a time, so lookups elsewhere continue
// while a shard grows; it never drops a key it was not told to remove.
// Lookups of many keys should be batched: a batch is grouped by shard and
// each shard's lock is taken once per batch.
//
// Memory per key at dim d, float32 storage, s slots: 16 bytes of key and
// meta + 4*d (row) + 4*d*s (slots), plus 10-22 bytes of index.
//
// Thread-safe.
#ifndef EMBCOL_DYNAMIC_TABLE_H_
#define EMBCOL_DYNAMIC_TABLE_H_

#include <cstdint>
#include <memory>

#include "embcol/dynamic_store.h"

namespace embcol {

struct DynamicTableOptions {
  // Keys, dtype, dim, initializer, slots; see dynamic_store.h.
  DynamicStoreSpec spec;

  // Keys the table holds before its first growth. 0 (the default): 8192
  // (TFRA's default). Memory for the index is reserved up front; entries
  // are allocated as keys arrive.
  int64_t init_capacity = 0;

  // Number of independently locked shards: a power of two in [1, 4096].
  // 0 (the default): 64. More shards mean less lock contention and smaller
  // growth pauses; each shard costs a few hundred bytes plus its index.
  int num_shards = 0;
};

// Creates an empty table. Throws InvalidArgument naming spec.name for an
// empty name, dim < 1, a bad initializer, a non-finite slot initial value,
// negative init_capacity or a bad shard count.
std::unique_ptr<DynamicStore> NewDynamicTable(const DynamicTableOptions& options);

}  // namespace embcol

#endif  // EMBCOL_DYNAMIC_TABLE_H_
