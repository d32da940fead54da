#include "embcol/restrict_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "embcol/dynamic_table.h"
#include "embcol/errors.h"

namespace embcol {
namespace {

using nlohmann::json;

// A DynamicStore model on std::map: int64 keys, float32 rows, rows start at
// zero (the Zeros initializer). Small and obviously right; the policy tests
// run against it and against the real in-memory table.
class MapStore final : public DynamicStore {
 public:
  explicit MapStore(DynamicStoreSpec spec) : spec_(std::move(spec)) {}

  const DynamicStoreSpec& spec() const override { return spec_; }
  int64_t Size() const override { return static_cast<int64_t>(entries_.size()); }
  int64_t MemoryBytes() const override { return Size() * 64; }

  void Lookup(const KeyView& keys, std::span<float> values,
              std::span<bool> exists) const override {
    for (int64_t i = 0; i < keys.size(); ++i) {
      auto it = entries_.find(keys.int64_at(i));
      for (int64_t d = 0; d < dim(); ++d) {
        values[i * dim() + d] = it == entries_.end() ? 0.0f : it->second.row[d];
      }
      if (!exists.empty()) exists[i] = it != entries_.end();
    }
  }
  void LookupOrInit(const KeyView& keys, std::span<float> values,
                    std::span<bool> exists) override {
    for (int64_t i = 0; i < keys.size(); ++i) {
      const bool found = entries_.count(keys.int64_at(i)) > 0;
      Entry& e = Find(keys.int64_at(i));
      std::copy(e.row.begin(), e.row.end(), values.begin() + i * dim());
      if (!exists.empty()) exists[i] = found;
    }
  }
  void Upsert(const KeyView& keys, std::span<const float> values) override {
    for (int64_t i = 0; i < keys.size(); ++i) {
      Entry& e = Find(keys.int64_at(i));
      std::copy(values.begin() + i * dim(), values.begin() + (i + 1) * dim(), e.row.begin());
    }
  }
  void Accumulate(const KeyView& keys, std::span<const float> values,
                  std::span<const bool> exists_at_lookup) override {
    for (int64_t i = 0; i < keys.size(); ++i) {
      const bool found = entries_.count(keys.int64_at(i)) > 0;
      if (found != exists_at_lookup[i]) continue;
      Entry& e = Find(keys.int64_at(i));
      for (int64_t d = 0; d < dim(); ++d) {
        e.row[d] = (found ? e.row[d] : 0.0f) + values[i * dim() + d];
      }
    }
  }
  void UpdateRows(const KeyView& keys, MissingKeys missing, RowUpdateFn fn) override {
    for (int64_t i = 0; i < keys.size(); ++i) {
      const bool found = entries_.count(keys.int64_at(i)) > 0;
      if (!found && missing == MissingKeys::kSkip) continue;
      Entry& e = Find(keys.int64_at(i));
      fn(i, e.row.data(), e.slots.empty() ? nullptr : e.slots.data(), e.meta, found);
    }
  }
  int64_t Remove(const KeyView& keys) override {
    int64_t n = 0;
    for (int64_t i = 0; i < keys.size(); ++i) n += entries_.erase(keys.int64_at(i));
    return n;
  }
  void Clear() override { entries_.clear(); }
  ExportedEntries Export() const override {
    ExportedEntries out;
    for (const auto& [k, e] : entries_) {
      out.int64_keys.push_back(k);
      out.values.insert(out.values.end(), e.row.begin(), e.row.end());
      out.slots.insert(out.slots.end(), e.slots.begin(), e.slots.end());
      out.meta.push_back(e.meta);
    }
    return out;
  }
  void Import(const KeyView& keys, std::span<const float> values, std::span<const float> slots,
              std::span<const EntryMeta> meta) override {
    entries_.clear();
    const int64_t sd = num_slots() * dim();
    for (int64_t i = 0; i < keys.size(); ++i) {
      Entry& e = Find(keys.int64_at(i));
      std::copy(values.begin() + i * dim(), values.begin() + (i + 1) * dim(), e.row.begin());
      if (!slots.empty()) std::copy(slots.begin() + i * sd, slots.begin() + (i + 1) * sd, e.slots.begin());
      if (!meta.empty()) e.meta = meta[i];
    }
  }
  void ForEachMeta(MetaFn fn) const override {
    for (const auto& [k, e] : entries_) fn(KeyRef{KeyType::kInt64, k, {}}, e.meta);
  }
  int64_t EvictIf(EvictFn pred) override {
    return static_cast<int64_t>(std::erase_if(entries_, [&](const auto& kv) {
      return pred(KeyRef{KeyType::kInt64, kv.first, {}}, kv.second.meta);
    }));
  }

