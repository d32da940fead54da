// F16C float16 row conversion for the dynamic table. Compiled with
// -mavx2 -mf16c; called only after the CPU check in
// dynamic_table_convert.cc. Plain loops and intrinsics only: no inline or
// template code shared with other translation units (see pooled_lookup.h).
#include <immintrin.h>

#include <cstdint>

#include "embedding/dynamic_table_convert.h"

namespace embcol::internal {

void EncodeF16RowF16c(const float* in, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  if (i < n) {  // tail through a small buffer: nothing past out[n) is written
    float buf[8] = {};
    uint16_t res[8];
    for (int64_t k = i; k < n; ++k) buf[k - i] = in[k];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(res),
                     _mm256_cvtps_ph(_mm256_loadu_ps(buf), _MM_FROUND_TO_NEAREST_INT));
    for (int64_t k = i; k < n; ++k) out[k] = res[k - i];
  }
}

void DecodeF16RowF16c(const uint16_t* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  if (i < n) {
    uint16_t buf[8] = {};
    float res[8];
    for (int64_t k = i; k < n; ++k) buf[k - i] = in[k];
    _mm256_storeu_ps(res, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(buf))));
    for (int64_t k = i; k < n; ++k) out[k] = res[k - i];
  }
}

}  // namespace embcol::internal
