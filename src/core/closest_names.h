// ClosestNames: the names of a list nearest to a wanted one by edit
// distance, for "no tensor X; closest names: ..." messages. Not public.
// Pure functions: thread-safe.
#ifndef EMBCOL_CORE_CLOSEST_NAMES_H_
#define EMBCOL_CORE_CLOSEST_NAMES_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace embcol::internal {

// Levenshtein distance (insert, delete, substitute: cost 1 each).
inline size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The at most n names of `names` closest to `wanted`, nearest first (ties
// by name).
inline std::vector<std::string> ClosestNames(const std::string& wanted,
                                             const std::vector<std::string>& names, size_t n) {
  std::vector<std::pair<size_t, std::string>> near;
  near.reserve(names.size());
  for (const std::string& name : names) near.emplace_back(EditDistance(wanted, name), name);
  std::sort(near.begin(), near.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < near.size() && i < n; ++i) out.push_back(std::move(near[i].second));
  return out;
}

}  // namespace embcol::internal

#endif  // EMBCOL_CORE_CLOSEST_NAMES_H_
