// Embedding lookups: TensorFlow's embedding_lookup_sparse and
// safe_embedding_lookup_sparse over a fixed EmbeddingTable, and the pooled
// lookup kernel they run on.
//
// Meaning (per output row r, with the row's ids x_i and weights w_i, w_i = 1
// when there are no weights; e_i = table[x_i], clipped to max_norm if set):
//
//   out[r] = sum_i w_i e_i                        combiner sum
//          = sum_i w_i e_i / sum_i w_i            combiner mean  (0 if sum w = 0)
//          = sum_i w_i e_i / sqrt(sum_i w_i^2)    combiner sqrtn (0 if denom = 0)
//   clip(e) = e * max_norm / max(||e||_2, max_norm)
//
// An empty row gives the zero vector. Every row of the input is present in
// the output (TensorFlow's unsafe lookup drops trailing empty rows; embcol
// does not).
//
// The functions are thread-safe for concurrent calls on a table no one is
// writing to.
#ifndef EMBCOL_EMBEDDING_LOOKUP_H_
#define EMBCOL_EMBEDDING_LOOKUP_H_

#include <cstdint>
#include <optional>
#include <string>

#include "embcol/combiner.h"
#include "embcol/embedding_table.h"
#include "embcol/tensor.h"

namespace embcol {

// safe_embedding_lookup_sparse: ids of shape [d0, .., d{n-1}, k] (n >= 1);
// prunes ids < 0, and for mean / sqrtn with weights prunes weights <= 0;
// returns [d0, .., d{n-1}, dim]. An id >= num_rows throws OutOfRange naming
// `context` (the column) and the id.
DenseTensor SafeEmbeddingLookupSparse(const EmbeddingTable& table,
                                      const IdTensor& ids, Combiner combiner,
                                      std::optional<float> max_norm,
                                      const std::string& context);

// embedding_lookup_sparse: no pruning; ids must be rank 2 [batch, k];
// returns [batch, dim] (all rows). An id < 0 or >= num_rows throws
// OutOfRange naming `context` and the id.
DenseTensor EmbeddingLookupSparse(const EmbeddingTable& table,
                                  const IdTensor& ids, Combiner combiner,
                                  std::optional<float> max_norm,
                                  const std::string& context);

namespace kernels {

// The pooled lookup kernel on ragged input. out has ragged.num_rows() * dim
// floats. Returns -1 on success, or the position (into ragged.ids) of the
// first id outside [0, num_rows) -- nothing is thrown. Rows are combined as
// in the header comment; no pruning happens here.
//
// PooledLookup dispatches at run time to the fastest instruction set the CPU
// has (AVX-512, AVX2, then the portable reference). PooledLookupRef is the
// scalar reference that reads like the formula.
int64_t PooledLookup(const float* table, int64_t num_rows, int64_t dim,
                     const RaggedIds& ragged, Combiner combiner,
                     std::optional<float> max_norm, float* out);
int64_t PooledLookupRef(const float* table, int64_t num_rows, int64_t dim,
                        const RaggedIds& ragged, Combiner combiner,
                        std::optional<float> max_norm, float* out);

// For tests and benchmarks: force a path ("ref", "avx2", "avx512", or
// "auto"). Returns false (and changes nothing) when the CPU lacks the
// instruction set or the name is unknown. Process-wide setting.
bool ForcePooledLookupPath(const std::string& path);
// The path PooledLookup currently takes.
std::string PooledLookupPath();

}  // namespace kernels
}  // namespace embcol

#endif  // EMBCOL_EMBEDDING_LOOKUP_H_
