// Hand-computed checks of the TensorFlow-semantics lookups, run on every
// kernel path the CPU has.
#include "embcol/embedding_lookup.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "embcol/errors.h"

namespace embcol {
namespace {

struct Entry {
  std::vector<int64_t> index;
  int64_t id;
  float weight = 1.0f;
};

IdTensor MakeIds(std::vector<int64_t> dense_shape, const std::vector<Entry>& entries,
                 bool weighted) {
  IdTensor t;
  t.dense_shape = std::move(dense_shape);
  for (const Entry& e : entries) {
    t.indices.insert(t.indices.end(), e.index.begin(), e.index.end());
    t.ids.push_back(e.id);
    if (weighted) t.weights.push_back(e.weight);
  }
  return t;
}

// Rows [1,2], [3,4], [5,6], [7,8].
EmbeddingTable SmallTable() {
  EmbeddingTable t("small_table", 4, 2);
  t.Assign({1, 2, 3, 4, 5, 6, 7, 8});
  return t;
}

void ExpectValues(const DenseTensor& got, const std::vector<int64_t>& shape,
                  const std::vector<float>& want) {
  EXPECT_EQ(got.shape, shape);
  ASSERT_EQ(got.values.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got.values[i], want[i], 1e-5 * std::max(1.0f, std::abs(want[i]))) << "at " << i;
  }
}

class LookupTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!kernels::ForcePooledLookupPath(GetParam())) {
      GTEST_SKIP() << "CPU lacks " << GetParam();
    }
    ASSERT_EQ(kernels::PooledLookupPath(), GetParam());
  }
  void TearDown() override { kernels::ForcePooledLookupPath("auto"); }

  EmbeddingTable table_ = SmallTable();
};

TEST_P(LookupTest, CombinersWithWeights) {
  // One row: ids {0, 2}, weights {1, 3}: sum = 1*[1,2] + 3*[5,6] = [16,20].
  const IdTensor ids = MakeIds({1, 2}, {{{0, 0}, 0, 1.0f}, {{0, 1}, 2, 3.0f}}, true);
  for (auto lookup : {&SafeEmbeddingLookupSparse, &EmbeddingLookupSparse}) {
    ExpectValues(lookup(table_, ids, Combiner::kSum, std::nullopt, "c"), {1, 2}, {16, 20});
    ExpectValues(lookup(table_, ids, Combiner::kMean, std::nullopt, "c"), {1, 2}, {4, 5});
    const float s = std::sqrt(10.0f);
    ExpectValues(lookup(table_, ids, Combiner::kSqrtn, std::nullopt, "c"), {1, 2},
                 {16 / s, 20 / s});
  }
}

TEST_P(LookupTest, CombinersWithoutWeights) {
  // ids {0, 2}: sum = [6, 8], mean = [3, 4], sqrtn = [6, 8] / sqrt(2).
  const IdTensor ids = MakeIds({1, 2}, {{{0, 0}, 0}, {{0, 1}, 2}}, false);
  for (auto lookup : {&SafeEmbeddingLookupSparse, &EmbeddingLookupSparse}) {
    ExpectValues(lookup(table_, ids, Combiner::kSum, std::nullopt, "c"), {1, 2}, {6, 8});
    ExpectValues(lookup(table_, ids, Combiner::kMean, std::nullopt, "c"), {1, 2}, {3, 4});
    const float s = std::sqrt(2.0f);
    ExpectValues(lookup(table_, ids, Combiner::kSqrtn, std::nullopt, "c"), {1, 2},
                 {6 / s, 8 / s});
  }
}

TEST_P(LookupTest, EmptyRowsAreZeroAndAllRowsKept) {
  // Rows 0 and 2 empty, row 1 = {3}, row 3 (trailing) empty.
  const IdTensor ids = MakeIds({4, 3}, {{{1, 0}, 3}}, false);
  for (auto lookup : {&SafeEmbeddingLookupSparse, &EmbeddingLookupSparse}) {
    for (Combiner c : {Combiner::kSum, Combiner::kMean, Combiner::kSqrtn}) {
      ExpectValues(lookup(table_, ids, c, std::nullopt, "c"), {4, 2}, {0, 0, 7, 8, 0, 0, 0, 0});
    }
  }
  const IdTensor none = MakeIds({2, 5}, {}, true);
  ExpectValues(SafeEmbeddingLookupSparse(table_, none, Combiner::kMean, std::nullopt, "c"),
               {2, 2}, {0, 0, 0, 0});
}

