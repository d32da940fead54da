#include "core/hashing.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace embcol::internal {
namespace {

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Vectors from the reference (§2.4), verified against TensorFlow.
TEST(Fingerprint64Test, KnownVectors) {
  EXPECT_EQ(Fingerprint64(""), 11160318154034397263ULL);
  EXPECT_EQ(Fingerprint64("a"), 12917804110809363939ULL);
  EXPECT_EQ(Fingerprint64("b"), 11795596070477164822ULL);
  EXPECT_EQ(Fingerprint64("c"), 11430444447143000872ULL);
  EXPECT_EQ(Fingerprint64("d"), 4470636696479570465ULL);
  EXPECT_EQ(Fingerprint64("test"), 8581389452482819506ULL);
  EXPECT_EQ(static_cast<int64_t>(Fingerprint64(Repeat("test", 8))),
            -4196240717365766262LL);
  EXPECT_EQ(Fingerprint64(Repeat("test", 64)), 3500507768004279527ULL);
}

TEST(Fingerprint64Test, BucketVectors) {
  EXPECT_EQ(Fingerprint64("omar") % 10, 6u);
  EXPECT_EQ(Fingerprint64("stringer") % 10, 4u);
  EXPECT_EQ(Fingerprint64("marlo") % 10, 1u);
  EXPECT_EQ(Fingerprint64("skywalker") % 100, 30u);
  EXPECT_EQ(Fingerprint64("heisenberg") % 100, 59u);
}

TEST(Fingerprint64Test, EmbeddedNulBytesAreHashed) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(Fingerprint64(with_nul), Fingerprint64("a"));
  EXPECT_EQ(Fingerprint64(std::string_view("ab", 1)), Fingerprint64("a"));
}

TEST(FingerprintDecimalTest, HashesDecimalText) {
  // Reference §2.4: buckets=10: "101"->3, "201"->7, "301"->5; 100 % 100 -> 55.
  EXPECT_EQ(FingerprintDecimal(101) % 10, 3u);
  EXPECT_EQ(FingerprintDecimal(201) % 10, 7u);
  EXPECT_EQ(FingerprintDecimal(301) % 10, 5u);
  EXPECT_EQ(FingerprintDecimal(100) % 100, 55u);
  EXPECT_EQ(FingerprintDecimal(0), Fingerprint64("0"));
  EXPECT_EQ(FingerprintDecimal(-5), Fingerprint64("-5"));
  EXPECT_EQ(FingerprintDecimal(std::numeric_limits<int64_t>::min()),
            Fingerprint64("-9223372036854775808"));
  EXPECT_EQ(FingerprintDecimal(std::numeric_limits<int64_t>::max()),
            Fingerprint64("9223372036854775807"));
}

// TensorFlow's sparse_cross_op_test: three inputs 'batch1-FC{1,2,3}-F1'.
uint64_t CrossThree(uint64_t hash_key) {
  uint64_t h = hash_key;
  h = FingerprintCat64(h, Fingerprint64("batch1-FC1-F1"));
  h = FingerprintCat64(h, Fingerprint64("batch1-FC2-F1"));
  h = FingerprintCat64(h, Fingerprint64("batch1-FC3-F1"));
  return h;
}

TEST(FingerprintCat64Test, TensorFlowSparseCrossVectors) {
  constexpr uint64_t kDefaultKey = 0xDECAFCAFFEULL;
  constexpr uint64_t kInt64Max = std::numeric_limits<int64_t>::max();
  // num_buckets=0 takes the result mod int64 max.
  EXPECT_EQ(CrossThree(kDefaultKey) % kInt64Max, 1971693436396284976ULL);
  EXPECT_EQ(CrossThree(kDefaultKey + 1) % kInt64Max, 4847552627144134031ULL);
  EXPECT_EQ(CrossThree(kDefaultKey) % 100, 83u);
  EXPECT_EQ(CrossThree(kDefaultKey + 1) % 100, 31u);
}

TEST(FingerprintCat64Test, OrderMatters) {
  EXPECT_NE(FingerprintCat64(1, 2), FingerprintCat64(2, 1));
  EXPECT_NE(FingerprintCat64(0, 359), FingerprintCat64(0, 359 + 1024));
}

}  // namespace
}  // namespace embcol::internal
