// dynamic_embedding::Variable: routing keys to shards, the TFRA-named table
// operations and Forward / WriteBack. The embedding_lookup* functions are in
// dynamic_lookup.cc.
//
// Routing (TFRA's make_partition + _stitch): a batch of n keys is split into
// per-shard sub-batches that keep input order, each shard is called once,
// and row j of shard s's result goes back to positions[s][j]. A single
// shard with the default partitioner skips the split.
#include "embcol/dynamic_embedding.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/hashing.h"
#include "embedding/dynamic_variable_internal.h"
#include "embcol/dynamic_table.h"
#include "embcol/embedding_table.h"
#include "embcol/errors.h"

namespace embcol::dynamic_embedding {
namespace internal {

KeyRef KeyAt(const KeyView& keys, int64_t i) {
  KeyRef ref;
  ref.type = keys.type();
  switch (keys.type()) {
    case KeyType::kInt64: ref.integer = keys.int64_at(i); break;
    case KeyType::kInt32: ref.integer = keys.int32_at(i); break;
    case KeyType::kString: ref.string = keys.string_at(i); break;
  }
  return ref;
}

// tf.unique over a KeyView: first-occurrence order.
void Unique(const KeyView& keys, KeyList* unique, std::vector<int64_t>* inverse) {
  const int64_t n = keys.size();
  unique->type = keys.type();
  inverse->assign(n, 0);
  switch (keys.type()) {
    case KeyType::kInt64:
    case KeyType::kInt32: {
      absl::flat_hash_map<int64_t, int64_t> index;
      index.reserve(n);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = KeyAt(keys, i).integer;
        auto [it, inserted] = index.try_emplace(k, unique->size());
        if (inserted) unique->Append(keys, i);
        (*inverse)[i] = it->second;
      }
      break;
    }
    case KeyType::kString: {
      absl::flat_hash_map<std::string_view, int64_t> index;
      index.reserve(n);
      for (int64_t i = 0; i < n; ++i) {
        auto [it, inserted] = index.try_emplace(keys.string_at(i), unique->size());
        if (inserted) unique->Append(keys, i);
        (*inverse)[i] = it->second;
      }
      break;
    }
  }
}

}  // namespace internal

namespace {

using internal::KeyAt;
using internal::Unique;

std::atomic<int> g_model_mode{static_cast<int>(ModelMode::kTrain)};

std::string KeyText(const KeyRef& key) {
  if (key.type == KeyType::kString) return "\"" + std::string(key.string) + "\"";
  return std::to_string(key.integer);
}

std::unique_ptr<bool[]> BoolBuffer(int64_t n) {
  return std::unique_ptr<bool[]>(new bool[std::max<int64_t>(n, 1)]());
}

}  // namespace

// ------------------------------------------------------------------ mode
void enable_train_mode() { g_model_mode.store(static_cast<int>(ModelMode::kTrain)); }
void enable_inference_mode() { g_model_mode.store(static_cast<int>(ModelMode::kInference)); }
ModelMode get_model_mode() { return static_cast<ModelMode>(g_model_mode.load()); }
std::string_view ModelModeName(ModelMode mode) {
  return mode == ModelMode::kTrain ? "train" : "inference";
}

// ------------------------------------------------------------------ partition
int DefaultPartition(const KeyRef& key, int num_shards) {
  if (num_shards <= 1) return 0;
  switch (key.type) {
    case KeyType::kInt64:
      return static_cast<int>((key.integer & 0x7fffffff) % num_shards);
    case KeyType::kInt32: {
      const int64_t m = key.integer % num_shards;
      return static_cast<int>(m < 0 ? m + num_shards : m);
    }
    case KeyType::kString:
      return static_cast<int>(
          (::embcol::internal::Fingerprint64(key.string) % static_cast<uint64_t>(num_shards)) & 0x7fffffff);
  }
  return 0;
}

