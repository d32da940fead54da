// Decoding of the binary keys under which a partitioned variable's slices
// are stored (docs/tensorflow-checkpoint-format.md, "Partitioned
// variables").
#include <bit>

#include "io/tensor_bundle_table.h"

namespace embcol::internal {

bool ReadOrderedUnsigned(std::string_view* s, uint64_t* v) {
  if (s->empty()) return false;
  const size_t len = static_cast<unsigned char>((*s)[0]);
  if (len > 8 || len + 1 > s->size()) return false;
  uint64_t x = 0;
  for (size_t i = 1; i <= len; ++i) x = x << 8 | static_cast<unsigned char>((*s)[i]);
  s->remove_prefix(len + 1);
  *v = x;
  return true;
}

// String: 00 ff stands for a zero byte, ff 00 for 0xff, 00 01 ends it.
bool ReadOrderedString(std::string_view* s, std::string* out) {
  for (size_t i = 0; i + 1 < s->size(); ++i) {
    const auto c = static_cast<unsigned char>((*s)[i]);
    const auto next = static_cast<unsigned char>((*s)[i + 1]);
    if (c == 0x00) {
      if (next == 0x01) {
        s->remove_prefix(i + 2);
        return true;
      }
      if (next != 0xff) return false;
      out->push_back('\0');
      ++i;
    } else if (c == 0xff) {
      if (next != 0x00) return false;
      out->push_back('\xff');
      ++i;
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  return false;
}

// Signed number of L bytes: its L-byte two's complement with the top L
// bits inverted, so the first bit is 1 for >= 0, and the run of bits after
// it equal to it (across the first two bytes) counts the L-1 further
// bytes. Lengths 9 and 10 (magnitudes >= 2^55) are refused.
bool ReadOrderedSigned(std::string_view* s, int64_t* v) {
  if (s->empty()) return false;
  const auto b0 = static_cast<unsigned char>((*s)[0]);
  const bool negative = !(b0 & 0x80);
  const auto flip = [&](unsigned char b) { return negative ? static_cast<unsigned char>(~b) : b; };
  int len = std::countl_one(flip(b0));
  if (len == 8) {
    if (s->size() < 2) return false;
    len += std::countl_one(flip(static_cast<unsigned char>((*s)[1])));
  }
  if (len > 8 || s->size() < static_cast<size_t>(len)) return false;
  uint64_t x = 0;
  for (int i = 0; i < len; ++i) x = x << 8 | static_cast<unsigned char>((*s)[i]);
  const int bits = 8 * len;
  x ^= ((uint64_t{1} << len) - 1) << (bits - len);
  if (negative && bits < 64) x |= ~uint64_t{0} << bits;
  *v = static_cast<int64_t>(x);
  s->remove_prefix(len);
  return true;
}

// A slice key: unsigned 0, the variable name, the rank, then per
// dimension the signed start and length (length -1: the whole dimension).
bool DecodeSliceKey(std::string_view key, std::string* name, std::vector<int64_t>* start,
                    std::vector<int64_t>* length) {
  uint64_t zero = 1, rank = 0;
  if (!ReadOrderedUnsigned(&key, &zero) || zero != 0 || !ReadOrderedString(&key, name) ||
      !ReadOrderedUnsigned(&key, &rank) || rank == 0 || rank > 64) {
    return false;
  }
  for (uint64_t d = 0; d < rank; ++d) {
    int64_t a = 0, b = 0;
    if (!ReadOrderedSigned(&key, &a) || !ReadOrderedSigned(&key, &b)) return false;
    start->push_back(a);
    length->push_back(b);
  }
  return key.empty();
}

}  // namespace embcol::internal
