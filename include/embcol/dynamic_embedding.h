// TensorFlow Recommenders-Addons' dynamic embedding API (tfra.dynamic_embedding,
// "de"), by TFRA's names, over embcol's DynamicStore (dynamic_store.h).
//
// A dynamic_embedding::Variable is TFRA's de.Variable: a holder of N shards
// (one DynamicStore per entry of `devices`, or `num_shards`), each a hash
// table from keys to dim-float rows with no fixed vocabulary. Every batched
// call routes its keys to shards with the partitioner, calls each shard once
// with its sub-batch and stitches results back into input order (TFRA's
// dynamic_partition / dynamic_stitch). The free functions embedding_lookup*,
// safe_embedding_lookup_sparse and the training entry points Forward /
// WriteBack sit on top.
//
// Naming: everything lives in namespace embcol::dynamic_embedding and keeps
// TFRA's snake_case names (upsert, lookup, accum, ...). `export` and
// `import` are C++ keywords / module names, so those two are spelled
// export_() and import_().
//
// Model mode: TFRA's global de.enable_train_mode() / enable_inference_mode()
// are the functions below; a Variable may override the global mode. In
// inference mode Forward never inserts or changes a table (Lookup only; no
// admission, no policies) and WriteBack writes nothing.
//
// A Variable is thread-safe for lookups, upserts, accum and the training
// calls (the stores are); clear, import_ and restrict are safe to call
// concurrently with them but a concurrent reader may see any mix of before
// and after across shards. Construction and set_model_mode are
// thread-compatible.
#ifndef EMBCOL_DYNAMIC_EMBEDDING_H_
#define EMBCOL_DYNAMIC_EMBEDDING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "embcol/combiner.h"
#include "embcol/dynamic_store.h"
#include "embcol/initializer.h"
#include "embcol/restrict_policy.h"
#include "embcol/tensor.h"

