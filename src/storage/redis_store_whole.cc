// Whole-table operations of the Redis store (redis_store_impl.h).
#include <hiredis/hiredis.h>

#include <cmath>
#include <cstring>

#include "embcol/errors.h"
#include "storage/redis_store_impl.h"

namespace embcol::internal {

void CheckExec(const redisReply* exec, const std::string& where, const char* op) {
  bool ok = exec->type == REDIS_REPLY_ARRAY;
  std::string error = ok ? "" : "the transaction was aborted";
  for (size_t k = 0; ok && k < exec->elements; ++k) {
    if (exec->element[k]->type == REDIS_REPLY_ERROR) {
      ok = false;
      error = std::string(exec->element[k]->str, exec->element[k]->len);
    }
  }
  if (!ok) {
    throw FailedPrecondition(where + ": " + op + " failed on the Redis server: " + error +
                             " (is another program using this key prefix?)");
  }
}

// Whole-table operations: one HLEN / HGETALL / DEL per bucket, pipelined.

int64_t RedisStore::Size() const {
  std::vector<RedisCommand> commands;
  for (int b = 0; b < num_shards_; ++b) commands.push_back({"HLEN", BucketKey(b)});
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (const RedisReply& r : conn_.Run(commands, "Size")) n += r->integer;
  return n;
}

void RedisStore::Clear() {
  std::vector<RedisCommand> commands;
  for (int b = 0; b < num_shards_; ++b) commands.push_back({"DEL", BucketKey(b)});
  std::lock_guard lock(mu_);
  conn_.Run(commands, "Clear");
}

std::vector<RedisReply> RedisStore::GetAll(int first, int count, const char* op) const {
  std::vector<RedisCommand> commands;
  for (int b = first; b < first + count; ++b) commands.push_back({"HGETALL", BucketKey(b)});
  return conn_.Run(commands, op);
}

KeyRef RedisStore::RefOf(const std::string& field, int bucket) const {
  KeyRef ref;
  ref.type = spec_.key_type;
  const size_t want = spec_.key_type == KeyType::kInt64 ? 8 : 4;
  if (ref.type == KeyType::kString) {
    ref.string = field;
    return ref;
  }
  if (field.size() != want) {
    throw DataLoss(Where() + ": Redis hash '" + BucketKey(bucket) + "' holds a field of " +
                   std::to_string(field.size()) + " bytes, not a " +
                   std::string(KeyTypeName(spec_.key_type)) +
                   " key; the hash was written by another program.");
  }
  if (want == 8) {
    std::memcpy(&ref.integer, field.data(), 8);
  } else {
    int32_t k;
    std::memcpy(&k, field.data(), 4);
    ref.integer = k;
  }
  return ref;
}

void RedisStore::AppendEntries(const redisReply* all, int bucket, ExportedEntries& out) const {
  const int64_t dim = spec_.dim, ns = spec_.num_slots();
  for (size_t k = 0; k + 1 < all->elements; k += 2) {
    const std::string field(all->element[k]->str, all->element[k]->len);
    const KeyRef ref = RefOf(field, bucket);
    const size_t j = out.meta.size();
    out.values.resize((j + 1) * dim);
    out.slots.resize((j + 1) * dim * ns);
    out.meta.emplace_back();
    Decode(all->element[k + 1], BucketKey(bucket), field, out.values.data() + j * dim,
           out.slots.data() + j * dim * ns, &out.meta.back());
    switch (spec_.key_type) {
      case KeyType::kInt64: out.int64_keys.push_back(ref.integer); break;
      case KeyType::kInt32: out.int32_keys.push_back(static_cast<int32_t>(ref.integer)); break;
      case KeyType::kString: out.string_keys.push_back(field); break;
    }
  }
}

ExportedEntries RedisStore::Export() const {
  // MULTI/EXEC: every bucket read at one instant, so the export is one
  // consistent snapshot.
  std::vector<RedisCommand> commands{{"MULTI"}};
  for (int b = 0; b < num_shards_; ++b) commands.push_back({"HGETALL", BucketKey(b)});
  commands.push_back({"EXEC"});
  std::vector<RedisReply> replies;
  {
    std::lock_guard lock(mu_);
    replies = conn_.Run(commands, "Export");
  }
  ExportedEntries out;
  out.key_type = spec_.key_type;
  const redisReply* exec = replies.back().get();
  CheckExec(exec, Where(), "Export");
  for (int b = 0; b < num_shards_ && b < static_cast<int>(exec->elements); ++b) {
    AppendEntries(exec->element[b], b, out);
  }
  return out;
}

ExportedEntries RedisStore::ExportPart(int part) const {
  if (part < 0 || part >= num_shards_) {
    throw InvalidArgument(Where() + ": ExportPart(" + std::to_string(part) +
                          ") is out of range; the store has " + std::to_string(num_shards_) +
                          " parts");
  }
  std::vector<RedisReply> replies;
  {
    std::lock_guard lock(mu_);
    replies = GetAll(part, 1, "ExportPart");
  }
  ExportedEntries out;
  out.key_type = spec_.key_type;
  AppendEntries(replies[0].get(), part, out);
  return out;
}

void RedisStore::Import(const KeyView& keys, std::span<const float> values,
                        std::span<const float> slots, std::span<const EntryMeta> meta) {
  CheckKeys(keys, "Import");
  const int64_t n = keys.size(), dim = spec_.dim, ns = spec_.num_slots();
  CheckSize(values.size(), n * dim, "values", "Import", n);
  if (!slots.empty()) CheckSize(slots.size(), n * dim * ns, "slot values", "Import", n);
  if (!meta.empty()) CheckSize(meta.size(), n, "meta records", "Import", n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < dim; ++c) {
      if (!std::isfinite(values[i * dim + c])) {
        throw InvalidArgument(Where() + ": Import got a non-finite value in the row of key " +
                              KeyText(keys, i) + "; fix the source rows.");
      }
    }
    for (int64_t c = 0; !slots.empty() && c < dim * ns; ++c) {
      if (!std::isfinite(slots[i * dim * ns + c])) {
        throw InvalidArgument(Where() + ": Import got a non-finite slot value for key " +
                              KeyText(keys, i) + "; fix the source slots.");
      }
    }
  }
  const Buckets g = Group(keys);
  std::vector<float> init_slots(static_cast<size_t>(dim * ns));
  for (size_t s = 0; s < init_slots.size(); ++s) init_slots[s] = spec_.slot_initial_values[s / dim];
  // MULTI/EXEC: other clients see the old contents or the new, never a mix.
  std::vector<RedisCommand> commands{{"MULTI"}};
  for (int b = 0; b < num_shards_; ++b) {
    commands.push_back({"DEL", BucketKey(b)});
    if (g.positions[b].empty()) continue;
    RedisCommand c{"HSET", BucketKey(b)};
    for (const int64_t i : g.positions[b]) {  // a repeated key: the last HSET pair wins
      c.push_back(g.fields[i]);
      c.push_back(Encode(values.data() + i * dim,
                         slots.empty() ? init_slots.data() : slots.data() + i * dim * ns,
                         meta.empty() ? EntryMeta{} : meta[i]));
    }
    commands.push_back(std::move(c));
  }
  commands.push_back({"EXEC"});
  std::lock_guard lock(mu_);
  CheckExec(conn_.Run(commands, "Import").back().get(), Where(), "Import");
}

