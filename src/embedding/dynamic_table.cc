// The in-memory dynamic table: batch operations over the shards of
// dynamic_table.h (see its design note), validation and typed errors.
#include "embcol/dynamic_table.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/hashing.h"
#include "embcol/embedding_table.h"
#include "embcol/errors.h"
#include "embedding/dynamic_table.h"
#include "embedding/dynamic_table_convert.h"
#include "embedding/dynamic_table_impl.h"
#include "embedding/store_rows.h"

namespace embcol {
namespace internal {
namespace {

constexpr int kDefaultShards = 64;
constexpr int kMaxShards = 4096;
constexpr int64_t kDefaultInitCapacity = 8192;
// Pipeline distance (keys) between the stages of a shard's batch loop.
constexpr int64_t kAhead = 8;
constexpr int64_t kRing = 16;  // > kAhead, power of two
// Keys per window of a read batch: the shards a window touches stay
// shared-locked while it runs (about a millisecond at most).
constexpr int64_t kReadWindow = 8192;
// Bytes of a row prefetched ahead; beyond this the hardware prefetcher
// follows the sequential copy.
constexpr size_t kMaxPrefetchBytes = 512;

}  // namespace

std::string KeyText(const KeyView& keys, int64_t i) {
  switch (keys.type()) {
    case KeyType::kInt64: return std::to_string(keys.int64_at(i));
    case KeyType::kInt32: return std::to_string(keys.int32_at(i));
    case KeyType::kString: break;
  }
  std::string_view s = keys.string_at(i);
  std::string out = "'" + std::string(s.substr(0, 64));
  return out + (s.size() > 64 ? "...'" : "'");
}

DynamicTable::DynamicTable(const DynamicTableOptions& options)
    : spec_((ValidateStoreSpec(options.spec, "Dynamic table"), options.spec)),
      initial_rows_(spec_) {
  if (options.init_capacity < 0) {
    throw InvalidArgument(Where() + ": init_capacity must be >= 0 (0 = 8192), got " +
                          std::to_string(options.init_capacity) + ".");
  }
  const int shards = options.num_shards == 0 ? kDefaultShards : options.num_shards;
  if (shards < 1 || shards > kMaxShards || (shards & (shards - 1)) != 0) {
    throw InvalidArgument(Where() + ": num_shards must be a power of two in [1, 4096] (0 = " +
                          std::to_string(kDefaultShards) + "), got " +
                          std::to_string(options.num_shards) + ".");
  }
  layout_ = EntryLayout::Make(spec_.dim, spec_.value_dtype, spec_.num_slots());
  shard_bits_ = std::countr_zero(static_cast<unsigned>(shards));
  const int64_t capacity =
      options.init_capacity == 0 ? kDefaultInitCapacity : options.init_capacity;
  shard_init_capacity_ = (capacity + shards - 1) / shards;
  shards_ = MakeShards();
}

std::vector<std::unique_ptr<Shard>> DynamicTable::MakeShards() const {
  std::vector<std::unique_ptr<Shard>> out;
  const size_t count = size_t{1} << shard_bits_;
  out.reserve(count);
  for (size_t s = 0; s < count; ++s) {
    out.push_back(std::make_unique<Shard>(&layout_, arena_.get(), spec_.key_type == KeyType::kString,
                                          shard_init_capacity_));
  }
  return out;
}

void DynamicTable::CheckKeys(const KeyView& keys, const char* op) const {
  CheckKeyType(spec_, Where(), keys, op);
  if (keys.size() < 0 || static_cast<uint64_t>(keys.size()) >= kEmpty) {
    throw InvalidArgument(Where() + ": " + op + " got " + std::to_string(keys.size()) +
                          " keys; split batches above 2^32 - 2 keys.");
  }
}

void DynamicTable::CheckSize(size_t got, int64_t want, const char* what, const char* op,
                             int64_t n) const {
  CheckSpanSize(spec_, Where(), got, want, what, op, n);
}

template <typename Keys, typename Fn>
void DynamicTable::WritePipeline(Shard& sh, const Keys& acc, const uint64_t* hashes,
                                 const uint32_t* pos, int64_t m, const float* src,
                                 Fn&& fn) const {
  const size_t row_bytes = std::min(layout_.value_bytes, kMaxPrefetchBytes);
  const size_t src_bytes = std::min(static_cast<size_t>(spec_.dim) * sizeof(float),
                                    kMaxPrefetchBytes);
  uint32_t ring[kRing];
  for (int64_t j = 0; j < m + 2 * kAhead; ++j) {
    if (j < m) sh.PrefetchHome(hashes[pos[j]]);
    const int64_t k1 = j - kAhead;
    if (k1 >= 0 && k1 < m) {
      const uint32_t i = pos[k1];
      const uint32_t c = sh.FirstKeyMatch(hashes[i], sh.SlotKey(hashes[i], acc.Int(i)));
      ring[k1 & (kRing - 1)] = c;
      if (c != kEmpty) sh.PrefetchEntry(c, row_bytes, /*for_write=*/true);
      if (src != nullptr) {
        const char* row = reinterpret_cast<const char*>(src + int64_t{i} * spec_.dim);
        for (size_t off = 0; off < src_bytes; off += 64) PrefetchLine(row + off);
      }
    }
    const int64_t k2 = j - 2 * kAhead;
    if (k2 >= 0) {
      const uint32_t i = pos[k2];
      uint32_t e = ring[k2 & (kRing - 1)];
      if (e == kEmpty || (Keys::kStrings && !sh.StringEquals(e, acc.Str(i)))) {
        e = sh.Find(hashes[i], acc.Int(i), acc.Str(i));
      }
      fn(k2, e);
    }
  }
}

template <typename Keys, typename Fn>
void DynamicTable::ReadBatch(const Keys& acc, int64_t n, std::vector<uint64_t>& hashes,
                             Fn&& fn) const {
  const int64_t window = kReadWindow;
  const size_t row_bytes = std::min(layout_.value_bytes, kMaxPrefetchBytes);
  const size_t num_shards = shards_.size();
  hashes.resize(static_cast<size_t>(n));
  std::vector<uint64_t> touched((num_shards + 63) / 64);
  // Unlocks what the current window locked, also when fn throws.
  struct Unlocker {
    const DynamicTable* t;
    std::vector<uint64_t>* touched;
    bool held = false;
    void Release() {
      if (!held) return;
      for (size_t w = 0; w < touched->size(); ++w) {
        for (uint64_t bits = (*touched)[w]; bits != 0; bits &= bits - 1) {
          t->shards_[w * 64 + static_cast<size_t>(std::countr_zero(bits))]->mu.unlock_shared();
        }
      }
      held = false;
    }
    ~Unlocker() { Release(); }
  } unlocker{this, &touched};
  uint32_t ring[kRing];
  for (int64_t begin = 0; begin < n; begin += window) {
    const int64_t end = std::min(n, begin + window);
    std::fill(touched.begin(), touched.end(), 0);
    for (int64_t i = begin; i < end; ++i) {
      hashes[i] = acc.Hash(i);
      const uint32_t s = ShardOf(hashes[i]);
      touched[s >> 6] |= uint64_t{1} << (s & 63);
    }
    for (size_t w = 0; w < touched.size(); ++w) {  // ascending shard order
      for (uint64_t bits = touched[w]; bits != 0; bits &= bits - 1) {
        shards_[w * 64 + static_cast<size_t>(std::countr_zero(bits))]->mu.lock_shared();
      }
    }
    unlocker.held = true;
    for (int64_t j = begin; j < end + 2 * kAhead; ++j) {
      if (j < end) ShardFor(hashes[j]).PrefetchHome(hashes[j]);
      const int64_t k1 = j - kAhead;
      if (k1 >= begin && k1 < end) {
        const Shard& sh = ShardFor(hashes[k1]);
        const uint32_t c = sh.FirstKeyMatch(hashes[k1], sh.SlotKey(hashes[k1], acc.Int(k1)));
        ring[k1 & (kRing - 1)] = c;
        if (c != kEmpty) sh.PrefetchEntry(c, row_bytes);
      }
      const int64_t k2 = j - 2 * kAhead;
      if (k2 >= begin) {
        const Shard& sh = ShardFor(hashes[k2]);
        uint32_t e = ring[k2 & (kRing - 1)];
        if constexpr (Keys::kStrings) {
          if (e != kEmpty && !sh.StringEquals(e, acc.Str(k2))) {
            e = sh.Find(hashes[k2], acc.Int(k2), acc.Str(k2));
          }
        }
        fn(k2, sh, e);
      }
    }
    unlocker.Release();
  }
}

void DynamicTable::ReadRow(const Shard& sh, uint32_t e, float* out) const {
  const std::byte* p = sh.payload(e);
  switch (layout_.dtype) {
    case ValueDtype::kFloat32:
      std::memcpy(out, p, layout_.value_bytes);
      return;
    case ValueDtype::kBFloat16:
      DecodeBf16Row(reinterpret_cast<const uint16_t*>(p), out, layout_.dim);
      return;
    case ValueDtype::kFloat16:
      DecodeF16Row(reinterpret_cast<const uint16_t*>(p), out, layout_.dim);
      return;
  }
}

void DynamicTable::WriteRow(Shard& sh, uint32_t e, const float* in) const {
  std::byte* p = sh.payload(e);
  switch (layout_.dtype) {
    case ValueDtype::kFloat32:
      std::memcpy(p, in, layout_.value_bytes);
      return;
    case ValueDtype::kBFloat16:
      EncodeBf16Row(in, reinterpret_cast<uint16_t*>(p), layout_.dim);
      return;
    case ValueDtype::kFloat16:
      EncodeF16Row(in, reinterpret_cast<uint16_t*>(p), layout_.dim);
      return;
  }
}

void DynamicTable::InitSlots(Shard& sh, uint32_t e) const {
  float* slots = Slots(sh, e);
  for (int64_t s = 0; s < layout_.num_slots; ++s) {
    std::fill_n(slots + s * layout_.dim, layout_.dim, spec_.slot_initial_values[s]);
  }
}

void DynamicTable::Lookup(const KeyView& keys, std::span<float> values,
                          std::span<bool> exists) const {
  CheckKeys(keys, "Lookup");
  const int64_t n = keys.size();
  const int64_t dim = spec_.dim;
  CheckSize(values.size(), n * dim, "output values", "Lookup", n);
  if (!exists.empty()) CheckSize(exists.size(), n, "exists flags", "Lookup", n);
  VisitKeys(keys, [&](const auto& acc) {
    std::vector<uint64_t> hashes;
    std::vector<uint32_t> missing;
    ReadBatch(
        acc, n, hashes,
        [&](int64_t i, const Shard& sh, uint32_t e) {
          if (e != kEmpty) {
            ReadRow(sh, e, values.data() + i * dim);
          } else {
            missing.push_back(static_cast<uint32_t>(i));
          }
          if (!exists.empty()) exists[i] = e != kEmpty;
        });
    // Initial values of missing keys: computed with no lock held.
    for (const uint32_t i : missing) {
      InitialRow(InitRowOf(acc, i, hashes[i]), values.data() + int64_t{i} * dim);
    }
  });
}

void DynamicTable::LookupOrInit(const KeyView& keys, std::span<float> values,
                                std::span<bool> exists) {
  CheckKeys(keys, "LookupOrInit");
  const int64_t n = keys.size();
  const int64_t dim = spec_.dim;
  CheckSize(values.size(), n * dim, "output values", "LookupOrInit", n);
  if (!exists.empty()) CheckSize(exists.size(), n, "exists flags", "LookupOrInit", n);
  VisitKeys(keys, [&](const auto& acc) {
    // Grouped by shard: each shard is locked exclusively once, and its keys
    // are probed, read or inserted in one pipeline. A caller holds one lock
    // at a time, so concurrent callers rarely meet; calls start at
    // different shards, do the shards whose lock is free first and wait
    // only for the last busy one. (Reading in batch order under shared
    // locks, as Lookup does, was faster for one caller but serialized two:
    // each one's inserts waited for the other's read window.)
    const Grouped g = Group(acc, n);
    const size_t num_shards = shards_.size();
    static std::atomic<uint32_t> next_start{0};
    const size_t first = next_start.fetch_add(1, std::memory_order_relaxed) % num_shards;
    const size_t out_bytes = std::min(static_cast<size_t>(dim) * sizeof(float), kMaxPrefetchBytes);
    std::vector<uint32_t> pending;
    for (size_t t = 0; t < num_shards; ++t) {
      const size_t s = (first + t) % num_shards;
      if (g.starts[s] != g.starts[s + 1]) pending.push_back(static_cast<uint32_t>(s));
    }
    while (!pending.empty()) {
      size_t kept = 0;
      for (size_t q = 0; q < pending.size(); ++q) {
        const uint32_t s = pending[q];
        Shard& sh = *shards_[s];
        std::unique_lock lock(sh.mu, std::defer_lock);
        if (kept == 0 && q + 1 == pending.size()) {
          lock.lock();  // the last one left: wait for it
        } else if (!lock.try_lock()) {
          pending[kept++] = s;
          continue;
        }
        const uint32_t* pos = g.order.data() + g.starts[s];
        const int64_t m = g.starts[s + 1] - g.starts[s];
        WritePipeline(sh, acc, g.hashes.data(), pos, m, nullptr, [&](int64_t k, uint32_t e) {
          if (k + kAhead < m) {  // the output row of a later key, written soon
            const char* out =
                reinterpret_cast<const char*>(values.data() + int64_t{pos[k + kAhead]} * dim);
            for (size_t off = 0; off < out_bytes; off += 64) PrefetchLineForWrite(out + off);
          }
          const uint32_t i = pos[k];
          float* row = values.data() + int64_t{i} * dim;
          if (e != kEmpty) {
            ReadRow(sh, e, row);
          } else {
            InitialRow(InitRowOf(acc, i, g.hashes[i]), row);
            InsertRow(sh, acc, i, g.hashes[i], row);
          }
          if (!exists.empty()) exists[i] = e != kEmpty;
        });
      }
      pending.resize(kept);
    }
  });
}

void DynamicTable::Upsert(const KeyView& keys, std::span<const float> values) {
  CheckKeys(keys, "Upsert");
  const int64_t n = keys.size();
  const int64_t dim = spec_.dim;
  CheckSize(values.size(), n * dim, "values", "Upsert", n);
  VisitKeys(keys, [&](const auto& acc) {
    const Grouped g = Group(acc, n);
    for (size_t s = 0; s < shards_.size(); ++s) {
      const uint32_t begin = g.starts[s], end = g.starts[s + 1];
      if (begin == end) continue;
      Shard& sh = *shards_[s];
      const uint32_t* pos = g.order.data() + begin;
      std::unique_lock lock(sh.mu);
      WritePipeline(sh, acc, g.hashes.data(), pos, end - begin, values.data(),
                    [&](int64_t k, uint32_t e) {
        const uint32_t i = pos[k];
        const float* row = values.data() + int64_t{i} * dim;
        if (e == kEmpty) {
          InsertRow(sh, acc, i, g.hashes[i], row);
        } else {
          WriteRow(sh, e, row);
        }
      });
    }
  });
}

void DynamicTable::Accumulate(const KeyView& keys, std::span<const float> values,
                              std::span<const bool> exists_at_lookup) {
  CheckKeys(keys, "Accumulate");
  const int64_t n = keys.size();
  const int64_t dim = spec_.dim;
  CheckSize(values.size(), n * dim, "values", "Accumulate", n);
  CheckSize(exists_at_lookup.size(), n, "exists flags", "Accumulate", n);
  VisitKeys(keys, [&](const auto& acc) {
    const Grouped g = Group(acc, n);
    std::vector<float> scratch(static_cast<size_t>(dim));
    for (size_t s = 0; s < shards_.size(); ++s) {
      const uint32_t begin = g.starts[s], end = g.starts[s + 1];
      if (begin == end) continue;
      Shard& sh = *shards_[s];
      const uint32_t* pos = g.order.data() + begin;
      std::unique_lock lock(sh.mu);
      WritePipeline(sh, acc, g.hashes.data(), pos, end - begin, values.data(),
                    [&](int64_t k, uint32_t e) {
        const uint32_t i = pos[k];
        const float* in = values.data() + int64_t{i} * dim;
        const bool found = e != kEmpty;
        if (found && exists_at_lookup[i]) {
          float* row = layout_.dtype == ValueDtype::kFloat32
                           ? reinterpret_cast<float*>(sh.payload(e))
                           : scratch.data();
          if (row == scratch.data()) ReadRow(sh, e, row);
          for (int64_t c = 0; c < dim; ++c) row[c] += in[c];
          if (row == scratch.data()) WriteRow(sh, e, row);
        } else if (!found && !exists_at_lookup[i]) {
          InsertRow(sh, acc, i, g.hashes[i], in);
        }
      });
    }
  });
}

void DynamicTable::UpdateRows(const KeyView& keys, MissingKeys missing, RowUpdateFn fn) {
  CheckKeys(keys, "UpdateRows");
  const int64_t n = keys.size();
  const int64_t dim = spec_.dim;
  VisitKeys(keys, [&](const auto& acc) {
    const Grouped g = Group(acc, n);
    std::vector<float> scratch(static_cast<size_t>(dim));
    const bool direct = layout_.dtype == ValueDtype::kFloat32;
    for (size_t s = 0; s < shards_.size(); ++s) {
      const uint32_t begin = g.starts[s], end = g.starts[s + 1];
      if (begin == end) continue;
      Shard& sh = *shards_[s];
      const uint32_t* pos = g.order.data() + begin;
      std::unique_lock lock(sh.mu);
      WritePipeline(sh, acc, g.hashes.data(), pos, end - begin, nullptr,
                    [&](int64_t k, uint32_t e) {
        const uint32_t i = pos[k];
        const bool existed = e != kEmpty;
        if (!existed) {
          if (missing == MissingKeys::kSkip) return;
          InitialRow(InitRowOf(acc, i, g.hashes[i]), scratch.data());
          e = InsertRow(sh, acc, i, g.hashes[i], scratch.data());
        }
        float* row = direct ? reinterpret_cast<float*>(sh.payload(e)) : scratch.data();
        if (!direct) ReadRow(sh, e, row);
        float* slots = layout_.num_slots > 0 ? Slots(sh, e) : nullptr;
        fn(i, row, slots, sh.header(e)->meta, existed);
        if (!direct) WriteRow(sh, e, row);
      });
    }
  });
}

int64_t DynamicTable::Remove(const KeyView& keys) {
  CheckKeys(keys, "Remove");
  const int64_t n = keys.size();
  return VisitKeys(keys, [&](const auto& acc) -> int64_t {
    const Grouped g = Group(acc, n);
    int64_t removed = 0;
    for (size_t s = 0; s < shards_.size(); ++s) {
      const uint32_t begin = g.starts[s], end = g.starts[s + 1];
      if (begin == end) continue;
      Shard& sh = *shards_[s];
      std::unique_lock lock(sh.mu);
      for (uint32_t k = begin; k < end; ++k) {
        if (k + kAhead < end) sh.PrefetchHome(g.hashes[g.order[k + kAhead]]);
        const uint32_t i = g.order[k];
        removed += sh.Erase(g.hashes[i], acc.Int(i), acc.Str(i));
      }
    }
    return removed;
  });
}

}  // namespace internal

std::unique_ptr<DynamicStore> NewDynamicTable(const DynamicTableOptions& options) {
  return std::make_unique<internal::DynamicTable>(options);
}

}  // namespace embcol
