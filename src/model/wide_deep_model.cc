#include "embcol/wide_deep_model.h"

#include <algorithm>
#include <string>
#include <utility>

#include "embcol/errors.h"

namespace embcol {
namespace {

int64_t CheckedWidth(const std::vector<InputBlock>& blocks, int64_t input_dim, const char* part) {
  if (blocks.empty()) {
    throw InvalidArgument(std::string("WideDeepModel: the ") + part +
                          " part reads no column; give it at least one.");
  }
  int64_t width = 0;
  for (const InputBlock& b : blocks) {
    if (b.offset < 0 || b.width < 1 || b.offset + b.width > input_dim) {
      throw InvalidArgument(std::string("WideDeepModel: a ") + part + " block [" +
                            std::to_string(b.offset) + ", " + std::to_string(b.offset + b.width) +
                            ") lies outside the layer output of width " +
                            std::to_string(input_dim) + ".");
    }
    width += b.width;
  }
  return width;
}

}  // namespace

WideDeepModel::WideDeepModel(int64_t input_dim, std::vector<InputBlock> dnn_blocks,
                             DnnOptions dnn_options, std::vector<InputBlock> linear_blocks,
                             LinearOptions linear_options)
    : input_dim_(input_dim),
      dnn_blocks_(std::move(dnn_blocks)),
      linear_blocks_(std::move(linear_blocks)),
      dnn_width_(CheckedWidth(dnn_blocks_, input_dim, "DNN")),
      linear_width_(CheckedWidth(linear_blocks_, input_dim, "linear")),
      model_(dnn_width_, std::move(dnn_options), linear_width_, std::move(linear_options)) {}

DenseTensor WideDeepModel::Gather(const DenseTensor& input, const std::vector<InputBlock>& blocks,
                                  int64_t width) const {
  if (input.shape.size() != 2 || input.shape[1] != input_dim_) {
    throw InvalidArgument("WideDeepModel: input must be [batch, " + std::to_string(input_dim_) +
                          "]; got " + ShapeString(input.shape) + ".");
  }
  const int64_t batch = input.shape[0];
  DenseTensor out({batch, width}, std::vector<float>(static_cast<size_t>(batch * width)));
  for (int64_t r = 0; r < batch; ++r) {
    const float* src = input.values.data() + r * input_dim_;
    float* dst = out.values.data() + r * width;
    for (const InputBlock& b : blocks) {
      std::copy_n(src + b.offset, b.width, dst);
      dst += b.width;
    }
  }
  return out;
}

void WideDeepModel::ScatterAdd(const DenseTensor& d_part, const std::vector<InputBlock>& blocks,
                               DenseTensor& d_input) const {
  const int64_t batch = d_input.shape[0], width = d_part.shape[1];
  for (int64_t r = 0; r < batch; ++r) {
    const float* src = d_part.values.data() + r * width;
    float* dst = d_input.values.data() + r * input_dim_;
    for (const InputBlock& b : blocks) {
      for (int64_t c = 0; c < b.width; ++c) dst[b.offset + c] += src[c];
      src += b.width;
    }
  }
}

DenseTensor WideDeepModel::Forward(const DenseTensor& input, bool training) {
  DenseTensor logits = model_.Forward(Gather(input, dnn_blocks_, dnn_width_),
                                      Gather(input, linear_blocks_, linear_width_), training);
  last_batch_ = input.shape[0];
  return logits;
}

DenseTensor WideDeepModel::Predict(const DenseTensor& input) const {
  return model_.Predict(Gather(input, dnn_blocks_, dnn_width_),
                        Gather(input, linear_blocks_, linear_width_));
}

DenseTensor WideDeepModel::Backward(const DenseTensor& d_logits, GradientMode mode) {
  if (last_batch_ < 0) {
    throw FailedPrecondition("WideDeepModel: Backward before any Forward.");
  }
  const DnnLinearCombined::InputGradients g = model_.Backward(d_logits, mode);
  DenseTensor d_input({last_batch_, input_dim_},
                      std::vector<float>(static_cast<size_t>(last_batch_ * input_dim_), 0.0f));
  ScatterAdd(g.dnn, dnn_blocks_, d_input);
  ScatterAdd(g.linear, linear_blocks_, d_input);
  return d_input;
}

}  // namespace embcol
