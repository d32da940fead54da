#include "core/hashing.h"

#include <charconv>

#include <farmhash.h>

namespace embcol::internal {

uint64_t Fingerprint64(std::string_view bytes) {
  return util::Fingerprint64(bytes.data(), bytes.size());
}

uint64_t FingerprintDecimal(int64_t value) {
  // 20 characters hold INT64_MIN ("-9223372036854775808").
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return util::Fingerprint64(buffer, static_cast<size_t>(result.ptr - buffer));
}

namespace {
constexpr uint64_t ShiftMix(uint64_t x) { return x ^ (x >> 47); }
}  // namespace

uint64_t FingerprintCat64(uint64_t high, uint64_t low) {
  constexpr uint64_t kMul = 0xc6a4a7935bd1e995ULL;
  uint64_t result = high ^ kMul;
  result ^= ShiftMix(low * kMul) * kMul;
  result *= kMul;
  result = ShiftMix(result) * kMul;
  result = ShiftMix(result);
  return result;
}

}  // namespace embcol::internal
