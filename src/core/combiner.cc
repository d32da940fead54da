#include "embcol/combiner.h"

#include "embcol/errors.h"

namespace embcol {

Combiner ParseCombiner(std::string_view text, std::string_view context) {
  if (text == "mean") return Combiner::kMean;
  if (text == "sqrtn") return Combiner::kSqrtn;
  if (text == "sum") return Combiner::kSum;
  throw InvalidArgument(std::string(context) +
                        ": combiner must be one of 'mean', 'sqrtn' or 'sum'; got '" +
                        std::string(text) + "'.");
}

std::string_view CombinerName(Combiner combiner) {
  switch (combiner) {
    case Combiner::kSum: return "sum";
    case Combiner::kMean: return "mean";
    case Combiner::kSqrtn: return "sqrtn";
  }
  return "mean";
}

}  // namespace embcol