 private:
  struct Entry {
    std::vector<float> row, slots;
    EntryMeta meta;
  };
  Entry& Find(int64_t key) {
    auto [it, inserted] = entries_.try_emplace(key);
    if (inserted) {
      it->second.row.assign(dim(), 0.0f);
      for (float v : spec_.slot_initial_values) it->second.slots.insert(it->second.slots.end(), dim(), v);
    }
    return it->second;
  }

  DynamicStoreSpec spec_;
  std::map<int64_t, Entry> entries_;
};

using StoreFactory = std::function<std::unique_ptr<DynamicStore>(const DynamicStoreSpec&)>;

struct StoreKind {
  std::string name;
  StoreFactory make;
};

DynamicStoreSpec Spec(std::vector<float> slot_initial_values = {}) {
  DynamicStoreSpec spec;
  spec.name = "policy_test_table";
  spec.dim = 2;
  spec.slot_initial_values = std::move(slot_initial_values);
  return spec;
}

class RestrictPolicyTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  std::unique_ptr<DynamicStore> NewStore(std::vector<float> slot_initial_values = {}) {
    return GetParam().make(Spec(std::move(slot_initial_values)));
  }

  // Inserts the keys (as training's LookupOrInit does) and applies the
  // policy's per-step update.
  static void Step(RestrictPolicy& policy, DynamicStore& store, std::vector<int64_t> keys,
                   int64_t global_step) {
    std::vector<float> values(keys.size() * store.dim());
    store.LookupOrInit(KeyView(keys), values);
    policy.ApplyUpdate(store, KeyView(keys), global_step);
  }

  static std::vector<int64_t> Keys(const DynamicStore& store) {
    std::vector<int64_t> keys = store.Export().int64_keys;
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  static EntryMeta MetaOf(const DynamicStore& store, int64_t key) {
    const ExportedEntries e = store.Export();
    for (int64_t i = 0; i < e.size(); ++i) {
      if (e.int64_keys[i] == key) return e.meta[i];
    }
    ADD_FAILURE() << "key " << key << " missing";
    return {};
  }
};

// A clock the test advances by hand.
struct FakeClock {
  uint32_t now = 1000;
  TimestampRestrictPolicyOptions Options() {
    TimestampRestrictPolicyOptions o;
    o.clock = [this] { return now; };
    return o;
  }
};

using Shards = std::vector<DynamicStore*>;

// ---- TimestampRestrictPolicy ----

TEST_P(RestrictPolicyTest, TimestampApplyUpdateStampsPresentKeysOnly) {
  FakeClock clock;
  auto policy = NewTimestampRestrictPolicy(clock.Options());
  auto store = NewStore();
  Step(*policy, *store, {1, 2}, 0);
  clock.now = 1005;
  std::vector<int64_t> absent_and_present = {2, 99};
  policy->ApplyUpdate(*store, KeyView(absent_and_present), 0);  // 99 is not inserted
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(MetaOf(*store, 1), (EntryMeta{1000, 0}));
  EXPECT_EQ(MetaOf(*store, 2), (EntryMeta{1005, 0}));
}

TEST_P(RestrictPolicyTest, TimestampDefaultClockIsSecondsSinceEpoch) {
  auto policy = NewTimestampRestrictPolicy();
  auto store = NewStore();
  Step(*policy, *store, {1}, 0);
  // 2023-01-01 .. 2100-01-01 in seconds since the epoch.
  EXPECT_GT(MetaOf(*store, 1).last_update, 1672531200u);
  EXPECT_LT(MetaOf(*store, 1).last_update, 4102444800u);
}

TEST_P(RestrictPolicyTest, TimestampRestrictKeepsTheNewest) {
  FakeClock clock;
  auto policy = NewTimestampRestrictPolicy(clock.Options());
  auto store = NewStore();
  // Key k stamped at 1000 + 10k; key 2 refreshed last.
  for (int64_t k : {1, 2, 3, 4, 5}) {
    clock.now = 1000 + 10 * static_cast<uint32_t>(k);
    Step(*policy, *store, {k}, 0);
  }
  clock.now = 2000;
  Step(*policy, *store, {2}, 0);
  Shards shards = {store.get()};
  EXPECT_EQ(policy->Restrict(shards, 3, std::nullopt, "v"), 2);
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{2, 4, 5}));
}

