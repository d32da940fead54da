#include "embcol/initializer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "embcol/errors.h"

namespace embcol {
namespace {

using nlohmann::json;

// All values of a num_rows x dim table from `config`.
std::vector<float> Fill(const InitializerConfig& config, int64_t num_rows, int64_t dim,
                        uint64_t seed = 7) {
  auto init = MakeInitializer(config, num_rows, dim, seed, "test_col");
  std::vector<float> out(static_cast<size_t>(num_rows * dim));
  for (int64_t r = 0; r < num_rows; ++r) init->InitRow(r, out.data() + r * dim);
  return out;
}

struct Moments {
  double mean = 0, std = 0, min = 1e30, max = -1e30;
};

Moments ComputeMoments(const std::vector<float>& v) {
  Moments m;
  for (float x : v) {
    m.mean += x;
    m.min = std::min<double>(m.min, x);
    m.max = std::max<double>(m.max, x);
  }
  m.mean /= v.size();
  for (float x : v) m.std += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(m.std / v.size());
  return m;
}

template <class E>
std::string ErrorMessage(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

TEST(DefaultEmbeddingInitializerTest, MatchesTensorFlowConfig) {
  const InitializerConfig c = DefaultEmbeddingInitializer(2);
  EXPECT_EQ(c.class_name, "TruncatedNormal");
  const json expected = json::parse(
      R"({"mean": 0.0, "stddev": 0.7071067811865475, "seed": null, "dtype": "float32"})");
  EXPECT_EQ(c.config, expected);
  EXPECT_TRUE(c.config["mean"].is_number_float());
  EXPECT_EQ(c.config["stddev"].get<double>(), 1.0 / std::sqrt(2.0));
  EXPECT_EQ(DefaultEmbeddingInitializer(16).config["stddev"].get<double>(), 0.25);
  EXPECT_EQ(c.ToJson(), json::parse(R"({"class_name": "TruncatedNormal", "config": {"mean": 0.0,
      "stddev": 0.7071067811865475, "seed": null, "dtype": "float32"}})"));
  EXPECT_THROW(DefaultEmbeddingInitializer(0), InvalidArgument);
}

TEST(InitializerTest, KnownClasses) {
  for (const char* name :
       {"TruncatedNormal", "RandomNormal", "RandomUniform", "Zeros", "Ones", "Constant"}) {
    EXPECT_TRUE(IsKnownInitializer(name)) << name;
  }
  EXPECT_FALSE(IsKnownInitializer("GlorotUniform"));
  EXPECT_FALSE(IsKnownInitializer("truncated_normal"));
}

TEST(InitializerTest, TruncatedNormalStatistics) {
  const double stddev = 0.5, mean = 0.25;
  InitializerConfig c{"TruncatedNormal", {{"mean", mean}, {"stddev", stddev}, {"seed", nullptr}}};
  const std::vector<float> v = Fill(c, 1000, 200);
  const Moments m = ComputeMoments(v);
  // Standard normal truncated to [-2, 2]: var = 1 - 2*2*phi(2) / (Phi(2) - Phi(-2)).
  const double phi2 = std::exp(-2.0) / std::sqrt(2.0 * M_PI);
  const double mass = std::erf(2.0 / std::sqrt(2.0));
  const double truncated_std = std::sqrt(1.0 - 4.0 * phi2 / mass);
  EXPECT_NEAR(truncated_std, 0.8796, 1e-4);
  EXPECT_NEAR(m.mean, mean, 0.01 * stddev);
  EXPECT_NEAR(m.std, truncated_std * stddev, 0.01 * stddev);
  EXPECT_GE(m.min, mean - 2 * stddev - 1e-6);
  EXPECT_LE(m.max, mean + 2 * stddev + 1e-6);
  // The tails are populated (a clamp instead of a redraw would pile values at 2 sigma,
  // a too-narrow truncation would leave this region empty).
  int near_edge = 0, at_edge = 0;
  for (float x : v) {
    const double z = std::fabs((x - mean) / stddev);
    near_edge += z > 1.9;
    at_edge += z > 2.0 - 1e-6;
  }
  // P(1.9 < |z| <= 2 | |z| <= 2) = 2*(Phi(2)-Phi(1.9))/mass ~= 0.01136.
  const double p = (std::erf(2.0 / std::sqrt(2.0)) - std::erf(1.9 / std::sqrt(2.0))) / mass;
  EXPECT_NEAR(near_edge / double(v.size()), p, 0.002);
  EXPECT_LT(at_edge, 5);
}

TEST(InitializerTest, RandomNormalStatistics) {
  InitializerConfig c{"RandomNormal", {{"mean", -1.0}, {"stddev", 2.0}}};
  const Moments m = ComputeMoments(Fill(c, 1000, 200));
  EXPECT_NEAR(m.mean, -1.0, 0.02);
  EXPECT_NEAR(m.std, 2.0, 0.02);
  EXPECT_LT(m.min, -1.0 - 2 * 2.0);  // untruncated: ~4.6% of draws beyond 2 sigma
}

TEST(InitializerTest, RandomUniformStatisticsAndDefaults) {
  InitializerConfig c{"RandomUniform", json::object()};
  const Moments m = ComputeMoments(Fill(c, 1000, 200));
  EXPECT_NEAR(m.mean, 0.0, 0.001);
  EXPECT_NEAR(m.std, 0.1 / std::sqrt(12.0), 0.001);
  EXPECT_GE(m.min, -0.05);
  EXPECT_LE(m.max, 0.05);
  EXPECT_LT(m.min, -0.0499);
  EXPECT_GT(m.max, 0.0499);

  InitializerConfig c2{"RandomUniform", {{"minval", 2}, {"maxval", 3}}};  // JSON ints
  const Moments m2 = ComputeMoments(Fill(c2, 100, 100));
  EXPECT_NEAR(m2.mean, 2.5, 0.01);
  EXPECT_GE(m2.min, 2.0);
  EXPECT_LE(m2.max, 3.0);
}

TEST(InitializerTest, ReproducibleAndIndependentOfTableSize) {
  InitializerConfig c = DefaultEmbeddingInitializer(8);
  const std::vector<float> small = Fill(c, 3, 8, 99);
  const std::vector<float> large = Fill(c, 50, 8, 99);
  EXPECT_EQ(small, std::vector<float>(large.begin(), large.begin() + 24));
  EXPECT_EQ(small, Fill(c, 3, 8, 99));

  // Row order and row count unknown (dynamic tables) give the same row.
  auto init = MakeInitializer(c, -1, 8, 99, "test_col");
  std::vector<float> row(8);
  init->InitRow(2, row.data());
  EXPECT_EQ(row, std::vector<float>(large.begin() + 16, large.begin() + 24));

  // Different seeds, rows and columns differ.
  const std::vector<float> other = Fill(c, 3, 8, 100);
  int same = 0;
  for (size_t i = 0; i < small.size(); ++i) same += small[i] == other[i];
  EXPECT_EQ(same, 0);
  EXPECT_NE(std::vector<float>(small.begin(), small.begin() + 8),
            std::vector<float>(small.begin() + 8, small.begin() + 16));
  EXPECT_NE(small[0], small[1]);
}

TEST(InitializerTest, ExplicitSeedOverridesDefaultSeed) {
  InitializerConfig c{"RandomNormal", {{"seed", 42}}};
  EXPECT_EQ(Fill(c, 4, 4, 1), Fill(c, 4, 4, 2));
  InitializerConfig c_null{"RandomNormal", {{"seed", nullptr}}};
  EXPECT_NE(Fill(c_null, 4, 4, 1), Fill(c_null, 4, 4, 2));
  InitializerConfig c43{"RandomNormal", {{"seed", 43}}};
  EXPECT_NE(Fill(c, 4, 4, 1), Fill(c43, 4, 4, 1));
}

TEST(InitializerTest, IntegerNumbersAndZeroStddev) {
  InitializerConfig c{"TruncatedNormal", {{"mean", 3}, {"stddev", 0}}};
  EXPECT_EQ(Fill(c, 2, 3), std::vector<float>(6, 3.0f));
}

TEST(InitializerTest, ZerosOnesConstantScalar) {
  EXPECT_EQ(Fill({"Zeros", json::object()}, 2, 3), std::vector<float>(6, 0.0f));
  EXPECT_EQ(Fill({"Ones", json::object()}, 2, 3), std::vector<float>(6, 1.0f));
  EXPECT_EQ(Fill({"Constant", {{"value", 2}}}, 2, 3), std::vector<float>(6, 2.0f));
  EXPECT_EQ(Fill({"Constant", {{"value", -0.5}}}, 2, 3), std::vector<float>(6, -0.5f));
  EXPECT_EQ(Fill({"Constant", json::object()}, 1, 2), std::vector<float>(2, 0.0f));
}

TEST(InitializerTest, ConstantExplicitTable) {
  InitializerConfig c{"Constant", {{"value", json::parse("[[1, 2, 3], [4.5, 5, 6]]")}}};
  EXPECT_EQ(Fill(c, 2, 3), (std::vector<float>{1, 2, 3, 4.5f, 5, 6}));

  const std::string wrong_rows =
      ErrorMessage<InvalidArgument>([&] { MakeInitializer(c, 3, 3, 0, "my_col"); });
  EXPECT_NE(wrong_rows.find("my_col"), std::string::npos) << wrong_rows;
  EXPECT_NE(wrong_rows.find("[2, 3]"), std::string::npos) << wrong_rows;
  EXPECT_NE(wrong_rows.find("[3, 3]"), std::string::npos) << wrong_rows;

  const std::string wrong_dim =
      ErrorMessage<InvalidArgument>([&] { MakeInitializer(c, 2, 4, 0, "my_col"); });
  EXPECT_NE(wrong_dim.find("[2, 3]"), std::string::npos) << wrong_dim;
  EXPECT_NE(wrong_dim.find("[2, 4]"), std::string::npos) << wrong_dim;

  EXPECT_THROW(MakeInitializer(c, -1, 3, 0, "my_col"), InvalidArgument);
  InitializerConfig ragged{"Constant", {{"value", json::parse("[[1, 2, 3], [4, 5]]")}}};
  EXPECT_THROW(MakeInitializer(ragged, 2, 3, 0, "my_col"), InvalidArgument);
  InitializerConfig strings{"Constant", {{"value", json::parse(R"([["a"]])")}}};
  EXPECT_THROW(MakeInitializer(strings, 1, 1, 0, "my_col"), InvalidArgument);
}

TEST(InitializerTest, UnknownClass) {
  const std::string msg = ErrorMessage<InvalidArgument>(
      [] { MakeInitializer({"GlorotUniform", json::object()}, 4, 2, 0, "aaa_embedding"); });
  EXPECT_EQ(msg.rfind("initializer must be callable if specified. Embedding of column_name: "
                      "aaa_embedding.",
                      0),
            0u)
      << msg;
  EXPECT_NE(msg.find("'GlorotUniform'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("TruncatedNormal"), std::string::npos) << msg;
}

TEST(InitializerTest, ConfigKeys) {
  const std::string msg = ErrorMessage<InvalidArgument>([] {
    MakeInitializer({"TruncatedNormal", {{"stdev", 1.0}}}, 4, 2, 0, "aaa_embedding");
  });
  EXPECT_NE(msg.find("'stdev'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("aaa_embedding"), std::string::npos) << msg;
  EXPECT_THROW(MakeInitializer({"Zeros", {{"value", 1}}}, 4, 2, 0, "c"), InvalidArgument);
  EXPECT_THROW(MakeInitializer({"RandomUniform", {{"mean", 1}}}, 4, 2, 0, "c"), InvalidArgument);
  // Keras bookkeeping keys are ignored.
  InitializerConfig keras{"Ones",
                          {{"dtype", "float32"},
                           {"module", "keras.initializers"},
                           {"registered_name", nullptr},
                           {"__passive_serialization__", true}}};
  EXPECT_EQ(Fill(keras, 1, 2), std::vector<float>(2, 1.0f));
  // Wrong types.
  EXPECT_THROW(MakeInitializer({"RandomNormal", {{"stddev", "1"}}}, 4, 2, 0, "c"),
               InvalidArgument);
  EXPECT_THROW(MakeInitializer({"RandomNormal", {{"seed", "x"}}}, 4, 2, 0, "c"),
               InvalidArgument);
  EXPECT_THROW(MakeInitializer({"RandomNormal", json::array()}, 4, 2, 0, "c"), InvalidArgument);
}

}  // namespace
}  // namespace embcol
