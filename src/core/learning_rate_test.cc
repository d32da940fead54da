#include "embcol/learning_rate.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "embcol/errors.h"

namespace embcol {
namespace {

using nlohmann::json;

// Expects `fn` to throw E whose message contains every string in `parts`.
template <typename E, typename Fn>
void ExpectThrowWith(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    for (const auto& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << part;
    }
  }
}

TEST(LearningRateTest, Constant) {
  auto lr = LearningRateFn::Constant(0.1);
  EXPECT_DOUBLE_EQ(lr(0), 0.1);
  EXPECT_DOUBLE_EQ(lr(1000000), 0.1);
  EXPECT_TRUE(lr.serializable());
  EXPECT_EQ(lr.ToConfig(), json::parse(R"({"class_name": "Constant",
                                           "config": {"learning_rate": 0.1}})"));
}

TEST(LearningRateTest, ExponentialDecay) {
  // 0.1 * 0.5^(step/10)
  auto lr = LearningRateFn::ExponentialDecay(0.1, 10, 0.5);
  EXPECT_DOUBLE_EQ(lr(0), 0.1);
  EXPECT_DOUBLE_EQ(lr(5), 0.1 * std::sqrt(0.5));  // 0.0707106781...
  EXPECT_DOUBLE_EQ(lr(10), 0.05);
  EXPECT_DOUBLE_EQ(lr(15), 0.1 * 0.5 * std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(lr(20), 0.025);
}

TEST(LearningRateTest, ExponentialDecayStaircase) {
  auto lr = LearningRateFn::ExponentialDecay(0.1, 10, 0.5, /*staircase=*/true);
  EXPECT_DOUBLE_EQ(lr(0), 0.1);
  EXPECT_DOUBLE_EQ(lr(9), 0.1);
  EXPECT_DOUBLE_EQ(lr(10), 0.05);
  EXPECT_DOUBLE_EQ(lr(19), 0.05);
  EXPECT_DOUBLE_EQ(lr(20), 0.025);
}

TEST(LearningRateTest, PiecewiseConstantDecay) {
  auto lr = LearningRateFn::PiecewiseConstantDecay({100, 200}, {1.0, 0.5, 0.1});
  EXPECT_DOUBLE_EQ(lr(0), 1.0);
  EXPECT_DOUBLE_EQ(lr(100), 1.0);  // step <= b0
  EXPECT_DOUBLE_EQ(lr(101), 0.5);  // b0 < step <= b1
  EXPECT_DOUBLE_EQ(lr(200), 0.5);
  EXPECT_DOUBLE_EQ(lr(201), 0.1);  // after the last boundary
  EXPECT_DOUBLE_EQ(lr(1000000), 0.1);
}

TEST(LearningRateTest, PiecewiseConstantDecayLengthMismatch) {
  ExpectThrowWith<InvalidArgument>(
      [] { LearningRateFn::PiecewiseConstantDecay({100, 200}, {1.0, 0.5}); },
      {"PiecewiseConstantDecay", "values (2)", "boundaries (2)"});
  ExpectThrowWith<InvalidArgument>(
      [] { LearningRateFn::PiecewiseConstantDecay({200, 100}, {1.0, 0.5, 0.1}); },
      {"PiecewiseConstantDecay", "sorted"});
}

TEST(LearningRateTest, CosineDecayWithoutWarmup) {
  // 1.0 * 0.5 * (1 + cos(pi * min(step, 100) / 100))
  auto lr = LearningRateFn::CosineDecay(1.0, 100);
  EXPECT_DOUBLE_EQ(lr(0), 1.0);
  EXPECT_NEAR(lr(25), 0.5 * (1.0 + std::sqrt(0.5)), 1e-15);  // 0.853553...
  EXPECT_NEAR(lr(50), 0.5, 1e-15);
  EXPECT_NEAR(lr(100), 0.0, 1e-15);
  EXPECT_NEAR(lr(250), 0.0, 1e-15);  // held at the end
}

TEST(LearningRateTest, CosineDecayAlpha) {
  // decayed = 0.9 * cosine + 0.1; lr = 2 * decayed
  auto lr = LearningRateFn::CosineDecay(2.0, 100, /*alpha=*/0.1);
  EXPECT_DOUBLE_EQ(lr(0), 2.0);
  EXPECT_NEAR(lr(50), 2.0 * (0.9 * 0.5 + 0.1), 1e-15);  // 1.1
  EXPECT_NEAR(lr(100), 0.2, 1e-15);
  EXPECT_NEAR(lr(500), 0.2, 1e-15);
}

TEST(LearningRateTest, CosineDecayWarmup) {
  // Linear 0.2 -> 1.0 over 4 steps, then cosine from 1.0 over 100 steps.
  auto lr = LearningRateFn::CosineDecay(0.2, 100, 0.0, /*warmup_steps=*/4,
                                        /*warmup_target=*/1.0);
  EXPECT_DOUBLE_EQ(lr(0), 0.2);
  EXPECT_NEAR(lr(1), 0.4, 1e-15);
  EXPECT_NEAR(lr(2), 0.6, 1e-15);
  EXPECT_NEAR(lr(3), 0.8, 1e-15);
  EXPECT_DOUBLE_EQ(lr(4), 1.0);      // peak
  EXPECT_NEAR(lr(54), 0.5, 1e-15);  // half way through the decay
  EXPECT_NEAR(lr(104), 0.0, 1e-15);
  EXPECT_NEAR(lr(1000), 0.0, 1e-15);
}

TEST(LearningRateTest, CosineDecayWarmupStepsIgnoredWithoutTarget) {
  auto lr = LearningRateFn::CosineDecay(1.0, 100, 0.0, /*warmup_steps=*/10);
  EXPECT_DOUBLE_EQ(lr(0), 1.0);
  EXPECT_NEAR(lr(50), 0.5, 1e-15);
}

TEST(LearningRateTest, ConfigsAreKerasShaped) {
  EXPECT_EQ(LearningRateFn::ExponentialDecay(0.1, 10, 0.5, true).ToConfig(),
            json::parse(R"({"class_name": "ExponentialDecay",
                            "config": {"initial_learning_rate": 0.1, "decay_steps": 10,
                                       "decay_rate": 0.5, "staircase": true}})"));
  EXPECT_EQ(LearningRateFn::PiecewiseConstantDecay({5}, {1.0, 0.5}).ToConfig(),
            json::parse(R"({"class_name": "PiecewiseConstantDecay",
                            "config": {"boundaries": [5], "values": [1.0, 0.5]}})"));
  EXPECT_EQ(LearningRateFn::CosineDecay(0.5, 10).ToConfig(),
            json::parse(R"({"class_name": "CosineDecay",
                            "config": {"initial_learning_rate": 0.5, "decay_steps": 10,
                                       "alpha": 0.0, "warmup_target": null,
                                       "warmup_steps": 0}})"));
}

TEST(LearningRateTest, ConfigRoundTrip) {
  const LearningRateFn schedules[] = {
      LearningRateFn::Constant(0.25),
      LearningRateFn::ExponentialDecay(0.1, 10, 0.5, true),
      LearningRateFn::PiecewiseConstantDecay({100, 200}, {1.0, 0.5, 0.1}),
      LearningRateFn::CosineDecay(0.2, 100, 0.1, 4, 1.0),
  };
  for (const auto& original : schedules) {
    auto loaded = LearningRateFn::FromConfig(original.ToConfig(), "test");
    EXPECT_EQ(loaded.ToConfig(), original.ToConfig());
    EXPECT_EQ(loaded.name(), original.name());
    for (int64_t step : {0, 1, 3, 4, 10, 50, 101, 150, 250}) {
      EXPECT_DOUBLE_EQ(loaded(step), original(step)) << original.name() << " " << step;
    }
  }
}

TEST(LearningRateTest, FromKerasConfigWithNameAndDefaults) {
  // Keras writes "name"; optional keys may be absent; ints may be floats.
  auto lr = LearningRateFn::FromConfig(
      json::parse(R"({"class_name": "ExponentialDecay",
                      "config": {"initial_learning_rate": 1, "decay_steps": 10.0,
                                 "decay_rate": 0.1, "name": null}})"),
      "ctx");
  EXPECT_DOUBLE_EQ(lr(10), 0.1);
  EXPECT_DOUBLE_EQ(lr(5), std::sqrt(0.1));  // not staircase by default

  auto cosine = LearningRateFn::FromConfig(
      json::parse(R"({"class_name": "CosineDecay",
                      "config": {"initial_learning_rate": 1.0, "decay_steps": 100,
                                 "name": "CosineDecay"}})"),
      "ctx");
  EXPECT_NEAR(cosine(50), 0.5, 1e-15);

