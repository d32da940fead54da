// DynamicStore: the interface of a dynamic embedding table -- a hash table
// from keys (int64, int32 or strings) to fixed-dim float rows, with no fixed
// vocabulary (TensorFlow Recommenders-Addons' de.Variable shard). Each entry
// holds the embedding row, `num_slots` optimizer slot rows (float32, dim
// each) and a small policy record (EntryMeta). Implementations: the
// in-memory table (embcol/dynamic_table.h); persistent and remote stores
// implement the same interface.
//
// Every operation is batched over n keys passed as a KeyView. Values are
// float32 in the API whatever the storage dtype. Within one call, repeated
// keys are applied in batch order (the second occurrence sees the first's
// effect). Calls on different keys from different threads do not interfere;
// each key's updates are atomic (a reader sees a row before or after an
// update, never a mix).
//
// Missing keys read the table's initial value for that key: a pure function
// of (key, table seed) (see InitializerRowOf), so an unseen key always reads
// the same vector and keys can be initialized in any order.
//
// Errors: InvalidArgument naming the table and the fix for keys of the wrong
// type, value spans of the wrong size (dim mismatch), and NaN/Inf on Import.
//
// Implementations are thread-safe. Callbacks (UpdateRows, ForEachMeta,
// EvictIf) run under an internal lock: they must be short and must not call
// back into the same store; no pointer they receive outlives the call.
#ifndef EMBCOL_DYNAMIC_STORE_H_
#define EMBCOL_DYNAMIC_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "embcol/initializer.h"

namespace embcol {

// Key dtypes, by TensorFlow's names "int64", "int32", "string".
enum class KeyType { kInt64, kInt32, kString };
std::string_view KeyTypeName(KeyType type);
// Throws InvalidArgument naming `context` for any other name.
KeyType ParseKeyType(std::string_view name, const std::string& context);

// Storage dtype of the embedding rows: "float32", "float16" (alias "half")
// or "bfloat16". Rows are converted to float32 on read and rounded to
// nearest even on write; slot rows are always float32.
enum class ValueDtype { kFloat32, kFloat16, kBFloat16 };
std::string_view ValueDtypeName(ValueDtype dtype);
// Throws InvalidArgument naming `context` for an unknown dtype.
ValueDtype ParseValueDtype(std::string_view name, const std::string& context);

// Per-entry policy metadata (restrict policies). Zero when a key is
// inserted; changed only through UpdateRows and Import.
struct EntryMeta {
  uint32_t last_update = 0;  // step or timestamp (seconds) of the last update
  uint32_t frequency = 0;    // number of updates
  bool operator==(const EntryMeta&) const = default;
};

// A non-owning view of n keys of one type. The viewed array must outlive
// every call it is passed to; nothing keeps it afterwards.
class KeyView {
 public:
  KeyView() : KeyView(static_cast<const int64_t*>(nullptr), 0) {}
  KeyView(const int64_t* keys, int64_t n) : type_(KeyType::kInt64), size_(n), data_(keys) {}
  KeyView(const int32_t* keys, int64_t n) : type_(KeyType::kInt32), size_(n), data_(keys) {}
  KeyView(const std::string* keys, int64_t n)
      : type_(KeyType::kString), size_(n), data_(keys), std_strings_(true) {}
  KeyView(const std::string_view* keys, int64_t n)
      : type_(KeyType::kString), size_(n), data_(keys) {}
  KeyView(const std::vector<int64_t>& keys) : KeyView(keys.data(), Size(keys)) {}
  KeyView(const std::vector<int32_t>& keys) : KeyView(keys.data(), Size(keys)) {}
  KeyView(const std::vector<std::string>& keys) : KeyView(keys.data(), Size(keys)) {}
  KeyView(const std::vector<std::string_view>& keys) : KeyView(keys.data(), Size(keys)) {}

  KeyType type() const { return type_; }
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // REQUIRES: type() is the matching key type; 0 <= i < size().
  int64_t int64_at(int64_t i) const { return static_cast<const int64_t*>(data_)[i]; }
  int32_t int32_at(int64_t i) const { return static_cast<const int32_t*>(data_)[i]; }
  std::string_view string_at(int64_t i) const {
    return std_strings_ ? std::string_view(static_cast<const std::string*>(data_)[i])
                        : static_cast<const std::string_view*>(data_)[i];
  }
  // A view of keys [begin, begin + n). REQUIRES: 0 <= begin, begin + n <= size().
  KeyView subview(int64_t begin, int64_t n) const;

