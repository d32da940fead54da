// The scalar reference of the pooled lookup: reads like the formula in
// embcol/embedding_lookup.h, accumulating in double.
#include <cassert>
#include <algorithm>
#include <cmath>
#include <vector>

#include "embcol/embedding_lookup.h"

namespace embcol::kernels {

int64_t PooledLookupRef(const float* table, int64_t num_rows, int64_t dim,
                        const RaggedIds& ragged, Combiner combiner,
                        std::optional<float> max_norm, float* out) {
  assert(!ragged.has_weights() || ragged.weights.size() == ragged.ids.size());
  std::vector<double> acc(static_cast<size_t>(dim));
  for (int64_t r = 0; r < ragged.num_rows(); ++r) {
    const int64_t begin = ragged.row_splits[r];
    const int64_t end = ragged.row_splits[r + 1];
    for (int64_t i = begin; i < end; ++i) {
      if (ragged.ids[i] < 0 || ragged.ids[i] >= num_rows) return i;
    }

    std::fill(acc.begin(), acc.end(), 0.0);
    double weight_sum = 0.0;
    double weight_sq_sum = 0.0;
    for (int64_t i = begin; i < end; ++i) {
      const float* e = table + ragged.ids[i] * dim;
      const double w = ragged.has_weights() ? ragged.weights[i] : 1.0;
      // clip(e) = e * max_norm / max(||e||, max_norm)
      double clip = 1.0;
      if (max_norm.has_value()) {
        double sq = 0.0;
        for (int64_t c = 0; c < dim; ++c) sq += static_cast<double>(e[c]) * e[c];
        const double m = *max_norm;
        clip = m / std::max(std::sqrt(sq), m);
      }
      for (int64_t c = 0; c < dim; ++c) acc[c] += w * clip * e[c];
      weight_sum += w;
      weight_sq_sum += w * w;
    }

    double denom = 1.0;
    if (combiner == Combiner::kMean) denom = weight_sum;
    if (combiner == Combiner::kSqrtn) denom = std::sqrt(weight_sq_sum);
    float* o = out + r * dim;
    for (int64_t c = 0; c < dim; ++c) {
      o[c] = denom == 0.0 ? 0.0f : static_cast<float>(acc[c] / denom);  // div_no_nan
    }
  }
  return -1;
}

}  // namespace embcol::kernels
