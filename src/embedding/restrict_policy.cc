// Restrict policies (embcol/restrict_policy.h).
//
// Every policy keeps its per-key status in EntryMeta and evicts through
// DynamicStore::EvictIf, so a key's row, slots and meta leave together.
// Eviction of "all but the `keep` highest-status keys" of one shard
// (EvictLowest) is the shared core:
//   1. ForEachMeta copies each entry's status (4 bytes per key);
//   2. nth_element finds T, the n_remove-th smallest status, and how many
//      keys with status == T must go (the rest of the quota is status < T);
//   3. EvictIf removes status < T, and status == T until the tie quota runs
//      out (which tied keys go depends on the store's iteration order, like
//      TFRA's top_k over export order).
// Exact when no update runs concurrently; otherwise a key updated between
// 1 and 3 may survive (it is then no longer among the lowest).
#include "embcol/restrict_policy.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "embcol/errors.h"

namespace embcol {
namespace {

constexpr uint32_t kMaxU32 = std::numeric_limits<uint32_t>::max();

using StatusOf = uint32_t (*)(const EntryMeta&);
uint32_t LastUpdateOf(const EntryMeta& m) { return m.last_update; }
uint32_t FrequencyOf(const EntryMeta& m) { return m.frequency; }

// Steps are stored in EntryMeta's 32 bits, saturating (2^32 steps is far
// beyond any training run); negative steps store 0.
uint32_t StoredStep(int64_t global_step) {
  return static_cast<uint32_t>(std::clamp<int64_t>(global_step, 0, kMaxU32));
}

// Removes all but the `keep` entries of `store` with the highest status.
// Returns the number removed.
int64_t EvictLowest(DynamicStore& store, int64_t keep, StatusOf status_of) {
  std::vector<uint32_t> status;
  status.reserve(static_cast<size_t>(std::max<int64_t>(store.Size(), 0)));
  store.ForEachMeta([&](const KeyRef&, const EntryMeta& m) { status.push_back(status_of(m)); });
  const int64_t n = static_cast<int64_t>(status.size());
  if (n <= keep) return 0;
  const int64_t n_remove = n - std::max<int64_t>(keep, 0);
  auto nth = status.begin() + (n_remove - 1);
  std::nth_element(status.begin(), nth, status.end());
  const uint32_t threshold = *nth;
  // Everything before nth is <= threshold and everything after is >=.
  const int64_t below = std::count_if(status.begin(), nth,
                                      [&](uint32_t s) { return s < threshold; });
  std::atomic<int64_t> ties(n_remove - below);
  return store.EvictIf([&](const KeyRef&, const EntryMeta& m) {
    const uint32_t s = status_of(m);
    if (s < threshold) return true;
    return s == threshold && ties.fetch_sub(1, std::memory_order_relaxed) > 0;
  });
}

// first[i]: position i holds the first occurrence of its key in the batch.
std::vector<bool> FirstOccurrences(const KeyView& keys) {
  const int64_t n = keys.size();
  std::vector<bool> first(static_cast<size_t>(n), true);
  if (n < 2) return first;
  if (keys.type() == KeyType::kString) {
    absl::flat_hash_set<std::string_view> seen;
    seen.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) first[i] = seen.insert(keys.string_at(i)).second;
  } else {
    absl::flat_hash_set<int64_t> seen;
    seen.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = keys.type() == KeyType::kInt64 ? keys.int64_at(i) : keys.int32_at(i);
      first[i] = seen.insert(k).second;
    }
  }
  return first;
}

