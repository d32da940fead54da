// WideDeepModel: TensorFlow's DNNLinearCombinedClassifier / Regressor as one
// LogitsModel over a single DenseFeatures output, so the Trainer and the
// Estimator can train it. The layer's output is the columns' blocks side by
// side (sorted by column name, DenseFeatures' order); the model is told
// which blocks feed the linear part and which the DNN (a column may feed
// both, as a column may sit in both of TensorFlow's lists):
//
//   logits = dnn.Forward(gather(x, dnn blocks)) + linear.Forward(gather(x, linear blocks))
//   d_x    = scatter_add(d_dnn_input, dnn blocks) + scatter_add(d_linear_input, linear blocks)
//
// Variables are the parts' own ("dnn/...", "linear/linear_model/..."), so a
// Trainer can give the linear part its own optimizer by the prefix
// "linear/" (TensorFlow's defaults: FTRL there, Adagrad for the DNN).
//
// Thread-compatible (see model.h).
#ifndef EMBCOL_WIDE_DEEP_MODEL_H_
#define EMBCOL_WIDE_DEEP_MODEL_H_

#include <cstdint>
#include <vector>

#include "embcol/dnn_linear_combined.h"
#include "embcol/model.h"

namespace embcol {

// One column's block of the layer output: [offset, offset + width).
struct InputBlock {
  int64_t offset = 0;
  int64_t width = 0;
};

class WideDeepModel final : public LogitsModel {
 public:
  // input_dim: the layer's output width. Throws InvalidArgument when a block
  // lies outside [0, input_dim), when either part has no block, or what
  // DnnLinearCombined throws.
  WideDeepModel(int64_t input_dim, std::vector<InputBlock> dnn_blocks, DnnOptions dnn_options,
                std::vector<InputBlock> linear_blocks, LinearOptions linear_options = {});

  int64_t input_dim() const override { return input_dim_; }
  int64_t logits_dim() const override { return model_.logits_dim(); }
  DenseTensor Forward(const DenseTensor& input, bool training) override;
  DenseTensor Predict(const DenseTensor& input) const override;
  DenseTensor Backward(const DenseTensor& d_logits,
                       GradientMode mode = GradientMode::kOverwrite) override;
  // Linear parameters, then the DNN's.
  std::vector<DenseParam> Parameters() override { return model_.Parameters(); }
  void ZeroGradients() override { model_.ZeroGradients(); }

  DnnLinearCombined& parts() { return model_; }

 private:
  // The blocks' columns of `input`, side by side: [batch, sum of widths].
  DenseTensor Gather(const DenseTensor& input, const std::vector<InputBlock>& blocks,
                     int64_t width) const;
  void ScatterAdd(const DenseTensor& d_part, const std::vector<InputBlock>& blocks,
                  DenseTensor& d_input) const;

  int64_t input_dim_;
  std::vector<InputBlock> dnn_blocks_, linear_blocks_;
  int64_t dnn_width_ = 0, linear_width_ = 0;
  DnnLinearCombined model_;
  int64_t last_batch_ = -1;  // batch of the latest Forward
};

}  // namespace embcol

#endif  // EMBCOL_WIDE_DEEP_MODEL_H_
