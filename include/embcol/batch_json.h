// Feature batches and layer outputs as JSON: the input and output of
// `embcol transform`, and a convenient way to write test batches.
//
// Batch form: {"features": {KEY: FEATURE, ...}} where FEATURE is
//   {"indices": [[...], ...], "values": [...], "dense_shape": [...]}  COO sparse
//   {"values": [...], "row_splits": [...]}                           ragged
//   a nested list                                                    dense
// Values are integers (int64), numbers with a fraction or exponent
// (float32; integers in a float list become floats), or strings. A sparse or
// ragged feature may add "dtype": "int64" | "float32" | "string" (TensorFlow's
// names; "int32", "float64", "float" also accepted) to type empty or integer
// lists.
//
// Pure functions: thread-safe.
#ifndef EMBCOL_BATCH_JSON_H_
#define EMBCOL_BATCH_JSON_H_

#include <string>

#include <nlohmann/json.hpp>

#include "embcol/feature.h"
#include "embcol/tensor.h"

namespace embcol {

// Throws InvalidArgument naming `source` (a file name or "batch") and the
// JSON path of the problem (e.g. $.features.ids.values[3]).
FeatureBatch FeatureBatchFromJson(const nlohmann::json& json,
                                  const std::string& source);

// A float32 tensor as nested JSON lists, each number written with the
// shortest decimal that reads back as the same float.
nlohmann::json DenseTensorToJson(const DenseTensor& tensor);

}  // namespace embcol

#endif  // EMBCOL_BATCH_JSON_H_
