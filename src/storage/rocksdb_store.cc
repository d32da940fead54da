// The RocksDB-backed dynamic table: opening the database, the cache and the
// batch operations (see the design note of rocksdb_store_impl.h).
#include "embcol/rocksdb_store.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_set.h>
#include <nlohmann/json.hpp>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "embcol/errors.h"
#include "storage/rocksdb_store_impl.h"

namespace embcol {
namespace internal {
namespace {

// Bytes a cache entry costs beyond its key and floats: the hash node, the
// order map node and the vector header (an estimate).
constexpr int64_t kEntryOverhead = 112;

}  // namespace

RocksDbStoreImpl::RocksDbStoreImpl(const RocksDbStoreOptions& options)
    : spec_((ValidateStoreSpec(options.spec, "RocksDB table"), options.spec)),
      path_(options.path),
      cache_budget_(options.cache_bytes),
      lfu_(options.cache_policy == "lfu"),
      layout_{spec_.dim, spec_.num_slots(), spec_.value_dtype},
      initial_rows_(spec_) {
  if (path_.empty()) {
    throw InvalidArgument("RocksDB table '" + spec_.name +
                          "': the path is empty; set RocksDbStoreOptions::path to the database "
                          "directory.");
  }
  if (options.cache_bytes < 0) {
    throw InvalidArgument(Where() + ": cache_bytes must be >= 0, got " +
                          std::to_string(options.cache_bytes) + ".");
  }
  if (options.cache_policy != "lru" && options.cache_policy != "lfu") {
    throw InvalidArgument(Where() + ": unknown cache_policy '" + options.cache_policy +
                          "'; use \"lru\" or \"lfu\".");
  }
  if (options.export_parts < 0 || options.export_parts > rocks::kMaxParts) {
    throw InvalidArgument(Where() + ": export_parts must be in [0, " +
                          std::to_string(rocks::kMaxParts) + "] (0 = the database's count, " +
                          std::to_string(rocks::kDefaultParts) + " for a new one), got " +
                          std::to_string(options.export_parts) + ".");
  }
  Open(options);
}

RocksDbStoreImpl::~RocksDbStoreImpl() {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    FlushLocked(/*sync=*/true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embcol: %s: writing back the cache on close failed: %s\n",
                 Where().c_str(), e.what());
  }
  if (db_) db_->Close().PermitUncheckedError();
}

std::string RocksDbStoreImpl::Where() const {
  return "RocksDB table '" + spec_.name + "' at " + path_;
}

void RocksDbStoreImpl::ThrowStatus(const rocksdb::Status& s, const std::string& doing) const {
  const std::string message = Where() + ": " + doing + " failed: " + s.ToString();
  if (s.IsCorruption()) throw DataLoss(message + "; the database is corrupt, restore it from a "
                                                 "checkpoint.");
  if (s.IsInvalidArgument()) throw InvalidArgument(message + ".");
  throw Unavailable(message + "; check the directory's permissions, free space, and that no "
                              "other process has it open.");
}

void RocksDbStoreImpl::Open(const RocksDbStoreOptions& options) {
  const bool fresh = !std::filesystem::exists(std::filesystem::path(path_) / "CURRENT");
  if (fresh && !options.create_if_missing) {
    throw NotFound(Where() + ": no database there (no CURRENT file) and create_if_missing is "
                             "false; check the path or set create_if_missing.");
  }
  if (fresh) {
    std::error_code ec;
    std::filesystem::create_directories(path_, ec);  // RocksDB creates one level only
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, path_, &db);
  if (!s.ok()) {
    if (s.IsIOError() || s.IsBusy() || s.IsTryAgain()) {
      throw Unavailable(Where() + ": cannot open the database: " + s.ToString() +
                        "; check that the directory is writable and not open in another "
                        "process.");
    }
    ThrowStatus(s, "opening the database");
  }
  db_.reset(db);
  ReadTableRecord(options.export_parts);
}

void RocksDbStoreImpl::ReadTableRecord(int requested_parts) {
  std::string record;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(rocks::kTableRecordKey.data(),
                                                      rocks::kTableRecordKey.size()), &record);
  if (s.IsNotFound()) {
    // A new table, unless the directory holds some other database.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) {
      throw InvalidArgument(Where() + ": the directory holds a RocksDB database that is not an "
                                      "embcol table (no table record); use another path.");
    }
    parts_ = requested_parts == 0 ? rocks::kDefaultParts : requested_parts;
    const nlohmann::json j = {{"format", rocks::kFormatVersion},
                              {"key_type", KeyTypeName(spec_.key_type)},
                              {"value_dtype", ValueDtypeName(spec_.value_dtype)},
                              {"dim", spec_.dim},
                              {"num_slots", spec_.num_slots()},
                              {"export_parts", parts_}};
    rocksdb::WriteBatch batch;
    const std::string text = j.dump();
    batch.Put(rocksdb::Slice(rocks::kTableRecordKey.data(), rocks::kTableRecordKey.size()), text);
    Write(batch, /*sync=*/true, "writing the table record");
    return;
  }
  if (!s.ok()) ThrowStatus(s, "reading the table record");
  nlohmann::json j = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
  const auto bad = [&](const std::string& what) {
    throw DataLoss(Where() + ": the table record (key \\xff embcol.table) is unreadable: " +
                   what + "; restore the database from a checkpoint.");
  };
  if (!j.is_object()) bad("not a JSON object");
  for (const char* field : {"format", "dim", "num_slots", "export_parts"}) {
    if (!j.contains(field) || !j[field].is_number_integer()) {
      bad(std::string("field '") + field + "' is missing or not an integer");
    }
  }
  for (const char* field : {"key_type", "value_dtype"}) {
    if (!j.contains(field) || !j[field].is_string()) {
      bad(std::string("field '") + field + "' is missing or not a string");
    }
  }
  if (j["format"].get<int>() != rocks::kFormatVersion) {
    throw FailedPrecondition(Where() + ": the database has format " + j["format"].dump() +
                             "; this build reads format " +
                             std::to_string(rocks::kFormatVersion) + ".");
  }
  const int stored_parts = j["export_parts"].get<int>();
  if (stored_parts < 1 || stored_parts > rocks::kMaxParts) bad("export_parts out of range");
  const auto mismatch = [&](const std::string& field, const std::string& stored,
                            const std::string& wanted) {
    if (stored == wanted) return;
    throw InvalidArgument(Where() + ": the database was created with " + field + " " + stored +
                          " but the table is configured with " + wanted +
                          "; use a matching spec or another path.");
  };
  mismatch("key type", j["key_type"].get<std::string>(), std::string(KeyTypeName(spec_.key_type)));
  mismatch("value dtype", j["value_dtype"].get<std::string>(),
           std::string(ValueDtypeName(spec_.value_dtype)));
  mismatch("dim", j["dim"].dump(), std::to_string(spec_.dim));
  mismatch("num_slots", j["num_slots"].dump(), std::to_string(spec_.num_slots()));
  if (requested_parts != 0) {
    mismatch("export_parts", j["export_parts"].dump(), std::to_string(requested_parts));
  }
  parts_ = stored_parts;
  std::string size;
  s = db_->Get(rocksdb::ReadOptions(),
               rocksdb::Slice(rocks::kSizeRecordKey.data(), rocks::kSizeRecordKey.size()), &size);
  if (s.IsNotFound()) {
    db_count_ = 0;
  } else if (!s.ok()) {
    ThrowStatus(s, "reading the size record");
  } else if (!rocks::DecodeInt64(size, db_count_) || db_count_ < 0) {
    bad("the size record (key \\xff embcol.size) is not a non-negative int64");
  }
}