TEST_P(RestrictPolicyTest, RestrictIsANoOpUnlessSizeExceedsTrigger) {
  FakeClock clock;
  auto policy = NewTimestampRestrictPolicy(clock.Options());
  auto store = NewStore();
  for (int64_t k : {1, 2, 3, 4, 5}) {
    ++clock.now;
    Step(*policy, *store, {k}, 0);
  }
  Shards shards = {store.get()};
  EXPECT_EQ(policy->Restrict(shards, 5, std::nullopt, "v"), 0);  // 5 > 5 is false
  EXPECT_EQ(policy->Restrict(shards, 3, 5, "v"), 0);             // trigger 5: still 5 keys
  EXPECT_EQ(store->Size(), 5);
  EXPECT_EQ(policy->Restrict(shards, 3, 4, "v"), 2);             // 5 > 4: cut to 3
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{3, 4, 5}));
  // A trigger below num_reserved restricts to num_reserved.
  EXPECT_EQ(policy->Restrict(shards, 3, 0, "v"), 0);
  EXPECT_EQ(store->Size(), 3);
  EXPECT_EQ(policy->Restrict(shards, 0, std::nullopt, "v"), 3);
  EXPECT_EQ(store->Size(), 0);
}

TEST_P(RestrictPolicyTest, RestrictQuotaIsPerShardAsInTfra) {
  FakeClock clock;
  auto policy = NewTimestampRestrictPolicy(clock.Options());
  auto a = NewStore();
  auto b = NewStore();
  for (int64_t k : {1, 2, 3, 4}) {
    ++clock.now;
    Step(*policy, *a, {k}, 0);
  }
  ++clock.now;
  Step(*policy, *b, {10}, 0);
  Shards shards = {a.get(), b.get()};
  // Total 5 > 4; quota floor(4 / 2) = 2 per shard: a keeps its newest two,
  // b keeps its only key, so 3 keys remain (below num_reserved).
  EXPECT_EQ(policy->Restrict(shards, 4, std::nullopt, "v"), 2);
  EXPECT_EQ(Keys(*a), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Keys(*b), (std::vector<int64_t>{10}));

  // Odd num_reserved: floor(3 / 2) = 1 per shard.
  EXPECT_EQ(policy->Restrict(shards, 3, 2, "v"), 1);
  EXPECT_EQ(Keys(*a), (std::vector<int64_t>{4}));
  EXPECT_EQ(Keys(*b), (std::vector<int64_t>{10}));
}

TEST_P(RestrictPolicyTest, RestrictTiesEvictExactlyTheQuota) {
  FakeClock clock;
  auto policy = NewTimestampRestrictPolicy(clock.Options());
  auto store = NewStore();
  clock.now = 1;
  Step(*policy, *store, {1}, 0);
  clock.now = 5;
  Step(*policy, *store, {2, 3, 4}, 0);
  Shards shards = {store.get()};
  // Statuses {1, 5, 5, 5}; keep 2: key 1 and one of the tied keys go.
  EXPECT_EQ(policy->Restrict(shards, 2, std::nullopt, "v"), 2);
  const std::vector<int64_t> left = Keys(*store);
  ASSERT_EQ(left.size(), 2u);
  for (int64_t k : left) EXPECT_TRUE(k >= 2 && k <= 4) << k;
}

