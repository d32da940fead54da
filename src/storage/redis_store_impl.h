// The Redis store's class (embcol/redis_store.h), shared by
// redis_store.cc (construction and batch operations) and
// redis_store_whole.cc (whole-table operations). Layout and protocol:
// docs/storage.md, "Redis store".
//
// Thread-safety: as DynamicStore (thread-safe; one connection behind mu_).
#ifndef EMBCOL_STORAGE_REDIS_STORE_IMPL_H_
#define EMBCOL_STORAGE_REDIS_STORE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/hashing.h"
#include "embcol/dynamic_store.h"
#include "embcol/initializer.h"
#include "embcol/redis_store.h"
#include "storage/redis_connection.h"

namespace embcol::internal {

inline void AppendFloats(std::string& out, const float* v, int64_t n) {
  // Little-endian hosts only (x86-64, aarch64): the bytes are the floats.
  out.append(reinterpret_cast<const char*>(v), static_cast<size_t>(n) * 4);
}

// The hash field of key i (docs/storage.md): int64 8 bytes LE, int32 4
// bytes LE, strings their bytes.
std::string KeyOf(const KeyView& keys, int64_t i);
// Key i for error messages (strings quoted, cut at 64 bytes): the dynamic
// table's helper (embedding/dynamic_table.cc), shared so errors read alike.
std::string KeyText(const KeyView& keys, int64_t i);

// A batch grouped by bucket: positions of bucket b in batch order.
struct Buckets {
  std::vector<std::string> fields;  // by batch position
  std::vector<std::vector<int64_t>> positions;
};

class RedisStore final : public DynamicStore {
 public:
  explicit RedisStore(const RedisStoreOptions& options);

  const DynamicStoreSpec& spec() const override { return spec_; }
  int64_t Size() const override;
  int64_t MemoryBytes() const override { return static_cast<int64_t>(sizeof(*this)); }
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
  int ExportPartCount() const override { return num_shards_; }
  ExportedEntries ExportPart(int part) const override;
  void Import(const KeyView& keys, std::span<const float> values,
              std::span<const float> slots, std::span<const EntryMeta> meta) override;
  void ForEachMeta(MetaFn fn) const override;
  int64_t EvictIf(EvictFn pred) override;

 private:
  std::string Where() const { return "Redis store '" + spec_.name + "'"; }
  std::string BucketKey(int b) const {
    return prefix_ + "{" + spec_.name + ":" + std::to_string(b) + "}";
  }
  int BucketOf(std::string_view field) const {
    return static_cast<int>(Fingerprint64(field) % static_cast<uint64_t>(num_shards_));
  }
  void CheckKeys(const KeyView& keys, const char* op) const;
  void CheckSize(size_t got, int64_t want, const char* what, const char* op, int64_t n) const;
  Buckets Group(const KeyView& keys) const;
  void CheckShape() const;
  // Entry bytes <-> parts. Decode throws DataLoss for a value of the wrong size.
  int64_t EntryBytes() const { return 4 * spec_.dim * (1 + spec_.num_slots()) + 8; }
  void Decode(const redisReply* value, const std::string& bucket, const std::string& what,
              float* row, float* slots, EntryMeta* meta) const;
  std::string Encode(const float* row, const float* slots, const EntryMeta& meta) const;
  void InitialRow(const KeyView& keys, int64_t i, float* row) const;
  // HMGET of every bucket with keys; replies[b] (null when b has no keys).
  std::vector<RedisReply> ReadBuckets(const Buckets& g, const char* op) const;
  std::vector<RedisReply> GetAll(int first, int count, const char* op) const;
  // Appends the entries of one HGETALL reply to out.
  void AppendEntries(const redisReply* all, int bucket, ExportedEntries& out) const;
  KeyRef RefOf(const std::string& field, int bucket) const;

  DynamicStoreSpec spec_;
  std::string prefix_;
  int num_shards_;
  std::unique_ptr<Initializer> initializer_;
  std::string new_tail_;  // initial slots + zero meta, the tail of a new entry
  mutable std::mutex mu_;
  mutable RedisConnection conn_;  // GUARDED_BY(mu_)
  uint64_t batch_id_base_;
  std::atomic<uint64_t> batch_counter_{0};
};

// Throws FailedPrecondition naming the store unless `exec` is the array
// reply of an EXEC whose commands all succeeded.
void CheckExec(const redisReply* exec, const std::string& where, const char* op);

}  // namespace embcol::internal

#endif  // EMBCOL_STORAGE_REDIS_STORE_IMPL_H_
