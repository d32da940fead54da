#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "columns/categorical_test_util.h"
#include "embcol/categorical_column.h"

namespace embcol {
namespace {

using testing_util::ExpectError;
using testing_util::MakeBatch;
using V = std::vector<int64_t>;

// Writes `contents` to a fresh file under the test temp dir.
std::string WriteVocab(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "embcol_cat_vocab_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return path;
}

TEST(VocabularyFileColumnTest, PropertiesAndLineCount) {
  const std::string path = WriteVocab("props.txt", "omar\nstringer\nmarlo\n");
  const auto c = categorical_column_with_vocabulary_file("aaa", path, std::nullopt, 2);
  EXPECT_EQ(c->name(), "aaa");
  EXPECT_EQ(c->class_name(), "VocabularyFileCategoricalColumn");
  EXPECT_EQ(c->input_keys(), (std::vector<std::string>{"aaa"}));
  EXPECT_EQ(c->num_buckets(), 3 + 2);
  const auto* f = dynamic_cast<const VocabularyFileCategoricalColumn*>(c.get());
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->vocabulary_size(), 3);
  EXPECT_EQ(f->vocabulary_file(), path);
  EXPECT_EQ(f->default_value(), -1);
  EXPECT_EQ(f->dtype(), DType::kString);
  // A last line without "\n" still counts.
  const std::string no_newline = WriteVocab("nonl.txt", "a\nb");
  EXPECT_EQ(categorical_column_with_vocabulary_file("aaa", no_newline)->num_buckets(), 2);
}

TEST(VocabularyFileColumnTest, FactoryErrors) {
  const std::string path = WriteVocab("errors.txt", "a\nb\nc\n");
  ExpectError<InvalidArgument>([] { categorical_column_with_vocabulary_file("aaa", ""); },
                               {"Missing vocabulary_file in aaa."});
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", path, 0); },
      {"Invalid vocabulary_size in aaa."});
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", path, -2); },
      {"Invalid vocabulary_size in aaa."});
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", path, 3, -1); },
      {"Invalid num_oov_buckets -1 in aaa."});
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", path, 3, 1, 0); },
      {"Can't specify both num_oov_buckets and default_value in aaa."});
  // TensorFlow rejects any explicit default_value with OOV buckets, even -1.
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", path, 3, 1, -1); },
      {"Can't specify both num_oov_buckets and default_value in aaa."});
  ExpectError<InvalidArgument>(
      [&] {
        VocabularyFileCategoricalColumn("aaa", path, 3, 1, DType::kString, 0);
      },
      {"Can't specify both num_oov_buckets and default_value in aaa."});
  ExpectError<InvalidArgument>(
      [&] {
        categorical_column_with_vocabulary_file("aaa", path, 3, 0, std::nullopt,
                                                DType::kFloat32);
      },
      {"column_name: aaa", "dtype must be string or integer. dtype: float32"});
  const std::string missing = ::testing::TempDir() + "embcol_cat_no_such_vocab.txt";
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", missing); },
      {"vocabulary_file in aaa does not exist.", missing});
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", ::testing::TempDir()); },
      {"vocabulary_file in aaa does not exist."});
}

TEST(VocabularyFileColumnTest, ConstructorAcceptsStoredMinusOneDefault) {
  // A column rebuilt from another's accessors passes default_value() == -1.
  const std::string path = WriteVocab("rebuild.txt", "a\nb\n");
  const VocabularyFileCategoricalColumn c("aaa", path, std::nullopt, 3, DType::kString,
                                          -1);
  EXPECT_EQ(c.num_buckets(), 5);
  EXPECT_EQ(c.default_value(), -1);
}

TEST(VocabularyFileColumnTest, SizeLargerThanFileNamesFileAndCounts) {
  const std::string path = WriteVocab("small.txt", "a\nb\nc\n");
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", path, 5); },
      {"Invalid vocab_size", path, "vocabulary_size is 5", "has 3 lines"});
  const std::string empty = WriteVocab("empty.txt", "");
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", empty); }, {empty, "empty"});
}

