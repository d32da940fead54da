// Restrict policies and admission filters: what keeps a dynamic embedding
// variable (a set of DynamicStore shards, embcol/dynamic_store.h) bounded.
//
// A RestrictPolicy records a per-key status on every training step
// (ApplyUpdate) and removes the lowest-status keys when asked (Restrict,
// TFRA's `var.restrict(num_reserved, trigger)`); the TTL and capacity
// policies also evict on their own during ApplyUpdate. Policies keep their
// per-key state in each entry's EntryMeta -- never a second table -- so
// evicting a key removes its row, optimizer slots and policy status together
// (DynamicStore::EvictIf / Remove).
//
// An AdmissionFilter decides which keys get a trained row at all: a key is
// admitted only once it has been seen `min_count` times (DeepRec's counter
// filter); before that it reads its initial value and training neither
// inserts nor updates it.
//
// Use a policy when a variable's vocabulary is open-ended (ids, hashes of
// strings) and memory must stay bounded; use an admission filter to keep
// one-off keys from ever taking a row.
//
// The JSON forms get_config writes (and the *FromConfig functions read) are
// documented, with their defaults, in docs/dynamic-embedding-config.md.
//
// Policies and filters are thread-safe.
#ifndef EMBCOL_RESTRICT_POLICY_H_
#define EMBCOL_RESTRICT_POLICY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "embcol/dynamic_store.h"

namespace embcol {

// A policy that keeps a dynamic embedding variable bounded. Policies keep
// their per-key state in each entry's EntryMeta (dynamic_store.h) -- never a
// second table -- so evicting a key removes its row, optimizer slots and
// policy status together. Thread-safe.
class RestrictPolicy {
 public:
  virtual ~RestrictPolicy() = default;

  // "TimestampRestrictPolicy", "FrequencyRestrictPolicy",
  // "TtlRestrictPolicy", "CapacityRestrictPolicy".
  virtual std::string class_name() const = 0;

  // Called once per training step, after the step wrote `keys` into `shard`
  // (keys already present in the shard), with the global step. Updates the
  // keys' EntryMeta (via DynamicStore::UpdateRows(keys, MissingKeys::kSkip,
  // ...)); keys not present are skipped. May evict (capacity / TTL policies
  // evict here).
  virtual void ApplyUpdate(DynamicStore& shard, const KeyView& keys, int64_t global_step) = 0;

  // TFRA's restrict(num_reserved, trigger=num_reserved): no-op unless the
  // total size of all shards > trigger (nullopt: trigger = num_reserved);
  // else each shard keeps floor(num_reserved / shards.size()) keys, evicting
  // the lowest-status ones (ties: any of the tied keys may go). With several
  // shards the total kept can therefore be below num_reserved, as in TFRA.
  // Returns the number of keys removed.
  // Throws InvalidArgument (naming `variable_name`) for num_reserved < 0 or
  // trigger < 0.
  // REQUIRES: no pointer in `shards` is null.
  virtual int64_t Restrict(std::span<DynamicStore* const> shards, int64_t num_reserved,
                           std::optional<int64_t> trigger,
                           const std::string& variable_name) = 0;

  // {"class_name": class_name(), "config": {...}}; RestrictPolicyFromConfig
  // rebuilds an equivalent policy (injected clocks are not serialized).
  virtual nlohmann::json get_config() const = 0;
};

// Rebuilds a policy from get_config()'s output. Throws InvalidArgument
// naming `context` for an unknown class_name or a bad config field.
std::unique_ptr<RestrictPolicy> RestrictPolicyFromConfig(const nlohmann::json& config,
                                                         const std::string& context);

struct TimestampRestrictPolicyOptions {
  // Returns the timestamp written into EntryMeta::last_update on update.
  // Empty (the default): seconds since the Unix epoch, as TFRA's
  // int32(tf.timestamp()). Inject a fake clock in tests.
  std::function<uint32_t()> clock;
};

// TFRA's TimestampRestrictPolicy: ApplyUpdate sets last_update = clock() for
// every key of the step; Restrict evicts the oldest (smallest last_update).
std::unique_ptr<RestrictPolicy> NewTimestampRestrictPolicy(
    TimestampRestrictPolicyOptions options = {});

// TFRA's FrequencyRestrictPolicy: ApplyUpdate sets frequency = old + 1 for
// each occurrence of a key (saturating at UINT32_MAX); Restrict evicts the
// least frequent. As in TFRA, duplicates within one batch are NOT summed:
// TFRA looks up all old counts first and then writes old + 1 for each
// occurrence, so a key seen 3 times in one step gains 1, not 3.
std::unique_ptr<RestrictPolicy> NewFrequencyRestrictPolicy();

struct TtlRestrictPolicyOptions {
  // Entries not updated for more than ttl_steps global steps are evicted:
  // an entry goes when last_update < global_step - ttl_steps. Must be >= 1.
  int64_t ttl_steps = 0;

