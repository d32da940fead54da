// The vector pooled lookup, written once over a small "ISA traits" type and
// instantiated by pooled_lookup_avx2.cc and pooled_lookup_avx512.cc. See
// pooled_lookup.h for the contract and the design.
//
// Include ONLY from a file compiled for the instruction set of its traits.
// Everything here has internal linkage (anonymous namespace) and uses no
// library templates or inline functions, so nothing compiled for one
// instruction set can be merged by the linker into code run on another.
//
// Traits S provide:
//   using V (vector of floats), using M (tail mask), kWidth (floats per V),
//   Zero(), Set1(f), Load(p), LoadTail(p, m), Store(p, v), StoreTail(p, m, v),
//   Fmadd(a, b, c) = a*b + c, Add(a, b), ReduceAdd(v), TailMask(n) (first n lanes).
#ifndef EMBCOL_EMBEDDING_POOLED_LOOKUP_SIMD_H_
#define EMBCOL_EMBEDDING_POOLED_LOOKUP_SIMD_H_

#include <immintrin.h>

#include <cstdint>

#include "embedding/pooled_lookup.h"

namespace embcol::internal {
namespace {

// Prefetch distance, in ids (positions in the flat id array).
constexpr int64_t kPrefetchDistance = 8;
// Ids per group: the row pointers and scales of a group live on the stack.
constexpr int kGroup = 32;
// Vector registers per dimension chunk.
constexpr int kChunkVecs = 8;

// 1 / d for the row's combiner, 0 when d == 0 (div_no_nan).
inline float InverseDenominator(const float* weights, int64_t begin, int64_t end,
                                Combiner combiner) {
  if (combiner == Combiner::kSum) return 1.0f;
  double d = 0.0;
  if (weights == nullptr) {
    d = static_cast<double>(end - begin);
  } else if (combiner == Combiner::kMean) {
    for (int64_t i = begin; i < end; ++i) d += weights[i];
  } else {
    for (int64_t i = begin; i < end; ++i) d += static_cast<double>(weights[i]) * weights[i];
  }
  if (combiner == Combiner::kSqrtn) d = __builtin_sqrt(d);
  return d == 0.0 ? 0.0f : static_cast<float>(1.0 / d);
}

// Prefetches every cache line of the table row of the id at `pos`, if that
// position exists and the id is valid (a bad id is reported later, in order).
inline void PrefetchRow(const PooledLookupArgs& a, int64_t pos) {
  if (pos >= a.num_ids) return;
  const int64_t id = a.ids[pos];
  if (static_cast<uint64_t>(id) >= static_cast<uint64_t>(a.num_rows)) return;
  const char* p = reinterpret_cast<const char*>(a.table + id * a.dim);
  const int64_t bytes = a.dim * static_cast<int64_t>(sizeof(float));
  for (int64_t off = 0; off < bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// out[off .. off + kVecs*W (+ tail)) (+)= sum_j scale[j] * rows[j][same range].
// first: store instead of add. prefetch_pos >= 0: prefetch the row of the id
// at prefetch_pos + j while visiting id j.
template <class S, int kVecs>
inline void AccumulateBlock(const PooledLookupArgs& a, const float* const* rows,
                            const float* scale, int n, int64_t off, float* o, bool first,
                            bool has_tail, typename S::M tail_mask, int64_t prefetch_pos) {
  using V = typename S::V;
  constexpr int W = S::kWidth;
  V acc[kVecs + 1];
#pragma GCC unroll 16
  for (int v = 0; v <= kVecs; ++v) acc[v] = S::Zero();
  for (int j = 0; j < n; ++j) {
    if (prefetch_pos >= 0) PrefetchRow(a, prefetch_pos + j);
    const V s = S::Set1(scale[j]);
    const float* e = rows[j] + off;
#pragma GCC unroll 16
    for (int v = 0; v < kVecs; ++v) acc[v] = S::Fmadd(s, S::Load(e + v * W), acc[v]);
    if (has_tail) acc[kVecs] = S::Fmadd(s, S::LoadTail(e + kVecs * W, tail_mask), acc[kVecs]);
  }
  float* dst = o + off;
#pragma GCC unroll 16
  for (int v = 0; v < kVecs; ++v) {
    if (!first) acc[v] = S::Add(acc[v], S::Load(dst + v * W));
    S::Store(dst + v * W, acc[v]);
  }
  if (has_tail) {
    if (!first) acc[kVecs] = S::Add(acc[kVecs], S::LoadTail(dst + kVecs * W, tail_mask));
    S::StoreTail(dst + kVecs * W, tail_mask, acc[kVecs]);
  }
}

// The remainder block (fewer than kChunkVecs full vectors, maybe a tail),
// with the vector count as a template argument so accumulators stay in
// registers.
template <class S>
inline void AccumulateRemainder(int vecs, const PooledLookupArgs& a, const float* const* rows,
                                const float* scale, int n, int64_t off, float* o, bool first,
                                bool has_tail, typename S::M tail_mask, int64_t prefetch_pos) {
  static_assert(kChunkVecs == 8, "update the cases below");
  switch (vecs) {
#define EMBCOL_REMAINDER_CASE(k)                                                           \
  case k:                                                                                  \
    AccumulateBlock<S, k>(a, rows, scale, n, off, o, first, has_tail, tail_mask, prefetch_pos); \
    break;
    EMBCOL_REMAINDER_CASE(0)
    EMBCOL_REMAINDER_CASE(1)
    EMBCOL_REMAINDER_CASE(2)
    EMBCOL_REMAINDER_CASE(3)
    EMBCOL_REMAINDER_CASE(4)
    EMBCOL_REMAINDER_CASE(5)
    EMBCOL_REMAINDER_CASE(6)
    EMBCOL_REMAINDER_CASE(7)
#undef EMBCOL_REMAINDER_CASE
    default:
      break;
  }
}

// ||e||^2 over dim floats.
template <class S>
inline float SumSquares(const float* e, int64_t full_vecs, bool has_tail,
                        typename S::M tail_mask) {
  constexpr int W = S::kWidth;
  typename S::V acc0 = S::Zero(), acc1 = S::Zero();
  int64_t v = 0;
  for (; v + 2 <= full_vecs; v += 2) {
    const typename S::V x0 = S::Load(e + v * W), x1 = S::Load(e + (v + 1) * W);
    acc0 = S::Fmadd(x0, x0, acc0);
    acc1 = S::Fmadd(x1, x1, acc1);
  }
  if (v < full_vecs) {
    const typename S::V x = S::Load(e + v * W);
    acc0 = S::Fmadd(x, x, acc0);
  }
  if (has_tail) {
    const typename S::V x = S::LoadTail(e + full_vecs * W, tail_mask);
    acc1 = S::Fmadd(x, x, acc1);
  }
  return S::ReduceAdd(S::Add(acc0, acc1));
}

template <class S>
int64_t PooledLookupSimd(const PooledLookupArgs& a) {
  constexpr int W = S::kWidth;
  constexpr int64_t kChunk = static_cast<int64_t>(kChunkVecs) * W;
  const int64_t dim = a.dim;
  const int64_t full_chunks = dim / kChunk;
  const int64_t rem = dim - full_chunks * kChunk;
  const int rem_vecs = static_cast<int>(rem / W);
  const int tail = static_cast<int>(rem % W);
  const bool has_tail = tail != 0;
  const typename S::M tail_mask = S::TailMask(tail);
  const int64_t full_vecs = dim / W;

  const float* rows[kGroup];
  float scale[kGroup];

  for (int64_t r = 0; r < a.num_out_rows; ++r) {
    const int64_t begin = a.row_splits[r];
    const int64_t end = a.row_splits[r + 1];
    for (int64_t i = begin; i < end; ++i) {
      if (static_cast<uint64_t>(a.ids[i]) >= static_cast<uint64_t>(a.num_rows)) return i;
    }
    float* o = a.out + r * dim;
    const float inv = InverseDenominator(a.weights, begin, end, a.combiner);
    if (begin == end || inv == 0.0f) {
      for (int64_t c = 0; c < dim; ++c) o[c] = 0.0f;
      continue;
    }
    for (int64_t g = begin; g < end; g += kGroup) {
      const int n = static_cast<int>(end - g < kGroup ? end - g : kGroup);
      for (int j = 0; j < n; ++j) {
        rows[j] = a.table + a.ids[g + j] * dim;
        scale[j] = (a.weights != nullptr ? a.weights[g + j] : 1.0f) * inv;
      }
      // The first pass over the group's rows prefetches ids further ahead.
      int64_t prefetch_pos = g + kPrefetchDistance;
      if (a.has_max_norm) {
        const float m = a.max_norm;
        for (int j = 0; j < n; ++j) {
          PrefetchRow(a, prefetch_pos + j);
          const float norm = __builtin_sqrtf(SumSquares<S>(rows[j], full_vecs, has_tail, tail_mask));
          scale[j] *= m / (norm > m ? norm : m);  // clip = m / max(||e||, m)
        }
        prefetch_pos = -1;
      }
      const bool first = g == begin;
      for (int64_t c = 0; c < full_chunks; ++c) {
        AccumulateBlock<S, kChunkVecs>(a, rows, scale, n, c * kChunk, o, first, false,
                                       tail_mask, prefetch_pos);
        prefetch_pos = -1;
      }
      if (rem > 0) {
        AccumulateRemainder<S>(rem_vecs, a, rows, scale, n, full_chunks * kChunk, o, first,
                               has_tail, tail_mask, prefetch_pos);
      }
    }
  }
  return -1;
}

}  // namespace
}  // namespace embcol::internal

#endif  // EMBCOL_EMBEDDING_POOLED_LOOKUP_SIMD_H_
