// Counter-based random numbers for table initialization.
//
// Every value is a pure function of (seed, row, col, draw): there is no
// generator state, so row r of a table comes out the same whatever the table
// size, the order rows are filled in, or the thread that fills them. The
// standard library's distributions are not used because their algorithms are
// implementation-defined.
//
// Design:
//   bits(seed, row, col, draw) = Mix(Mix(Mix(Mix(seed ^ K0) ^ row) ^ col) ^ draw)
//   Mix = the splitmix64 / murmur3 64-bit finalizer (a bijection with full
//   avalanche), so each extra input word is folded in after a full mix.
//   Uniform(bits)  = ((bits >> 11) + 0.5) * 2^-53, in the open interval (0, 1).
//   Normal(...)    = Box-Muller on two uniforms from draws 2k and 2k+1:
//                    sqrt(-2 ln u1) * cos(2 pi u2), computed in double.
//
// Pure functions: thread-safe.
#ifndef EMBCOL_EMBEDDING_COUNTER_RANDOM_H_
#define EMBCOL_EMBEDDING_COUNTER_RANDOM_H_

#include <cmath>
#include <cstdint>

namespace embcol::internal {

inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t CounterBits(uint64_t seed, uint64_t row, uint64_t col,
                            uint64_t draw) {
  uint64_t h = Mix64(seed ^ 0x9e3779b97f4a7c15ULL);
  h = Mix64(h ^ row);
  h = Mix64(h ^ (col + 0x632be59bd9b4e019ULL));
  return Mix64(h ^ (draw * 0xd6e8feb86659fd93ULL));
}

// Uniform in (0, 1): never exactly 0 or 1.
inline double CounterUniform(uint64_t seed, uint64_t row, uint64_t col,
                             uint64_t draw) {
  const uint64_t bits = CounterBits(seed, row, col, draw);
  return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;
}

// Standard normal, attempt number `attempt` for element (row, col).
inline double CounterNormal(uint64_t seed, uint64_t row, uint64_t col,
                            uint64_t attempt) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const double u1 = CounterUniform(seed, row, col, 2 * attempt);
  const double u2 = CounterUniform(seed, row, col, 2 * attempt + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

}  // namespace embcol::internal

#endif  // EMBCOL_EMBEDDING_COUNTER_RANDOM_H_