namespace embcol::dynamic_embedding {

// ---------------------------------------------------------------- model mode
enum class ModelMode { kTrain, kInference };

// TFRA's de.enable_train_mode() / de.enable_inference_mode() /
// de.get_model_mode(). Process-wide; default train. Thread-safe (atomic).
void enable_train_mode();
void enable_inference_mode();
ModelMode get_model_mode();
// "train" or "inference" (TFRA's ModelMode strings).
std::string_view ModelModeName(ModelMode mode);

// ---------------------------------------------------------------- partitioner
// partition_fn(key, num_shards) -> shard id in [0, num_shards). A custom
// function returning anything else makes the call throw InvalidArgument
// naming the variable and the key (TFRA requires int32 ids in [0, N)).
using Partitioner = std::function<int(const KeyRef& key, int num_shards)>;

// TFRA's default_partition_fn. With num_shards <= 1 every key goes to 0.
//   int64  keys: (key & 0x7fffffff) mod N
//   int32  keys: floor-mod, key mod N in [0, N)
//   string keys: (Fingerprint64(bytes) mod N) & 0x7fffffff   (TF's
//                string_to_hash_bucket_fast; the mask is a no-op for N < 2^31)
// TFRA has two int64 variants: a CUDA-enabled TF build (every standard Linux
// pip build, even when running on CPU -- IsGoogleCudaEnabled() is a build
// flag) masks with 0x7fffffff before the mod; a CPU-only build uses plain
// floor-mod. embcol uses the masked variant, so with N = 3 key 2147483649
// goes to shard 1 (floor-mod: 0) and key -100 to shard 1 (floor-mod: 2).
int DefaultPartition(const KeyRef& key, int num_shards);

// ---------------------------------------------------------------- options
// Creates one shard: TFRA's kv_creator. The default is the in-memory table
// (NewDynamicTable, dynamic_table.h); persistent or remote stores plug in
// here. `init_capacity` is the variable's init_size split across shards
// (0: the store's own default).
using KvCreator = std::function<std::unique_ptr<DynamicStore>(const DynamicStoreSpec& spec,
                                                             int64_t init_capacity)>;
KvCreator DefaultKvCreator();

struct VariableOptions {
  // Names the variable in every error; shard i of N is named
  // "<name with '/' replaced by '_'>_mht_<i+1>of<N>" (TFRA's table names).
  // Required (non-empty).
  std::string name;
  // Default int64.
  KeyType key_dtype = KeyType::kInt64;
  // Storage dtype of the rows (values are float32 in the API). Default float32.
  ValueDtype value_dtype = ValueDtype::kFloat32;
  // Floats per key, >= 1. Default 1 (TFRA's default).
  int64_t dim = 1;
  // One shard per entry (names are kept for get_config; placement is not
  // modelled). Empty: `num_shards` shards.
  std::vector<std::string> devices;
  // Used when devices is empty. Default 1. Must be >= 1.
  int num_shards = 1;
  // Empty (the default): DefaultPartition.
  Partitioner partitioner;
  // Initial value of a missing key, a pure function of (key, seed): the same
  // key reads the same vector every time, in any shard layout. Default Zeros
  // (TFRA's initializer=None).
  InitializerConfig initializer{"Zeros", nlohmann::json::object()};
  // Seed used when the initializer's own seed is null; shared by all shards
  // so a key's initial value does not depend on the shard count. nullopt
  // (default): DefaultTableSeed(name) (embedding_table.h).
  std::optional<uint64_t> seed;
  // False: Forward never inserts and WriteBack writes nothing. Default true.
  bool trainable = true;
  // Applied by WriteBack (ApplyUpdate) and restrict(). Default none.
  std::unique_ptr<RestrictPolicy> restrict_policy;
  // Forward asks it which new keys may get a row. Default none (all admitted).
  std::unique_ptr<AdmissionFilter> admission_filter;
  // WriteBack accumulates deltas (TFRA's bp_v2) instead of overwriting.
  // Default false.
  bool bp_v2 = false;
  // Total initial capacity; each shard gets int(init_size / N). Default 0
  // (the store's default). Must be >= 0.
  int64_t init_size = 0;
  // Empty (the default): DefaultKvCreator().
  KvCreator kv_creator;
  // One entry per optimizer slot: the slot's initial value. The slot count
  // is its size. Default: no slots.
  std::vector<float> slot_initial_values;
};

// ---------------------------------------------------------------- key lists
// Owning keys of one type (the batch-independent form of a KeyView).
struct KeyList {
  KeyType type = KeyType::kInt64;
  std::vector<int64_t> int64_keys;
  std::vector<int32_t> int32_keys;
  std::vector<std::string> string_keys;

  int64_t size() const;
  // Appends keys[i]. REQUIRES: keys.type() == type.
  void Append(const KeyView& keys, int64_t i);
  // Valid while this object lives and is unchanged.
  KeyView view() const;
};

struct LookupResult {
  std::vector<float> values;  // [n, dim]
  std::vector<bool> exists;   // [n] when return_exists, else empty
};

// What Forward records for WriteBack (TFRA's ShadowVariable buffers).
struct TrainingContext {
  bool train = false;              // Forward ran in train mode on a trainable variable
  KeyList unique_keys;             // first-occurrence order (tf.unique)
  std::vector<int64_t> inverse;    // input position -> index in unique_keys
  std::vector<float> old_values;   // [u, dim] the rows Forward returned (v0)
  std::vector<bool> exists;        // [u] present before Forward
  std::vector<bool> admitted;      // [u] may be written by WriteBack
};

// ---------------------------------------------------------------- Variable
class Variable {
 public:
  // Throws InvalidArgument naming the variable for an empty name, dim < 1,
  // no shards, negative init_size, a bad initializer; whatever kv_creator
  // throws propagates.
  explicit Variable(VariableOptions options);
  ~Variable();
  Variable(const Variable&) = delete;
  Variable& operator=(const Variable&) = delete;

