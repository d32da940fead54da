// The Redis store (embcol/redis_store.h): batch operations as pipelined
// per-bucket commands over one RedisConnection (redis_connection.h); the
// layout is in the header and docs/storage.md.
#include "embcol/redis_store.h"

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <unordered_map>

#include "core/hashing.h"
#include "embcol/embedding_table.h"
#include "embcol/errors.h"
#include "embedding/store_rows.h"
#include "storage/redis_connection.h"
#include "storage/redis_scripts.h"
#include "storage/redis_store_impl.h"

namespace embcol {
namespace internal {

std::string KeyOf(const KeyView& keys, int64_t i) {
  switch (keys.type()) {
    case KeyType::kInt64: {
      const int64_t k = keys.int64_at(i);
      return std::string(reinterpret_cast<const char*>(&k), 8);
    }
    case KeyType::kInt32: {
      const int32_t k = keys.int32_at(i);
      return std::string(reinterpret_cast<const char*>(&k), 4);
    }
    case KeyType::kString: break;
  }
  return std::string(keys.string_at(i));
}

namespace {

RedisConnectionConfig ConnectionConfig(const RedisStoreOptions& o) {
  RedisConnectionConfig c;
  c.host = o.host;
  c.port = o.port;
  c.password = o.password;
  c.db = o.db;
  c.connect_timeout_ms = o.connect_timeout_ms;
  c.command_timeout_ms = o.command_timeout_ms;
  c.retry_seconds = o.retry_seconds;
  c.what = "Redis store '" + o.spec.name + "'";
  c.scripts = {kUpsertScript, kAccumulateScript};
  return c;
}

const RedisStoreOptions& Validated(const RedisStoreOptions& o) {
  const std::string where = "Redis store '" + o.spec.name + "'";
  const auto bad = [&](const std::string& what) { throw InvalidArgument(where + ": " + what); };
  if (o.spec.name.empty()) {
    throw InvalidArgument("Redis store: the name is empty; set spec.name (it is part of every "
                          "server key).");
  }
  if (o.spec.dim < 1) bad("dim must be >= 1, got " + std::to_string(o.spec.dim) + ".");
  if (KeyTypeName(o.spec.key_type) == "unknown") bad("unknown key dtype; use int64, int32 or string.");
  if (o.spec.value_dtype != ValueDtype::kFloat32) {
    bad("value_dtype " + std::string(ValueDtypeName(o.spec.value_dtype)) +
        " is not supported; the Redis store keeps float32 rows (set value_dtype float32).");
  }
  for (size_t s = 0; s < o.spec.slot_initial_values.size(); ++s) {
    if (!std::isfinite(o.spec.slot_initial_values[s])) {
      bad("slot " + std::to_string(s) + " has a non-finite initial value; give a finite number.");
    }
  }
  if (o.host.empty()) bad("host is empty; give the Redis server's address.");
  if (o.port < 1 || o.port > 65535) bad("port must be in [1, 65535], got " + std::to_string(o.port) + ".");
  if (o.db < 0) bad("db must be >= 0, got " + std::to_string(o.db) + ".");
  if (o.num_shards < 1 || o.num_shards > 65536) {
    bad("num_shards must be in [1, 65536], got " + std::to_string(o.num_shards) + ".");
  }
  if (o.connect_timeout_ms <= 0) bad("connect_timeout_ms must be > 0, got " + std::to_string(o.connect_timeout_ms) + ".");
  if (o.command_timeout_ms <= 0) bad("command_timeout_ms must be > 0, got " + std::to_string(o.command_timeout_ms) + ".");
  if (!(o.retry_seconds >= 0) || !std::isfinite(o.retry_seconds)) {
    bad("retry_seconds must be a finite number >= 0, got " + std::to_string(o.retry_seconds) + ".");
  }
  return o;
}

}  // namespace

RedisStore::RedisStore(const RedisStoreOptions& options)
    : spec_(Validated(options).spec),
      prefix_(options.key_prefix),
      num_shards_(options.num_shards),
      conn_(ConnectionConfig(options)) {
  const uint64_t seed = spec_.seed.value_or(DefaultTableSeed(spec_.name));
  initializer_ = MakeInitializer(spec_.initializer, -1, spec_.dim, seed, spec_.name);
  for (const float v : spec_.slot_initial_values) {
    for (int64_t c = 0; c < spec_.dim; ++c) AppendFloats(new_tail_, &v, 1);
  }
  new_tail_.append(8, '\0');
  std::random_device rd;
  batch_id_base_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                   static_cast<uint64_t>(
                       std::chrono::steady_clock::now().time_since_epoch().count());
  std::lock_guard lock(mu_);
  conn_.EnsureConnected("open");
  CheckShape();
}

void RedisStore::CheckShape() const {
  const std::string shape = "key_type=" + std::string(KeyTypeName(spec_.key_type)) +
                            " dim=" + std::to_string(spec_.dim) +
                            " num_slots=" + std::to_string(spec_.num_slots()) +
                            " num_shards=" + std::to_string(num_shards_) + " dtype=float32";
  const std::string key = prefix_ + "{" + spec_.name + "}:spec";
  auto replies = conn_.Run({{"SET", key, shape, "NX"}, {"GET", key}}, "open");
  const redisReply* got = replies[1].get();
  const std::string stored = got->type == REDIS_REPLY_STRING ? std::string(got->str, got->len) : "";
  if (stored != shape) {
    throw FailedPrecondition(Where() + ": the Redis server at " + conn_.Address() +
                             " holds this table as '" + stored + "' but it was opened as '" +
                             shape + "'; open it with the stored shape or use another "
                             "key_prefix / name.");
  }
}

void RedisStore::CheckKeys(const KeyView& keys, const char* op) const {
  CheckKeyType(spec_, Where(), keys, op);
}

void RedisStore::CheckSize(size_t got, int64_t want, const char* what, const char* op,
                           int64_t n) const {
  CheckSpanSize(spec_, Where(), got, want, what, op, n);
}

Buckets RedisStore::Group(const KeyView& keys) const {
  Buckets g;
  g.fields.reserve(static_cast<size_t>(keys.size()));
  g.positions.resize(static_cast<size_t>(num_shards_));
  for (int64_t i = 0; i < keys.size(); ++i) {
    g.fields.push_back(KeyOf(keys, i));
    g.positions[BucketOf(g.fields.back())].push_back(i);
  }
  return g;
}

void RedisStore::Decode(const redisReply* value, const std::string& bucket,
                        const std::string& what, float* row, float* slots,
                        EntryMeta* meta) const {
  if (value->type != REDIS_REPLY_STRING || static_cast<int64_t>(value->len) != EntryBytes()) {
    throw DataLoss(Where() + ": the entry of key " + what + " in Redis hash '" + bucket +
                   "' has " + std::to_string(value->len) + " bytes, expected " +
                   std::to_string(EntryBytes()) +
                   "; the hash was written by another program or another table shape.");
  }
  const char* p = value->str;
  const size_t row_bytes = static_cast<size_t>(spec_.dim) * 4;
  const size_t slot_bytes = row_bytes * static_cast<size_t>(spec_.num_slots());
  if (row != nullptr) std::memcpy(row, p, row_bytes);
  if (slots != nullptr && slot_bytes > 0) std::memcpy(slots, p + row_bytes, slot_bytes);
  if (meta != nullptr) {
    std::memcpy(&meta->last_update, p + row_bytes + slot_bytes, 4);
    std::memcpy(&meta->frequency, p + row_bytes + slot_bytes + 4, 4);
  }
}

std::string RedisStore::Encode(const float* row, const float* slots,
                               const EntryMeta& meta) const {
  std::string out;
  out.reserve(static_cast<size_t>(EntryBytes()));
  AppendFloats(out, row, spec_.dim);
  if (spec_.num_slots() > 0) AppendFloats(out, slots, spec_.dim * spec_.num_slots());
  out.append(reinterpret_cast<const char*>(&meta.last_update), 4);
  out.append(reinterpret_cast<const char*>(&meta.frequency), 4);
  return out;
}

void RedisStore::InitialRow(const KeyView& keys, int64_t i, float* row) const {
  KeyRef ref;
  ref.type = keys.type();
  if (ref.type == KeyType::kString) {
    ref.string = keys.string_at(i);
  } else {
    ref.integer = ref.type == KeyType::kInt64 ? keys.int64_at(i) : keys.int32_at(i);
  }
  initializer_->InitRow(InitializerRowOf(ref), row);
}

std::vector<RedisReply> RedisStore::ReadBuckets(const Buckets& g, const char* op) const {
  std::vector<RedisCommand> commands;
  std::vector<int> bucket_of_command;
  for (int b = 0; b < num_shards_; ++b) {
    if (g.positions[b].empty()) continue;
    RedisCommand c{"HMGET", BucketKey(b)};
    for (const int64_t i : g.positions[b]) c.push_back(g.fields[i]);
    commands.push_back(std::move(c));
    bucket_of_command.push_back(b);
  }
  std::vector<RedisReply> replies = conn_.Run(commands, op);
  std::vector<RedisReply> out(static_cast<size_t>(num_shards_));
  for (size_t k = 0; k < replies.size(); ++k) out[bucket_of_command[k]] = std::move(replies[k]);
  return out;
}

void RedisStore::Lookup(const KeyView& keys, std::span<float> values,
                        std::span<bool> exists) const {
  CheckKeys(keys, "Lookup");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "output values", "Lookup", n);
  if (!exists.empty()) CheckSize(exists.size(), n, "exists flags", "Lookup", n);
  const Buckets g = Group(keys);
  std::vector<RedisReply> replies;
  {
    std::lock_guard lock(mu_);
    replies = ReadBuckets(g, "Lookup");
  }
  for (int b = 0; b < num_shards_; ++b) {
    for (size_t k = 0; k < g.positions[b].size(); ++k) {
      const int64_t i = g.positions[b][k];
      const redisReply* v = replies[b]->element[k];
      const bool found = v->type != REDIS_REPLY_NIL;
      if (found) {
        Decode(v, BucketKey(b), KeyText(keys, i), values.data() + i * dim, nullptr, nullptr);
      } else {
        InitialRow(keys, i, values.data() + i * dim);
      }
      if (!exists.empty()) exists[i] = found;
    }
  }
}

void RedisStore::LookupOrInit(const KeyView& keys, std::span<float> values,
                              std::span<bool> exists) {
  CheckKeys(keys, "LookupOrInit");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "output values", "LookupOrInit", n);
  if (!exists.empty()) CheckSize(exists.size(), n, "exists flags", "LookupOrInit", n);
  const Buckets g = Group(keys);
  std::lock_guard lock(mu_);
  std::vector<RedisReply> replies = ReadBuckets(g, "LookupOrInit");
  // Missing keys: HSETNX of the initial entry (a key repeated in the batch
  // once); one that another client inserted meanwhile is read again.
  std::vector<RedisCommand> inserts;
  std::vector<int64_t> inserted;  // batch position of each HSETNX
  std::unordered_map<std::string_view, int64_t> first_missing;
  const EntryMeta zero;
  std::vector<float> slots(static_cast<size_t>(dim * spec_.num_slots()));
  for (size_t s = 0; s < slots.size(); ++s) slots[s] = spec_.slot_initial_values[s / dim];
  for (int b = 0; b < num_shards_; ++b) {
    for (size_t k = 0; k < g.positions[b].size(); ++k) {
      const int64_t i = g.positions[b][k];
      const redisReply* v = replies[b]->element[k];
      float* row = values.data() + i * dim;
      bool found = v->type != REDIS_REPLY_NIL;
      if (found) {
        Decode(v, BucketKey(b), KeyText(keys, i), row, nullptr, nullptr);
      } else {
        auto [it, first] = first_missing.emplace(g.fields[i], i);
        InitialRow(keys, i, row);
        if (first) {
          inserts.push_back({"HSETNX", BucketKey(b), g.fields[i], Encode(row, slots.data(), zero)});
          inserted.push_back(i);
        } else {
          found = it->second < i;  // inserted by an earlier occurrence
        }
      }
      if (!exists.empty()) exists[i] = found;
    }
  }
  if (inserts.empty()) return;
  replies = conn_.Run(inserts, "LookupOrInit");
  Buckets raced;
  raced.positions.resize(static_cast<size_t>(num_shards_));
  raced.fields = g.fields;
  bool any = false;
  for (size_t k = 0; k < inserts.size(); ++k) {
    if (replies[k]->integer == 0) {
      raced.positions[BucketOf(g.fields[inserted[k]])].push_back(inserted[k]);
      any = true;
    }
  }
  if (!any) return;
  replies = ReadBuckets(raced, "LookupOrInit");
  for (int b = 0; b < num_shards_; ++b) {
    for (size_t k = 0; k < raced.positions[b].size(); ++k) {
      const int64_t i = raced.positions[b][k];
      const redisReply* v = replies[b]->element[k];
      if (v->type == REDIS_REPLY_NIL) continue;  // removed again meanwhile: keep the initial row
      Decode(v, BucketKey(b), KeyText(keys, i), values.data() + i * dim, nullptr, nullptr);
      if (!exists.empty()) exists[i] = true;
    }
  }
}

