// Checks that the example in docs/dynamic-embedding-config.md is a config
// from_config accepts and get_config writes back unchanged, so the doc
// cannot drift from the code.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "embcol/dynamic_embedding_layer.h"

namespace embcol::dynamic_embedding {
namespace {

// The ```json block that follows `marker` in the doc.
std::string JsonBlockAfter(const std::string& doc, const std::string& marker) {
  const size_t at = doc.find(marker);
  if (at == std::string::npos) return "";
  const size_t open = doc.find("```json\n", at);
  if (open == std::string::npos) return "";
  const size_t start = open + 8;
  const size_t close = doc.find("\n```", start);
  if (close == std::string::npos) return "";
  return doc.substr(start, close - start);
}

TEST(DynamicLayerDocTest, ConfigExampleLoadsAndRoundTrips) {
  const std::string path = std::string(EMBCOL_SOURCE_DIR) + "/docs/dynamic-embedding-config.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  const std::string block = JsonBlockAfter(text.str(), "<!-- example: dynamic-embedding-layer -->");
  ASSERT_FALSE(block.empty()) << "no example block in " << path;
  const nlohmann::json config = nlohmann::json::parse(block);

  auto layer = Embedding::from_config(config);
  EXPECT_EQ(layer->get_config(), config);
  // What the doc's closing sentence promises.
  EXPECT_EQ(layer->embedding_size(), 8);
  EXPECT_EQ(layer->variable().num_shards(), 2);
  EXPECT_EQ(layer->variable().name(), "user_embedding-parameter");
  EXPECT_EQ(layer->variable().shard(1).name(), "user_embedding-parameter_mht_2of2");
  ASSERT_NE(layer->variable().restrict_policy(), nullptr);
  EXPECT_EQ(layer->variable().restrict_policy()->class_name(), "CapacityRestrictPolicy");
  ASSERT_NE(layer->variable().admission_filter(), nullptr);
  EXPECT_TRUE(layer->variable().has_default_kv_creator());
  EXPECT_EQ(layer->variable().init_size(), 16384);
}

}  // namespace
}  // namespace embcol::dynamic_embedding