void RedisStore::ForEachMeta(MetaFn fn) const {
  for (int b = 0; b < num_shards_; ++b) {
    std::vector<RedisReply> replies;
    {
      std::lock_guard lock(mu_);
      replies = GetAll(b, 1, "ForEachMeta");
    }
    const redisReply* all = replies[0].get();
    for (size_t k = 0; k + 1 < all->elements; k += 2) {
      const std::string field(all->element[k]->str, all->element[k]->len);
      EntryMeta m;
      Decode(all->element[k + 1], BucketKey(b), field, nullptr, nullptr, &m);
      fn(RefOf(field, b), m);
    }
  }
}

int64_t RedisStore::EvictIf(EvictFn pred) {
  int64_t removed = 0;
  for (int b = 0; b < num_shards_; ++b) {
    std::lock_guard lock(mu_);
    std::vector<RedisReply> replies = GetAll(b, 1, "EvictIf");
    const redisReply* all = replies[0].get();
    RedisCommand c{"HDEL", BucketKey(b)};
    for (size_t k = 0; k + 1 < all->elements; k += 2) {
      const std::string field(all->element[k]->str, all->element[k]->len);
      EntryMeta m;
      Decode(all->element[k + 1], BucketKey(b), field, nullptr, nullptr, &m);
      if (pred(RefOf(field, b), m)) c.push_back(field);
    }
    if (c.size() > 2) removed += conn_.Run({c}, "EvictIf")[0]->integer;
  }
  return removed;
}

}  // namespace embcol::internal