TEST_P(RestrictPolicyTest, RestrictRejectsNegativeArgumentsNamingTheVariable) {
  auto policy = NewFrequencyRestrictPolicy();
  auto store = NewStore();
  Shards shards = {store.get()};
  try {
    policy->Restrict(shards, -1, std::nullopt, "user_emb");
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("user_emb"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(">= 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(policy->Restrict(shards, 3, -1, "user_emb"), InvalidArgument);
}

// ---- FrequencyRestrictPolicy ----

TEST_P(RestrictPolicyTest, FrequencyCountsOncePerStepLikeTfra) {
  auto policy = NewFrequencyRestrictPolicy();
  auto store = NewStore();
  // TFRA writes lookup(old) + 1 for every occurrence: duplicates in one
  // batch are not summed.
  Step(*policy, *store, {1, 1, 1, 2}, 0);
  EXPECT_EQ(MetaOf(*store, 1).frequency, 1u);
  EXPECT_EQ(MetaOf(*store, 2).frequency, 1u);
  Step(*policy, *store, {1, 3, 1}, 0);
  Step(*policy, *store, {1}, 0);
  EXPECT_EQ(MetaOf(*store, 1).frequency, 3u);
  EXPECT_EQ(MetaOf(*store, 2).frequency, 1u);
  EXPECT_EQ(MetaOf(*store, 3).frequency, 1u);
  EXPECT_EQ(MetaOf(*store, 1).last_update, 0u);  // frequency policy leaves it alone
}

TEST_P(RestrictPolicyTest, FrequencySaturates) {
  auto policy = NewFrequencyRestrictPolicy();
  auto store = NewStore();
  std::vector<int64_t> keys = {7};
  std::vector<float> row = {0.0f, 0.0f};
  std::vector<EntryMeta> meta = {{0, std::numeric_limits<uint32_t>::max()}};
  store->Import(KeyView(keys), row, {}, meta);
  policy->ApplyUpdate(*store, KeyView(keys), 0);
  EXPECT_EQ(MetaOf(*store, 7).frequency, std::numeric_limits<uint32_t>::max());
}

TEST_P(RestrictPolicyTest, FrequencyRestrictEvictsTheLeastFrequent) {
  auto policy = NewFrequencyRestrictPolicy();
  auto store = NewStore();
  Step(*policy, *store, {1, 2, 3, 4}, 0);  // all 1
  Step(*policy, *store, {2, 3, 4}, 0);     // 2, 3, 4 -> 2
  Step(*policy, *store, {3, 3, 3}, 0);     // 3 -> 3
  Step(*policy, *store, {4}, 0);           // 4 -> 3
  Shards shards = {store.get()};
  EXPECT_EQ(policy->Restrict(shards, 2, std::nullopt, "v"), 2);
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{3, 4}));
}

// ---- Eviction takes the row, slots and meta ----

TEST_P(RestrictPolicyTest, EvictionRemovesSlotsAndMetaWithTheRow) {
  auto policy = NewFrequencyRestrictPolicy();
  auto store = NewStore({0.5f, -1.0f});
  std::vector<int64_t> keys = {1, 2};
  Step(*policy, *store, keys, 0);
  Step(*policy, *store, {2}, 0);
  // Train both rows: row and slots away from their initial values.
  store->UpdateRows(KeyView(keys), MissingKeys::kSkip,
                    [](int64_t, float* row, float* slots, EntryMeta&, bool) {
                      for (int d = 0; d < 2; ++d) row[d] = 3.0f;
                      for (int s = 0; s < 4; ++s) slots[s] = 9.0f;
                    });
  Shards shards = {store.get()};
  ASSERT_EQ(policy->Restrict(shards, 1, std::nullopt, "v"), 1);  // key 1 (frequency 1) goes
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{2}));

  std::vector<int64_t> one = {1};
  std::vector<float> values(2);
  bool exists[1] = {true};
  store->LookupOrInit(KeyView(one), values, std::span<bool>(exists, 1));
  EXPECT_FALSE(exists[0]);
  EXPECT_EQ(values, (std::vector<float>{0.0f, 0.0f}));  // Zeros initializer
  store->UpdateRows(KeyView(one), MissingKeys::kSkip,
                    [](int64_t, float*, float* slots, EntryMeta& meta, bool existed) {
                      EXPECT_TRUE(existed);
                      EXPECT_EQ(meta, EntryMeta{});
                      EXPECT_EQ(std::vector<float>(slots, slots + 4),
                                (std::vector<float>{0.5f, 0.5f, -1.0f, -1.0f}));
                    });
  // The surviving key kept its trained state.
  EXPECT_EQ(MetaOf(*store, 2).frequency, 2u);
}