// TFRA's per-step count: every occurrence writes old + 1, so the key gains 1
// per step however often it appears in the batch.
void IncrementFrequencyOncePerStep(DynamicStore& shard, const KeyView& keys,
                                   std::optional<uint32_t> step) {
  const std::vector<bool> first = FirstOccurrences(keys);
  shard.UpdateRows(keys, MissingKeys::kSkip,
                   [&](int64_t i, float*, float*, EntryMeta& meta, bool) {
                     if (step) meta.last_update = *step;
                     if (first[i] && meta.frequency != kMaxU32) ++meta.frequency;
                   });
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// The status-based part every policy shares: TFRA's restrict().
class PolicyBase : public RestrictPolicy {
 public:
  explicit PolicyBase(StatusOf status_of) : status_of_(status_of) {}

  int64_t Restrict(std::span<DynamicStore* const> shards, int64_t num_reserved,
                   std::optional<int64_t> trigger, const std::string& variable_name) override {
    if (num_reserved < 0) {
      throw InvalidArgument("Variable " + Quoted(variable_name) + ": " + class_name() +
                            ".restrict got num_reserved = " + std::to_string(num_reserved) +
                            "; pass the number of keys to keep, >= 0.");
    }
    const int64_t trig = trigger.value_or(num_reserved);
    if (trig < 0) {
      throw InvalidArgument("Variable " + Quoted(variable_name) + ": " + class_name() +
                            ".restrict got trigger = " + std::to_string(trig) +
                            "; pass a size >= 0 above which to restrict, or omit it "
                            "(default num_reserved).");
    }
    if (shards.empty()) return 0;
    int64_t total = 0;
    for (DynamicStore* shard : shards) total += shard->Size();
    if (total <= trig) return 0;
    const int64_t quota = num_reserved / static_cast<int64_t>(shards.size());
    int64_t removed = 0;
    for (DynamicStore* shard : shards) removed += EvictLowest(*shard, quota, status_of_);
    return removed;
  }

 protected:
  StatusOf status_of_;
};

class TimestampPolicy final : public PolicyBase {
 public:
  explicit TimestampPolicy(TimestampRestrictPolicyOptions options)
      : PolicyBase(&LastUpdateOf), clock_(std::move(options.clock)) {
    if (!clock_) {
      clock_ = [] {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
      };
    }
  }
  std::string class_name() const override { return "TimestampRestrictPolicy"; }
  void ApplyUpdate(DynamicStore& shard, const KeyView& keys, int64_t) override {
    const uint32_t now = clock_();
    shard.UpdateRows(keys, MissingKeys::kSkip,
                     [&](int64_t, float*, float*, EntryMeta& meta, bool) { meta.last_update = now; });
  }
  nlohmann::json get_config() const override {
    return {{"class_name", class_name()}, {"config", nlohmann::json::object()}};
  }

 private:
  std::function<uint32_t()> clock_;
};

class FrequencyPolicy final : public PolicyBase {
 public:
  FrequencyPolicy() : PolicyBase(&FrequencyOf) {}
  std::string class_name() const override { return "FrequencyRestrictPolicy"; }
  void ApplyUpdate(DynamicStore& shard, const KeyView& keys, int64_t) override {
    IncrementFrequencyOncePerStep(shard, keys, std::nullopt);
  }
  nlohmann::json get_config() const override {
    return {{"class_name", class_name()}, {"config", nlohmann::json::object()}};
  }
};

class TtlPolicy final : public PolicyBase {
 public:
  explicit TtlPolicy(const TtlRestrictPolicyOptions& options)
      : PolicyBase(&LastUpdateOf),
        ttl_steps_(options.ttl_steps),
        scan_every_steps_(options.scan_every_steps > 0
                              ? options.scan_every_steps
                              : std::max<int64_t>(1, options.ttl_steps / 10)),
        configured_scan_every_(options.scan_every_steps) {}

  std::string class_name() const override { return "TtlRestrictPolicy"; }

  void ApplyUpdate(DynamicStore& shard, const KeyView& keys, int64_t global_step) override {
    const uint32_t step = StoredStep(global_step);
    shard.UpdateRows(keys, MissingKeys::kSkip,
                     [&](int64_t, float*, float*, EntryMeta& meta, bool) { meta.last_update = step; });
    if (!ScanDue(shard, global_step)) return;
    const int64_t oldest_kept = global_step - ttl_steps_;
    if (oldest_kept <= 0) return;
    shard.EvictIf([&](const KeyRef&, const EntryMeta& meta) {
      return static_cast<int64_t>(meta.last_update) < oldest_kept;
    });
  }

  nlohmann::json get_config() const override {
    return {{"class_name", class_name()},
            {"config", {{"ttl_steps", ttl_steps_}, {"scan_every_steps", configured_scan_every_}}}};
  }

 private:
  // Whether `shard` was last scanned scan_every_steps or more steps ago (or
  // never, or at a later step: the step counter was reset); if so, records
  // this step as its last scan.
  bool ScanDue(const DynamicStore& shard, int64_t global_step) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = last_scan_.try_emplace(&shard, global_step);
    if (inserted) return true;
    if (global_step >= it->second && global_step - it->second < scan_every_steps_) return false;
    it->second = global_step;
    return true;
  }

  const int64_t ttl_steps_;
  const int64_t scan_every_steps_;
  const int64_t configured_scan_every_;
  std::mutex mu_;
  // Per shard: the global step of its last expiry scan.
  absl::flat_hash_map<const DynamicStore*, int64_t> last_scan_;  // guarded by mu_
};

