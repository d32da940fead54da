// Tests of dynamic_embedding::Variable against TFRA's documented behaviour
// (reference: tfra-semantics.md a.1, a.2, a.5). Expected values are worked
// out by hand in the comments.
#include "embcol/dynamic_embedding.h"

#include <farmhash.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "embcol/errors.h"
#include "embcol/restrict_policy.h"

namespace embcol::dynamic_embedding {
namespace {

VariableOptions Options(const std::string& name, int64_t dim, int shards = 1) {
  VariableOptions o;
  o.name = name;
  o.dim = dim;
  o.num_shards = shards;
  return o;
}

std::vector<float> Lookup(const Variable& var, const std::vector<int64_t>& keys) {
  return var.lookup(KeyView(keys)).values;
}

TEST(DynamicVariableTest, MissingKeysReadZerosAndAreNotInserted) {
  Variable var(Options("v", 3));
  LookupResult r = var.lookup(KeyView(std::vector<int64_t>{1, 2}), /*return_exists=*/true);
  EXPECT_EQ(r.values, std::vector<float>(6, 0.0f));
  EXPECT_EQ(r.exists, (std::vector<bool>{false, false}));
  EXPECT_EQ(var.size(), 0);
}

TEST(DynamicVariableTest, MissingKeyInitializerDependsOnlyOnKeyAndSeed) {
  VariableOptions o = Options("rand", 4, 3);
  o.initializer = {"RandomNormal", {{"mean", 0.0}, {"stddev", 1.0}, {"seed", 7}}};
  Variable var(std::move(o));
  const std::vector<float> first = Lookup(var, {42, 43});
  const std::vector<float> second = Lookup(var, {43, 42});
  // Same key, same vector, whatever the batch order.
  EXPECT_TRUE(std::equal(first.begin(), first.begin() + 4, second.begin() + 4));
  EXPECT_TRUE(std::equal(first.begin() + 4, first.end(), second.begin()));
  EXPECT_NE(std::vector<float>(first.begin(), first.begin() + 4),
            std::vector<float>(first.begin() + 4, first.end()));
  // Row 42 of the initializer with its own seed 7.
  std::vector<float> expected(4);
  MakeInitializer({"RandomNormal", {{"mean", 0.0}, {"stddev", 1.0}, {"seed", 7}}}, -1, 4, 0, "t")
      ->InitRow(42, expected.data());
  EXPECT_EQ(std::vector<float>(first.begin(), first.begin() + 4), expected);
  EXPECT_EQ(var.size(), 0);
}

TEST(DynamicVariableTest, UpsertLookupReturnExistsAcrossShards) {
  Variable var(Options("v", 2, 3));
  const std::vector<int64_t> keys = {10, 11, 12, 13};
  var.upsert(KeyView(keys), std::vector<float>{1, 1, 2, 2, 3, 3, 4, 4});
  LookupResult r = var.lookup(KeyView(std::vector<int64_t>{13, 99, 10}), true);
  EXPECT_EQ(r.values, (std::vector<float>{4, 4, 0, 0, 1, 1}));
  EXPECT_EQ(r.exists, (std::vector<bool>{true, false, true}));
  // (key & 0x7fffffff) mod 3: 10->1, 11->2, 12->0, 13->1.
  EXPECT_EQ(var.size(0), 1);
  EXPECT_EQ(var.size(1), 2);
  EXPECT_EQ(var.size(2), 1);
  EXPECT_EQ(var.size(), 4);
  EXPECT_THROW(var.size(3), OutOfRange);
  EXPECT_EQ(var.shard(0).name(), "v_mht_1of3");
  EXPECT_EQ(var.remove(KeyView(std::vector<int64_t>{10, 50})), 1);
  EXPECT_EQ(var.size(), 3);
  var.clear();
  EXPECT_EQ(var.size(), 0);
}

TEST(DynamicVariableTest, HighRankIdsGiveShapePlusDim) {
  Variable var(Options("v", 2));
  var.upsert(KeyView(std::vector<int64_t>{1, 2}), std::vector<float>{1, 2, 3, 4});
  const std::vector<int64_t> ids = {1, 2, 2, 7};
  DenseTensor out = embedding_lookup(var, KeyView(ids), {2, 2, 1});
  EXPECT_EQ(out.shape, (std::vector<int64_t>{2, 2, 1, 2}));
  EXPECT_EQ(out.values, (std::vector<float>{1, 2, 3, 4, 3, 4, 0, 0}));
  DenseTensor unique = embedding_lookup_unique(var, KeyView(ids), {2, 2, 1});
  EXPECT_EQ(unique.shape, out.shape);
  EXPECT_EQ(unique.values, out.values);
  EXPECT_THROW(embedding_lookup(var, KeyView(ids), {3}), InvalidArgument);
  // max_norm 1: [3, 4] has norm 5 -> [0.6, 0.8]; [1, 2] norm sqrt5 -> /sqrt5.
  DenseTensor clipped = embedding_lookup(var, KeyView(std::vector<int64_t>{2, 1}), {2}, 1.0f);
  EXPECT_NEAR(clipped.values[0], 0.6f, 1e-6);
  EXPECT_NEAR(clipped.values[1], 0.8f, 1e-6);
  EXPECT_NEAR(clipped.values[2], 1 / std::sqrt(5.0f), 1e-6);
  EXPECT_NEAR(clipped.values[3], 2 / std::sqrt(5.0f), 1e-6);
}

TEST(DynamicVariablePartitionTest, WorkedExamples) {
  auto i64 = [](int64_t k) { return KeyRef{KeyType::kInt64, k, {}}; };
  auto i32 = [](int64_t k) { return KeyRef{KeyType::kInt32, k, {}}; };
  // 2147483649 & 0x7fffffff = 1 -> 1 mod 3 = 1 (floor-mod would give 0).
  EXPECT_EQ(DefaultPartition(i64(2147483649LL), 3), 1);
  // -100 & 0x7fffffff = 2147483548, digit sum 46 -> mod 3 = 1 (floor-mod: 2).
  EXPECT_EQ(DefaultPartition(i64(-100), 3), 1);
  EXPECT_EQ(DefaultPartition(i64(7), 3), 1);
  EXPECT_EQ(DefaultPartition(i64(123456), 1), 0);
  // int32: floor-mod, -100 = -34*3 + 2.
  EXPECT_EQ(DefaultPartition(i32(-100), 3), 2);
  EXPECT_EQ(DefaultPartition(i32(5), 3), 2);
  // Strings: string_to_hash_bucket_fast = Fingerprint64 mod N.
  for (const std::string s : {"a", "hello", ""}) {
    KeyRef ref{KeyType::kString, 0, s};
    EXPECT_EQ(DefaultPartition(ref, 4), static_cast<int>(util::Fingerprint64(s) % 4)) << s;
  }
  Variable var(Options("p", 1, 3));
  var.upsert(KeyView(std::vector<int64_t>{2147483649LL, -100}), std::vector<float>{1, 2});
  EXPECT_EQ(var.size(1), 2);
}

TEST(DynamicVariablePartitionTest, StringKeysRouteByFingerprint) {
  VariableOptions o = Options("s", 1, 4);
  o.key_dtype = KeyType::kString;
  Variable var(std::move(o));
  const std::vector<std::string> keys = {"apple", "pear", "plum", "fig", "kiwi"};
  var.upsert(KeyView(keys), std::vector<float>{1, 2, 3, 4, 5});
  std::vector<int64_t> per_shard(4, 0);
  for (const auto& k : keys) ++per_shard[util::Fingerprint64(k) % 4];
  for (int s = 0; s < 4; ++s) EXPECT_EQ(var.size(s), per_shard[s]);
  EXPECT_EQ(var.lookup(KeyView(std::vector<std::string>{"plum", "none"})).values,
            (std::vector<float>{3, 0}));
  EXPECT_THROW(var.lookup(KeyView(std::vector<int64_t>{1})), InvalidArgument);
}

TEST(DynamicVariablePartitionTest, CustomFunctionIsUsedAndValidated) {
  VariableOptions o = Options("c", 1, 2);
  o.partitioner = [](const KeyRef& key, int n) { return key.integer >= 100 ? 1 : 0; };
  Variable var(std::move(o));
  var.upsert(KeyView(std::vector<int64_t>{1, 2, 100}), std::vector<float>{1, 2, 3});
  EXPECT_EQ(var.size(0), 2);
  EXPECT_EQ(var.size(1), 1);

  VariableOptions bad = Options("bad", 1, 2);
  bad.partitioner = [](const KeyRef& key, int n) { return key.integer == 5 ? 2 : 0; };
  Variable bad_var(std::move(bad));
  try {
    bad_var.upsert(KeyView(std::vector<int64_t>{1, 5}), std::vector<float>{1, 2});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("bad"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("key 5"), std::string::npos);
  }
  EXPECT_EQ(bad_var.size(), 0);  // routed before any shard was touched
}

TEST(DynamicVariableTest, ExportImportRoundTripAcrossShardCounts) {
  VariableOptions o = Options("src", 2, 2);
  o.slot_initial_values = {0.5f};
  Variable src(std::move(o));
  src.upsert(KeyView(std::vector<int64_t>{1, 2, 3}), std::vector<float>{1, 2, 3, 4, 5, 6});
  ExportedEntries e = src.export_();
  ASSERT_EQ(e.size(), 3);
  ASSERT_EQ(e.values.size(), 6u);
  // Shard order: shard 0 holds key 2, shard 1 holds 1 and 3.
  EXPECT_EQ(e.int64_keys[0], 2);

  VariableOptions o3 = Options("dst", 2, 3);
  o3.slot_initial_values = {0.5f};
  Variable dst(std::move(o3));
  dst.upsert(KeyView(std::vector<int64_t>{77}), std::vector<float>{9, 9});
  dst.import_(e);
  EXPECT_EQ(dst.size(), 3);  // 77 replaced
  EXPECT_EQ(Lookup(dst, {1, 2, 3, 77}), (std::vector<float>{1, 2, 3, 4, 5, 6, 0, 0}));
  ExportedEntries again = dst.export_();
  EXPECT_EQ(again.slots, std::vector<float>(6, 0.5f));
}

TEST(DynamicVariableTest, FailedImportLeavesVariableUnchanged) {
  Variable var(Options("imp", 2, 3));
  var.upsert(KeyView(std::vector<int64_t>{1, 2}), std::vector<float>{1, 1, 2, 2});
  const std::vector<int64_t> keys = {5, 6, 7};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  try {
    var.import_(KeyView(keys), std::vector<float>{1, 1, 2, 2, nan, 3});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("key 7"), std::string::npos);
  }
  EXPECT_THROW(var.import_(KeyView(keys), std::vector<float>{1, 1, 2, 2}), InvalidArgument);
  EXPECT_THROW(var.import_(KeyView(std::vector<int32_t>{5}), std::vector<float>{1, 1}),
               InvalidArgument);
  EXPECT_EQ(var.size(), 2);
  EXPECT_EQ(Lookup(var, {1, 2, 5}), (std::vector<float>{1, 1, 2, 2, 0, 0}));
}

TEST(DynamicVariableTest, AccumBpV2TwoWorkersSumTheirDeltas) {
  Variable var(Options("acc", 2, 2));
  var.upsert(KeyView(std::vector<int64_t>{1}), std::vector<float>{1, 1});
  const std::vector<int64_t> keys = {1, 2};
  // Both workers look up before either writes.
  LookupResult a = var.lookup(KeyView(keys), true);
  LookupResult b = var.lookup(KeyView(keys), true);
  EXPECT_EQ(a.exists, (std::vector<bool>{true, false}));
  // Worker A: key 1 += 0.5; new key 2 -> [2, 2].
  var.accum(KeyView(keys), a.values, std::vector<float>{1.5, 1.5, 2, 2}, a.exists);
  // Worker B: key 1 += 0.25; its new key 2 raced with A's insert -> ignored.
  var.accum(KeyView(keys), b.values, std::vector<float>{1.25, 1.25, 3, 3}, b.exists);
  EXPECT_EQ(Lookup(var, keys), (std::vector<float>{1.75, 1.75, 2, 2}));
}

TEST(DynamicVariableTest, ForwardWriteBackBpV2AccumulatesNewKeys) {
  VariableOptions o = Options("bp", 1);
  o.bp_v2 = true;
  Variable var(std::move(o));
  const std::vector<int64_t> keys = {5};
  std::vector<float> out_a(1), out_b(1);
  TrainingContext a, b;
  var.Forward(KeyView(keys), out_a, &a);
  var.Forward(KeyView(keys), out_b, &b);
  EXPECT_EQ(a.exists, std::vector<bool>{false});
  EXPECT_EQ(b.exists, std::vector<bool>{true});  // A's Forward inserted it
  var.WriteBack(a, std::vector<float>{1}, 1);  // delta +1
  var.WriteBack(b, std::vector<float>{2}, 1);  // delta +2
  EXPECT_EQ(Lookup(var, keys), std::vector<float>{3});
}

TEST(DynamicVariableTest, ForwardDedupsAndWriteBackUpserts) {
  Variable var(Options("fw", 2));
  var.upsert(KeyView(std::vector<int64_t>{4}), std::vector<float>{1, 2});
  const std::vector<int64_t> keys = {3, 4, 3};
  std::vector<float> out(6);
  TrainingContext ctx;
  var.Forward(KeyView(keys), out, &ctx);
  EXPECT_TRUE(ctx.train);
  EXPECT_EQ(ctx.unique_keys.int64_keys, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(ctx.inverse, (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(ctx.exists, (std::vector<bool>{false, true}));
  EXPECT_EQ(out, (std::vector<float>{0, 0, 1, 2, 0, 0}));
  EXPECT_EQ(var.size(), 2);  // LookupOrInit inserted key 3
  var.WriteBack(ctx, std::vector<float>{7, 7, 8, 8}, 1);
  EXPECT_EQ(Lookup(var, {3, 4}), (std::vector<float>{7, 7, 8, 8}));
}

TEST(DynamicVariableTest, InferenceModeNeverInserts) {
  Variable var(Options("inf", 1));
  const std::vector<int64_t> keys = {1, 2};
  std::vector<float> out(2);
  TrainingContext ctx;
  var.set_model_mode(ModelMode::kInference);
  var.Forward(KeyView(keys), out, &ctx);
  EXPECT_FALSE(ctx.train);
  var.WriteBack(ctx, std::vector<float>{5, 5}, 1);
  EXPECT_EQ(var.size(), 0);

  var.set_model_mode(std::nullopt);
  enable_inference_mode();
  EXPECT_EQ(get_model_mode(), ModelMode::kInference);
  var.Forward(KeyView(keys), out, &ctx);
  EXPECT_EQ(var.size(), 0);
  enable_train_mode();
  var.Forward(KeyView(keys), out, &ctx);
  EXPECT_EQ(var.size(), 2);
}

TEST(DynamicVariableTest, NonTrainableForwardDoesNotInsert) {
  VariableOptions o = Options("frozen", 1);
  o.trainable = false;
  Variable var(std::move(o));
  std::vector<float> out(1);
  TrainingContext ctx;
  var.Forward(KeyView(std::vector<int64_t>{1}), out, &ctx);
  var.WriteBack(ctx, std::vector<float>{3}, 1);
  EXPECT_EQ(var.size(), 0);
}

TEST(DynamicVariableTest, AdmissionFilterDefersNewKeys) {
  VariableOptions o = Options("adm", 1);
  o.admission_filter = NewCounterAdmissionFilter(2);
  Variable var(std::move(o));
  const std::vector<int64_t> keys = {9};
  std::vector<float> out(1);
  TrainingContext ctx;
  var.Forward(KeyView(keys), out, &ctx);  // seen once: not admitted
  EXPECT_EQ(ctx.admitted, std::vector<bool>{false});
  var.WriteBack(ctx, std::vector<float>{4}, 1);
  EXPECT_EQ(var.size(), 0);
  var.Forward(KeyView(keys), out, &ctx);  // seen twice: admitted
  EXPECT_EQ(ctx.admitted, std::vector<bool>{true});
  var.WriteBack(ctx, std::vector<float>{4}, 2);
  EXPECT_EQ(Lookup(var, keys), std::vector<float>{4});
}

TEST(DynamicVariableTest, RestrictThroughFrequencyPolicy) {
  VariableOptions o = Options("res", 1);
  o.restrict_policy = NewFrequencyRestrictPolicy();
  Variable var(std::move(o));
  auto step = [&](std::vector<int64_t> keys, int64_t global_step) {
    std::vector<float> out(keys.size());
    TrainingContext ctx;
    var.Forward(KeyView(keys), out, &ctx);
    var.WriteBack(ctx, std::vector<float>(ctx.unique_keys.size(), 1.0f), global_step);
  };
  step({1, 2, 3}, 1);
  step({1, 2}, 2);
  step({1}, 3);
  // Frequencies: 1 -> 3, 2 -> 2, 3 -> 1.
  EXPECT_EQ(var.restrict(3), 0);  // size 3 is not > trigger 3
  EXPECT_EQ(var.restrict(1), 2);  // keep the most frequent key
  EXPECT_EQ(var.lookup(KeyView(std::vector<int64_t>{1, 2, 3}), true).exists,
            (std::vector<bool>{true, false, false}));

  Variable plain(Options("plain", 1));
  EXPECT_THROW(plain.restrict(1), FailedPrecondition);
}

TEST(DynamicVariableTest, EmbeddingLookupSparseCombines) {
  Variable var(Options("sp", 1));
  var.upsert(KeyView(std::vector<int64_t>{-1, 0, 1, 2}), std::vector<float>{10, 5, 1, 2});
  // dense_shape [3, 2]: row 0 = {1 (w 1), 2 (w 3)}, row 1 empty, row 2 = {-1 (w 2)}.
  IdTensor sp;
  sp.dense_shape = {3, 2};
  sp.indices = {0, 0, 0, 1, 2, 0};
  sp.ids = {1, 2, -1};
  sp.weights = {1, 3, 2};
  // mean: (1*1 + 3*2) / 4 = 1.75; empty -> 0; 2*10 / 2 = 10.
  DenseTensor mean = embedding_lookup_sparse(var, sp, Combiner::kMean);
  EXPECT_EQ(mean.shape, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(mean.values, (std::vector<float>{1.75f, 0, 10}));
  // sum: 7, 0, 20. sqrtn: 7 / sqrt(10), 0, 20 / 2.
  EXPECT_EQ(embedding_lookup_sparse(var, sp, Combiner::kSum).values,
            (std::vector<float>{7, 0, 20}));
  DenseTensor sqrtn = embedding_lookup_sparse(var, sp, Combiner::kSqrtn);
  EXPECT_NEAR(sqrtn.values[0], 7 / std::sqrt(10.0f), 1e-6);
  EXPECT_NEAR(sqrtn.values[2], 10, 1e-6);

  // Safe variant: the negative id -1 is a valid key (10), empty rows are 0.
  EXPECT_EQ(safe_embedding_lookup_sparse(var, sp, Combiner::kMean).values,
            (std::vector<float>{1.75f, 0, 10}));
  // default_id 0 fills the empty row with key 0's row (5).
  EXPECT_EQ(safe_embedding_lookup_sparse(var, sp, Combiner::kMean, 0).values,
            (std::vector<float>{1.75f, 5, 10}));
  // Weight 0 is pruned for mean (row 2 becomes empty -> 0) but kept for sum.
  sp.weights = {1, 3, 0};
  EXPECT_EQ(safe_embedding_lookup_sparse(var, sp, Combiner::kMean).values,
            (std::vector<float>{1.75f, 0, 0}));
  EXPECT_EQ(safe_embedding_lookup_sparse(var, sp, Combiner::kSum).values,
            (std::vector<float>{7, 0, 0}));
  // 3-D ids [1, 2, 2] reshape to 2 rows; output [1, 2, dim].
  IdTensor sp3;
  sp3.dense_shape = {1, 2, 2};
  sp3.indices = {0, 1, 0, 0, 1, 1};
  sp3.ids = {1, 2};
  DenseTensor out3 = safe_embedding_lookup_sparse(var, sp3, Combiner::kSum);
  EXPECT_EQ(out3.shape, (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(out3.values, (std::vector<float>{0, 3}));
}

// Model test (STYLE: stateful parts against a model): random upsert, accum,
// remove, lookup and import on a 3-shard variable with a custom partitioner,
// compared with a std::map after every step. Replayable from the seed.
TEST(DynamicVariableTest, MatchesMapModelUnderRandomOperations) {
  const uint32_t seed = 20260101;
  std::mt19937 rng(seed);
  VariableOptions o = Options("model", 2, 3);
  o.partitioner = [](const KeyRef& key, int n) { return static_cast<int>((key.integer + 1000) % n); };
  Variable var(std::move(o));
  std::map<int64_t, std::vector<float>> model;
  auto random_keys = [&](int n) {
    std::vector<int64_t> keys;
    for (int i = 0; i < n; ++i) keys.push_back(static_cast<int64_t>(rng() % 40) - 20);
    return keys;
  };
  for (int step = 0; step < 300; ++step) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
    const int op = rng() % 5;
    std::vector<int64_t> keys = random_keys(1 + rng() % 6);
    if (op == 0) {
      std::vector<float> values;
      for (size_t i = 0; i < keys.size() * 2; ++i) values.push_back(static_cast<float>(rng() % 9));
      var.upsert(KeyView(keys), values);
      for (size_t i = 0; i < keys.size(); ++i) model[keys[i]] = {values[2 * i], values[2 * i + 1]};
    } else if (op == 1) {
      LookupResult before = var.lookup(KeyView(keys), true);
      std::vector<float> after = before.values;
      for (float& v : after) v += 1.0f;
      var.accum(KeyView(keys), before.values, after, before.exists);
      // Per occurrence: present -> +1; absent -> insert [1, 1] unless an
      // earlier occurrence in this batch inserted it (then ignored).
      for (size_t i = 0; i < keys.size(); ++i) {
        const bool was = before.exists[i];
        const bool found = model.count(keys[i]) > 0;
        if (found && was) {
          for (float& v : model[keys[i]]) v += 1.0f;
        } else if (!found && !was) {
          model[keys[i]] = {1.0f, 1.0f};
        }
      }
    } else if (op == 2) {
      int64_t expected = 0;
      for (int64_t k : keys) expected += model.erase(k);
      EXPECT_EQ(var.remove(KeyView(keys)), expected);
    } else if (op == 3 && step % 50 == 3) {
      ExportedEntries e = var.export_();
      var.clear();
      EXPECT_EQ(var.size(), 0);
      var.import_(e);
    } else {
      LookupResult r = var.lookup(KeyView(keys), true);
      for (size_t i = 0; i < keys.size(); ++i) {
        auto it = model.find(keys[i]);
        EXPECT_EQ(r.exists[i], it != model.end());
        const std::vector<float> want = it == model.end() ? std::vector<float>{0, 0} : it->second;
        EXPECT_EQ(std::vector<float>(r.values.begin() + 2 * i, r.values.begin() + 2 * i + 2), want);
      }
    }
    ASSERT_EQ(var.size(), static_cast<int64_t>(model.size()));
  }
}

TEST(DynamicVariableTest, ConstructionErrorsNameTheVariable) {
  EXPECT_THROW(Variable(Options("", 1)), InvalidArgument);
  EXPECT_THROW(Variable(Options("zero_dim", 0)), InvalidArgument);
  VariableOptions o = Options("bad_init", 2);
  o.initializer = {"NoSuchInit", nlohmann::json::object()};
  try {
    Variable v(std::move(o));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("bad_init"), std::string::npos);
  }
  VariableOptions devices = Options("dev", 1);
  devices.devices = {"/CPU:0", "/CPU:0"};
  devices.init_size = 10;
  Variable two(std::move(devices));
  EXPECT_EQ(two.num_shards(), 2);
}

}  // namespace
}  // namespace embcol::dynamic_embedding