TEST(VocabularyFileColumnTest, DuplicateTokenNamesFileTokenAndLines) {
  const std::string path = WriteVocab("dup.txt", "a\nb\nc\nb\n");
  ExpectError<InvalidArgument>(
      [&] { categorical_column_with_vocabulary_file("aaa", path); },
      {"HashTable has different value for same key. Key b has 1 and trying to add "
       "value 3",
       path, "'b'", "line 2 and line 4"});
  // A duplicate past vocabulary_size is never loaded, so it is fine.
  EXPECT_EQ(categorical_column_with_vocabulary_file("aaa", path, 3)->num_buckets(), 3);
}

TEST(VocabularyFileColumnTest, LookupStripsLineEndingsAndUsesLineNumbers) {
  const std::string path = WriteVocab("crlf.txt", "omar\r\nstringer\n\nmarlo\r\n");
  const auto c = categorical_column_with_vocabulary_file("aaa", path);
  EXPECT_EQ(c->num_buckets(), 4);  // the empty line is token "" with id 2
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Sparse({0, 0, 0, 1, 1, 0, 1, 1},
                               Strings{"marlo", "omar", "", "stringer\r"}, {2, 2})}}));
  EXPECT_EQ(t.ids, (V{3, 0, 2, -1}));
  // Dense input drops "" before the lookup.
  const IdTensor d = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({1, 2}, Strings{"", "stringer"})}}));
  EXPECT_EQ(d.indices, (V{0, 1}));
  EXPECT_EQ(d.ids, (V{1}));
}

TEST(VocabularyFileColumnTest, SizeSmallerThanFileMakesRestOov) {
  const std::string path = WriteVocab("partial.txt", "a\nb\nc\nd\n");
  const auto c = categorical_column_with_vocabulary_file("aaa", path, 2, 0, 1);
  EXPECT_EQ(c->num_buckets(), 2);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({4}, Strings{"a", "b", "c", "d"})}}));
  EXPECT_EQ(t.ids, (V{0, 1, 1, 1}));  // c, d -> default_value 1
}

TEST(VocabularyFileColumnTest, OovBuckets) {
  // Fingerprint64 % 4: omar->2, stringer->0, marlo->3 (reference §2.4).
  const std::string path = WriteVocab("oov.txt", "x\ny\n");
  const auto c = categorical_column_with_vocabulary_file("aaa", path, std::nullopt, 4);
  EXPECT_EQ(c->num_buckets(), 6);
  const IdTensor t = c->GetSparseTensors(MakeBatch(
      {{"aaa", Feature::Dense({2, 2}, Strings{"omar", "y", "stringer", "marlo"})}}));
  EXPECT_EQ(t.ids, (V{2 + 2, 1, 2 + 0, 2 + 3}));
}

TEST(VocabularyFileColumnTest, IntegerFile) {
  const std::string path = WriteVocab("ints.txt", "10\n-20\n30\n");
  const auto c = categorical_column_with_vocabulary_file("aaa", path, std::nullopt, 100,
                                                         std::nullopt, DType::kInt64);
  const IdTensor t = c->GetSparseTensors(
      MakeBatch({{"aaa", Feature::Dense({2, 2}, Int64s{-20, -1, 100, 30})}}));
  EXPECT_EQ(t.indices, (V{0, 0, 1, 0, 1, 1}));
  EXPECT_EQ(t.ids, (V{1, 3 + 55, 2}));  // "100" % 100 = 55
  ExpectError<InvalidArgument>(
      [&] {
        c->GetSparseTensors(MakeBatch({{"aaa", Feature::Dense({1}, Strings{"10"})}}));
      },
      {"Column dtype and SparseTensors dtype must be compatible. key: aaa"});
}

TEST(VocabularyFileColumnTest, IntegerFileBadLine) {
  const std::string path = WriteVocab("badint.txt", "1\n2\nthree\n");
  ExpectError<InvalidArgument>(
      [&] {
        categorical_column_with_vocabulary_file("aaa", path, std::nullopt, 0,
                                                std::nullopt, DType::kInt64);
      },
      {path, "line 3", "three"});
  const std::string dup = WriteVocab("dupint.txt", "7\n8\n7\n");
  ExpectError<InvalidArgument>(
      [&] {
        categorical_column_with_vocabulary_file("aaa", dup, std::nullopt, 0,
                                                std::nullopt, DType::kInt64);
      },
      {dup, "line 1 and line 3"});
}

}  // namespace
}  // namespace embcol
