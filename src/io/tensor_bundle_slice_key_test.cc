#include <gtest/gtest.h>

#include "io/tensor_bundle_table.h"

namespace embcol::internal {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Decodes one signed number that must take the whole input.
int64_t Signed(const std::string& bytes) {
  std::string_view s(bytes);
  int64_t v = 0;
  EXPECT_TRUE(ReadOrderedSigned(&s, &v));
  EXPECT_TRUE(s.empty());
  return v;
}

TEST(SliceKeyTest, SignedNumbersFromTheFormatDescription) {
  // One byte: v ^ 0x80 for v in [-64, 64).
  EXPECT_EQ(Signed(Bytes({0x80})), 0);
  EXPECT_EQ(Signed(Bytes({0x82})), 2);
  EXPECT_EQ(Signed(Bytes({0xbf})), 63);
  EXPECT_EQ(Signed(Bytes({0x7f})), -1);
  EXPECT_EQ(Signed(Bytes({0x40})), -64);
  // Two bytes: 16-bit two's complement ^ 0xc000.
  EXPECT_EQ(Signed(Bytes({0xc0, 0x40})), 64);
  EXPECT_EQ(Signed(Bytes({0xc0, 0x82})), 130);
  EXPECT_EQ(Signed(Bytes({0x3f, 0xbf})), -65);   // 0xffbf ^ 0xc000
  EXPECT_EQ(Signed(Bytes({0x38, 0x00})), -0x800);  // 0xf800 ^ 0xc000
  // Four bytes: 0x424242 -> f0 42 42 42.
  EXPECT_EQ(Signed(Bytes({0xf0, 0x42, 0x42, 0x42})), 0x424242);
  // Eight bytes, the largest accepted: 2^55 - 1 = 0x007f..ff ^ 0xff00..00.
  EXPECT_EQ(Signed(Bytes({0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
            (int64_t{1} << 55) - 1);
  // Nine bytes (first byte ff, next starts with 1) and short input refused.
  for (const std::string& bad : {Bytes({0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}),
                                 Bytes({0xc0}), std::string()}) {
    std::string_view s(bad);
    int64_t v = 0;
    EXPECT_FALSE(ReadOrderedSigned(&s, &v));
  }
}

TEST(SliceKeyTest, UnsignedAndStrings) {
  std::string_view s("\x00\x01\x02\x02\x01\x00", 6);
  uint64_t v = 9;
  ASSERT_TRUE(ReadOrderedUnsigned(&s, &v));
  EXPECT_EQ(v, 0u);
  ASSERT_TRUE(ReadOrderedUnsigned(&s, &v));
  EXPECT_EQ(v, 2u);
  ASSERT_TRUE(ReadOrderedUnsigned(&s, &v));
  EXPECT_EQ(v, 0x0100u);
  EXPECT_TRUE(s.empty());
  // "a\0b\xff" -> 61 00 ff 62 ff 00, then 00 01.
  const std::string enc = Bytes({0x61, 0x00, 0xff, 0x62, 0xff, 0x00, 0x00, 0x01, 0x07});
  std::string_view e(enc);
  std::string out;
  ASSERT_TRUE(ReadOrderedString(&e, &out));
  EXPECT_EQ(out, std::string("a\0b\xff", 4));
  EXPECT_EQ(e.size(), 1u);
  const std::string unterminated = Bytes({0x61, 0x62});
  std::string_view u(unterminated);
  out.clear();
  EXPECT_FALSE(ReadOrderedString(&u, &out));
}

TEST(SliceKeyTest, WholeKey) {
  // x/part layout: name "emb", rank 2, dim 0 start 130 length 70, dim 1 whole.
  const std::string key = Bytes({0x00}) + "emb" +
                          Bytes({0x00, 0x01, 0x01, 0x02, 0xc0, 0x82, 0xc0, 0x46, 0x80, 0x7f});
  std::string name;
  std::vector<int64_t> start, length;
  ASSERT_TRUE(DecodeSliceKey(key, &name, &start, &length));
  EXPECT_EQ(name, "emb");
  EXPECT_EQ(start, (std::vector<int64_t>{130, 0}));
  EXPECT_EQ(length, (std::vector<int64_t>{70, -1}));
  std::string n2;
  std::vector<int64_t> s2, l2;
  EXPECT_FALSE(DecodeSliceKey(key + "x", &n2, &s2, &l2));  // trailing bytes
  EXPECT_FALSE(DecodeSliceKey(key.substr(0, key.size() - 1), &n2, &s2, &l2));
}

}  // namespace
}  // namespace embcol::internal