KvCreator DefaultKvCreator() {
  return [](const DynamicStoreSpec& spec, int64_t init_capacity) {
    DynamicTableOptions options;
    options.spec = spec;
    options.init_capacity = init_capacity;
    return NewDynamicTable(options);
  };
}

// ------------------------------------------------------------------ KeyList
int64_t KeyList::size() const {
  switch (type) {
    case KeyType::kInt64: return static_cast<int64_t>(int64_keys.size());
    case KeyType::kInt32: return static_cast<int64_t>(int32_keys.size());
    case KeyType::kString: return static_cast<int64_t>(string_keys.size());
  }
  return 0;
}

void KeyList::Append(const KeyView& keys, int64_t i) {
  switch (type) {
    case KeyType::kInt64: int64_keys.push_back(keys.int64_at(i)); break;
    case KeyType::kInt32: int32_keys.push_back(keys.int32_at(i)); break;
    case KeyType::kString: string_keys.emplace_back(keys.string_at(i)); break;
  }
}

KeyView KeyList::view() const {
  switch (type) {
    case KeyType::kInt64: return KeyView(int64_keys);
    case KeyType::kInt32: return KeyView(int32_keys);
    case KeyType::kString: return KeyView(string_keys);
  }
  return KeyView();
}

// ------------------------------------------------------------------ routing
struct Variable::Routing {
  KeyView all;
  bool identity = false;  // one shard, default partitioner: shard 0 gets `all`
  std::vector<std::vector<int64_t>> positions;
  std::vector<std::vector<int64_t>> int64_keys;
  std::vector<std::vector<int32_t>> int32_keys;
  std::vector<std::vector<std::string_view>> string_keys;

  int64_t count(int s) const {
    return identity ? all.size() : static_cast<int64_t>(positions[s].size());
  }
  int64_t position(int s, int64_t j) const { return identity ? j : positions[s][j]; }
  KeyView keys(int s) const {
    if (identity) return all;
    switch (all.type()) {
      case KeyType::kInt64: return KeyView(int64_keys[s]);
      case KeyType::kInt32: return KeyView(int32_keys[s]);
      case KeyType::kString: return KeyView(string_keys[s]);
    }
    return KeyView();
  }
};

std::string Variable::Context() const { return "dynamic embedding variable " + options_.name; }

int Variable::ShardOf(const KeyRef& key) const {
  const int n = num_shards();
  const int s = custom_partitioner_ ? options_.partitioner(key, n) : DefaultPartition(key, n);
  if (s < 0 || s >= n) {
    throw InvalidArgument(Context() + ": the partitioner sent key " + KeyText(key) + " to shard " +
                          std::to_string(s) + ", outside [0, " + std::to_string(n) +
                          "); a partition_fn must return a shard in that range.");
  }
  return s;
}

Variable::Routing Variable::Route(const KeyView& keys) const {
  if (keys.type() != options_.key_dtype) {
    throw InvalidArgument(Context() + " has " + std::string(KeyTypeName(options_.key_dtype)) +
                          " keys but was given " + std::string(KeyTypeName(keys.type())) +
                          " keys; pass keys of type " +
                          std::string(KeyTypeName(options_.key_dtype)) + ".");
  }
  Routing r;
  r.all = keys;
  const int n = num_shards();
  if (n == 1 && !custom_partitioner_) {
    r.identity = true;
    return r;
  }
  r.positions.resize(n);
  switch (keys.type()) {
    case KeyType::kInt64: r.int64_keys.resize(n); break;
    case KeyType::kInt32: r.int32_keys.resize(n); break;
    case KeyType::kString: r.string_keys.resize(n); break;
  }
  for (int64_t i = 0; i < keys.size(); ++i) {
    const int s = ShardOf(KeyAt(keys, i));
    r.positions[s].push_back(i);
    switch (keys.type()) {
      case KeyType::kInt64: r.int64_keys[s].push_back(keys.int64_at(i)); break;
      case KeyType::kInt32: r.int32_keys[s].push_back(keys.int32_at(i)); break;
      case KeyType::kString: r.string_keys[s].push_back(keys.string_at(i)); break;
    }
  }
  return r;
}