void RedisStore::Upsert(const KeyView& keys, std::span<const float> values) {
  CheckKeys(keys, "Upsert");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "values", "Upsert", n);
  const Buckets g = Group(keys);
  std::lock_guard lock(mu_);
  std::vector<RedisCommand> commands;
  for (int b = 0; b < num_shards_; ++b) {
    if (g.positions[b].empty()) continue;
    RedisCommand c{"EVALSHA", conn_.ScriptSha(kUpsert), "1", BucketKey(b), new_tail_,
                   std::to_string(4 * dim)};
    for (const int64_t i : g.positions[b]) {
      c.push_back(g.fields[i]);
      c.emplace_back(reinterpret_cast<const char*>(values.data() + i * dim), 4 * dim);
    }
    commands.push_back(std::move(c));
  }
  conn_.Run(commands, "Upsert");
}

void RedisStore::Accumulate(const KeyView& keys, std::span<const float> values,
                            std::span<const bool> exists_at_lookup) {
  CheckKeys(keys, "Accumulate");
  const int64_t n = keys.size(), dim = spec_.dim;
  CheckSize(values.size(), n * dim, "values", "Accumulate", n);
  CheckSize(exists_at_lookup.size(), n, "exists_at_lookup flags", "Accumulate", n);
  const Buckets g = Group(keys);
  const std::string batch = std::to_string(batch_id_base_) + "." +
                            std::to_string(batch_counter_.fetch_add(1));
  std::lock_guard lock(mu_);
  std::vector<RedisCommand> commands;
  for (int b = 0; b < num_shards_; ++b) {
    if (g.positions[b].empty()) continue;
    RedisCommand c{"EVALSHA", conn_.ScriptSha(kAccumulate), "2", BucketKey(b),
                   BucketKey(b) + ":acc:" + batch, new_tail_, std::to_string(dim)};
    for (const int64_t i : g.positions[b]) {
      c.push_back(g.fields[i]);
      c.push_back(exists_at_lookup[i] ? "1" : "0");
      c.emplace_back(reinterpret_cast<const char*>(values.data() + i * dim), 4 * dim);
    }
    commands.push_back(std::move(c));
  }
  conn_.Run(commands, "Accumulate");
}

