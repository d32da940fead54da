// Concurrency stress test of dynamic_embedding::Variable (run it under
// ThreadSanitizer too): one 4-shard Variable with a FrequencyRestrictPolicy
// and a counter admission filter (min_count 2), trained with plain and with
// bp_v2 write back, while other threads look up, accumulate, remove,
// restrict, export and import. Every key class has a checkable outcome:
//
//   own keys      writer t alone trains them (Forward + WriteBack, row +=
//                 a known delta): every read equals t's running sum, and so
//                 does the final value
//   shared keys   every writer trains them. bp_v2: each adds a known delta,
//                 so the final value is the exact total; plain: each writes
//                 a value naming (thread, round), so every read is one of
//                 those and the final one is some writer's last
//   new keys      the admission thread shows each key twice, in consecutive
//                 rounds: never admitted (nor inserted) on the first
//                 sighting, always on the second; then it removes them
//   churn keys    a churn thread upserts / accumulates and removes its own
//                 keys: after its remove none is present
//   absent keys   never written: read the initializer's constant
//
// Restrict never touches own or shared keys: they are trained twice before
// the threads start (so their frequency is >= 1 and only keys with
// frequency 0 -- churn keys, or new keys between Forward and WriteBack --
// can be the lowest), and each shard keeps more keys than it has with
// frequency >= 1 -- but fewer than it holds while the churn keys are in,
// so restrict does evict (the churn thread restricts before its remove). Exported snapshots must hold every key once, with a value
// its class allows. Phase 2 imports one snapshot S from two threads while
// others export and look up: every export and lookup must show exactly S.
// EMBCOL_DYN_STRESS_ROUNDS=<n> runs longer.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "embcol/dynamic_embedding.h"
#include "embcol/restrict_policy.h"

