// Row conversion between float32 and the 16-bit storage dtypes of the
// dynamic table (float16, bfloat16), rounding to nearest even.
//
//   EncodeBf16(x) = upper 16 bits of x rounded to nearest even; NaN stays
//                   a (quiet) NaN
//   DecodeBf16(b) = float with bits b << 16                 (exact)
//   EncodeF16(x)  = IEEE binary16 nearest to x, ties to even; overflow to
//                   +-Inf, underflow to subnormals / zero; NaN stays NaN
//   DecodeF16(h)  = the float equal to h                     (exact)
//
// The *Row functions convert n values; float16 uses the F16C instructions
// when the CPU has them (AVX2 file, chosen at run time) and the scalar
// reference otherwise; both give identical bits. Pure: thread-safe.
#ifndef EMBCOL_EMBEDDING_DYNAMIC_TABLE_CONVERT_H_
#define EMBCOL_EMBEDDING_DYNAMIC_TABLE_CONVERT_H_

#include <cstdint>
#include <cstring>

namespace embcol::internal {

inline uint16_t EncodeBf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float DecodeBf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

uint16_t EncodeF16Ref(float x);
float DecodeF16Ref(uint16_t h);

void EncodeBf16Row(const float* in, uint16_t* out, int64_t n);
void DecodeBf16Row(const uint16_t* in, float* out, int64_t n);
void EncodeF16Row(const float* in, uint16_t* out, int64_t n);
void DecodeF16Row(const uint16_t* in, float* out, int64_t n);

// The F16C paths (dynamic_table_avx2.cc). REQUIRES: the CPU has AVX2+F16C.
void EncodeF16RowF16c(const float* in, uint16_t* out, int64_t n);
void DecodeF16RowF16c(const uint16_t* in, float* out, int64_t n);

// Tests: false forces the scalar reference for float16 rows.
void SetF16cAllowed(bool allowed);

}  // namespace embcol::internal

#endif  // EMBCOL_EMBEDDING_DYNAMIC_TABLE_CONVERT_H_
