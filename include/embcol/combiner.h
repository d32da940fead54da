// Combiner: how the embeddings of one row's ids are reduced to one vector.
//
//   sum   = sum_i w_i e_i
//   mean  = sum_i w_i e_i / sum_i w_i          (0 when sum_i w_i == 0)
//   sqrtn = sum_i w_i e_i / sqrt(sum_i w_i^2)  (0 when the denominator is 0)
//
// (w_i = 1 without weights.) Plain enum and pure functions: thread-safe.
#ifndef EMBCOL_COMBINER_H_
#define EMBCOL_COMBINER_H_

#include <string>
#include <string_view>

namespace embcol {

enum class Combiner { kSum, kMean, kSqrtn };

// "mean", "sqrtn" or "sum". Anything else throws InvalidArgument
// "combiner must be one of 'mean', 'sqrtn' or 'sum'" naming `context`.
Combiner ParseCombiner(std::string_view text, std::string_view context);
std::string_view CombinerName(Combiner combiner);

}  // namespace embcol

#endif  // EMBCOL_COMBINER_H_