namespace embcol::dynamic_embedding {
namespace {

constexpr int kShards = 4;
constexpr int64_t kDim = 2;
constexpr float kInit = 0.5f;  // Constant initializer: what an absent key reads
constexpr int kWriters = 3;
constexpr int64_t kOwn = 64;     // own keys per writer (multiple of kShards)
constexpr int64_t kShared = 16;  // multiple of kShards
constexpr int64_t kNewPerRound = 8;
constexpr int64_t kChurn = 32;
constexpr int64_t kAbsent = 16;

// All keys are positive and below 2^31, so DefaultPartition sends key k to
// shard k mod 4 and each block of consecutive keys splits evenly.
int64_t OwnKey(int t, int64_t j) { return 100'000 * (int64_t{t} + 1) + j; }
int64_t SharedKey(int64_t j) { return 1'000 + j; }
int64_t NewKey(int r, int64_t j) { return 5'000'000 + int64_t{r} * kNewPerRound + j; }
int64_t ChurnKey(int64_t j) { return 7'000'000 + j; }
int64_t AbsentKey(int64_t j) { return 9'000'000 + j; }

// Small integers: every sum stays exact in float32.
float OwnDelta(int t, int64_t j, int r) { return static_cast<float>((t + j + r) % 4 + 1); }
float SharedDelta(int t, int r) { return static_cast<float>((t + r) % 3 + 1); }
// What a plain writer stores into a shared key: names the thread and round.
float SharedPlainValue(int t, int r) { return static_cast<float>(1000 * (t + 1) + r + 1); }
constexpr float kNewValue = 7.0f;
constexpr float kChurnValue = 3.0f;

bool IsWhole(float v) { return std::isfinite(v) && v == std::floor(v); }

int Rounds() {
  int rounds = 100;
  if (const char* env = std::getenv("EMBCOL_DYN_STRESS_ROUNDS")) rounds = std::atoi(env);
  return rounds;
}

class VariableStressTest : public ::testing::TestWithParam<bool> {};

TEST_P(VariableStressTest, ConcurrentTrainingAndMaintenanceKeepCheckableResults) {
  const bool bp_v2 = GetParam();
  const int rounds = Rounds();

  VariableOptions options;
  options.name = "stress/variable";
  options.dim = kDim;
  options.num_shards = kShards;
  options.initializer = {"Constant", {{"value", kInit}}};
  options.restrict_policy = NewFrequencyRestrictPolicy();
  options.admission_filter = NewCounterAdmissionFilter(2);
  options.bp_v2 = bp_v2;
  options.slot_initial_values = {0.0f};
  Variable var(std::move(options));
  var.set_model_mode(ModelMode::kTrain);

  std::atomic<int> failures{0};
  auto check = [&](bool ok, const std::string& what) {
    if (!ok && failures.fetch_add(1) < 10) ADD_FAILURE() << what;
  };

  // One training step of `keys` (all distinct) writing new_row(i, old) for
  // the i-th key. Returns the context Forward filled.
  auto train = [&](const std::vector<int64_t>& keys, int64_t step, auto new_row) {
    TrainingContext ctx;
    std::vector<float> out(keys.size() * kDim);
    var.Forward(KeyView(keys), out, &ctx);
    std::vector<float> rows(keys.size() * kDim);
    for (size_t i = 0; i < keys.size(); ++i) {
      for (int64_t d = 0; d < kDim; ++d) {
        rows[i * kDim + d] = new_row(i, ctx.old_values[i * kDim + d]);
      }
    }
    var.WriteBack(ctx, rows, step);
    return ctx;
  };

  // Warm-up: own and shared keys seen twice (admitted on the second step)
  // and written to 0, so they hold frequency >= 1 before the threads start.
  std::vector<int64_t> warm;
  for (int t = 0; t < kWriters; ++t) {
    for (int64_t j = 0; j < kOwn; ++j) warm.push_back(OwnKey(t, j));
  }
  for (int64_t j = 0; j < kShared; ++j) warm.push_back(SharedKey(j));
  for (int step = 0; step < 2; ++step) train(warm, step, [](size_t, float) { return 0.0f; });
  ASSERT_EQ(var.size(), static_cast<int64_t>(warm.size()));

  // Keys with frequency >= 1 per shard, at most: own + shared + the one
  // round of admitted new keys not yet removed; keep 2 more, so only
  // frequency-0 keys can go. With the churn keys in, a shard holds at least
  // own + shared + kChurn / kShards keys, more than it keeps.
  const int64_t keep_per_shard = (kWriters * kOwn + kShared + kNewPerRound) / kShards + 2;
  static_assert(kChurn / kShards > kNewPerRound / kShards + 2);
  const int64_t num_reserved = keep_per_shard * kShards;
  std::atomic<int64_t> restricted{0};

  std::atomic<int> writers_left{kWriters + 2};
  std::vector<std::vector<float>> own_model(kWriters, std::vector<float>(kOwn, 0.0f));

  auto writer = [&](int t) {
    std::vector<int64_t> keys;
    for (int64_t j = 0; j < kOwn; ++j) keys.push_back(OwnKey(t, j));
    for (int64_t j = 0; j < kShared; ++j) keys.push_back(SharedKey(j));
    std::vector<float>& model = own_model[t];
    for (int r = 0; r < rounds; ++r) {
      TrainingContext ctx = train(keys, 2 + r, [&](size_t i, float old) {
        if (static_cast<int64_t>(i) < kOwn) return old + OwnDelta(t, i, r);
        return bp_v2 ? old + SharedDelta(t, r) : SharedPlainValue(t, r);
      });
      for (int64_t j = 0; j < kOwn; ++j) {
        check(ctx.exists[j] && ctx.admitted[j], "own key not present at Forward");
        check(ctx.old_values[j * kDim] == model[j] && ctx.old_values[j * kDim + 1] == model[j],
              "own key " + std::to_string(OwnKey(t, j)) + " read " +
                  std::to_string(ctx.old_values[j * kDim]) + ", expected " +
                  std::to_string(model[j]));
        model[j] += OwnDelta(t, j, r);
      }
      for (int64_t j = kOwn; j < kOwn + kShared; ++j) {
        const float v = ctx.old_values[j * kDim];
        check(ctx.exists[j], "shared key not present at Forward");
        if (bp_v2) {
          check(IsWhole(v) && v >= 0, "shared key read a non-sum " + std::to_string(v));
        } else {
          const int writer_id = static_cast<int>(v) / 1000 - 1;
          const int round = static_cast<int>(v) % 1000 - 1;
          check(v == 0 || (IsWhole(v) && writer_id >= 0 && writer_id < kWriters && round >= 0 &&
                           round < rounds),
                "shared key read a value nobody wrote: " + std::to_string(v));
        }
      }
    }
    writers_left.fetch_sub(1);
  };

  auto admission = [&] {
    for (int r = 0; r < rounds; ++r) {
      std::vector<int64_t> keys;
      for (int64_t j = 0; j < kNewPerRound; ++j) keys.push_back(NewKey(r, j));      // 1st sighting
      if (r > 0) {
        for (int64_t j = 0; j < kNewPerRound; ++j) keys.push_back(NewKey(r - 1, j));  // 2nd
      }
      TrainingContext ctx = train(keys, 2 + r, [](size_t, float) { return kNewValue; });
      for (size_t i = 0; i < keys.size(); ++i) {
        const bool second = static_cast<int64_t>(i) >= kNewPerRound;
        check(ctx.admitted[i] == second, "new key " + std::to_string(keys[i]) +
                                             (second ? " not admitted on its 2nd sighting"
                                                     : " admitted on its 1st sighting"));
        check(!ctx.exists[i], "new key present before it was admitted");
        check(ctx.old_values[i * kDim] == kInit, "new key did not read the initial value");
      }
      const LookupResult after = var.lookup(KeyView(keys), true);
      for (size_t i = 0; i < keys.size(); ++i) {
        const float v = after.values[i * kDim];
        if (static_cast<int64_t>(i) < kNewPerRound) {
          check(!after.exists[i] && v == kInit, "a key seen once was inserted");
        } else {
          check(after.exists[i] ? v == kNewValue : v == kInit,
                "admitted new key holds " + std::to_string(v));
        }
      }
      if (r > 0) {
        const std::vector<int64_t> done(keys.begin() + kNewPerRound, keys.end());
        const int64_t removed = var.remove(KeyView(done));
        check(removed >= 0 && removed <= kNewPerRound, "remove of new keys");
      }
    }
    writers_left.fetch_sub(1);
  };

  auto churn = [&] {
    std::vector<int64_t> keys, absent;
    for (int64_t j = 0; j < kChurn; ++j) keys.push_back(ChurnKey(j));
    for (int64_t j = 0; j < kAbsent; ++j) absent.push_back(AbsentKey(j));
    const std::vector<float> values(kChurn * kDim, kChurnValue);
    const std::vector<float> zeros(kChurn * kDim, 0.0f);
    for (int r = 0; r < rounds; ++r) {
      if (r % 2 == 0) {
        var.upsert(KeyView(keys), values);
      } else {
        // bp_v2 accum of keys that were absent: inserts the new value.
        var.accum(KeyView(keys), zeros, values, std::vector<bool>(kChurn, false));
      }
      LookupResult got = var.lookup(KeyView(keys), true);
      for (int64_t j = 0; j < kChurn; ++j) {
        check(got.values[j * kDim] == (got.exists[j] ? kChurnValue : kInit),
              "churn key holds " + std::to_string(got.values[j * kDim]));
      }
      // Unless another restrict already evicted some, every shard now holds
      // more keys than it keeps: this call evicts.
      restricted += var.restrict(num_reserved, /*trigger=*/0);
      const int64_t removed = var.remove(KeyView(keys));
      check(removed >= 0 && removed <= kChurn, "remove reported " + std::to_string(removed));
      got = var.lookup(KeyView(keys), true);
      for (int64_t j = 0; j < kChurn; ++j) check(!got.exists[j], "churn key present after remove");
      got = var.lookup(KeyView(absent), true);
      for (int64_t j = 0; j < kAbsent; ++j) {
        check(!got.exists[j] && got.values[j * kDim] == kInit, "absent key readable");
      }
    }
    writers_left.fetch_sub(1);
  };

  // Exported snapshot: every key once, finite values its class allows.
  auto check_snapshot = [&](const ExportedEntries& e) {
    const int64_t n = e.size();
    check(static_cast<int64_t>(e.values.size()) == n * kDim, "export values size");
    check(static_cast<int64_t>(e.meta.size()) == n, "export meta size");
    std::set<int64_t> seen;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = e.int64_keys[i];
      check(seen.insert(k).second, "key " + std::to_string(k) + " exported twice");
      const float v = e.values[i * kDim];
      check(std::isfinite(v) && v == e.values[i * kDim + 1], "export row not uniform/finite");
      if (k >= AbsentKey(0)) {
        check(false, "an absent key was exported");
      } else if (k >= ChurnKey(0)) {
        check(v == kChurnValue, "exported churn key holds " + std::to_string(v));
      } else if (k >= NewKey(0, 0)) {
        check(v == kNewValue || v == kInit, "exported new key holds " + std::to_string(v));
      } else {
        check(IsWhole(v) && v >= 0, "exported trained key holds " + std::to_string(v));
      }
    }
  };

  auto maintenance = [&] {
    while (writers_left.load() > 0) {
      restricted += var.restrict(num_reserved, /*trigger=*/0);
      check_snapshot(var.export_());
      std::vector<int64_t> probe;
      for (int t = 0; t < kWriters; ++t) probe.push_back(OwnKey(t, 3));
      const LookupResult got = var.lookup(KeyView(probe), true);
      for (size_t i = 0; i < probe.size(); ++i) check(got.exists[i], "own key evicted");
      std::this_thread::yield();
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) threads.emplace_back(writer, t);
  threads.emplace_back(admission);
  threads.emplace_back(churn);
  threads.emplace_back(maintenance);
  threads.emplace_back(maintenance);
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_GT(restricted.load(), 0);

  // Exact final values.
  for (int t = 0; t < kWriters; ++t) {
    std::vector<int64_t> keys;
    for (int64_t j = 0; j < kOwn; ++j) keys.push_back(OwnKey(t, j));
    const LookupResult got = var.lookup(KeyView(keys), true);
    for (int64_t j = 0; j < kOwn; ++j) {
      float expected = 0;
      for (int r = 0; r < rounds; ++r) expected += OwnDelta(t, j, r);
      ASSERT_TRUE(got.exists[j]);
      EXPECT_EQ(got.values[j * kDim], expected) << "own key " << keys[j];
      EXPECT_EQ(got.values[j * kDim + 1], expected) << "own key " << keys[j];
    }
  }
  std::vector<int64_t> shared;
  for (int64_t j = 0; j < kShared; ++j) shared.push_back(SharedKey(j));
  const LookupResult got = var.lookup(KeyView(shared), true);
  float shared_total = 0;
  for (int t = 0; t < kWriters; ++t) {
    for (int r = 0; r < rounds; ++r) shared_total += SharedDelta(t, r);
  }
  for (int64_t j = 0; j < kShared; ++j) {
    ASSERT_TRUE(got.exists[j]);
    const float v = got.values[j * kDim];
    if (bp_v2) {
      EXPECT_EQ(v, shared_total) << "shared key " << shared[j];
    } else {
      bool someones_last = false;
      for (int t = 0; t < kWriters; ++t) someones_last |= v == SharedPlainValue(t, rounds - 1);
      EXPECT_TRUE(someones_last) << "shared key " << shared[j] << " ends at " << v;
    }
  }

  // Phase 2: two threads import one snapshot S while others export, look
  // up and restrict (keeping every key): each shard always holds S.
  const ExportedEntries snapshot = var.export_();
  std::map<int64_t, float> expected;
  for (int64_t i = 0; i < snapshot.size(); ++i) {
    expected[snapshot.int64_keys[i]] = snapshot.values[i * kDim];
  }
  std::vector<int64_t> all_keys(snapshot.int64_keys);
  std::atomic<int> importers_left{2};
  auto importer = [&] {
    for (int r = 0; r < rounds / 4 + 1; ++r) var.import_(snapshot);
    importers_left.fetch_sub(1);
  };
  auto observer = [&] {
    do {
      const ExportedEntries e = var.export_();
      check(e.size() == static_cast<int64_t>(expected.size()), "export during import lost keys");
      for (int64_t i = 0; i < e.size(); ++i) {
        auto it = expected.find(e.int64_keys[i]);
        check(it != expected.end() && it->second == e.values[i * kDim],
              "export during import shows a value not in the snapshot");
      }
      const LookupResult now = var.lookup(KeyView(all_keys), true);
      for (size_t i = 0; i < all_keys.size(); ++i) {
        check(now.exists[i] && now.values[i * kDim] == expected[all_keys[i]],
              "lookup during import differs from the snapshot");
      }
      // Every shard holds fewer keys than it keeps: nothing goes.
      check(var.restrict(int64_t{1} << 40, 0) == 0, "restrict removed keys it should keep");
      check(var.remove(KeyView(std::vector<int64_t>{AbsentKey(0)})) == 0, "removed an absent key");
    } while (importers_left.load() > 0);
  };
  threads.clear();
  threads.emplace_back(importer);
  threads.emplace_back(importer);
  threads.emplace_back(observer);
  threads.emplace_back(observer);
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(var.size(), snapshot.size());
}

INSTANTIATE_TEST_SUITE_P(PlainAndBpV2, VariableStressTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "BpV2" : "Plain"; });

}  // namespace
}  // namespace embcol::dynamic_embedding