class CapacityPolicy final : public PolicyBase {
 public:
  explicit CapacityPolicy(const CapacityRestrictPolicyOptions& options)
      : PolicyBase(options.mode == CapacityEvictionMode::kLfu ? &FrequencyOf : &LastUpdateOf),
        options_(options),
        high_water_(static_cast<int64_t>(static_cast<double>(options.capacity_per_shard) *
                                         (1.0 + options.slack))) {}

  std::string class_name() const override { return "CapacityRestrictPolicy"; }

  void ApplyUpdate(DynamicStore& shard, const KeyView& keys, int64_t global_step) override {
    IncrementFrequencyOncePerStep(shard, keys, StoredStep(global_step));
    if (shard.Size() <= high_water_) return;
    // One evicting thread at a time, so two threads that both saw the shard
    // over its high-water mark do not both cut it down.
    std::lock_guard<std::mutex> lock(evict_mu_);
    if (shard.Size() <= high_water_) return;
    EvictLowest(shard, options_.capacity_per_shard, status_of_);
  }

  nlohmann::json get_config() const override {
    return {{"class_name", class_name()},
            {"config",
             {{"capacity_per_shard", options_.capacity_per_shard},
              {"mode", options_.mode == CapacityEvictionMode::kLfu ? "lfu" : "lru"},
              {"slack", options_.slack}}}};
  }

 private:
  const CapacityRestrictPolicyOptions options_;
  const int64_t high_water_;  // floor(capacity_per_shard * (1 + slack))
  std::mutex evict_mu_;
};

// ---- Config ----

const nlohmann::json& ConfigBody(const nlohmann::json& config, const std::string& context,
                                 std::string_view class_name,
                                 std::initializer_list<std::string_view> allowed) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json* body = &kEmpty;
  if (auto it = config.find("config"); it != config.end() && !it->is_null()) body = &*it;
  if (!body->is_object()) {
    throw InvalidArgument(context + ": " + std::string(class_name) +
                          " 'config' must be a JSON object, got " + body->dump() + ".");
  }
  for (const auto& [key, value] : body->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (std::string_view a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
      throw InvalidArgument(context + ": " + std::string(class_name) + " has no config field '" +
                            key + "'" + (known.empty() ? "; its config is {}." : "; known: " + known + "."));
    }
  }
  return *body;
}

template <typename T>
T Field(const nlohmann::json& body, const char* name, T default_value, const std::string& context,
        std::string_view class_name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return default_value;
  const bool ok = std::is_floating_point_v<T> ? it->is_number() : it->is_number_integer();
  if (!ok) {
    throw InvalidArgument(context + ": " + std::string(class_name) + " config '" + name +
                          "' must be " + (std::is_floating_point_v<T> ? "a number" : "an integer") +
                          ", got " + it->dump() + ".");
  }
  return it->get<T>();
}

}  // namespace

std::unique_ptr<RestrictPolicy> NewTimestampRestrictPolicy(TimestampRestrictPolicyOptions options) {
  return std::make_unique<TimestampPolicy>(std::move(options));
}

std::unique_ptr<RestrictPolicy> NewFrequencyRestrictPolicy() {
  return std::make_unique<FrequencyPolicy>();
}

