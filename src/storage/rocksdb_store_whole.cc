// The RocksDB-backed dynamic table's operations over the whole table:
// clear, export (whole and by part), import, metadata scans, flush and
// checkpoints (see the design note of rocksdb_store_impl.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "embcol/errors.h"
#include "storage/rocksdb_store_impl.h"

namespace embcol::internal {
namespace {

// Deletes written per WriteBatch by EvictIf.
constexpr int64_t kEvictBatch = 4096;

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Releases a snapshot when it goes out of scope.
struct SnapshotHolder {
  rocksdb::DB* db;
  const rocksdb::Snapshot* snapshot;
  ~SnapshotHolder() { db->ReleaseSnapshot(snapshot); }
};

}  // namespace

void RocksDbStoreImpl::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.DeleteRange(rocksdb::Slice(), ToSlice(rocks::kDataEnd));
  if (!s.ok()) ThrowStatus(s, "clearing the table");
  const int64_t before = db_count_;
  db_count_ = 0;
  try {
    Write(batch, /*sync=*/false, "clearing the table");
  } catch (...) {
    db_count_ = before;
    throw;
  }
  cache_.clear();
  order_.clear();
  bytes_ = dirty_ = new_count_ = 0;
}

void RocksDbStoreImpl::AppendEntry(std::string_view key, std::string_view value,
                                   ExportedEntries& out) const {
  const KeyRef ref = DecodeKeyOrThrow(key);
  CheckValueSize(value, ref);
  switch (spec_.key_type) {
    case KeyType::kInt64: out.int64_keys.push_back(ref.integer); break;
    case KeyType::kInt32: out.int32_keys.push_back(static_cast<int32_t>(ref.integer)); break;
    case KeyType::kString: out.string_keys.emplace_back(ref.string); break;
  }
  const size_t dim = static_cast<size_t>(spec_.dim);
  const size_t slot_floats = static_cast<size_t>(spec_.num_slots()) * dim;
  out.values.resize(out.values.size() + dim);
  out.slots.resize(out.slots.size() + slot_floats);
  out.meta.emplace_back();
  rocks::DecodeValue(layout_, value, out.values.data() + out.values.size() - dim,
                     out.slots.data() + out.slots.size() - slot_floats, out.meta.back());
}

ExportedEntries RocksDbStoreImpl::ExportRange(const rocksdb::Snapshot* snapshot,
                                              const std::string& begin,
                                              const std::string& end) const {
  ExportedEntries out;
  out.key_type = spec_.key_type;
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;  // a scan: keep the block cache for hot reads
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(begin); it->Valid(); it->Next()) {
    AppendEntry(ToView(it->key()), ToView(it->value()), out);
  }
  if (!it->status().ok()) ThrowStatus(it->status(), "reading the table (export)");
  return out;
}

ExportedEntries RocksDbStoreImpl::Export() const {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked(/*sync=*/false);
  return ExportRange(nullptr, std::string(), std::string(rocks::kDataEnd));
}

ExportedEntries RocksDbStoreImpl::ExportPart(int part) const {
  if (part < 0 || part >= parts_) {
    throw InvalidArgument(Where() + ": ExportPart(" + std::to_string(part) +
                          ") is out of range; the store has " + std::to_string(parts_) +
                          " parts");
  }
  const rocksdb::Snapshot* snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    FlushLocked(/*sync=*/false);
    snapshot = db_->GetSnapshot();
  }
  // The part is read from the snapshot without the lock: writers proceed.
  SnapshotHolder holder{db_.get(), snapshot};
  return ExportRange(snapshot, rocks::PartStart(part), rocks::PartStart(part + 1));
}