 private:
  template <typename V>
  static int64_t Size(const V& v) { return static_cast<int64_t>(v.size()); }

  KeyType type_;
  int64_t size_;
  const void* data_;
  bool std_strings_ = false;  // string keys: std::string[] rather than string_view[]
};

// One key handed to a callback: integer keys (int32 widened) by value,
// string keys by a view valid only during the callback.
struct KeyRef {
  KeyType type = KeyType::kInt64;
  int64_t integer = 0;      // kInt64, kInt32
  std::string_view string;  // kString
};

// The row initializer's row index for a key: the key itself for int64 and
// int32 keys, Fingerprint64 (FarmHash) of the bytes for strings, cast to
// int64. Missing keys read Initializer::InitRow(InitializerRowOf(key)).
int64_t InitializerRowOf(const KeyRef& key);

// A non-owning reference to a callable, cheap to pass by value (like
// absl::FunctionRef). The callable must outlive the FunctionRef.
template <typename Sig>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F,
            typename = std::enable_if_t<
                std::is_invocable_r_v<R, const F&, Args...> &&
                !std::is_same_v<std::remove_cvref_t<F>, FunctionRef>>>
  FunctionRef(const F& f)  // NOLINT: implicit, like absl::FunctionRef
      : object_(static_cast<const void*>(std::addressof(f))),
        call_([](const void* object, Args... args) -> R {
          return std::invoke(*static_cast<const F*>(object), std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  const void* object_;
  R (*call_)(const void*, Args...);
};

// What a store is: the configuration every implementation shares.
struct DynamicStoreSpec {
  // Names the table in every error message. Required (non-empty).
  std::string name;
  // Default int64.
  KeyType key_type = KeyType::kInt64;
  // Storage of the embedding rows. Default float32.
  ValueDtype value_dtype = ValueDtype::kFloat32;
  // Floats per row, >= 1. Default 1 (TFRA's default).
  int64_t dim = 1;
  // Initial value of a key (initializer.h). Default Zeros (TFRA's
  // initializer=None). A Constant holding a whole table is rejected.
  InitializerConfig initializer{"Zeros", nlohmann::json::object()};
  // Seed of the initializer when its config's seed is null. nullopt (the
  // default): DefaultTableSeed(name) (embedding_table.h).
  std::optional<uint64_t> seed;
  // One entry per optimizer slot (num_slots = size()): the value every
  // element of that slot row starts at. Default: no slots.
  std::vector<float> slot_initial_values;

  int64_t num_slots() const { return static_cast<int64_t>(slot_initial_values.size()); }
};

// Whether UpdateRows inserts keys that are not present.
enum class MissingKeys {
  kSkip,    // the callback is not called for missing keys
  kInsert,  // missing keys are inserted with their initial row, slot initial
            // values and zero meta; the callback then sees existed == false
};

// All entries of a store, in unspecified order. Rows are float32.
struct ExportedEntries {
  KeyType key_type = KeyType::kInt64;
  std::vector<int64_t> int64_keys;       // filled when key_type == kInt64
  std::vector<int32_t> int32_keys;       // filled when key_type == kInt32
  std::vector<std::string> string_keys;  // filled when key_type == kString
  std::vector<float> values;             // [n, dim]
  std::vector<float> slots;              // [n, num_slots, dim]
  std::vector<EntryMeta> meta;           // [n]

  int64_t size() const;
  // Valid while this object lives and its key vector is unchanged.
  KeyView keys() const;
};

class DynamicStore {
 public:
  // Called for each key by UpdateRows, under the lock of the key's entry:
  //   i        position of the key in the batch
  //   row      dim floats, the embedding row (a float32 copy when stored as
  //            float16/bfloat16; written back rounded after the call)
  //   slots    num_slots * dim floats, slot s at slots + s * dim (nullptr
  //            when num_slots == 0)
  //   meta     the entry's policy record
  //   existed  the key was present before this call (false: just inserted)
  // The pointers are valid only during the call.
  using RowUpdateFn =
      FunctionRef<void(int64_t i, float* row, float* slots, EntryMeta& meta, bool existed)>;
  using MetaFn = FunctionRef<void(const KeyRef& key, const EntryMeta& meta)>;
  using EvictFn = FunctionRef<bool(const KeyRef& key, const EntryMeta& meta)>;

  virtual ~DynamicStore() = default;

  virtual const DynamicStoreSpec& spec() const = 0;
  const std::string& name() const { return spec().name; }
  int64_t dim() const { return spec().dim; }
  KeyType key_type() const { return spec().key_type; }
  int64_t num_slots() const { return spec().num_slots(); }

  // Number of keys. Exact when no update runs concurrently.
  virtual int64_t Size() const = 0;
  // Bytes of memory held (index, entries, keys): an estimate for reports.
  virtual int64_t MemoryBytes() const = 0;

  // Inference lookup; never inserts. values[i*dim ..) = the row of key i, or
  // its initial value when missing. exists (optional): whether each key is
  // present. REQUIRES: values.size() == n*dim; exists empty or of size n.
  virtual void Lookup(const KeyView& keys, std::span<float> values,
                      std::span<bool> exists = {}) const = 0;

  // Training lookup: like Lookup, but missing keys are inserted with their
  // initial value (slots at their initial values, meta zero). exists
  // (optional) says whether each key was present when its turn came (a key
  // repeated in the batch is inserted by its first occurrence).
  virtual void LookupOrInit(const KeyView& keys, std::span<float> values,
                            std::span<bool> exists = {}) = 0;

  // Sets the row of each key (inserting missing keys; their slots take the
  // initial values). REQUIRES: values.size() == n*dim.
  virtual void Upsert(const KeyView& keys, std::span<const float> values) = 0;

  // TFRA's bp_v2 accumulate. Per key, with found = present now:
  //   found && exists_at_lookup[i]    -> row += values[i]      (a delta)
  //   !found && !exists_at_lookup[i]  -> insert values[i]      (a full row)
  //   otherwise                       -> ignored (raced with another writer)
  // REQUIRES: values.size() == n*dim, exists_at_lookup.size() == n.
  virtual void Accumulate(const KeyView& keys, std::span<const float> values,
                          std::span<const bool> exists_at_lookup) = 0;

  // Runs `fn` on each key's row, slots and meta in place, under the lock
  // (see RowUpdateFn). Missing keys: see MissingKeys. If `fn` throws, the
  // keys before it stay updated and the exception propagates.
  virtual void UpdateRows(const KeyView& keys, MissingKeys missing, RowUpdateFn fn) = 0;

  // Removes the keys; returns how many were present.
  virtual int64_t Remove(const KeyView& keys) = 0;
  // Removes every key.
  virtual void Clear() = 0;

  // Every entry, as a consistent snapshot (no update is half-visible).
  virtual ExportedEntries Export() const = 0;

  // Streaming export, for saving a table without a second copy of it: the
  // entries split into ExportPartCount() parts (fixed for the store's
  // lifetime), ExportPart(p) returning part p as a consistent snapshot of
  // that part. Every key is in exactly one part (parts partition the key
  // space, so a key never appears in two parts even under concurrent
  // writes); the union of the parts is not one snapshot when writers run
  // between calls. Memory: one part at a time. The default is a single
  // part, Export(); the in-memory table has one part per shard. Throws
  // InvalidArgument naming the table for p outside [0, ExportPartCount()).
  virtual int ExportPartCount() const;
  virtual ExportedEntries ExportPart(int part) const;

  // Replaces the whole contents with n entries. values: [n, dim]; slots:
  // [n, num_slots, dim] or empty (initial slot values); meta: [n] or empty
  // (zeros). Validates everything first -- key type, sizes, NaN/Inf (the
  // error names the key) -- so a failed Import leaves the store as it was.
  // A key given twice keeps its last entry.
  virtual void Import(const KeyView& keys, std::span<const float> values,
                      std::span<const float> slots = {},
                      std::span<const EntryMeta> meta = {}) = 0;
  void Import(const ExportedEntries& entries) {
    Import(entries.keys(), entries.values, entries.slots, entries.meta);
  }

  // Calls fn(key, meta) for every entry, one internal shard at a time
  // (read-locked: concurrent lookups proceed, writers to that shard wait).
  virtual void ForEachMeta(MetaFn fn) const = 0;

  // Removes every entry for which pred(key, meta) is true; returns how many.
  // Each shard is decided and cleaned under its write lock.
  virtual int64_t EvictIf(EvictFn pred) = 0;
};

}  // namespace embcol

#endif  // EMBCOL_DYNAMIC_STORE_H_