  // ApplyUpdate scans a shard for expired entries at most once every
  // scan_every_steps global steps (per shard). 0 (the default):
  // max(1, ttl_steps / 10), so an entry outlives its TTL by at most ~10%.
  // Must be >= 0.
  int64_t scan_every_steps = 0;
};

// Beyond TFRA: time-to-live in global steps. ApplyUpdate sets last_update =
// global_step (stored saturated at UINT32_MAX) for the keys of the step and, at most
// every scan_every_steps, evicts the shard's expired entries. Restrict works
// as in TFRA with last_update as the status (least recently updated go
// first). Throws InvalidArgument for ttl_steps < 1 or scan_every_steps < 0.
std::unique_ptr<RestrictPolicy> NewTtlRestrictPolicy(TtlRestrictPolicyOptions options);

enum class CapacityEvictionMode {
  kLru,  // evict the smallest last_update (global step of the last update)
  kLfu,  // evict the smallest frequency (number of steps updated)
};

struct CapacityRestrictPolicyOptions {
  // Keys each shard may hold (per shard, as ApplyUpdate sees one shard at a
  // time). Must be >= 1.
  int64_t capacity_per_shard = 0;

  // kLru (the default) or kLfu. Both modes record last_update = global_step
  // and frequency += 1 per step the key appears in (duplicates within one
  // batch count once, like FrequencyRestrictPolicy).
  CapacityEvictionMode mode = CapacityEvictionMode::kLru;

  // Eviction starts when a shard's size exceeds
  // capacity_per_shard * (1 + slack) and brings it back down to
  // capacity_per_shard, so the O(size) scan runs once per
  // ~slack*capacity inserts rather than on every step. Default 0.05;
  // must be in [0, 1].
  double slack = 0.05;
};

// Beyond TFRA: a per-shard LRU or LFU cap enforced during ApplyUpdate: when
// the shard holds more than floor(capacity_per_shard * (1 + slack)) keys
// after the step's update, the lowest-status keys are evicted until it holds
// capacity_per_shard. Under LFU a newly admitted key (frequency 1) is the
// first candidate; pair LFU with an admission filter to protect new keys.
// Ties: any of the tied keys may go, including keys of the current step
// (under LRU those carry the newest step, so they tie only with each other,
// when more than capacity_per_shard keys share it). Restrict works as in
// TFRA with the mode's status. Throws InvalidArgument for a bad option.
std::unique_ptr<RestrictPolicy> NewCapacityRestrictPolicy(CapacityRestrictPolicyOptions options);

// Admission: a key gets its own trained row only after it has been seen
// `min_count` times (DeepRec's counter filter); before that it reads the
// default (initial) value and training does not insert or update it.
// Thread-safe.
class AdmissionFilter {
 public:
  virtual ~AdmissionFilter() = default;

  // Counts one sighting of each key (per occurrence in the batch) and sets
  // admitted[i]. Keys already present in the table are always admitted
  // (caller passes present[i]).
  // REQUIRES: present.size() == admitted.size() == keys.size().
  virtual void Admit(const KeyView& keys, std::span<const bool> present,
                     std::span<bool> admitted) = 0;

  // {"class_name": "CounterAdmissionFilter",
  //  "config": {"min_count": n, "max_pending": m}}.
  virtual nlohmann::json get_config() const = 0;
};

struct CounterAdmissionFilterOptions {
  // A key not present in the table is admitted on its min_count-th
  // sighting. Must be >= 1; 1 admits everything.
  int64_t min_count = 1;

  // Most keys under admission (seen, not yet admitted) the filter counts.
  // When a new key arrives and the counters already hold max_pending keys,
  // all counters are dropped and counting restarts (pending keys need
  // min_count fresh sightings). Default 1 << 22; must be >= 1.
  int64_t max_pending = int64_t{1} << 22;
};

// A key not present in the table is admitted on its min_count-th sighting,
// counting every occurrence within and across batches. Counters live in a
// hash map holding only keys under admission; a key's counter is dropped
// when it is admitted. Memory bound: max_pending entries of (key + 8 bytes
// of counter and hash slot) -- about 24 bytes per int key, 40 + length per
// string key; ~100 MB at the default max_pending with int keys.
// Throws InvalidArgument for min_count < 1 or max_pending < 1.
std::unique_ptr<AdmissionFilter> NewCounterAdmissionFilter(int64_t min_count);
std::unique_ptr<AdmissionFilter> NewCounterAdmissionFilter(
    const CounterAdmissionFilterOptions& options);

// Rebuilds a filter from get_config()'s output. Throws InvalidArgument
// naming `context` for an unknown class_name or a bad field.
std::unique_ptr<AdmissionFilter> AdmissionFilterFromConfig(const nlohmann::json& config,
                                                           const std::string& context);

}  // namespace embcol

#endif  // EMBCOL_RESTRICT_POLICY_H_