std::unique_ptr<RestrictPolicy> NewTtlRestrictPolicy(TtlRestrictPolicyOptions options) {
  if (options.ttl_steps < 1) {
    throw InvalidArgument("TtlRestrictPolicy: ttl_steps is " + std::to_string(options.ttl_steps) +
                          "; pass the number of global steps an entry lives without updates, >= 1.");
  }
  if (options.scan_every_steps < 0) {
    throw InvalidArgument("TtlRestrictPolicy: scan_every_steps is " +
                          std::to_string(options.scan_every_steps) +
                          "; pass >= 1, or 0 for the default max(1, ttl_steps / 10).");
  }
  return std::make_unique<TtlPolicy>(options);
}

std::unique_ptr<RestrictPolicy> NewCapacityRestrictPolicy(CapacityRestrictPolicyOptions options) {
  if (options.capacity_per_shard < 1) {
    throw InvalidArgument("CapacityRestrictPolicy: capacity_per_shard is " +
                          std::to_string(options.capacity_per_shard) +
                          "; pass the number of keys each shard may hold, >= 1.");
  }
  if (!(options.slack >= 0.0 && options.slack <= 1.0)) {
    throw InvalidArgument("CapacityRestrictPolicy: slack is " + std::to_string(options.slack) +
                          "; pass a fraction in [0, 1] (default 0.05).");
  }
  if (options.mode != CapacityEvictionMode::kLru && options.mode != CapacityEvictionMode::kLfu) {
    throw InvalidArgument("CapacityRestrictPolicy: mode must be kLru or kLfu.");
  }
  return std::make_unique<CapacityPolicy>(options);
}

std::unique_ptr<RestrictPolicy> RestrictPolicyFromConfig(const nlohmann::json& config,
                                                         const std::string& context) {
  if (!config.is_object() || !config.contains("class_name") || !config["class_name"].is_string()) {
    throw InvalidArgument(context + ": a restrict policy config must be {\"class_name\": ..., "
                          "\"config\": {...}}, got " + config.dump() + ".");
  }
  const std::string name = config["class_name"].get<std::string>();
  if (name == "TimestampRestrictPolicy") {
    ConfigBody(config, context, name, {});
    return NewTimestampRestrictPolicy();
  }
  if (name == "FrequencyRestrictPolicy") {
    ConfigBody(config, context, name, {});
    return NewFrequencyRestrictPolicy();
  }
  try {
    if (name == "TtlRestrictPolicy") {
      const auto& body = ConfigBody(config, context, name, {"ttl_steps", "scan_every_steps"});
      TtlRestrictPolicyOptions o;
      o.ttl_steps = Field<int64_t>(body, "ttl_steps", 0, context, name);
      o.scan_every_steps = Field<int64_t>(body, "scan_every_steps", 0, context, name);
      return NewTtlRestrictPolicy(o);
    }
    if (name == "CapacityRestrictPolicy") {
      const auto& body =
          ConfigBody(config, context, name, {"capacity_per_shard", "mode", "slack"});
      CapacityRestrictPolicyOptions o;
      o.capacity_per_shard = Field<int64_t>(body, "capacity_per_shard", 0, context, name);
      o.slack = Field<double>(body, "slack", 0.05, context, name);
      if (auto it = body.find("mode"); it != body.end() && !it->is_null()) {
        if (*it == "lru" || *it == "LRU") {
          o.mode = CapacityEvictionMode::kLru;
        } else if (*it == "lfu" || *it == "LFU") {
          o.mode = CapacityEvictionMode::kLfu;
        } else {
          throw InvalidArgument(context + ": CapacityRestrictPolicy config 'mode' must be \"lru\" "
                                "or \"lfu\", got " + it->dump() + ".");
        }
      }
      return NewCapacityRestrictPolicy(o);
    }
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    if (msg.rfind(context + ":", 0) == 0) throw;
    throw InvalidArgument(context + ": " + msg);
  }
  throw InvalidArgument(context + ": unknown restrict policy class_name '" + name +
                        "'; known: TimestampRestrictPolicy, FrequencyRestrictPolicy, "
                        "TtlRestrictPolicy, CapacityRestrictPolicy.");
}

}  // namespace embcol