TEST_P(LookupTest, SafePrunesNegativeIds) {
  // Row 0: {-1, 1} -> only id 1 with weight 2; row 1: {-5} -> empty.
  const IdTensor ids = MakeIds({2, 2}, {{{0, 0}, -1, 7.0f}, {{0, 1}, 1, 2.0f}, {{1, 0}, -5, 1.0f}},
                               true);
  ExpectValues(SafeEmbeddingLookupSparse(table_, ids, Combiner::kMean, std::nullopt, "c"),
               {2, 2}, {3, 4, 0, 0});
  ExpectValues(SafeEmbeddingLookupSparse(table_, ids, Combiner::kSum, std::nullopt, "c"),
               {2, 2}, {6, 8, 0, 0});
}

TEST_P(LookupTest, SafePrunesNonPositiveWeightsExceptForSum) {
  // ids {0, 1, 2} weights {2, -1, 0}.
  const IdTensor ids =
      MakeIds({1, 3}, {{{0, 0}, 0, 2.0f}, {{0, 1}, 1, -1.0f}, {{0, 2}, 2, 0.0f}}, true);
  // mean / sqrtn keep only id 0 (weight 2): 2*[1,2]/2 = [1,2]; 2*[1,2]/sqrt(4) = [1,2].
  ExpectValues(SafeEmbeddingLookupSparse(table_, ids, Combiner::kMean, std::nullopt, "c"),
               {1, 2}, {1, 2});
  ExpectValues(SafeEmbeddingLookupSparse(table_, ids, Combiner::kSqrtn, std::nullopt, "c"),
               {1, 2}, {1, 2});
  // sum keeps all: 2*[1,2] - [3,4] + 0*[5,6] = [-1, 0].
  ExpectValues(SafeEmbeddingLookupSparse(table_, ids, Combiner::kSum, std::nullopt, "c"),
               {1, 2}, {-1, 0});
  // The unsafe lookup prunes nothing: mean = [-1, 0] / (2 - 1 + 0) = [-1, 0];
  // sqrtn = [-1, 0] / sqrt(4 + 1) .
  ExpectValues(EmbeddingLookupSparse(table_, ids, Combiner::kMean, std::nullopt, "c"), {1, 2},
               {-1, 0});
  ExpectValues(EmbeddingLookupSparse(table_, ids, Combiner::kSqrtn, std::nullopt, "c"), {1, 2},
               {-1 / std::sqrt(5.0f), 0});
}

TEST_P(LookupTest, ZeroDenominatorGivesZeros) {
  // Unsafe mean with weights {1, -1}: sum w = 0 -> div_no_nan -> 0.
  const IdTensor ids = MakeIds({1, 2}, {{{0, 0}, 0, 1.0f}, {{0, 1}, 3, -1.0f}}, true);
  ExpectValues(EmbeddingLookupSparse(table_, ids, Combiner::kMean, std::nullopt, "c"), {1, 2},
               {0, 0});
  // All-zero weights: sqrtn denominator 0.
  const IdTensor zeros = MakeIds({1, 2}, {{{0, 0}, 0, 0.0f}, {{0, 1}, 3, 0.0f}}, true);
  ExpectValues(EmbeddingLookupSparse(table_, zeros, Combiner::kSqrtn, std::nullopt, "c"),
               {1, 2}, {0, 0});
}

TEST_P(LookupTest, MaxNormClipsEachRowBeforeCombining) {
  const IdTensor one = MakeIds({1, 1}, {{{0, 0}, 1}}, false);
  // [3,4] has norm 5: * 1/5 -> [0.6, 0.8].
  ExpectValues(SafeEmbeddingLookupSparse(table_, one, Combiner::kSum, 1.0f, "c"), {1, 2},
               {0.6f, 0.8f});
  // Norm below max_norm: unchanged.
  ExpectValues(SafeEmbeddingLookupSparse(table_, one, Combiner::kSum, 10.0f, "c"), {1, 2},
               {3, 4});
  // ids {1, 0}, weights {2, 1}, max_norm 1, mean:
  // (2*[0.6,0.8] + [1,2]/sqrt(5)) / 3.
  const IdTensor two = MakeIds({1, 2}, {{{0, 0}, 1, 2.0f}, {{0, 1}, 0, 1.0f}}, true);
  const float r5 = std::sqrt(5.0f);
  ExpectValues(SafeEmbeddingLookupSparse(table_, two, Combiner::kMean, 1.0f, "c"), {1, 2},
               {(1.2f + 1 / r5) / 3, (1.6f + 2 / r5) / 3});
  for (float bad : {0.0f, -1.0f, NAN}) {
    EXPECT_THROW(SafeEmbeddingLookupSparse(table_, two, Combiner::kMean, bad, "c"),
                 InvalidArgument);
  }
}