void RocksDbStoreImpl::CheckKeys(const KeyView& keys, const char* op) const {
  CheckKeyType(spec_, Where(), keys, op);
}

void RocksDbStoreImpl::CheckSize(size_t got, int64_t want, const char* what, const char* op,
                                 int64_t n) const {
  CheckSpanSize(spec_, Where(), got, want, what, op, n);
}

std::vector<std::string> RocksDbStoreImpl::EncodeAll(const KeyView& keys) const {
  std::vector<std::string> enc(static_cast<size_t>(keys.size()));
  for (int64_t i = 0; i < keys.size(); ++i) enc[i] = rocks::EncodeKey(keys, i, parts_);
  return enc;
}

int64_t RocksDbStoreImpl::EntryBytes(const Node& node) const {
  return static_cast<int64_t>(node.first.size() + node.second.data.size() * sizeof(float)) +
         kEntryOverhead;
}

void RocksDbStoreImpl::Touch(Node& node) const {
  Cached& c = node.second;
  order_.erase(OrderOf(c));
  ++c.freq;
  c.seq = next_seq_++;
  order_.emplace(OrderOf(c), &node);
}

RocksDbStoreImpl::Cached* RocksDbStoreImpl::Find(const std::string& key) const {
  auto it = cache_.find(key);
  if (it == cache_.end()) return nullptr;
  Touch(*it);
  return &it->second;
}

