// Internal to the Estimator (estimator.h): turning a DataSourceConfig into an
// InputPipeline whose batches carry the model's features, its labels and its
// example weights. Not public. Pure functions: thread-safe.
#ifndef EMBCOL_MODEL_ESTIMATOR_INPUT_H_
#define EMBCOL_MODEL_ESTIMATOR_INPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "embcol/feature.h"
#include "embcol/input_pipeline.h"
#include "embcol/model_config.h"
#include "embcol/tensor.h"

namespace embcol::internal {

// Pipeline options reading `data` for `config`'s columns: the reader and
// parser of the data's format, with the label (and weight) feature when
// with_label. The caller sets batch size, epochs, shuffling and skipping.
// Throws InvalidArgument naming data.json_path for a CSV header that cannot
// be read or lacks the label, NotFound for a pattern matching no file.
InputPipelineOptions MakeInputOptions(const DataSourceConfig& data, const ModelConfig& config,
                                      bool with_label);

// The labels of a batch as [batch, label_dimension] floats (int64 labels
// are converted). Throws InvalidArgument naming the label key and `where`
// when the feature is absent, sparse or of another width.
DenseTensor BatchLabels(const FeatureBatch& batch, const std::string& key,
                        int64_t label_dimension, const std::string& where);

// The example weights of a batch (one float per example). Same errors.
std::vector<float> BatchWeights(const FeatureBatch& batch, const std::string& key,
                                int64_t batch_size, const std::string& where);

// The number of examples in a batch (the label's rows, else any feature's).
int64_t BatchSize(const FeatureBatch& batch, const std::string& label_key);

}  // namespace embcol::internal

#endif  // EMBCOL_MODEL_ESTIMATOR_INPUT_H_