TEST_P(LookupTest, Rank3Ids) {
  // dense_shape [2, 2, 3]: rows (0,0) {0}, (0,1) empty, (1,0) {1, 3}, (1,1) {2}.
  const IdTensor ids = MakeIds(
      {2, 2, 3}, {{{0, 0, 0}, 0}, {{1, 0, 0}, 1}, {{1, 0, 2}, 3}, {{1, 1, 1}, 2}}, false);
  ExpectValues(SafeEmbeddingLookupSparse(table_, ids, Combiner::kSum, std::nullopt, "c"),
               {2, 2, 2}, {1, 2, 0, 0, 10, 12, 5, 6});
  ExpectValues(SafeEmbeddingLookupSparse(table_, ids, Combiner::kMean, std::nullopt, "c"),
               {2, 2, 2}, {1, 2, 0, 0, 5, 6, 5, 6});
  EXPECT_THROW(EmbeddingLookupSparse(table_, ids, Combiner::kSum, std::nullopt, "c"),
               InvalidArgument);
}

TEST_P(LookupTest, OutOfRangeIds) {
  const IdTensor ids = MakeIds({2, 2}, {{{0, 0}, 1}, {{1, 0}, 2}, {{1, 1}, 4}}, false);
  for (auto lookup : {&SafeEmbeddingLookupSparse, &EmbeddingLookupSparse}) {
    try {
      lookup(table_, ids, Combiner::kMean, std::nullopt, "my_column_embedding");
      ADD_FAILURE() << "no error";
    } catch (const OutOfRange& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("my_column_embedding"), std::string::npos) << msg;
      EXPECT_NE(msg.find("id 4"), std::string::npos) << msg;
      EXPECT_NE(msg.find("4 rows"), std::string::npos) << msg;
    }
  }
}

TEST_P(LookupTest, UnsafeRejectsNegativeIds) {
  const IdTensor ids = MakeIds({2, 2}, {{{0, 0}, 1}, {{1, 0}, -1}}, false);
  try {
    EmbeddingLookupSparse(table_, ids, Combiner::kSum, std::nullopt, "neg_col");
    ADD_FAILURE() << "no error";
  } catch (const OutOfRange& e) {
    EXPECT_NE(std::string(e.what()).find("id -1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("neg_col"), std::string::npos) << e.what();
  }
}

TEST_P(LookupTest, MalformedInput) {
  IdTensor ids = MakeIds({1, 2}, {{{0, 0}, 0, 1.0f}, {{0, 1}, 2, 3.0f}}, true);
  ids.weights.pop_back();
  EXPECT_THROW(SafeEmbeddingLookupSparse(table_, ids, Combiner::kSum, std::nullopt, "c"),
               InvalidArgument);
  EXPECT_THROW(EmbeddingLookupSparse(table_, ids, Combiner::kSum, std::nullopt, "c"),
               InvalidArgument);
  // Rank 1.
  const IdTensor rank1 = MakeIds({3}, {{{0}, 0}}, false);
  EXPECT_THROW(SafeEmbeddingLookupSparse(table_, rank1, Combiner::kSum, std::nullopt, "c"),
               InvalidArgument);
  // Index outside dense_shape.
  const IdTensor outside = MakeIds({1, 2}, {{{1, 0}, 0}}, false);
  EXPECT_THROW(SafeEmbeddingLookupSparse(table_, outside, Combiner::kSum, std::nullopt, "c"),
               InvalidArgument);
  // Rows out of order.
  const IdTensor unordered = MakeIds({2, 2}, {{{1, 0}, 0}, {{0, 0}, 1}}, false);
  EXPECT_THROW(SafeEmbeddingLookupSparse(table_, unordered, Combiner::kSum, std::nullopt, "c"),
               InvalidArgument);
}

std::vector<std::string> Paths() { return {"ref", "avx2", "avx512"}; }

INSTANTIATE_TEST_SUITE_P(AllPaths, LookupTest, ::testing::ValuesIn(Paths()),
                         [](const auto& info) { return info.param; });

TEST(PooledLookupPathTest, ForceAndAuto) {
  EXPECT_FALSE(kernels::ForcePooledLookupPath("sse9"));
  EXPECT_TRUE(kernels::ForcePooledLookupPath("ref"));
  EXPECT_EQ(kernels::PooledLookupPath(), "ref");
  EXPECT_TRUE(kernels::ForcePooledLookupPath("auto"));
  const bool has_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq");
  const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  EXPECT_EQ(kernels::PooledLookupPath(), has_avx512 ? "avx512" : has_avx2 ? "avx2" : "ref");
  EXPECT_EQ(kernels::ForcePooledLookupPath("avx2"), has_avx2);
  EXPECT_EQ(kernels::ForcePooledLookupPath("avx512"), has_avx512);
  kernels::ForcePooledLookupPath("auto");
}

}  // namespace
}  // namespace embcol
