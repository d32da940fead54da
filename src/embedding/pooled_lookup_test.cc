// Differential tests of the pooled lookup: every vector path against
// PooledLookupRef over dims x row lengths x weights x combiners x max_norm,
// with sentinels around the output, and bad-id positions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "embcol/embedding_lookup.h"

namespace embcol {
namespace {

constexpr float kSentinel = -12345.678f;
constexpr int64_t kGuard = 32;  // sentinel floats before and after the output
constexpr int64_t kTableRows = 57;

struct Case {
  std::vector<float> table;
  RaggedIds ragged;
};

// Row lengths cover empty rows, single ids, more ids than a kernel group (32)
// and a row whose weights cancel (mean denominator 0).
Case MakeCase(int64_t dim, bool weighted, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_real_distribution<float> weight(0.1f, 2.0f);
  std::uniform_int_distribution<int64_t> id(0, kTableRows - 1);
  Case c;
  c.table.resize(static_cast<size_t>(kTableRows * dim));
  for (float& x : c.table) x = value(rng);
  const std::vector<int> lengths = {0, 1, 3, 0, 8, 33, 70, 2, 5, 0};
  c.ragged.row_splits.push_back(0);
  for (int len : lengths) {
    for (int i = 0; i < len; ++i) {
      c.ragged.ids.push_back(id(rng));
      if (weighted) c.ragged.weights.push_back(weight(rng));
    }
    c.ragged.row_splits.push_back(static_cast<int64_t>(c.ragged.ids.size()));
  }
  if (weighted) {
    // Row 7 (length 2): weights 0.5 and -0.5, sum 0.
    const int64_t b = c.ragged.row_splits[7];
    c.ragged.weights[b] = 0.5f;
    c.ragged.weights[b + 1] = -0.5f;
  }
  return c;
}

// Runs the current path with sentinels around out; checks them.
std::vector<float> RunGuarded(const Case& c, int64_t dim, Combiner combiner,
                              std::optional<float> max_norm, int64_t* status) {
  const int64_t n = c.ragged.num_rows() * dim;
  std::vector<float> buf(static_cast<size_t>(n + 2 * kGuard), kSentinel);
  *status = kernels::PooledLookup(c.table.data(), kTableRows, dim, c.ragged, combiner, max_norm,
                                  buf.data() + kGuard);
  for (int64_t i = 0; i < kGuard; ++i) {
    EXPECT_EQ(buf[i], kSentinel) << "write before out at " << i - kGuard;
    EXPECT_EQ(buf[kGuard + n + i], kSentinel) << "write after out at " << i;
  }
  return std::vector<float>(buf.begin() + kGuard, buf.begin() + kGuard + n);
}

std::vector<std::string> VectorPaths() { return {"avx2", "avx512"}; }

class PooledLookupDiffTest
    : public ::testing::TestWithParam<std::tuple<std::string, int64_t>> {
 protected:
  void SetUp() override {
    if (!kernels::ForcePooledLookupPath(std::get<0>(GetParam()))) {
      GTEST_SKIP() << "CPU lacks " << std::get<0>(GetParam());
    }
  }
  void TearDown() override { kernels::ForcePooledLookupPath("auto"); }
};

TEST_P(PooledLookupDiffTest, MatchesReference) {
  const int64_t dim = std::get<1>(GetParam());
  uint32_t seed = 1;
  for (bool weighted : {false, true}) {
    for (Combiner combiner : {Combiner::kSum, Combiner::kMean, Combiner::kSqrtn}) {
      for (bool clip : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "weighted=" << weighted
                                          << " combiner=" << CombinerName(combiner)
                                          << " max_norm=" << clip);
        const Case c = MakeCase(dim, weighted, seed++);
        // ||e|| of uniform(-1,1) rows is about sqrt(dim/3): about half get clipped.
        const std::optional<float> max_norm =
            clip ? std::optional<float>(std::sqrt(dim / 3.0f)) : std::nullopt;
        std::vector<float> want(static_cast<size_t>(c.ragged.num_rows() * dim), kSentinel);
        ASSERT_EQ(kernels::PooledLookupRef(c.table.data(), kTableRows, dim, c.ragged, combiner,
                                           max_norm, want.data()),
                  -1);
        int64_t status = 0;
        const std::vector<float> got = RunGuarded(c, dim, combiner, max_norm, &status);
        ASSERT_EQ(status, -1);
        for (int64_t r = 0; r < c.ragged.num_rows(); ++r) {
          // Error bound: the terms are |w_i e_i / d| <= |w_i| / d.
          double bound = 0, denom = 1, wsum = 0, wsq = 0;
          for (int64_t i = c.ragged.row_splits[r]; i < c.ragged.row_splits[r + 1]; ++i) {
            const double w = weighted ? c.ragged.weights[i] : 1.0;
            bound += std::abs(w);
            wsum += w;
            wsq += w * w;
          }
          if (combiner == Combiner::kMean) denom = wsum;
          if (combiner == Combiner::kSqrtn) denom = std::sqrt(wsq);
          const double tol = 1e-5 * std::max(1.0, denom == 0 ? 1.0 : bound / std::abs(denom));
          for (int64_t k = 0; k < dim; ++k) {
            const size_t i = static_cast<size_t>(r * dim + k);
            ASSERT_NEAR(got[i], want[i], tol) << "row " << r << " col " << k;
          }
          if (c.ragged.row_splits[r] == c.ragged.row_splits[r + 1] || denom == 0) {
            for (int64_t k = 0; k < dim; ++k) {
              ASSERT_EQ(got[static_cast<size_t>(r * dim + k)], 0.0f) << "row " << r;
            }
          }
        }
      }
    }
  }
}

TEST_P(PooledLookupDiffTest, BadIdPositionMatchesReference) {
  const int64_t dim = std::get<1>(GetParam());
  // (position to corrupt, bad value); later positions get a second bad id.
  const std::vector<std::pair<int64_t, int64_t>> corruptions = {
      {0, -1}, {5, kTableRows}, {20, -1000}, {60, kTableRows + 7}, {115, -1}};
  for (auto [pos, bad] : corruptions) {
    Case c = MakeCase(dim, true, 99);
    ASSERT_LT(pos + 3, static_cast<int64_t>(c.ragged.ids.size()));
    c.ragged.ids[pos] = bad;
    c.ragged.ids[pos + 3] = -2;  // a later bad id must not be reported first
    std::vector<float> ref_out(static_cast<size_t>(c.ragged.num_rows() * dim));
    EXPECT_EQ(kernels::PooledLookupRef(c.table.data(), kTableRows, dim, c.ragged,
                                       Combiner::kMean, 1.0f, ref_out.data()),
              pos);
    for (std::optional<float> max_norm : {std::optional<float>(), std::optional<float>(1.0f)}) {
      int64_t status = 0;
      RunGuarded(c, dim, Combiner::kMean, max_norm, &status);
      EXPECT_EQ(status, pos) << "bad id " << bad;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    PathsAndDims, PooledLookupDiffTest,
    ::testing::Combine(::testing::ValuesIn(VectorPaths()),
                       ::testing::Values(1, 3, 7, 8, 16, 17, 31, 64, 100, 128, 200)),
    [](const auto& info) {
      return std::get<0>(info.param) + "_dim" + std::to_string(std::get<1>(info.param));
    });

// The reference itself, by hand: one row, ids {1, 1, 0}, weights {1, 2, 4},
// table rows [1, 0, 0] and [0, 2, 0]; sqrtn: [4, 6, 0] / sqrt(1 + 4 + 16).
TEST(PooledLookupRefTest, HandComputed) {
  const std::vector<float> table = {1, 0, 0, 0, 2, 0};
  RaggedIds ragged{{0, 3}, {1, 1, 0}, {1, 2, 4}};
  std::vector<float> out(3);
  ASSERT_EQ(kernels::PooledLookupRef(table.data(), 2, 3, ragged, Combiner::kSqrtn, std::nullopt,
                                     out.data()),
            -1);
  const float s = std::sqrt(21.0f);
  EXPECT_NEAR(out[0], 4 / s, 1e-6);
  EXPECT_NEAR(out[1], 6 / s, 1e-6);
  EXPECT_EQ(out[2], 0.0f);
  // max_norm 1 clips [0, 2, 0] to [0, 1, 0]: [4, 3, 0] / sqrt(21).
  ASSERT_EQ(kernels::PooledLookupRef(table.data(), 2, 3, ragged, Combiner::kSqrtn, 1.0f,
                                     out.data()),
            -1);
  EXPECT_NEAR(out[0], 4 / s, 1e-6);
  EXPECT_NEAR(out[1], 3 / s, 1e-6);
}

}  // namespace
}  // namespace embcol
