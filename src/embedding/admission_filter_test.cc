// Tests of the counter admission filter (restrict_policy.h,
// admission_filter.cc): admission on the n-th sighting, the pending bound,
// key types, concurrent callers and the config round trip.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "embcol/errors.h"
#include "embcol/restrict_policy.h"

namespace embcol {
namespace {

using nlohmann::json;

// Admit() over int64 keys with present flags; returns admitted flags.
std::vector<bool> AdmitBatch(AdmissionFilter& filter, std::vector<int64_t> keys,
                             std::vector<char> present = {}) {
  present.resize(keys.size(), 0);
  std::unique_ptr<bool[]> p(new bool[keys.size()]);
  std::unique_ptr<bool[]> out(new bool[keys.size()]);
  for (size_t i = 0; i < keys.size(); ++i) p[i] = present[i] != 0;
  filter.Admit(KeyView(keys), std::span<const bool>(p.get(), keys.size()),
               std::span<bool>(out.get(), keys.size()));
  return std::vector<bool>(out.get(), out.get() + keys.size());
}

using B = std::vector<bool>;

TEST(AdmissionFilterTest, AdmitsOnTheNthSighting) {
  auto filter = NewCounterAdmissionFilter(3);
  EXPECT_EQ(AdmitBatch(*filter, {5}), B({false}));
  EXPECT_EQ(AdmitBatch(*filter, {5, 6}), B({false, false}));
  EXPECT_EQ(AdmitBatch(*filter, {6, 5}), B({false, true}));  // 5: third sighting
  EXPECT_EQ(AdmitBatch(*filter, {6}), B({true}));
}

TEST(AdmissionFilterTest, CountsEveryOccurrenceInABatch) {
  auto filter = NewCounterAdmissionFilter(3);
  // Third occurrence admits; later occurrences of the batch stay admitted.
  EXPECT_EQ(AdmitBatch(*filter, {7, 7, 8, 7, 7}), B({false, false, false, true, true}));
}

TEST(AdmissionFilterTest, PresentKeysAreAlwaysAdmitted) {
  auto filter = NewCounterAdmissionFilter(100);
  EXPECT_EQ(AdmitBatch(*filter, {1, 2}, {1, 0}), B({true, false}));
}

TEST(AdmissionFilterTest, CountsRestartAfterAdmission) {
  auto filter = NewCounterAdmissionFilter(2);
  EXPECT_EQ(AdmitBatch(*filter, {1, 1}), B({false, true}));
  // Key 1 was admitted and its counter dropped; if it is later evicted
  // from the table it must earn admission again.
  EXPECT_EQ(AdmitBatch(*filter, {1}), B({false}));
  EXPECT_EQ(AdmitBatch(*filter, {1}), B({true}));
}

TEST(AdmissionFilterTest, MinCountOneAdmitsEverything) {
  auto filter = NewCounterAdmissionFilter(1);
  EXPECT_EQ(AdmitBatch(*filter, {1, 2, 1}), B({true, true, true}));
}

TEST(AdmissionFilterTest, PendingKeysAreBounded) {
  CounterAdmissionFilterOptions o;
  o.min_count = 2;
  o.max_pending = 2;
  auto filter = NewCounterAdmissionFilter(o);
  EXPECT_EQ(AdmitBatch(*filter, {1, 2}), B({false, false}));
  EXPECT_EQ(AdmitBatch(*filter, {3}), B({false}));  // full: counters dropped, 3 counted
  EXPECT_EQ(AdmitBatch(*filter, {1, 3}), B({false, true}));
}

TEST(AdmissionFilterTest, StringAndInt32Keys) {
  auto filter = NewCounterAdmissionFilter(2);
  std::vector<std::string> words = {"a", "b", "a"};
  bool present[3] = {false, false, false};
  bool out[3];
  filter->Admit(KeyView(words), present, out);
  EXPECT_EQ(B(out, out + 3), B({false, false, true}));
  std::vector<int32_t> small = {4, 4};
  filter->Admit(KeyView(small), std::span<const bool>(present, 2), std::span<bool>(out, 2));
  EXPECT_EQ(B(out, out + 2), B({false, true}));
}

TEST(AdmissionFilterTest, RejectsBadArguments) {
  EXPECT_THROW(NewCounterAdmissionFilter(0), InvalidArgument);
  CounterAdmissionFilterOptions o;
  o.min_count = 2;
  o.max_pending = 0;
  EXPECT_THROW(NewCounterAdmissionFilter(o), InvalidArgument);
  auto filter = NewCounterAdmissionFilter(2);
  std::vector<int64_t> keys = {1, 2};
  bool flags[2] = {};
  EXPECT_THROW(filter->Admit(KeyView(keys), std::span<const bool>(flags, 1),
                             std::span<bool>(flags, 2)),
               InvalidArgument);
}

TEST(AdmissionFilterTest, ConcurrentCallersEachSeeTheirKeysAdmitted) {
  constexpr int kThreads = 4;
  constexpr int64_t kKeys = 200;
  constexpr int64_t kMinCount = 5;
  auto filter = NewCounterAdmissionFilter(kMinCount);
  std::vector<int64_t> admitted_on(kThreads * kKeys, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int64_t> keys(kKeys);
      for (int64_t i = 0; i < kKeys; ++i) keys[i] = t * kKeys + i;  // disjoint per thread
      for (int64_t round = 1; round <= kMinCount + 1; ++round) {
        const std::vector<bool> out = AdmitBatch(*filter, keys);
        for (int64_t i = 0; i < kKeys; ++i) {
          if (out[i] && admitted_on[keys[i]] < 0) admitted_on[keys[i]] = round;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int64_t k = 0; k < kThreads * kKeys; ++k) EXPECT_EQ(admitted_on[k], kMinCount) << k;
}

TEST(AdmissionFilterTest, ConfigRoundTrip) {
  CounterAdmissionFilterOptions o;
  o.min_count = 4;
  o.max_pending = 1000;
  auto filter = NewCounterAdmissionFilter(o);
  const json config = filter->get_config();
  EXPECT_EQ(config, json::parse(R"({"class_name": "CounterAdmissionFilter",
                                    "config": {"min_count": 4, "max_pending": 1000}})"));
  EXPECT_EQ(AdmissionFilterFromConfig(config, "col_a")->get_config(), config);
  try {
    AdmissionFilterFromConfig(json::parse(R"({"class_name": "BloomFilter"})"), "col_a");
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("col_a"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("BloomFilter"), std::string::npos) << e.what();
  }
  EXPECT_THROW(AdmissionFilterFromConfig(
                   json::parse(R"({"class_name": "CounterAdmissionFilter",
                                   "config": {"min_count": 0}})"),
                   "col_a"),
               InvalidArgument);
}

}  // namespace
}  // namespace embcol