RocksDbStoreImpl::Cached* RocksDbStoreImpl::Insert(const std::string& key,
                                                   const float* row) const {
  auto [it, inserted] = cache_.try_emplace(key);
  Cached& c = it->second;
  const int64_t dim = spec_.dim;
  c.data.resize(static_cast<size_t>(dim * (1 + spec_.num_slots())));
  std::copy(row, row + dim, c.data.begin());
  RoundToStorage(spec_.value_dtype, c.data.data(), dim);
  for (int64_t s = 0; s < spec_.num_slots(); ++s) {
    std::fill_n(c.data.begin() + (1 + s) * dim, dim, spec_.slot_initial_values[s]);
  }
  c.dirty = true;
  ++dirty_;
  ++new_count_;
  c.seq = next_seq_++;
  c.freq = 1;
  order_.emplace(OrderOf(c), &*it);
  bytes_ += EntryBytes(*it);
  return &c;
}

void RocksDbStoreImpl::Erase(CacheMap::iterator it) const {
  order_.erase(OrderOf(it->second));
  bytes_ -= EntryBytes(*it);
  if (it->second.dirty) --dirty_;
  if (!it->second.in_db) --new_count_;
  cache_.erase(it);
}

void RocksDbStoreImpl::Load(const std::vector<std::string>& enc) const {
  std::vector<rocksdb::Slice> wanted;
  {
    absl::flat_hash_set<std::string_view> seen;
    for (const std::string& key : enc) {
      if (cache_.contains(key) || !seen.insert(key).second) continue;
      wanted.emplace_back(key);
    }
  }
  hits_ += static_cast<int64_t>(enc.size() - wanted.size());
  misses_ += static_cast<int64_t>(wanted.size());
  if (wanted.empty()) return;
  std::vector<rocksdb::PinnableSlice> values(wanted.size());
  std::vector<rocksdb::Status> statuses(wanted.size());
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), wanted.size(), wanted.data(),
                values.data(), statuses.data());
  for (size_t k = 0; k < wanted.size(); ++k) {
    if (statuses[k].IsNotFound()) continue;
    if (!statuses[k].ok()) ThrowStatus(statuses[k], "reading keys (MultiGet)");
    const std::string_view key(wanted[k].data(), wanted[k].size());
    const std::string_view value(values[k].data(), values[k].size());
    CheckValueSize(value, DecodeKeyOrThrow(key));
    auto [it, inserted] = cache_.try_emplace(std::string(key));
    Cached& c = it->second;
    c.data.resize(static_cast<size_t>(spec_.dim * (1 + spec_.num_slots())));
    rocks::DecodeValue(layout_, value, c.data.data(), c.data.data() + spec_.dim, c.meta);
    c.in_db = true;
    c.seq = next_seq_++;
    order_.emplace(OrderOf(c), &*it);
    bytes_ += EntryBytes(*it);
  }
}

KeyRef RocksDbStoreImpl::DecodeKeyOrThrow(std::string_view encoded) const {
  KeyRef key;
  if (!rocks::DecodeKey(encoded, spec_.key_type, key)) {
    throw DataLoss(Where() + ": a data key of " + std::to_string(encoded.size()) +
                   " bytes does not hold a " + std::string(KeyTypeName(spec_.key_type)) +
                   " key; the database is corrupt, restore it from a checkpoint.");
  }
  return key;
}

void RocksDbStoreImpl::CheckValueSize(std::string_view value, const KeyRef& key) const {
  if (value.size() == layout_.total_bytes()) return;
  throw DataLoss(Where() + ": the value of key " + rocks::KeyRefText(key) + " has " +
                 std::to_string(value.size()) + " bytes; a " +
                 std::string(ValueDtypeName(spec_.value_dtype)) + " row of dim " +
                 std::to_string(spec_.dim) + " with " + std::to_string(spec_.num_slots()) +
                 " slots takes " + std::to_string(layout_.total_bytes()) +
                 ". The database is corrupt; restore it from a checkpoint.");
}

void RocksDbStoreImpl::Write(rocksdb::WriteBatch& batch, bool sync,
                             const std::string& doing) const {
  const std::string count = rocks::EncodeInt64(db_count_);
  rocksdb::Status s =
      batch.Put(rocksdb::Slice(rocks::kSizeRecordKey.data(), rocks::kSizeRecordKey.size()), count);
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    s = db_->Write(wo, &batch);
  }
  if (!s.ok()) ThrowStatus(s, doing);
}