  auto piecewise = LearningRateFn::FromConfig(
      json::parse(R"({"class_name": "PiecewiseConstantDecay",
                      "config": {"boundaries": {"class_name": "__tuple__", "items": [10]},
                                 "values": [3, 4]}})"),
      "ctx");
  EXPECT_DOUBLE_EQ(piecewise(10), 3.0);
  EXPECT_DOUBLE_EQ(piecewise(11), 4.0);
}

TEST(LearningRateTest, FromConfigErrorsNameTheContext) {
  const std::string ctx = "$[0].config.learning_rate_fn";
  ExpectThrowWith<InvalidArgument>(
      [&] {
        LearningRateFn::FromConfig(
            json::parse(R"({"class_name": "InverseTimeDecay", "config": {}})"), ctx);
      },
      {ctx, "InverseTimeDecay", "CosineDecay"});
  ExpectThrowWith<InvalidArgument>(
      [&] {
        LearningRateFn::FromConfig(
            json::parse(R"({"class_name": "ExponentialDecay",
                            "config": {"initial_learning_rate": 0.1, "decay_rate": 0.5}})"),
            ctx);
      },
      {ctx, "ExponentialDecay", "missing key 'decay_steps'"});
  ExpectThrowWith<InvalidArgument>(
      [&] {
        LearningRateFn::FromConfig(
            json::parse(R"({"class_name": "Constant", "config": {"learning_rate": "fast"}})"),
            ctx);
      },
      {ctx, "learning_rate must be a number"});
  ExpectThrowWith<InvalidArgument>(
      [&] {
        LearningRateFn::FromConfig(
            json::parse(R"({"class_name": "Constant",
                            "config": {"learning_rate": 0.1, "decay": 2}})"),
            ctx);
      },
      {ctx, "unknown key 'decay'", "learning_rate"});
  ExpectThrowWith<InvalidArgument>(
      [&] {
        LearningRateFn::FromConfig(
            json::parse(R"({"class_name": "PiecewiseConstantDecay",
                            "config": {"boundaries": [1, 2], "values": [1.0]}})"),
            ctx);
      },
      {ctx, "PiecewiseConstantDecay", "values (1)"});
  ExpectThrowWith<InvalidArgument>(
      [&] {
        LearningRateFn::FromConfig(
            json::parse(R"({"class_name": "CosineDecay",
                            "config": {"initial_learning_rate": 0.1, "decay_steps": 0}})"),
            ctx);
      },
      {ctx, "decay_steps must be > 0"});
  ExpectThrowWith<InvalidArgument>(
      [&] { LearningRateFn::FromConfig(json::parse(R"(0.1)"), ctx); },
      {ctx, "class_name"});
}

TEST(LearningRateTest, CallableIsNotSerializable) {
  LearningRateFn lr([](int64_t step) { return 1.0 / (1.0 + step); }, "my_schedule");
  EXPECT_DOUBLE_EQ(lr(1), 0.5);
  EXPECT_FALSE(lr.serializable());
  ExpectThrowWith<FailedPrecondition>([&] { lr.ToConfig(); }, {"my_schedule"});
}

}  // namespace
}  // namespace embcol
