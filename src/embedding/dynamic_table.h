// Internals of the in-memory dynamic table (embcol/dynamic_table.h).
//
// Design note
// ===========
//
// A table is `S = 2^b` shards; key k goes to shard  H(k) >> (64 - b)  where
//   H(int64 or int32 k) = fmix64(uint64(int64(k)))  (MurmurHash3 finalizer)
//   H(string k)         = Fingerprint64(bytes of k)  (FarmHash; stable)
// Each shard is an independent hash table under its own reader-writer lock:
//
//   struct Shard {
//     shared_mutex mu;                       // guards everything below
//     Slot index[cap];                       // cap = 2^c, open addressing
//     struct Slot { uint32 tag; uint32 entry; }     // 8 bytes
//                                            // tag = uint32(H(k)),
//                                            // entry = kEmpty if free
//     byte* chunks[];                        // entry arena, see below
//     uint32 next_in_chunk, free[];          // allocation cursor, free list
//     string* keys[];                        // string tables: per chunk,
//                                            // the key of each entry
//     atomic<int64> size;                    // live entries (read unlocked)
//   };
//   entry id e = (chunk << 20) | offset.  Chunk c holds E_c entries,
//   E_c = min(16 << c, E_max) (E_max: as many as fit in 4 MiB, allocated
//   2 MiB-aligned as transparent huge pages: random row reads then cost
//   one TLB entry per 2 MiB instead of per 4 KiB), laid out as
//     Header headers[E_c];                   // {int64 key; EntryMeta meta}
//     byte   payload[E_c][stride];           // row (dim x storage dtype),
//                                            // then num_slots x dim float32
//   For string keys Header.key holds H(k), the bytes keys[c][offset].
//
// Invariants (under the shard lock):
//   1. Every live entry is referenced by exactly one index slot, whose tag
//      is uint32(H(key)); free entries (on the free list, or never handed
//      out) by none. size == number of live entries.
//   2. Linear probing without tombstones: a key's slot lies on the run of
//      non-empty slots that starts at its home  tag & (cap - 1)  and reaches
//      it without crossing an empty slot. Remove restores this by backward
//      shift deletion.
//   3. size <= cap * 3/4 (load factor <= 0.75): an insert that would exceed
//      it first doubles cap, rehashing slots from their tags alone (entries
//      are not read and do not move).
//   4. Entries never move while live: chunks are only allocated, and freed
//      only by Clear, Import (swap) and destruction. Hence an entry id taken
//      before a growth stays valid after it.
//   5. No pointer into index, headers or payload is used outside the lock:
//      the public API copies rows out, and callbacks get pointers valid for
//      the call only.
//   6. A key is in at most one shard (its shard is a function of H(k)) and at
//      most once in it.
//
// Locks: a batch operation takes each shard's lock at most twice (once
// shared, then exclusive to insert what it did not find), shard by shard;
// only Export (all shared), Import and Clear (all exclusive) hold several,
// always in ascending shard order, so there is no lock-order cycle.
//
// Algorithm of a batch of n keys:
//   1. Hash every key; counting-sort the positions by shard (stable, so a
//      key repeated in the batch keeps its order).
//   2. Per shard, under its lock, a software pipeline over its keys, D keys
//      apart per stage:
//        stage 0  prefetch the index line at the key's home
//        stage 1  scan the probe run for the first slot with the key's tag:
//                 candidate entry; prefetch its header and row lines
//        stage 2  confirm the candidate's key (else probe again, comparing
//                 keys); copy / update the row.
//      Writers re-probe in stage 2 when stage 1 found nothing, since an
//      earlier key of the same batch may have inserted it meanwhile.
//   3. Missing rows for Lookup are computed from the initializer after the
//      shard's lock is released; LookupOrInit computes them unlocked too and
//      inserts them under the exclusive lock (re-probing: another thread may
//      have inserted the key in between; then its row is returned).
//
// Thread-safety: Shard methods REQUIRE the caller to hold `mu` as noted.
#ifndef EMBCOL_EMBEDDING_DYNAMIC_TABLE_H_
#define EMBCOL_EMBEDDING_DYNAMIC_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "embcol/dynamic_store.h"

namespace embcol::internal {

inline uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Sizes shared by all shards of a table.
struct EntryLayout {
  int64_t dim = 1;
  ValueDtype dtype = ValueDtype::kFloat32;
  int64_t num_slots = 0;
  size_t value_bytes = 0;  // dim * sizeof(storage element)
  size_t slots_offset = 0; // value_bytes rounded up to 4
  size_t stride = 0;       // payload bytes per entry
  uint32_t max_chunk_entries = 16;  // E_max: a chunk of about 4 MiB

  static EntryLayout Make(int64_t dim, ValueDtype dtype, int64_t num_slots);
};

struct EntryHeader {
  int64_t key;  // the key (int32 widened), or H(key) for strings
  EntryMeta meta;
};
static_assert(sizeof(EntryHeader) == 16);

struct IndexSlot {
  uint32_t tag;
  uint32_t entry;
};
static_assert(sizeof(IndexSlot) == 8);

inline constexpr uint32_t kEmpty = 0xffffffffu;
inline constexpr int kOffsetBits = 20;
inline constexpr uint32_t kOffsetMask = (1u << kOffsetBits) - 1;
inline constexpr int kMinChunkShift = 4;
inline constexpr int kMaxChunks = 1 << (32 - kOffsetBits);

// One shard: an open-addressing index over an entry arena. Not thread-safe
// by itself: every method documents the lock it needs on `mu`.
class Shard {
 public:
  Shard(const EntryLayout* layout, bool string_keys, int64_t init_capacity);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  mutable std::shared_mutex mu;

