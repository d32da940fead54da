// Internal entry points of the pooled lookup kernel, one per instruction set.
//
// All have the contract of kernels::PooledLookupRef (embcol/embedding_lookup.h):
//
//   for r in rows:
//     ids_r = ragged.ids[row_splits[r] .. row_splits[r+1])
//     if any id in ids_r is outside [0, num_rows): return its position
//     s_i = w_i * clip_i          clip_i = max_norm / max(||e_i||, max_norm)  (1 if unset)
//     d   = 1 | sum w_i | sqrt(sum w_i^2)          for sum | mean | sqrtn
//     out[r] = d == 0 ? 0 : sum_i s_i e_i / d
//   return -1
//
// Rows are processed in order and a row's ids are all checked before its
// output is written, so every path returns the same (first) bad position.
// On a bad id the content of `out` is unspecified, but nothing outside
// out[0 .. num_rows_out * dim) is written. Nothing throws.
//
// The AVX2 and AVX-512 versions live in files compiled for that instruction
// set; call them only after the CPU check in pooled_lookup_dispatch.cc.
// Pure functions of their inputs: thread-safe.
//
// Design of the vector paths (per output row):
//   1. Check the row's ids; compute d from the weights (double).
//   2. Take the ids in groups of kGroup. For each: s_i / d into a small stack
//      array (with the norm pass over e_i when max_norm is set).
//   3. Walk the dimension in chunks of up to 8 vector registers; for each
//      chunk, sum s_i e_i over the group's ids in registers (FMA), then
//      store (first group) or add into out.
//   4. Tails (dim not a multiple of the vector width) use masked loads and
//      stores, so no byte past a table row or an output row is touched.
//   Rows of ids a few positions ahead (across row boundaries) are
//   software-prefetched on their first touch pass.
#ifndef EMBCOL_EMBEDDING_POOLED_LOOKUP_H_
#define EMBCOL_EMBEDDING_POOLED_LOOKUP_H_

#include <cstdint>

#include "embcol/combiner.h"

namespace embcol::internal {

// Flat arguments of the per-ISA kernels. Plain data only: the ISA files must
// not instantiate inline or template code shared with other translation units
// (std::optional, std::vector accessors, std::min...). The linker keeps one
// copy of such code, and the copy compiled with -mavx512f could then run on a
// CPU without AVX-512.
struct PooledLookupArgs {
  const float* table;
  int64_t num_rows;        // rows of the table
  int64_t dim;
  const int64_t* row_splits;
  int64_t num_out_rows;    // rows of the ragged input and of out
  const int64_t* ids;
  int64_t num_ids;
  const float* weights;    // nullptr: all weights 1
  Combiner combiner;
  bool has_max_norm;
  float max_norm;
  float* out;
};

int64_t PooledLookupAvx2(const PooledLookupArgs& args);
int64_t PooledLookupAvx512(const PooledLookupArgs& args);

}  // namespace embcol::internal

#endif  // EMBCOL_EMBEDDING_POOLED_LOOKUP_H_
