// The counter admission filter (embcol/restrict_policy.h).
//
// State: one hash map from key to sightings for the keys under admission
// (seen while absent from the table, not yet admitted), int keys and string
// keys in separate maps. Admit() takes one mutex per batch. A key's counter
// is erased when it is admitted; keys present in the table never touch the
// maps. When a new key would push the maps past max_pending entries, both
// maps are cleared: the bound holds and pending keys restart their count.
#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/strings/string_view.h>

#include <mutex>
#include <string>
#include <string_view>

#include "embcol/errors.h"
#include "embcol/restrict_policy.h"

namespace embcol {
namespace {

class CounterAdmissionFilter final : public AdmissionFilter {
 public:
  explicit CounterAdmissionFilter(const CounterAdmissionFilterOptions& options)
      : options_(options) {}

  void Admit(const KeyView& keys, std::span<const bool> present,
             std::span<bool> admitted) override {
    const int64_t n = keys.size();
    if (static_cast<int64_t>(present.size()) != n || static_cast<int64_t>(admitted.size()) != n) {
      throw InvalidArgument("CounterAdmissionFilter.Admit: got " + std::to_string(n) + " keys, " +
                            std::to_string(present.size()) + " presence flags and " +
                            std::to_string(admitted.size()) +
                            " outputs; pass one flag and one output per key.");
    }
    if (options_.min_count <= 1) {
      for (int64_t i = 0; i < n; ++i) admitted[i] = true;
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (keys.type() == KeyType::kString) {
      absl::flat_hash_set<absl::string_view> admitted_now;
      for (int64_t i = 0; i < n; ++i) {
        const std::string_view k = keys.string_at(i);
        admitted[i] =
            present[i] || Sight(string_counts_, absl::string_view(k.data(), k.size()), admitted_now);
      }
    } else {
      absl::flat_hash_set<int64_t> admitted_now;
      const bool is64 = keys.type() == KeyType::kInt64;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = is64 ? keys.int64_at(i) : keys.int32_at(i);
        admitted[i] = present[i] || Sight(int_counts_, k, admitted_now);
      }
    }
  }

  nlohmann::json get_config() const override {
    return {{"class_name", "CounterAdmissionFilter"},
            {"config", {{"min_count", options_.min_count}, {"max_pending", options_.max_pending}}}};
  }

 private:
  // Counts one sighting of an absent key; true when it is admitted (its
  // min_count-th sighting, or any later occurrence in the same batch).
  template <typename Map, typename Key, typename Set>
  bool Sight(Map& counts, const Key& key, Set& admitted_now) {
    if (!admitted_now.empty() && admitted_now.contains(key)) return true;
    auto it = counts.find(key);
    if (it == counts.end()) {
      if (static_cast<int64_t>(int_counts_.size() + string_counts_.size()) >=
          options_.max_pending) {
        int_counts_.clear();
        string_counts_.clear();
      }
      it = counts.emplace(Key(key), 0).first;
    }
    if (++it->second < options_.min_count) return false;
    counts.erase(it);
    admitted_now.insert(key);
    return true;
  }

  const CounterAdmissionFilterOptions options_;
  std::mutex mu_;
  absl::flat_hash_map<int64_t, int64_t> int_counts_;          // guarded by mu_
  absl::flat_hash_map<std::string, int64_t> string_counts_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<AdmissionFilter> NewCounterAdmissionFilter(
    const CounterAdmissionFilterOptions& options) {
  if (options.min_count < 1) {
    throw InvalidArgument("CounterAdmissionFilter: min_count is " +
                          std::to_string(options.min_count) +
                          "; pass the number of sightings before a key gets a row, >= 1 "
                          "(1 admits every key).");
  }
  if (options.max_pending < 1) {
    throw InvalidArgument("CounterAdmissionFilter: max_pending is " +
                          std::to_string(options.max_pending) +
                          "; pass the most keys to count at once, >= 1.");
  }
  return std::make_unique<CounterAdmissionFilter>(options);
}

std::unique_ptr<AdmissionFilter> NewCounterAdmissionFilter(int64_t min_count) {
  CounterAdmissionFilterOptions options;
  options.min_count = min_count;
  return NewCounterAdmissionFilter(options);
}

std::unique_ptr<AdmissionFilter> AdmissionFilterFromConfig(const nlohmann::json& config,
                                                           const std::string& context) {
  if (!config.is_object() || !config.contains("class_name") || !config["class_name"].is_string()) {
    throw InvalidArgument(context + ": an admission filter config must be {\"class_name\": ..., "
                          "\"config\": {...}}, got " + config.dump() + ".");
  }
  const std::string name = config["class_name"].get<std::string>();
  if (name != "CounterAdmissionFilter") {
    throw InvalidArgument(context + ": unknown admission filter class_name '" + name +
                          "'; known: CounterAdmissionFilter.");
  }
  CounterAdmissionFilterOptions options;
  if (auto it = config.find("config"); it != config.end() && !it->is_null()) {
    if (!it->is_object()) {
      throw InvalidArgument(context + ": CounterAdmissionFilter 'config' must be a JSON object, got " +
                            it->dump() + ".");
    }
    for (const auto& [key, value] : it->items()) {
      if (key != "min_count" && key != "max_pending") {
        throw InvalidArgument(context + ": CounterAdmissionFilter has no config field '" + key +
                              "'; known: min_count, max_pending.");
      }
      if (!value.is_number_integer()) {
        throw InvalidArgument(context + ": CounterAdmissionFilter config '" + key +
                              "' must be an integer, got " + value.dump() + ".");
      }
      (key == "min_count" ? options.min_count : options.max_pending) = value.get<int64_t>();
    }
  }
  try {
    return NewCounterAdmissionFilter(options);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(context + ": " + e.what());
  }
}

}  // namespace embcol
