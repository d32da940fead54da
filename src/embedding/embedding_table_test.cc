#include "embcol/embedding_table.h"

#include <farmhash.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "embcol/errors.h"

namespace embcol {
namespace {

TEST(EmbeddingTableTest, ZeroFilledAndAligned) {
  for (int64_t dim : {1, 3, 16, 17}) {
    EmbeddingTable t("t", 5, dim);
    EXPECT_EQ(t.name(), "t");
    EXPECT_EQ(t.num_rows(), 5);
    EXPECT_EQ(t.dim(), dim);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
    EXPECT_EQ(t.ToVector(), std::vector<float>(static_cast<size_t>(5 * dim), 0.0f));
    EXPECT_EQ(t.Row(3), t.data() + 3 * dim);
  }
}

TEST(EmbeddingTableTest, InvalidShapeNamesTable) {
  for (auto [rows, dim] : {std::pair<int64_t, int64_t>{0, 4}, {4, 0}, {-1, 2}}) {
    try {
      EmbeddingTable t("weights_of_x", rows, dim);
      ADD_FAILURE() << "no error for " << rows << "x" << dim;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("weights_of_x"), std::string::npos) << e.what();
    }
  }
}

TEST(EmbeddingTableTest, AssignAndRows) {
  EmbeddingTable t("t", 2, 3);
  t.Assign({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(t.Row(1)[0], 4.0f);
  EXPECT_EQ(t.Row(1)[2], 6.0f);
  t.Row(0)[1] = 9.0f;
  EXPECT_EQ(t.ToVector(), (std::vector<float>{1, 9, 3, 4, 5, 6}));
  EXPECT_THROW(t.Assign({1, 2, 3}), InvalidArgument);
}

TEST(EmbeddingTableTest, InitializerConstructorAndInitialize) {
  EmbeddingTable ones("t", 3, 2, InitializerConfig{"Ones", nlohmann::json::object()});
  EXPECT_EQ(ones.ToVector(), std::vector<float>(6, 1.0f));
  ones.Initialize({"Constant", {{"value", nlohmann::json::parse("[[1,2],[3,4],[5,6]]")}}}, 0);
  EXPECT_EQ(ones.ToVector(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  // A bad config leaves the table unchanged.
  EXPECT_THROW(ones.Initialize({"Constant", {{"value", nlohmann::json::parse("[[1,2]]")}}}, 0),
               InvalidArgument);
  EXPECT_EQ(ones.ToVector(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(EmbeddingTableTest, DefaultSeedComesFromName) {
  EXPECT_EQ(DefaultTableSeed("aaa_embedding/embedding_weights"),
            util::Fingerprint64(std::string("aaa_embedding/embedding_weights")));
  const InitializerConfig init = DefaultEmbeddingInitializer(4);
  EmbeddingTable a("a", 10, 4, init);
  EmbeddingTable a_again("a", 10, 4, init);
  EmbeddingTable a_seeded("other_name", 10, 4, init, DefaultTableSeed("a"));
  EmbeddingTable b("b", 10, 4, init);
  EXPECT_EQ(a.ToVector(), a_again.ToVector());
  EXPECT_EQ(a.ToVector(), a_seeded.ToVector());
  EXPECT_NE(a.ToVector(), b.ToVector());
  // Default initializer: stddev 1/sqrt(4) = 0.5, truncated at 2 stddev.
  for (float x : a.ToVector()) EXPECT_LE(std::abs(x), 1.0f);
}

}  // namespace
}  // namespace embcol