TEST(RestrictPolicyStringKeysTest, FrequencyAndRestrictOnStringKeys) {
  DynamicTableOptions options;
  options.spec = Spec();
  options.spec.key_type = KeyType::kString;
  auto store = NewDynamicTable(options);
  auto policy = NewFrequencyRestrictPolicy();
  auto step = [&](std::vector<std::string> keys) {
    std::vector<float> values(keys.size() * 2);
    store->LookupOrInit(KeyView(keys), values);
    policy->ApplyUpdate(*store, KeyView(keys), 0);
  };
  step({"a", "a", "b", "c"});
  step({"b", "c", "c"});
  step({"c"});
  ExportedEntries e = store->Export();
  std::map<std::string, uint32_t> freq;
  for (int64_t i = 0; i < e.size(); ++i) freq[e.string_keys[i]] = e.meta[i].frequency;
  EXPECT_EQ(freq, (std::map<std::string, uint32_t>{{"a", 1}, {"b", 2}, {"c", 3}}));
  std::vector<DynamicStore*> shards = {store.get()};
  EXPECT_EQ(policy->Restrict(shards, 1, std::nullopt, "words"), 2);
  EXPECT_EQ(store->Export().string_keys, std::vector<std::string>{"c"});
}

// ---- TtlRestrictPolicy ----

TEST_P(RestrictPolicyTest, TtlEvictsAtTheRightStep) {
  TtlRestrictPolicyOptions o;
  o.ttl_steps = 3;
  o.scan_every_steps = 1;
  auto policy = NewTtlRestrictPolicy(o);
  auto store = NewStore();
  Step(*policy, *store, {1, 2}, 1);
  Step(*policy, *store, {2}, 2);
  EXPECT_EQ(MetaOf(*store, 2).last_update, 2u);
  Step(*policy, *store, {3}, 4);  // key 1: 1 < 4 - 3 is false, it stays
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{1, 2, 3}));
  Step(*policy, *store, {3}, 5);  // key 1: 1 < 2
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{2, 3}));
  Step(*policy, *store, {3}, 6);  // key 2: 2 < 3
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{3}));
}

TEST_P(RestrictPolicyTest, TtlScansAtMostEveryNSteps) {
  TtlRestrictPolicyOptions o;
  o.ttl_steps = 1;
  o.scan_every_steps = 5;
  auto policy = NewTtlRestrictPolicy(o);
  auto store = NewStore();
  Step(*policy, *store, {1}, 0);  // first call scans (nothing expired)
  for (int64_t step = 1; step <= 4; ++step) Step(*policy, *store, {2}, step);
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{1, 2}));  // expired, not yet scanned
  Step(*policy, *store, {2}, 5);
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{2}));
}

TEST_P(RestrictPolicyTest, TtlDefaultScanIntervalIsATenthOfTheTtl) {
  TtlRestrictPolicyOptions o;
  o.ttl_steps = 20;  // scans every 2 steps
  auto policy = NewTtlRestrictPolicy(o);
  auto store = NewStore();
  Step(*policy, *store, {1}, 0);   // scan at 0
  Step(*policy, *store, {2}, 21);  // scan at 21: 0 < 1, key 1 goes
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{2}));
  Step(*policy, *store, {3}, 42);  // scan: 21 < 22, key 2 goes
  Step(*policy, *store, {4}, 43);  // no scan (43 - 42 < 2)
  Step(*policy, *store, {4}, 64);  // scan: key 3 (42 < 44) goes
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{4}));
}