  // ----- REQUIRES: mu held (shared or exclusive).
  int64_t size() const { return size_.load(std::memory_order_relaxed); }
  uint32_t mask() const { return mask_; }
  const IndexSlot* index() const { return index_.get(); }
  EntryHeader* header(uint32_t e) const {
    return reinterpret_cast<EntryHeader*>(chunks_[e >> kOffsetBits].get()) + (e & kOffsetMask);
  }
  std::byte* payload(uint32_t e) const {
    return payloads_[e >> kOffsetBits] + (e & kOffsetMask) * layout_->stride;
  }
  const std::string& string_key(uint32_t e) const {
    return strings_[e >> kOffsetBits][e & kOffsetMask];
  }
  // Entry of the first slot on `tag`'s probe run with that tag, or kEmpty.
  uint32_t FirstTagMatch(uint32_t tag) const {
    for (uint32_t p = tag & mask_;; p = (p + 1) & mask_) {
      const IndexSlot s = index_[p];
      if (s.entry == kEmpty) return kEmpty;
      if (s.tag == tag) return s.entry;
    }
  }
  bool KeyEquals(uint32_t e, uint64_t hash, int64_t int_key, std::string_view str) const {
    const EntryHeader* h = header(e);
    if (!string_keys_) return h->key == int_key;
    return h->key == static_cast<int64_t>(hash) && string_key(e) == str;
  }
  // The live entry of a key, or kEmpty. int_key is ignored for string keys.
  uint32_t Find(uint64_t hash, int64_t int_key, std::string_view str) const;
  // Calls fn(entry) for every live entry.
  template <typename Fn>
  void ForEachEntry(Fn&& fn) const {
    for (uint32_t p = 0; p <= mask_; ++p) {
      if (index_[p].entry != kEmpty) fn(index_[p].entry);
    }
  }
  int64_t MemoryBytes() const;
  void PrefetchHome(uint64_t hash) const {
    __builtin_prefetch(&index_[static_cast<uint32_t>(hash) & mask_]);
  }
  void PrefetchEntry(uint32_t e, size_t row_bytes) const;

  // ----- REQUIRES: mu held exclusively.
  // Inserts a key known to be absent; returns its entry with the header
  // set, meta zero, payload uninitialized. Grows the index if needed.
  // Throws OutOfRange (naming `table`) past 2^32 entries in one shard.
  uint32_t Insert(uint64_t hash, int64_t int_key, std::string_view str, const std::string& table);
  // Removes a key; returns whether it was present.
  bool Erase(uint64_t hash, int64_t int_key, std::string_view str);
  // Removes every entry for which pred(entry) is true; returns how many.
  template <typename Pred>
  int64_t EraseIf(Pred&& pred) {
    std::vector<uint32_t> doomed;
    ForEachEntry([&](uint32_t e) {
      if (pred(e)) doomed.push_back(e);
    });
    for (uint32_t e : doomed) EraseEntry(e);
    return static_cast<int64_t>(doomed.size());
  }
  // Back to empty with the initial capacity; frees all chunks.
  void Reset();
  // Exchanges the whole contents with `other` (same layout and key kind).
  void SwapContents(Shard& other);
  // Makes room for `n` keys without growth.
  void Reserve(int64_t n);

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  uint32_t ChunkEntries(uint32_t c) const {
    const uint32_t geometric = uint32_t{1} << (kMinChunkShift + (c < 16 ? c : 16));
    return geometric < layout_->max_chunk_entries ? geometric : layout_->max_chunk_entries;
  }
  uint32_t AllocateEntry(const std::string& table);
  void FreeEntry(uint32_t e);
  void EraseEntry(uint32_t e);
  void EraseSlot(uint32_t pos);
  void Rehash(uint32_t new_capacity);
  void InitIndex(uint32_t capacity);

  const EntryLayout* layout_;
  bool string_keys_;
  uint32_t init_capacity_;  // index slots after Reset
  // GUARDED_BY(mu):
  std::unique_ptr<IndexSlot[], FreeDeleter> index_;
  uint32_t mask_ = 0;
  uint32_t grow_at_ = 0;  // size that forces a doubling: cap * 3/4
  std::vector<std::unique_ptr<std::byte[], FreeDeleter>> chunks_;
  std::vector<std::byte*> payloads_;  // payloads_[c]: chunk c's payload array
  uint32_t used_in_last_chunk_ = 0;
  std::vector<uint32_t> free_;
  // String tables only: strings_[c][offset] is the key of entry (c, offset).
  std::vector<std::unique_ptr<std::string[]>> strings_;
  std::atomic<int64_t> size_{0};      // written under mu, read anywhere
};

}  // namespace embcol::internal

#endif  // EMBCOL_EMBEDDING_DYNAMIC_TABLE_H_