void RocksDbStoreImpl::EvictToBudget() const {
  if (bytes_ <= cache_budget_) return;
  std::vector<CacheMap::iterator> victims;
  rocksdb::WriteBatch batch;
  int64_t freed = 0, written = 0;
  std::string value;
  for (auto o = order_.begin(); o != order_.end() && bytes_ - freed > cache_budget_; ++o) {
    Node& node = *o->second;
    freed += EntryBytes(node);
    victims.push_back(cache_.find(node.first));
    if (!node.second.dirty) continue;
    value.clear();
    const float* data = node.second.data.data();
    rocks::EncodeValue(layout_, data, data + spec_.dim, node.second.meta, value);
    batch.Put(node.first, value);
    if (!node.second.in_db) ++written;
  }
  if (batch.Count() > 0) {
    db_count_ += written;
    try {
      Write(batch, /*sync=*/false, "writing back evicted entries");
    } catch (...) {
      db_count_ -= written;
      throw;
    }
  }
  for (auto it : victims) {
    Cached& c = it->second;
    if (c.dirty) {  // written above: now clean and in the database
      c.dirty = false;
      --dirty_;
      if (!c.in_db) {
        c.in_db = true;
        --new_count_;
      }
    }
    Erase(it);
  }
}

void RocksDbStoreImpl::FlushLocked(bool sync) const {
  if (dirty_ == 0) return;
  rocksdb::WriteBatch batch;
  std::string value;
  int64_t written = 0;
  std::vector<Cached*> flushed;
  for (auto& [key, c] : cache_) {
    if (!c.dirty) continue;
    value.clear();
    rocks::EncodeValue(layout_, c.data.data(), c.data.data() + spec_.dim, c.meta, value);
    batch.Put(key, value);
    if (!c.in_db) ++written;
    flushed.push_back(&c);
  }
  db_count_ += written;
  try {
    Write(batch, sync, "writing back the cache");
  } catch (...) {
    db_count_ -= written;
    throw;
  }
  for (Cached* c : flushed) {
    c->dirty = false;
    if (!c->in_db) {
      c->in_db = true;
      --new_count_;
    }
  }
  dirty_ = 0;
}

int64_t RocksDbStoreImpl::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return db_count_ + new_count_;
}

int64_t RocksDbStoreImpl::MemoryBytes() const {
  uint64_t memtables = 0;
  db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &memtables);
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_ + static_cast<int64_t>(memtables);
}

RocksDbStore::CacheStats RocksDbStoreImpl::cache_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  CacheStats s;
  s.entries = static_cast<int64_t>(cache_.size());
  s.bytes = bytes_;
  s.dirty = dirty_;
  s.hits = hits_;
  s.misses = misses_;
  return s;
}

void RocksDbStoreImpl::Lookup(const KeyView& keys, std::span<float> values,
                              std::span<bool> exists) const {
  CheckKeys(keys, "Lookup");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "output values", "Lookup", n);
  if (!exists.empty()) CheckSize(exists.size(), n, "exists flags", "Lookup", n);
  const std::vector<std::string> enc = EncodeAll(keys);
  std::vector<int64_t> missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Load(enc);
    for (int64_t i = 0; i < n; ++i) {
      const Cached* c = Find(enc[i]);
      if (c != nullptr) {
        std::copy_n(c->data.begin(), dim, values.begin() + i * dim);
      } else {
        missing.push_back(i);
      }
      if (!exists.empty()) exists[i] = c != nullptr;
    }
    EvictToBudget();
  }
  for (const int64_t i : missing) {
    KeyRef key;
    rocks::DecodeKey(enc[i], spec_.key_type, key);
    initial_rows_.Row(InitializerRowOf(key), values.data() + i * dim);
  }
}

void RocksDbStoreImpl::LookupOrInit(const KeyView& keys, std::span<float> values,
                                    std::span<bool> exists) {
  CheckKeys(keys, "LookupOrInit");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "output values", "LookupOrInit", n);
  if (!exists.empty()) CheckSize(exists.size(), n, "exists flags", "LookupOrInit", n);
  const std::vector<std::string> enc = EncodeAll(keys);
  std::vector<float> init(static_cast<size_t>(dim));
  std::lock_guard<std::mutex> lock(mu_);
  Load(enc);
  for (int64_t i = 0; i < n; ++i) {
    const Cached* c = Find(enc[i]);
    if (!exists.empty()) exists[i] = c != nullptr;
    if (c == nullptr) {
      KeyRef key;
      rocks::DecodeKey(enc[i], spec_.key_type, key);
      initial_rows_.Row(InitializerRowOf(key), init.data());
      c = Insert(enc[i], init.data());
    }
    std::copy_n(c->data.begin(), dim, values.begin() + i * dim);
  }
  EvictToBudget();
}

