// LearningRateFn: a table's learning rate as a function of the global step
// (TensorFlow's learning_rate_fn of the TPU embedding columns).
//
// Either a built-in schedule, which round-trips through JSON, or any C++
// callable (which cannot be serialized). Built-in schedules and their
// configs ({"class_name": ..., "config": {...}}):
//
//   Constant               {learning_rate}
//   ExponentialDecay       {initial_learning_rate, decay_steps, decay_rate,
//                           staircase=false}
//       lr = initial * decay_rate ^ (step / decay_steps)   (floor'd if staircase)
//   PiecewiseConstantDecay {boundaries: [b0..bn-1], values: [v0..vn]}
//       lr = v0 for step <= b0, v1 for b0 < step <= b1, ..., vn after bn-1
//   CosineDecay            {initial_learning_rate, decay_steps, alpha=0,
//                           warmup_steps=0, warmup_target=null}
//       linear warm-up from initial to warmup_target over warmup_steps, then
//       cosine decay from the peak to peak*alpha over decay_steps.
//
// Immutable after construction: thread-safe.
#ifndef EMBCOL_LEARNING_RATE_H_
#define EMBCOL_LEARNING_RATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace embcol {

class LearningRateFn {
 public:
  using Function = std::function<double(int64_t global_step)>;

  // A C++ callable; `name` is only for messages. Not serializable.
  LearningRateFn(Function fn, std::string name);
  static LearningRateFn Constant(double learning_rate);
  static LearningRateFn ExponentialDecay(double initial_learning_rate,
                                         int64_t decay_steps, double decay_rate,
                                         bool staircase = false);
  static LearningRateFn PiecewiseConstantDecay(std::vector<int64_t> boundaries,
                                               std::vector<double> values);
  static LearningRateFn CosineDecay(double initial_learning_rate,
                                    int64_t decay_steps, double alpha = 0.0,
                                    int64_t warmup_steps = 0,
                                    std::optional<double> warmup_target = {});
  // Parses a built-in schedule's config. Throws InvalidArgument naming
  // `context` for an unknown class or a bad field.
  static LearningRateFn FromConfig(const nlohmann::json& config,
                                   const std::string& context);

  double operator()(int64_t global_step) const { return fn_(global_step); }
  // True for the built-in schedules.
  bool serializable() const { return !config_.is_null(); }
  // The config of a built-in schedule. Throws FailedPrecondition for a
  // C++ callable (naming it).
  const nlohmann::json& ToConfig() const;
  const std::string& name() const { return name_; }

 private:
  LearningRateFn(Function fn, std::string name, nlohmann::json config);
  Function fn_;
  std::string name_;
  nlohmann::json config_;  // null for C++ callables
};

}  // namespace embcol

#endif  // EMBCOL_LEARNING_RATE_H_