namespace {

// Runs read(shard, sub_keys, sub_values, sub_exists) per shard and stitches
// values/exists back into input order.
template <typename ReadFn>
void RoutedRead(const std::vector<std::unique_ptr<DynamicStore>>& shards, const auto& routing,
                int64_t dim, std::span<float> values, std::span<bool> exists, ReadFn read) {
  for (int s = 0; s < static_cast<int>(shards.size()); ++s) {
    const int64_t m = routing.count(s);
    if (m == 0) continue;
    if (routing.identity) {
      read(*shards[s], routing.all, values, exists);
      continue;
    }
    std::vector<float> sub_values(m * dim);
    auto sub_exists = BoolBuffer(m);
    read(*shards[s], routing.keys(s), std::span<float>(sub_values),
         exists.empty() ? std::span<bool>() : std::span<bool>(sub_exists.get(), m));
    for (int64_t j = 0; j < m; ++j) {
      const int64_t i = routing.position(s, j);
      std::copy_n(sub_values.data() + j * dim, dim, values.data() + i * dim);
      if (!exists.empty()) exists[i] = sub_exists[j];
    }
  }
}

// Gathers rows [n, width] of `all` into the order of shard s's sub-batch.
std::vector<float> GatherRows(const auto& routing, int s, std::span<const float> all,
                              int64_t width) {
  const int64_t m = routing.count(s);
  std::vector<float> out(m * width);
  for (int64_t j = 0; j < m; ++j) {
    std::copy_n(all.data() + routing.position(s, j) * width, width, out.data() + j * width);
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------ Variable
Variable::Variable(VariableOptions options) : options_(std::move(options)) {
  if (options_.name.empty()) {
    throw InvalidArgument("dynamic embedding variable: name is empty; give the variable a name.");
  }
  if (options_.dim < 1) {
    throw InvalidArgument(Context() + ": dim must be >= 1, got " + std::to_string(options_.dim) + ".");
  }
  const int n = options_.devices.empty() ? options_.num_shards
                                         : static_cast<int>(options_.devices.size());
  if (n < 1) {
    throw InvalidArgument(Context() + ": num_shards must be >= 1, got " + std::to_string(n) +
                          "; list devices or set num_shards.");
  }
  if (options_.init_size < 0) {
    throw InvalidArgument(Context() + ": init_size must be >= 0, got " +
                          std::to_string(options_.init_size) + ".");
  }
  custom_partitioner_ = static_cast<bool>(options_.partitioner);
  custom_kv_creator_ = static_cast<bool>(options_.kv_creator);
  // Validates the initializer once, with the variable's name in the error.
  MakeInitializer(options_.initializer, -1, options_.dim,
                  options_.seed.value_or(DefaultTableSeed(options_.name)), Context());
  shards_ = MakeStores();
}

std::vector<std::unique_ptr<DynamicStore>> Variable::MakeStores() const {
  const int n = options_.devices.empty() ? options_.num_shards
                                         : static_cast<int>(options_.devices.size());
  const KvCreator creator = custom_kv_creator_ ? options_.kv_creator : DefaultKvCreator();
  const uint64_t seed = options_.seed.value_or(DefaultTableSeed(options_.name));
  std::string base = options_.name;
  std::replace(base.begin(), base.end(), '/', '_');
  std::vector<std::unique_ptr<DynamicStore>> stores;
  for (int i = 0; i < n; ++i) {
    DynamicStoreSpec spec;
    spec.name = base + "_mht_" + std::to_string(i + 1) + "of" + std::to_string(n);
    spec.key_type = options_.key_dtype;
    spec.value_dtype = options_.value_dtype;
    spec.dim = options_.dim;
    spec.initializer = options_.initializer;
    spec.seed = seed;
    spec.slot_initial_values = options_.slot_initial_values;
    auto store = creator(spec, options_.init_size / n);
    if (!store) throw InvalidArgument(Context() + ": kv_creator returned no store for " + spec.name + ".");
    stores.push_back(std::move(store));
  }
  return stores;
}

Variable::~Variable() = default;

ModelMode Variable::model_mode() const { return mode_.value_or(get_model_mode()); }

void Variable::upsert(const KeyView& keys, std::span<const float> values) {
  if (static_cast<int64_t>(values.size()) != keys.size() * dim()) {
    throw InvalidArgument(Context() + ": upsert of " + std::to_string(keys.size()) + " keys needs " +
                          std::to_string(keys.size() * dim()) + " values, got " +
                          std::to_string(values.size()) + ".");
  }
  const Routing r = Route(keys);
  for (int s = 0; s < num_shards(); ++s) {
    if (r.count(s) == 0) continue;
    if (r.identity) {
      shards_[s]->Upsert(keys, values);
    } else {
      shards_[s]->Upsert(r.keys(s), GatherRows(r, s, values, dim()));
    }
  }
}

void Variable::lookup(const KeyView& keys, std::span<float> values, std::span<bool> exists) const {
  if (static_cast<int64_t>(values.size()) != keys.size() * dim() ||
      (!exists.empty() && static_cast<int64_t>(exists.size()) != keys.size())) {
    throw InvalidArgument(Context() + ": lookup of " + std::to_string(keys.size()) +
                          " keys needs a [n, dim] values buffer and n exists flags.");
  }
  RoutedRead(shards_, Route(keys), dim(), values, exists,
             [](DynamicStore& store, const KeyView& k, std::span<float> v, std::span<bool> e) {
               store.Lookup(k, v, e);
             });
}

LookupResult Variable::lookup(const KeyView& keys, bool return_exists) const {
  LookupResult result;
  result.values.resize(keys.size() * dim());
  auto exists = BoolBuffer(keys.size());
  lookup(keys, result.values,
         return_exists ? std::span<bool>(exists.get(), keys.size()) : std::span<bool>());
  if (return_exists) result.exists.assign(exists.get(), exists.get() + keys.size());
  return result;
}

void Variable::accum(const KeyView& keys, std::span<const float> old_values,
                     std::span<const float> new_values, const std::vector<bool>& exists) {
  const int64_t n = keys.size();
  if (static_cast<int64_t>(old_values.size()) != n * dim() ||
      static_cast<int64_t>(new_values.size()) != n * dim() ||
      static_cast<int64_t>(exists.size()) != n) {
    throw InvalidArgument(Context() + ": accum of " + std::to_string(n) +
                          " keys needs old and new values of [n, dim] and n exists flags.");
  }
  std::vector<float> deltas(n * dim());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t d = 0; d < dim(); ++d) {
      const int64_t k = i * dim() + d;
      deltas[k] = exists[i] ? new_values[k] - old_values[k] : new_values[k];
    }
  }
  const Routing r = Route(keys);
  for (int s = 0; s < num_shards(); ++s) {
    const int64_t m = r.count(s);
    if (m == 0) continue;
    auto sub_exists = BoolBuffer(m);
    for (int64_t j = 0; j < m; ++j) sub_exists[j] = exists[r.position(s, j)];
    shards_[s]->Accumulate(r.keys(s), GatherRows(r, s, deltas, dim()),
                           std::span<const bool>(sub_exists.get(), m));
  }
}

int64_t Variable::remove(const KeyView& keys) {
  const Routing r = Route(keys);
  int64_t removed = 0;
  for (int s = 0; s < num_shards(); ++s) {
    if (r.count(s) > 0) removed += shards_[s]->Remove(r.keys(s));
  }
  return removed;
}

void Variable::clear() {
  for (auto& shard : shards_) shard->Clear();
}

ExportedEntries Variable::export_() const {
  ExportedEntries out;
  out.key_type = options_.key_dtype;
  for (const auto& shard : shards_) {
    ExportedEntries part = shard->Export();
    auto append = [](auto& to, auto& from) {
      to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    };
    append(out.int64_keys, part.int64_keys);
    append(out.int32_keys, part.int32_keys);
    append(out.string_keys, part.string_keys);
    append(out.values, part.values);
    append(out.slots, part.slots);
    append(out.meta, part.meta);
  }
  return out;
}

int Variable::export_part_count() const {
  int parts = 0;
  for (const auto& shard : shards_) parts += shard->ExportPartCount();
  return parts;
}

ExportedEntries Variable::export_part(int part) const {
  int first = 0;
  if (part >= 0) {
    for (const auto& shard : shards_) {
      const int count = shard->ExportPartCount();
      if (part < first + count) return shard->ExportPart(part - first);
      first += count;
    }
  }
  throw InvalidArgument(Context() + ": export_part(" + std::to_string(part) +
                        ") is out of range; the variable has " + std::to_string(export_part_count()) +
                        " parts (see export_part_count())");
}

void Variable::import_(const KeyView& keys, std::span<const float> values,
                       std::span<const float> slots, std::span<const EntryMeta> meta) {
  const int64_t n = keys.size();
  const int64_t slot_width = num_slots() * dim();
  if (static_cast<int64_t>(values.size()) != n * dim()) {
    throw InvalidArgument(Context() + ": import of " + std::to_string(n) + " keys needs " +
                          std::to_string(n * dim()) + " values (dim " + std::to_string(dim()) +
                          "), got " + std::to_string(values.size()) + "; nothing was imported.");
  }
  if (!slots.empty() && static_cast<int64_t>(slots.size()) != n * slot_width) {
    throw InvalidArgument(Context() + ": import needs " + std::to_string(n * slot_width) +
                          " slot values (" + std::to_string(num_slots()) + " slots) or none, got " +
                          std::to_string(slots.size()) + "; nothing was imported.");
  }
  if (!meta.empty() && static_cast<int64_t>(meta.size()) != n) {
    throw InvalidArgument(Context() + ": import needs one meta record per key or none, got " +
                          std::to_string(meta.size()) + "; nothing was imported.");
  }
  for (int64_t i = 0; i < n; ++i) {
    const bool finite_row =
        std::all_of(values.begin() + i * dim(), values.begin() + (i + 1) * dim(),
                    [](float v) { return std::isfinite(v); }) &&
        (slots.empty() ||
         std::all_of(slots.begin() + i * slot_width, slots.begin() + (i + 1) * slot_width,
                     [](float v) { return std::isfinite(v); }));
    if (!finite_row) {
      throw InvalidArgument(Context() + ": import value of key " + KeyText(KeyAt(keys, i)) +
                            " is NaN or Inf; nothing was imported.");
    }
  }
  const Routing r = Route(keys);  // validates the key type and the partitioner
  for (int s = 0; s < num_shards(); ++s) {
    const std::vector<float> sub_slots =
        slots.empty() ? std::vector<float>() : GatherRows(r, s, slots, slot_width);
    std::vector<EntryMeta> sub_meta;
    if (!meta.empty()) {
      for (int64_t j = 0; j < r.count(s); ++j) sub_meta.push_back(meta[r.position(s, j)]);
    }
    shards_[s]->Import(r.keys(s), GatherRows(r, s, values, dim()), sub_slots, sub_meta);
  }
}

int64_t Variable::size(std::optional<int> index) const {
  if (index.has_value()) {
    if (*index < 0 || *index >= num_shards()) {
      throw OutOfRange(Context() + ": shard index " + std::to_string(*index) + " is outside [0, " +
                       std::to_string(num_shards()) + ").");
    }
    return shards_[*index]->Size();
  }
  int64_t total = 0;
  for (const auto& shard : shards_) total += shard->Size();
  return total;
}

int64_t Variable::restrict(int64_t num_reserved, std::optional<int64_t> trigger) {
  if (!options_.restrict_policy) {
    throw FailedPrecondition(Context() + " has no restrict_policy; create it with one (e.g. "
                             "NewFrequencyRestrictPolicy()) to call restrict.");
  }
  std::vector<DynamicStore*> stores;
  for (auto& shard : shards_) stores.push_back(shard.get());
  return options_.restrict_policy->Restrict(stores, num_reserved, trigger, options_.name);
}

// ------------------------------------------------------------------ training
void Variable::Forward(const KeyView& keys, std::span<float> out, TrainingContext* ctx) {
  if (ctx == nullptr) throw InvalidArgument(Context() + ": Forward needs a TrainingContext.");
  if (static_cast<int64_t>(out.size()) != keys.size() * dim()) {
    throw InvalidArgument(Context() + ": Forward of " + std::to_string(keys.size()) +
                          " keys needs an output of " + std::to_string(keys.size() * dim()) +
                          " floats, got " + std::to_string(out.size()) + ".");
  }
  if (keys.type() != options_.key_dtype) Route(keys);  // throws the key-type error
  *ctx = TrainingContext();
  ctx->train = model_mode() == ModelMode::kTrain && options_.trainable;
  Unique(keys, &ctx->unique_keys, &ctx->inverse);
  const KeyView unique = ctx->unique_keys.view();
  const int64_t u = unique.size();
  ctx->old_values.assign(u * dim(), 0.0f);
  auto exists = BoolBuffer(u);
  auto admitted = BoolBuffer(u);
  const std::span<bool> exists_span(exists.get(), u);

  if (!ctx->train) {
    lookup(unique, ctx->old_values, exists_span);
  } else if (!options_.admission_filter) {
    RoutedRead(shards_, Route(unique), dim(), std::span<float>(ctx->old_values), exists_span,
               [](DynamicStore& store, const KeyView& k, std::span<float> v, std::span<bool> e) {
                 store.LookupOrInit(k, v, e);
               });
    std::fill_n(admitted.get(), u, true);
  } else {
    lookup(unique, ctx->old_values, exists_span);
    options_.admission_filter->Admit(unique, std::span<const bool>(exists.get(), u),
                                     std::span<bool>(admitted.get(), u));
    KeyList admitted_keys;
    admitted_keys.type = unique.type();
    std::vector<int64_t> where;
    for (int64_t i = 0; i < u; ++i) {
      if (admitted[i]) {
        admitted_keys.Append(unique, i);
        where.push_back(i);
      }
    }
    const int64_t m = admitted_keys.size();
    std::vector<float> rows(m * dim());
    auto sub_exists = BoolBuffer(m);
    RoutedRead(shards_, Route(admitted_keys.view()), dim(), std::span<float>(rows),
               std::span<bool>(sub_exists.get(), m),
               [](DynamicStore& store, const KeyView& k, std::span<float> v, std::span<bool> e) {
                 store.LookupOrInit(k, v, e);
               });
    for (int64_t j = 0; j < m; ++j) {
      std::copy_n(rows.data() + j * dim(), dim(), ctx->old_values.data() + where[j] * dim());
      exists[where[j]] = sub_exists[j];
    }
  }
  ctx->exists.assign(exists.get(), exists.get() + u);
  ctx->admitted.assign(admitted.get(), admitted.get() + u);
  if (!ctx->train) std::fill(ctx->admitted.begin(), ctx->admitted.end(), false);
  for (int64_t i = 0; i < keys.size(); ++i) {
    std::copy_n(ctx->old_values.data() + ctx->inverse[i] * dim(), dim(), out.data() + i * dim());
  }
}

void Variable::WriteBack(const TrainingContext& ctx, std::span<const float> new_rows,
                         int64_t global_step) {
  if (!ctx.train) return;
  const KeyView unique = ctx.unique_keys.view();
  const int64_t u = unique.size();
  if (static_cast<int64_t>(new_rows.size()) != u * dim()) {
    throw InvalidArgument(Context() + ": WriteBack of " + std::to_string(u) + " unique keys needs " +
                          std::to_string(u * dim()) + " floats, got " +
                          std::to_string(new_rows.size()) + ".");
  }
  KeyList keys;
  keys.type = unique.type();
  std::vector<float> rows;
  std::vector<float> old_rows;
  for (int64_t i = 0; i < u; ++i) {
    if (!ctx.admitted[i]) continue;
    keys.Append(unique, i);
    rows.insert(rows.end(), new_rows.begin() + i * dim(), new_rows.begin() + (i + 1) * dim());
    old_rows.insert(old_rows.end(), ctx.old_values.begin() + i * dim(),
                    ctx.old_values.begin() + (i + 1) * dim());
  }
  const KeyView written = keys.view();
  if (options_.bp_v2) {
    // Forward inserted every admitted key, so all are accumulated as present.
    accum(written, old_rows, rows, std::vector<bool>(written.size(), true));
  } else {
    upsert(written, rows);
  }
  if (options_.restrict_policy && written.size() > 0) {
    const Routing r = Route(written);
    for (int s = 0; s < num_shards(); ++s) {
      if (r.count(s) > 0) options_.restrict_policy->ApplyUpdate(*shards_[s], r.keys(s), global_step);
    }
  }
}

}  // namespace embcol::dynamic_embedding