void RocksDbStoreImpl::Upsert(const KeyView& keys, std::span<const float> values) {
  CheckKeys(keys, "Upsert");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "values", "Upsert", n);
  const std::vector<std::string> enc = EncodeAll(keys);
  std::lock_guard<std::mutex> lock(mu_);
  Load(enc);
  for (int64_t i = 0; i < n; ++i) {
    const float* in = values.data() + i * dim;
    Cached* c = Find(enc[i]);
    if (c == nullptr) {
      Insert(enc[i], in);
      continue;
    }
    std::copy_n(in, dim, c->data.begin());
    RoundToStorage(spec_.value_dtype, c->data.data(), dim);
    if (!c->dirty) ++dirty_;
    c->dirty = true;
  }
  EvictToBudget();
}

void RocksDbStoreImpl::Accumulate(const KeyView& keys, std::span<const float> values,
                                  std::span<const bool> exists_at_lookup) {
  CheckKeys(keys, "Accumulate");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "values", "Accumulate", n);
  CheckSize(exists_at_lookup.size(), n, "exists flags", "Accumulate", n);
  const std::vector<std::string> enc = EncodeAll(keys);
  std::lock_guard<std::mutex> lock(mu_);
  Load(enc);
  for (int64_t i = 0; i < n; ++i) {
    const float* in = values.data() + i * dim;
    Cached* c = Find(enc[i]);
    if (c != nullptr && exists_at_lookup[i]) {
      for (int64_t d = 0; d < dim; ++d) c->data[d] += in[d];
      RoundToStorage(spec_.value_dtype, c->data.data(), dim);
      if (!c->dirty) ++dirty_;
      c->dirty = true;
    } else if (c == nullptr && !exists_at_lookup[i]) {
      Insert(enc[i], in);
    }
  }
  EvictToBudget();
}

void RocksDbStoreImpl::UpdateRows(const KeyView& keys, MissingKeys missing, RowUpdateFn fn) {
  CheckKeys(keys, "UpdateRows");
  const int64_t n = keys.size(), dim = spec_.dim;
  const std::vector<std::string> enc = EncodeAll(keys);
  std::vector<float> init(static_cast<size_t>(dim));
  std::lock_guard<std::mutex> lock(mu_);
  Load(enc);
  try {
    for (int64_t i = 0; i < n; ++i) {
      Cached* c = Find(enc[i]);
      const bool existed = c != nullptr;
      if (!existed) {
        if (missing == MissingKeys::kSkip) continue;
        KeyRef key;
        rocks::DecodeKey(enc[i], spec_.key_type, key);
        initial_rows_.Row(InitializerRowOf(key), init.data());
        c = Insert(enc[i], init.data());
      }
      if (!c->dirty) ++dirty_;
      c->dirty = true;
      float* row = c->data.data();
      // The row is rounded even when fn throws half-way, so the cache
      // always holds storable values.
      struct Rounder {
        ValueDtype dtype;
        float* row;
        int64_t dim;
        ~Rounder() { RoundToStorage(dtype, row, dim); }
      } rounder{spec_.value_dtype, row, dim};
      fn(i, row, spec_.num_slots() > 0 ? row + dim : nullptr, c->meta, existed);
    }
  } catch (...) {
    EvictToBudget();
    throw;
  }
  EvictToBudget();
}

int64_t RocksDbStoreImpl::Remove(const KeyView& keys) {
  CheckKeys(keys, "Remove");
  const std::vector<std::string> enc = EncodeAll(keys);
  std::lock_guard<std::mutex> lock(mu_);
  Load(enc);
  // Decide first, write, then drop the entries: a failed write changes nothing.
  rocksdb::WriteBatch batch;
  std::vector<CacheMap::iterator> gone;
  absl::flat_hash_set<const Node*> seen;  // a key repeated in the batch goes once
  int64_t removed_from_db = 0;
  for (const std::string& key : enc) {
    auto it = cache_.find(key);
    if (it == cache_.end() || !seen.insert(&*it).second) continue;
    if (it->second.in_db) {
      batch.Delete(key);
      ++removed_from_db;
    }
    gone.push_back(it);
  }
  if (removed_from_db > 0) {
    db_count_ -= removed_from_db;
    try {
      Write(batch, /*sync=*/false, "removing keys");
    } catch (...) {
      db_count_ += removed_from_db;
      throw;
    }
  }
  for (auto it : gone) Erase(it);
  const auto removed = static_cast<int64_t>(gone.size());
  return removed;
}

}  // namespace internal

std::unique_ptr<RocksDbStore> NewRocksDbStore(const RocksDbStoreOptions& options) {
  return std::make_unique<internal::RocksDbStoreImpl>(options);
}

}  // namespace embcol
