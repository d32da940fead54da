// WideDeepModel: the routing of layer-output blocks to the two parts, its
// gradient (central differences), and its errors.
#include "embcol/wide_deep_model.h"

#include <gtest/gtest.h>

#include <vector>

#include "embcol/errors.h"
#include "model/model_test_util.h"

namespace embcol {
namespace {

using model_test::CheckGradients;
using model_test::RandomTensor;

// A layer output of width 7: column A = [0, 2), B = [2, 5), C = [5, 7).
// The DNN reads A and B, the linear part B and C: B feeds both.
const std::vector<InputBlock> kDnnBlocks = {{0, 2}, {2, 3}};
const std::vector<InputBlock> kLinearBlocks = {{2, 3}, {5, 2}};

DnnOptions Dnn2() { return DnnOptions{.hidden_units = {3}, .activation = Activation::kTanh, .seed = 4}; }

TEST(WideDeepModelTest, LogitsAreTheTwoPartsOnTheirColumns) {
  WideDeepModel model(7, kDnnBlocks, Dnn2(), kLinearBlocks);
  // Give the linear part non-zero weights so it contributes.
  for (DenseParam& p : model.parts().LinearParameters()) {
    for (size_t k = 0; k < p.value.size(); ++k) p.value[k] = 0.25f * static_cast<float>(k + 1);
  }
  const DenseTensor x = RandomTensor(3, 7, 11);
  // The parts' inputs, cut by hand: DNN = columns 0..4, linear = columns 2..6.
  DenseTensor dnn_in({3, 5}, std::vector<float>(15)), lin_in({3, 5}, std::vector<float>(15));
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 5; ++c) {
      dnn_in.values[r * 5 + c] = x.values[r * 7 + c];
      lin_in.values[r * 5 + c] = x.values[r * 7 + 2 + c];
    }
  }
  const DenseTensor want = model.parts().Predict(dnn_in, lin_in);
  EXPECT_EQ(model.Predict(x).values, want.values);
  EXPECT_EQ(model.Forward(x, /*training=*/false).values, want.values);
  // The linear logit alone: sum of 0.25 (k + 1) x_{2+k} for k < 5, bias 0.25 * 1.
  LinearModel alone(5);
  for (DenseParam& p : alone.Parameters()) {
    for (size_t k = 0; k < p.value.size(); ++k) p.value[k] = 0.25f * static_cast<float>(k + 1);
  }
  const DenseTensor lin = alone.Predict(lin_in);
  for (int r = 0; r < 3; ++r) {
    double by_hand = 0.25;  // bias: its one value is k = 0
    for (int k = 0; k < 5; ++k) by_hand += 0.25 * (k + 1) * x.values[r * 7 + 2 + k];
    EXPECT_NEAR(lin.values[r], by_hand, 1e-5);
  }
  EXPECT_EQ(model.input_dim(), 7);
  EXPECT_EQ(model.logits_dim(), 1);
  EXPECT_EQ(model.Parameters().size(), 2u + 4u);  // linear kernel, bias; 2 DNN layers
}

TEST(WideDeepModelTest, GradientsMatchCentralDifferences) {
  WideDeepModel model(7, kDnnBlocks, Dnn2(), kLinearBlocks);
  for (DenseParam& p : model.parts().LinearParameters()) {
    for (size_t k = 0; k < p.value.size(); ++k) p.value[k] = 0.3f - 0.1f * static_cast<float>(k);
  }
  const auto forward = [](LogitsModel& m, const DenseTensor& x) { return m.Forward(x, true); };
  // Checks every parameter and d(input): column B's gradient is the sum of
  // what both parts send back.
  CheckGradients(model, RandomTensor(4, 7, 5), forward, /*seed=*/6);
}

TEST(WideDeepModelTest, Errors) {
  EXPECT_THROW(WideDeepModel(7, {}, Dnn2(), kLinearBlocks), InvalidArgument);
  EXPECT_THROW(WideDeepModel(7, kDnnBlocks, Dnn2(), {}), InvalidArgument);
  EXPECT_THROW(WideDeepModel(7, {{6, 2}}, Dnn2(), kLinearBlocks), InvalidArgument);
  WideDeepModel model(7, kDnnBlocks, Dnn2(), kLinearBlocks);
  EXPECT_THROW(model.Backward(RandomTensor(2, 1, 1)), FailedPrecondition);
  EXPECT_THROW(model.Predict(RandomTensor(2, 6, 1)), InvalidArgument);
}

}  // namespace
}  // namespace embcol