void RedisStore::UpdateRows(const KeyView& keys, MissingKeys missing, RowUpdateFn fn) {
  CheckKeys(keys, "UpdateRows");
  const int64_t dim = spec_.dim, width = dim * (1 + spec_.num_slots());
  const Buckets g = Group(keys);
  std::lock_guard lock(mu_);
  std::vector<RedisReply> replies = ReadBuckets(g, "UpdateRows");
  // Working copies by field (a repeated key sees its earlier update):
  // row | slots, meta, whether present, whether changed.
  struct Work {
    std::vector<float> floats;
    EntryMeta meta;
    bool present = false;
    bool changed = false;
  };
  std::unordered_map<std::string_view, Work> work;
  for (int b = 0; b < num_shards_; ++b) {
    for (size_t k = 0; k < g.positions[b].size(); ++k) {
      const int64_t i = g.positions[b][k];
      auto [it, first] = work.try_emplace(g.fields[i]);
      if (!first) continue;
      Work& w = it->second;
      w.floats.resize(static_cast<size_t>(width));
      const redisReply* v = replies[b]->element[k];
      w.present = v->type != REDIS_REPLY_NIL;
      if (w.present) {
        Decode(v, BucketKey(b), KeyText(keys, i), w.floats.data(), w.floats.data() + dim, &w.meta);
      }
    }
  }
  const auto write_back = [&] {
    std::vector<RedisCommand> commands;
    for (int b = 0; b < num_shards_; ++b) {
      RedisCommand c{"HSET", BucketKey(b)};
      for (const int64_t i : g.positions[b]) {
        Work& w = work.at(g.fields[i]);
        if (!w.changed) continue;
        w.changed = false;  // a repeated key is written once
        c.push_back(g.fields[i]);
        c.push_back(Encode(w.floats.data(), w.floats.data() + dim, w.meta));
      }
      if (c.size() > 2) commands.push_back(std::move(c));
    }
    if (!commands.empty()) conn_.Run(commands, "UpdateRows");
  };
  try {
    for (int64_t i = 0; i < keys.size(); ++i) {
      Work& w = work.at(g.fields[i]);
      const bool existed = w.present;
      if (!w.present) {
        if (missing == MissingKeys::kSkip) continue;
        InitialRow(keys, i, w.floats.data());
        for (int64_t s = 0; s < spec_.num_slots(); ++s) {
          std::fill_n(w.floats.data() + (1 + s) * dim, dim, spec_.slot_initial_values[s]);
        }
        w.meta = EntryMeta{};
        w.present = true;
      }
      w.changed = true;
      fn(i, w.floats.data(), spec_.num_slots() > 0 ? w.floats.data() + dim : nullptr, w.meta,
         existed);
    }
  } catch (...) {
    write_back();
    throw;
  }
  write_back();
}

int64_t RedisStore::Remove(const KeyView& keys) {
  CheckKeys(keys, "Remove");
  const Buckets g = Group(keys);
  std::vector<RedisCommand> commands;
  for (int b = 0; b < num_shards_; ++b) {
    if (g.positions[b].empty()) continue;
    RedisCommand c{"HDEL", BucketKey(b)};
    for (const int64_t i : g.positions[b]) c.push_back(g.fields[i]);
    commands.push_back(std::move(c));
  }
  std::lock_guard lock(mu_);
  int64_t removed = 0;
  for (const RedisReply& r : conn_.Run(commands, "Remove")) removed += r->integer;
  return removed;
}


}  // namespace internal

std::unique_ptr<DynamicStore> NewRedisStore(const RedisStoreOptions& options) {
  return std::make_unique<internal::RedisStore>(options);
}

}  // namespace embcol