TEST_P(RestrictPolicyTest, TtlRestrictEvictsLeastRecentlyUpdated) {
  TtlRestrictPolicyOptions o;
  o.ttl_steps = 1000;
  auto policy = NewTtlRestrictPolicy(o);
  auto store = NewStore();
  Step(*policy, *store, {1}, 10);
  Step(*policy, *store, {2}, 20);
  Step(*policy, *store, {3}, 30);
  Shards shards = {store.get()};
  EXPECT_EQ(policy->Restrict(shards, 1, std::nullopt, "v"), 2);
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{3}));
}

TEST(RestrictPolicyOptionsTest, TtlRejectsBadOptions) {
  EXPECT_THROW(NewTtlRestrictPolicy({}), InvalidArgument);
  TtlRestrictPolicyOptions o;
  o.ttl_steps = 5;
  o.scan_every_steps = -1;
  EXPECT_THROW(NewTtlRestrictPolicy(o), InvalidArgument);
}

// ---- CapacityRestrictPolicy ----

TEST_P(RestrictPolicyTest, CapacityLruEvictsLeastRecentlyUpdatedFirst) {
  CapacityRestrictPolicyOptions o;
  o.capacity_per_shard = 4;
  o.slack = 0.5;  // evicts above 6 keys
  auto policy = NewCapacityRestrictPolicy(o);
  auto store = NewStore();
  for (int64_t s = 1; s <= 6; ++s) Step(*policy, *store, {s}, s);
  EXPECT_EQ(store->Size(), 6);  // at the high-water mark, not above
  Step(*policy, *store, {7, 1}, 7);  // 7 keys: cut to 4, oldest updates (2, 3, 4) go
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{1, 5, 6, 7}));
  EXPECT_EQ(MetaOf(*store, 1).last_update, 7u);
  EXPECT_EQ(MetaOf(*store, 1).frequency, 2u);
}

