#include "embedding/dynamic_table_convert.h"

#include <atomic>

namespace embcol::internal {
namespace {

std::atomic<bool> f16c_allowed{true};

bool UseF16c() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  return has && f16c_allowed.load(std::memory_order_relaxed);
}

}  // namespace

void SetF16cAllowed(bool allowed) { f16c_allowed.store(allowed, std::memory_order_relaxed); }

uint16_t EncodeF16Ref(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to Inf
  if (abs >= 0x38800000u) {  // normal half: exponent >= -14
    // Rebias the exponent (127 -> 15) and round the 13 dropped bits.
    const uint32_t rebased = abs - 0x38000000u;
    const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
    return static_cast<uint16_t>(sign | (rounded >> 13));
  }
  if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // < half the smallest subnormal
  // Subnormal half: value = m * 2^-24 with m = round(abs_value * 2^24).
  const uint32_t exp = abs >> 23;
  const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - exp;  // in [14, 24]
  const uint32_t half_bit = 1u << (shift - 1);
  const uint32_t rest = mant & ((1u << shift) - 1);
  uint32_t m = mant >> shift;
  if (rest > half_bit || (rest == half_bit && (m & 1u))) ++m;
  return static_cast<uint16_t>(sign | m);
}

float DecodeF16Ref(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    u = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    u = sign;
  } else {  // subnormal: normalize
    int e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    u = sign | (static_cast<uint32_t>(e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

void EncodeBf16Row(const float* in, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = EncodeBf16(in[i]);
}

void DecodeBf16Row(const uint16_t* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = DecodeBf16(in[i]);
}

void EncodeF16Row(const float* in, uint16_t* out, int64_t n) {
  if (UseF16c()) return EncodeF16RowF16c(in, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = EncodeF16Ref(in[i]);
}

void DecodeF16Row(const uint16_t* in, float* out, int64_t n) {
  if (UseF16c()) return DecodeF16RowF16c(in, out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = DecodeF16Ref(in[i]);
}

}  // namespace embcol::internal