namespace embcol::dynamic_embedding {

void Variable::update_rows(const KeyView& keys, MissingKeys missing,
                           DynamicStore::RowUpdateFn fn) {
  const Routing r = Route(keys);
  for (int s = 0; s < num_shards(); ++s) {
    if (r.count(s) == 0) continue;
    shards_[s]->UpdateRows(r.keys(s), missing,
                           [&](int64_t j, float* row, float* slots, EntryMeta& meta, bool existed) {
                             fn(r.position(s, j), row, slots, meta, existed);
                           });
  }
}

void Variable::apply_update_policy(const KeyView& keys, int64_t global_step) {
  if (!options_.restrict_policy || keys.size() == 0) return;
  const Routing r = Route(keys);
  for (int s = 0; s < num_shards(); ++s) {
    if (r.count(s) > 0) options_.restrict_policy->ApplyUpdate(*shards_[s], r.keys(s), global_step);
  }
}

void Variable::set_slot_initial_values(std::vector<float> values) {
  if (values == options_.slot_initial_values) return;
  for (size_t s = 0; s < values.size(); ++s) {
    if (!std::isfinite(values[s])) {
      throw InvalidArgument(Context() + ": slot " + std::to_string(s) +
                            " would start at a non-finite value; give a finite number.");
    }
  }
  // Export under the old layout, build stores with the new one, import the
  // rows and meta (slots start at their new initial values), then swap.
  std::vector<ExportedEntries> parts;
  parts.reserve(shards_.size());
  for (const auto& shard : shards_) parts.push_back(shard->Export());
  std::vector<float> old_values = std::move(options_.slot_initial_values);
  options_.slot_initial_values = std::move(values);
  try {
    std::vector<std::unique_ptr<DynamicStore>> stores = MakeStores();
    for (size_t s = 0; s < stores.size(); ++s) {
      stores[s]->Import(parts[s].keys(), parts[s].values, {}, parts[s].meta);
    }
    shards_.swap(stores);
  } catch (...) {
    options_.slot_initial_values = std::move(old_values);
    throw;
  }
}

}  // namespace embcol::dynamic_embedding