  const std::string& name() const { return options_.name; }
  KeyType key_dtype() const { return options_.key_dtype; }
  ValueDtype value_dtype() const { return options_.value_dtype; }
  int64_t dim() const { return options_.dim; }
  int num_shards() const { return static_cast<int>(shards_.size()); }
  bool trainable() const { return options_.trainable; }
  bool bp_v2() const { return options_.bp_v2; }
  int64_t init_size() const { return options_.init_size; }
  const std::vector<std::string>& devices() const { return options_.devices; }
  const InitializerConfig& initializer() const { return options_.initializer; }
  bool has_default_partitioner() const { return !custom_partitioner_; }
  bool has_default_kv_creator() const { return !custom_kv_creator_; }
  int64_t num_slots() const { return static_cast<int64_t>(options_.slot_initial_values.size()); }
  RestrictPolicy* restrict_policy() const { return options_.restrict_policy.get(); }
  AdmissionFilter* admission_filter() const { return options_.admission_filter.get(); }
  // REQUIRES: 0 <= i < num_shards(). Valid while the Variable lives.
  DynamicStore& shard(int i) const { return *shards_[i]; }

  // The shard of a key. Throws InvalidArgument when a custom partitioner
  // returns a shard outside [0, num_shards()).
  int ShardOf(const KeyRef& key) const;

  // Per-variable override of the global mode; nullopt follows the global.
  void set_model_mode(std::optional<ModelMode> mode) { mode_ = mode; }
  ModelMode model_mode() const;

  // Sets each key's row (inserting missing keys). REQUIRES values.size() == n*dim.
  void upsert(const KeyView& keys, std::span<const float> values);
  // Rows of the keys; missing keys read their initial value and are never
  // inserted. exists (optional, n entries): whether each key is present.
  void lookup(const KeyView& keys, std::span<float> values, std::span<bool> exists = {}) const;
  LookupResult lookup(const KeyView& keys, bool return_exists = false) const;
  // TFRA's bp_v2 accum: delta = new - old where exists[i], else new; then per
  // key (found now & exists) -> row += delta, (!found & !exists) -> insert
  // new, otherwise ignored (raced with another writer).
  void accum(const KeyView& keys, std::span<const float> old_values,
             std::span<const float> new_values, const std::vector<bool>& exists);
  // Removes the keys; returns how many were present.
  int64_t remove(const KeyView& keys);
  void clear();
  // Keys, values, slots and meta of every shard, concatenated in shard order.
  ExportedEntries export_() const;
  // Streaming export (DynamicStore::ExportPart): the parts of shard 0, then
  // those of shard 1, ...; each a consistent snapshot of one part, every key
  // in exactly one part. Saving part by part holds one part in memory, not
  // the table. export_part throws InvalidArgument naming the variable for
  // part outside [0, export_part_count()).
  int export_part_count() const;
  ExportedEntries export_part(int part) const;
  // Replaces the whole contents (TFRA's import: clear then insert). Validates
  // key type, sizes, finiteness and partitioning of every entry before any
  // shard changes, so a failed import leaves the variable as it was.
  void import_(const KeyView& keys, std::span<const float> values,
               std::span<const float> slots = {}, std::span<const EntryMeta> meta = {});
  void import_(const ExportedEntries& entries) {
    import_(entries.keys(), entries.values, entries.slots, entries.meta);
  }
  // Keys in all shards, or in shard `index` (OutOfRange when not a shard).
  int64_t size(std::optional<int> index = std::nullopt) const;
  // TFRA's var.restrict(num_reserved, trigger=num_reserved) through the
  // restrict policy; returns keys removed. No policy: FailedPrecondition.
  int64_t restrict(int64_t num_reserved, std::optional<int64_t> trigger = std::nullopt);

