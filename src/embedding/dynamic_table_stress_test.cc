// Concurrency stress test of the in-memory dynamic table (run it under
// ThreadSanitizer too). Threads share one small, growing table and run
// lookups, inserts, accumulates, in-place updates, removes, exports and
// evictions at once, on keys whose results are checkable:
//   own keys      only thread t touches them: every read must equal the
//                 thread's running sum; checked exactly at the end
//   shared keys   every thread adds +1 (Accumulate) and +2 (UpdateRows) per
//                 round: commutative, so the final sum is known
//   churn keys    thread t removes and re-inserts its own: Remove must report
//                 exactly the present ones
//   absent keys   never inserted: lookups must give the initial value (0)
// EMBCOL_DYN_STRESS_ROUNDS=<n> runs longer.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "embcol/dynamic_table.h"

namespace embcol {
namespace {

constexpr int kThreads = 4;
constexpr int64_t kDim = 4;
constexpr int64_t kOwn = 256;     // own keys per thread
constexpr int64_t kShared = 64;
constexpr int64_t kChurn = 32;

int64_t OwnKey(int t, int64_t j) { return (int64_t{t} + 1) * 1'000'000 + j; }
int64_t ChurnKey(int t, int64_t j) { return (int64_t{t} + 1) * 1'000'000 + 500'000 + j; }
int64_t SharedKey(int64_t j) { return -1 - j; }
int64_t AbsentKey(int64_t j) { return 9'000'000'000 + j; }
// The delta thread t adds to own key j in round r: small integers, so sums
// are exact in float32.
float OwnDelta(int t, int64_t j, int r) { return static_cast<float>((t + j + r) % 5 + 1); }

TEST(DynamicTableStress, ConcurrentMixedOperationsKeepCheckableResults) {
  int rounds = 200;
  if (const char* env = std::getenv("EMBCOL_DYN_STRESS_ROUNDS")) rounds = std::atoi(env);
  DynamicTableOptions options;
  options.spec.name = "stress";
  options.spec.dim = kDim;
  options.spec.slot_initial_values = {0.0f};
  options.init_capacity = 16;  // grows many times while the threads run
  options.num_shards = 8;
  std::unique_ptr<DynamicStore> table = NewDynamicTable(options);

  std::vector<int64_t> shared(kShared);
  for (int64_t j = 0; j < kShared; ++j) shared[j] = SharedKey(j);
  table->Upsert(KeyView(shared), std::vector<float>(kShared * kDim, 0.0f));

  std::atomic<int> failures{0};
  auto check = [&](bool ok, const char* what) {
    if (!ok && failures.fetch_add(1) < 10) ADD_FAILURE() << what;
  };

  auto worker = [&](int t) {
    std::vector<int64_t> own(kOwn), churn(kChurn);
    for (int64_t j = 0; j < kOwn; ++j) own[j] = OwnKey(t, j);
    for (int64_t j = 0; j < kChurn; ++j) churn[j] = ChurnKey(t, j);
    std::vector<float> sums(kOwn, 0.0f);  // this thread's model of its own keys
    std::vector<float> out(kOwn * kDim);
    std::unique_ptr<bool[]> exists(new bool[kOwn]);
    for (int r = 0; r < rounds; ++r) {
      // Training lookup of the own keys: inserts them in round 0.
      table->LookupOrInit(KeyView(own), out, std::span<bool>(exists.get(), kOwn));
      for (int64_t j = 0; j < kOwn; ++j) {
        check(exists[j] == (r > 0), "LookupOrInit exists flag of an own key");
        check(out[j * kDim] == sums[j] && out[j * kDim + kDim - 1] == sums[j],
              "own key row differs from the thread's running sum");
      }
      // bp_v2 accumulate of known deltas on the own keys.
      std::vector<float> deltas(kOwn * kDim);
      for (int64_t j = 0; j < kOwn; ++j) {
        const float d = OwnDelta(t, j, r);
        for (int64_t c = 0; c < kDim; ++c) deltas[j * kDim + c] = d;
        sums[j] += d;
      }
      table->Accumulate(KeyView(own), deltas, std::span<const bool>(exists.get(), kOwn));
      if (r == 0) {  // round 0 inserted zeros, so the accumulate was ignored
        for (int64_t j = 0; j < kOwn; ++j) sums[j] -= OwnDelta(t, j, 0);
      }
      // Shared keys: +1 by Accumulate (they exist), +2 in place.
      std::unique_ptr<bool[]> yes(new bool[kShared]);
      std::fill_n(yes.get(), kShared, true);
      table->Accumulate(KeyView(shared), std::vector<float>(kShared * kDim, 1.0f),
                        std::span<const bool>(yes.get(), kShared));
      table->UpdateRows(KeyView(shared), MissingKeys::kSkip,
                        [&](int64_t, float* row, float* slots, EntryMeta& meta, bool existed) {
                          for (int64_t c = 0; c < kDim; ++c) row[c] += 2.0f;
                          slots[0] += 1.0f;
                          ++meta.frequency;
                          check(existed, "shared key missing in UpdateRows");
                        });
      // Churn: present in odd rounds only.
      if (r % 2 == 0) {
        table->Upsert(KeyView(churn), std::vector<float>(kChurn * kDim, static_cast<float>(r)));
      } else {
        check(table->Remove(KeyView(churn)) == kChurn, "Remove count of churn keys");
        check(table->Remove(KeyView(churn)) == 0, "second Remove of churn keys");
      }
      // Inference lookup of absent keys and shared keys: never inserts.
      std::vector<int64_t> mixed;
      for (int64_t j = 0; j < 16; ++j) mixed.push_back(AbsentKey(j + 16 * t));
      for (int64_t j = 0; j < 8; ++j) mixed.push_back(SharedKey((j * 7 + r) % kShared));
      std::vector<float> mixed_out(mixed.size() * kDim);
      std::unique_ptr<bool[]> mixed_exists(new bool[mixed.size()]);
      table->Lookup(KeyView(mixed), mixed_out, std::span<bool>(mixed_exists.get(), mixed.size()));
      for (size_t i = 0; i < mixed.size(); ++i) {
        const bool absent = i < 16;
        check(mixed_exists[i] == !absent, "exists flag of an absent/shared key");
        if (absent) check(mixed_out[i * kDim] == 0.0f, "absent key did not read zeros");
        // Shared rows only grow, in steps of 1 or 2, from 0.
        if (!absent) check(mixed_out[i * kDim] >= 0.0f, "shared key row went negative");
      }
      // Now and then: a snapshot export, a meta scan and a no-op eviction.
      if (r % 10 == t % 10) {
        const ExportedEntries ex = table->Export();
        int64_t shared_seen = 0;
        for (int64_t i = 0; i < ex.size(); ++i) {
          const int64_t k = ex.int64_keys[i];
          check(k != AbsentKey(0), "export holds an absent key");
          if (k < 0) {
            ++shared_seen;
            // A snapshot sees whole updates: all columns of a row agree.
            check(ex.values[i * kDim] == ex.values[i * kDim + kDim - 1], "torn row in export");
          }
        }
        check(shared_seen == kShared, "export lost a shared key");
        int64_t scanned = 0;
        table->ForEachMeta([&](const KeyRef&, const EntryMeta&) { ++scanned; });
        check(scanned >= kShared, "ForEachMeta saw too few keys");
        check(table->EvictIf([](const KeyRef& key, const EntryMeta&) {
                return key.integer >= AbsentKey(0);
              }) == 0,
              "EvictIf removed a key it should not have");
      }
    }
    // Final exact check of the own keys, by Lookup.
    table->Lookup(KeyView(own), out, std::span<bool>(exists.get(), kOwn));
    for (int64_t j = 0; j < kOwn; ++j) {
      check(exists[j] && out[j * kDim + 1] == sums[j], "final own key sum");
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  // Shared keys: every thread added 1 + 2 per round; slot 0 and frequency
  // counted the in-place updates.
  const ExportedEntries ex = table->Export();
  const float want = static_cast<float>(kThreads * rounds * 3);
  int64_t shared_seen = 0;
  for (int64_t i = 0; i < ex.size(); ++i) {
    if (ex.int64_keys[i] >= 0) continue;
    ++shared_seen;
    for (int64_t c = 0; c < kDim; ++c) EXPECT_EQ(ex.values[i * kDim + c], want);
    EXPECT_EQ(ex.slots[i * kDim], static_cast<float>(kThreads * rounds));  // slot 0, column 0
    EXPECT_EQ(ex.meta[i].frequency, static_cast<uint32_t>(kThreads * rounds));
  }
  EXPECT_EQ(shared_seen, kShared);
  // Own + shared, plus churn keys when the last round left them present.
  const int64_t churn_present = rounds % 2 == 1 ? kChurn : 0;
  EXPECT_EQ(table->Size(), kThreads * (kOwn + churn_present) + kShared);
  EXPECT_EQ(ex.size(), table->Size());
}

}  // namespace
}  // namespace embcol