void RocksDbStoreImpl::Import(const KeyView& keys, std::span<const float> values,
                              std::span<const float> slots, std::span<const EntryMeta> meta) {
  CheckKeys(keys, "Import");
  const int64_t n = keys.size(), dim = spec_.dim;
  const int64_t slot_floats = spec_.num_slots() * dim;
  CheckSize(values.size(), n * dim, "values", "Import", n);
  if (!slots.empty()) CheckSize(slots.size(), n * slot_floats, "slot values", "Import", n);
  if (!meta.empty()) CheckSize(meta.size(), n, "meta records", "Import", n);
  const auto finite = [](float x) { return std::isfinite(x); };
  const std::vector<std::string> enc = EncodeAll(keys);
  for (int64_t i = 0; i < n; ++i) {
    const bool bad_value =
        !std::all_of(values.begin() + i * dim, values.begin() + (i + 1) * dim, finite);
    const bool bad_slot = !slots.empty() && !std::all_of(slots.begin() + i * slot_floats,
                                                          slots.begin() + (i + 1) * slot_floats,
                                                          finite);
    if (bad_value || bad_slot) {
      KeyRef key;
      rocks::DecodeKey(enc[i], spec_.key_type, key);
      throw InvalidArgument(Where() + ": Import found NaN or Inf in the " +
                            (bad_value ? "values" : "slot values") + " of key " +
                            rocks::KeyRefText(key) +
                            "; nothing was imported. Fix or drop that entry.");
    }
  }
  // A key given twice keeps its last entry.
  absl::flat_hash_map<std::string_view, int64_t> last;
  last.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) last[enc[i]] = i;
  // One WriteBatch: the old contents go and the new ones arrive atomically.
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.DeleteRange(rocksdb::Slice(), ToSlice(rocks::kDataEnd));
  std::vector<float> slot_init(static_cast<size_t>(slot_floats));
  for (int64_t sl = 0; sl < spec_.num_slots(); ++sl) {
    std::fill_n(slot_init.begin() + sl * dim, dim, spec_.slot_initial_values[sl]);
  }
  std::string value;
  for (int64_t i = 0; i < n && s.ok(); ++i) {
    if (last[enc[i]] != i) continue;
    value.clear();
    rocks::EncodeValue(layout_, values.data() + i * dim,
                       slots.empty() ? slot_init.data() : slots.data() + i * slot_floats,
                       meta.empty() ? EntryMeta{} : meta[i], value);
    s = batch.Put(enc[i], value);
  }
  if (!s.ok()) ThrowStatus(s, "building the import batch");
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t before = db_count_;
  db_count_ = static_cast<int64_t>(last.size());
  try {
    Write(batch, /*sync=*/true, "importing");
  } catch (...) {
    db_count_ = before;
    throw;
  }
  cache_.clear();  // replaced, dirty entries included
  order_.clear();
  bytes_ = dirty_ = new_count_ = 0;
}

void RocksDbStoreImpl::ForEachMeta(MetaFn fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked(/*sync=*/false);
  rocksdb::ReadOptions ro;
  const rocksdb::Slice upper = ToSlice(rocks::kDataEnd);
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const KeyRef key = DecodeKeyOrThrow(ToView(it->key()));
    CheckValueSize(ToView(it->value()), key);
    fn(key, rocks::DecodeMeta(layout_, ToView(it->value())));
  }
  if (!it->status().ok()) ThrowStatus(it->status(), "reading the table (metadata scan)");
}

int64_t RocksDbStoreImpl::EvictIf(EvictFn pred) {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked(/*sync=*/false);  // every cached entry is now clean and in the database
  rocksdb::ReadOptions ro;
  SnapshotHolder holder{db_.get(), db_->GetSnapshot()};
  ro.snapshot = holder.snapshot;
  const rocksdb::Slice upper = ToSlice(rocks::kDataEnd);
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  rocksdb::WriteBatch batch;
  int64_t evicted = 0;
  const auto write = [&] {
    if (batch.Count() == 0) return;
    Write(batch, /*sync=*/false, "removing evicted keys");
    batch.Clear();
  };
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key_bytes = ToView(it->key());
    const KeyRef key = DecodeKeyOrThrow(key_bytes);
    CheckValueSize(ToView(it->value()), key);
    if (!pred(key, rocks::DecodeMeta(layout_, ToView(it->value())))) continue;
    batch.Delete(ToSlice(key_bytes));
    auto c = cache_.find(std::string(key_bytes));
    if (c != cache_.end()) Erase(c);
    --db_count_;
    ++evicted;
    if (batch.Count() >= kEvictBatch) write();
  }
  if (!it->status().ok()) ThrowStatus(it->status(), "reading the table (EvictIf)");
  write();
  return evicted;
}

void RocksDbStoreImpl::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dirty_ == 0) {
    const rocksdb::Status s = db_->FlushWAL(/*sync=*/true);
    if (!s.ok()) ThrowStatus(s, "syncing the write-ahead log");
    return;
  }
  FlushLocked(/*sync=*/true);
}

void RocksDbStoreImpl::Checkpoint(const std::string& dir) {
  if (dir.empty()) {
    throw InvalidArgument(Where() + ": Checkpoint got an empty directory; pass a new "
                                    "directory's path.");
  }
  if (std::filesystem::exists(dir)) {
    throw InvalidArgument(Where() + ": checkpoint directory " + dir +
                          " already exists; RocksDB checkpoints go to a new directory. Remove "
                          "it or pick another path.");
  }
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked(/*sync=*/true);
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (s.ok()) s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) ThrowStatus(s, "writing the checkpoint " + dir);
}

}  // namespace embcol::internal
