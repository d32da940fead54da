// Hash functions that must match TensorFlow bit for bit.
//
//   Fingerprint64      - FarmHash's util::Fingerprint64 (farmhashna::Hash64),
//                        TensorFlow's Fingerprint64 / string_to_hash_bucket_fast.
//   FingerprintDecimal - Fingerprint64 of an int64's decimal text ("-5"), which
//                        is how hash-bucket and vocabulary-OOV hashing treat
//                        integer features (TensorFlow's as_string).
//   FingerprintCat64   - TensorFlow's FingerprintCat64, the fold used by
//                        SparseCross to combine per-feature fingerprints.
//
// All functions are pure and thread-safe; none allocates.
#ifndef EMBCOL_CORE_HASHING_H_
#define EMBCOL_CORE_HASHING_H_

#include <cstdint>
#include <string_view>

namespace embcol::internal {

// The hash of every id-producing column: util::Fingerprint64(bytes).
uint64_t Fingerprint64(std::string_view bytes);

// Fingerprint64 of the plain decimal text of `value` (no '+', no leading
// zeros, '-' for negatives), formatted on the stack.
uint64_t FingerprintDecimal(int64_t value);

// TensorFlow (core/platform/fingerprint.h), all arithmetic mod 2^64:
//   kMul = 0xc6a4a7935bd1e995, ShiftMix(x) = x ^ (x >> 47)
//   r = high ^ kMul; r ^= ShiftMix(low * kMul) * kMul; r *= kMul;
//   r = ShiftMix(r) * kMul; r = ShiftMix(r); return r
uint64_t FingerprintCat64(uint64_t high, uint64_t low);

}  // namespace embcol::internal

#endif  // EMBCOL_CORE_HASHING_H_