  // Training forward (TFRA a.2 steps 1-2 with with_unique). out: [n, dim].
  // Train mode and trainable: dedup (first-occurrence order) -> admission
  // filter on the unique keys (present keys always admitted) -> LookupOrInit
  // for admitted keys, Lookup (initial value, not inserted) for the rest.
  // Otherwise: Lookup only. ctx (required) receives what WriteBack needs.
  void Forward(const KeyView& keys, std::span<float> out, TrainingContext* ctx);
  // Writes the updated unique rows back (a.2 step 6). new_rows: [u, dim] in
  // ctx.unique_keys order. Only admitted keys are written: upsert, or with
  // bp_v2 accum of (new - old). Keys Forward inserted are accumulated as
  // existing keys, so concurrent workers that first saw the same new key add
  // their deltas to the same initial row. Then restrict_policy->ApplyUpdate
  // per shard with global_step. Nothing happens when ctx.train is false.
  void WriteBack(const TrainingContext& ctx, std::span<const float> new_rows,
                 int64_t global_step);

  // In-place training updates (an optimizer applied inside the table):
  // fn(i, row, slots, meta, existed) runs for each key, i its position in
  // `keys`, under the lock of the key's entry in its shard
  // (DynamicStore::UpdateRows per shard). REQUIRES: distinct keys.
  void update_rows(const KeyView& keys, MissingKeys missing, DynamicStore::RowUpdateFn fn);
  // restrict_policy->ApplyUpdate of each shard's keys with global_step
  // (what WriteBack does after writing); nothing without a policy.
  void apply_update_policy(const KeyView& keys, int64_t global_step);
  // Gives every entry one slot row per value (slot s starts at values[s]):
  // an optimizer attached after the variable was made brings its slots.
  // Existing keys keep their rows and meta; their slots restart at the new
  // initial values. Nothing happens when the values are unchanged. Throws
  // InvalidArgument naming the variable for a non-finite value.
  // Thread-compatible: no other call may run on the variable meanwhile.
  void set_slot_initial_values(std::vector<float> values);
  const std::vector<float>& slot_initial_values() const { return options_.slot_initial_values; }

 private:
  struct Routing;
  Routing Route(const KeyView& keys) const;
  std::string Context() const;
  std::vector<std::unique_ptr<DynamicStore>> MakeStores() const;

  VariableOptions options_;
  bool custom_partitioner_ = false;
  bool custom_kv_creator_ = false;
  std::optional<ModelMode> mode_;
  std::vector<std::unique_ptr<DynamicStore>> shards_;
};

// ---------------------------------------------------------------- lookups
// ids of any shape (ids.size() == product(shape)) -> shape + [dim]; never
// inserts. max_norm: each row clipped as tf.clip_by_norm,
// v * max_norm / max(|v|_2, max_norm).
DenseTensor embedding_lookup(const Variable& var, const KeyView& ids,
                             const std::vector<int64_t>& shape,
                             std::optional<float> max_norm = std::nullopt);
// Same result through unique -> lookup -> gather. As in TFRA there is no
// max_norm (TFRA forwards validate_indices into it, so it is ignored there).
DenseTensor embedding_lookup_unique(const Variable& var, const KeyView& ids,
                                    const std::vector<int64_t>& shape);
// TFRA's embedding_lookup_sparse: segment by the first index column, combine
// each segment (weights from sp_ids.weights when present; combiner.h
// formulas). Output [last non-empty row + 1, dim]; empty rows are zeros.
// REQUIRES an int64 variable; sp_ids of rank >= 1.
DenseTensor embedding_lookup_sparse(const Variable& var, const IdTensor& sp_ids,
                                    Combiner combiner = Combiner::kMean);
// TFRA's safe_embedding_lookup_sparse: N-D ids reshaped to 2-D rows; entries
// with weight <= 0 pruned when combiner != sum; every id is a valid key
// (negative ones included, unlike TF); empty rows take default_id (weight 1)
// or, without default_id, are zeros. Output dense_shape[:-1] + [dim].
DenseTensor safe_embedding_lookup_sparse(const Variable& var, const IdTensor& sp_ids,
                                         Combiner combiner = Combiner::kMean,
                                         std::optional<int64_t> default_id = std::nullopt);

// Clips each of the n rows of `rows` ([n, dim]) in place to L2 norm max_norm.
void ClipByNorm(std::span<float> rows, int64_t dim, float max_norm);

}  // namespace embcol::dynamic_embedding

#endif  // EMBCOL_DYNAMIC_EMBEDDING_H_