TEST_P(RestrictPolicyTest, CapacityLfuEvictsLeastFrequentFirst) {
  CapacityRestrictPolicyOptions o;
  o.capacity_per_shard = 2;
  o.mode = CapacityEvictionMode::kLfu;
  o.slack = 0.5;  // evicts above 3 keys
  auto policy = NewCapacityRestrictPolicy(o);
  auto store = NewStore();
  Step(*policy, *store, {1, 2, 3}, 1);
  Step(*policy, *store, {1, 2}, 2);
  Step(*policy, *store, {1, 1}, 3);
  // Frequencies now 1:3, 2:2, 3:1; key 4 arrives with 1 and 3 is oldest,
  // but LFU looks only at counts: 3 and 4 (both 1) go.
  Step(*policy, *store, {1, 2, 4}, 4);
  EXPECT_EQ(Keys(*store), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(MetaOf(*store, 1).frequency, 4u);
  EXPECT_EQ(MetaOf(*store, 2).frequency, 3u);
}

TEST_P(RestrictPolicyTest, CapacityDefaultSlackIsFivePercent) {
  CapacityRestrictPolicyOptions o;
  o.capacity_per_shard = 20;  // high-water mark floor(20 * 1.05) = 21
  auto policy = NewCapacityRestrictPolicy(o);
  auto store = NewStore();
  for (int64_t k = 1; k <= 21; ++k) Step(*policy, *store, {k}, k);
  EXPECT_EQ(store->Size(), 21);
  Step(*policy, *store, {22}, 22);
  EXPECT_EQ(store->Size(), 20);
  EXPECT_EQ(Keys(*store).front(), 3);  // keys 1 and 2 were least recent
}

TEST(RestrictPolicyOptionsTest, CapacityRejectsBadOptions) {
  EXPECT_THROW(NewCapacityRestrictPolicy({}), InvalidArgument);
  CapacityRestrictPolicyOptions o;
  o.capacity_per_shard = 10;
  o.slack = -0.1;
  EXPECT_THROW(NewCapacityRestrictPolicy(o), InvalidArgument);
  o.slack = 1.5;
  EXPECT_THROW(NewCapacityRestrictPolicy(o), InvalidArgument);
}

std::vector<StoreKind> StoreKinds() {
  std::vector<StoreKind> kinds;
  kinds.push_back({"MapStore", [](const DynamicStoreSpec& spec) {
                     return std::unique_ptr<DynamicStore>(new MapStore(spec));
                   }});
  kinds.push_back({"DynamicTable", [](const DynamicStoreSpec& spec) {
                     DynamicTableOptions options;
                     options.spec = spec;
                     options.num_shards = 4;
                     return NewDynamicTable(options);
                   }});
  return kinds;
}

INSTANTIATE_TEST_SUITE_P(Stores, RestrictPolicyTest, ::testing::ValuesIn(StoreKinds()),
                         [](const auto& info) { return info.param.name; });

// ---- Config round trips ----

TEST(RestrictPolicyConfigTest, RoundTripsEveryPolicy) {
  TtlRestrictPolicyOptions ttl;
  ttl.ttl_steps = 100;
  ttl.scan_every_steps = 7;
  CapacityRestrictPolicyOptions lfu;
  lfu.capacity_per_shard = 1000;
  lfu.mode = CapacityEvictionMode::kLfu;
  lfu.slack = 0.25;
  std::vector<std::unique_ptr<RestrictPolicy>> policies;
  policies.push_back(NewTimestampRestrictPolicy());
  policies.push_back(NewFrequencyRestrictPolicy());
  policies.push_back(NewTtlRestrictPolicy(ttl));
  policies.push_back(NewCapacityRestrictPolicy(lfu));
  for (const auto& p : policies) {
    const json config = p->get_config();
    EXPECT_EQ(config["class_name"], p->class_name());
    auto back = RestrictPolicyFromConfig(config, "col_a");
    EXPECT_EQ(back->class_name(), p->class_name());
    EXPECT_EQ(back->get_config(), config);
  }
  EXPECT_EQ(policies[2]->get_config(),
            json::parse(R"({"class_name": "TtlRestrictPolicy",
                            "config": {"ttl_steps": 100, "scan_every_steps": 7}})"));
  EXPECT_EQ(policies[3]->get_config(),
            json::parse(R"({"class_name": "CapacityRestrictPolicy",
                            "config": {"capacity_per_shard": 1000, "mode": "lfu", "slack": 0.25}})"));
}

TEST(RestrictPolicyConfigTest, DefaultsFillMissingFields) {
  auto p = RestrictPolicyFromConfig(
      json::parse(R"({"class_name": "CapacityRestrictPolicy", "config": {"capacity_per_shard": 8}})"),
      "col_a");
  EXPECT_EQ(p->get_config()["config"],
            json::parse(R"({"capacity_per_shard": 8, "mode": "lru", "slack": 0.05})"));
  auto t = RestrictPolicyFromConfig(json::parse(R"({"class_name": "TimestampRestrictPolicy"})"),
                                    "col_a");
  EXPECT_EQ(t->class_name(), "TimestampRestrictPolicy");
}

void ExpectConfigError(const json& config, const std::string& needle) {
  try {
    RestrictPolicyFromConfig(config, "col_a");
    ADD_FAILURE() << "no error for " << config.dump();
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("col_a"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

TEST(RestrictPolicyConfigTest, BadConfigsNameTheContext) {
  ExpectConfigError(json::parse(R"({"class_name": "LruPolicy"})"), "LruPolicy");
  ExpectConfigError(json::parse(R"({"config": {}})"), "class_name");
  ExpectConfigError(json::parse(R"({"class_name": "TtlRestrictPolicy", "config": {}})"),
                    "ttl_steps");
  ExpectConfigError(
      json::parse(R"({"class_name": "TtlRestrictPolicy", "config": {"ttl_steps": "10"}})"),
      "integer");
  ExpectConfigError(
      json::parse(R"({"class_name": "FrequencyRestrictPolicy", "config": {"k": 1}})"), "'k'");
  ExpectConfigError(json::parse(R"({"class_name": "CapacityRestrictPolicy",
                                    "config": {"capacity_per_shard": 4, "mode": "mru"}})"),
                    "mode");
}

}  // namespace
}  // namespace embcol
