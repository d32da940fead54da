// RedisTableCreator: config fields by TFRA's names, errors naming the field,
// and a store built through the kv_creator registry.
#include "storage/redis_kv_creator.h"

#include <gtest/gtest.h>

#include "embcol/errors.h"
#include "embcol/kv_creator.h"
#include "storage/redis_test_server.h"

namespace embcol::dynamic_embedding {
namespace {

using nlohmann::json;

TEST(RedisKvCreatorTest, ReadsTfraFieldNames) {
  const RedisStoreOptions o = RedisStoreOptionsFromConfig(
      json::parse(R"({"redis_connection_mode": 2, "redis_host_ip": ["10.0.0.5"],
                      "redis_host_port": [7000], "redis_password": "pw", "redis_db": 3,
                      "redis_connection_timeout": 250, "redis_socket_timeout": 4000,
                      "storage_slice": 8, "model_tag_runtime": "ctr", "retry_seconds": 2.5,
                      "redis_connection_pool_size": 20})"),
      "table t");
  EXPECT_EQ(o.host, "10.0.0.5");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.password, "pw");
  EXPECT_EQ(o.db, 3);
  EXPECT_EQ(o.connect_timeout_ms, 250);
  EXPECT_EQ(o.command_timeout_ms, 4000);
  EXPECT_EQ(o.num_shards, 8);
  EXPECT_EQ(o.key_prefix, "ctr:");
  EXPECT_EQ(o.retry_seconds, 2.5);
  const RedisStoreOptions d = RedisStoreOptionsFromConfig(nullptr, "table t");
  EXPECT_EQ(d.host, "127.0.0.1");
  EXPECT_EQ(d.port, 6379);
  EXPECT_EQ(d.num_shards, 16);
}

TEST(RedisKvCreatorTest, BadFieldsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"redis_host_port": [0]})", "redis_host_port"},
      {R"({"redis_host_ip": ["a", "b"]})", "redis_host_ip"},
      {R"({"redis_connection_mode": 0})", "redis_connection_mode"},
      {R"({"redis_db": -1})", "redis_db"},
      {R"({"storage_slice": "4"})", "storage_slice"},
      {R"({"redis_passwrd": "x"})", "redis_passwrd"},
  };
  for (const auto& [text, field] : cases) {
    try {
      RedisStoreOptionsFromConfig(json::parse(text), "table t");
      ADD_FAILURE() << text << " was accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("table t"), std::string::npos) << e.what();
    }
  }
}

TEST(RedisKvCreatorTest, RegistryBuildsARedisStore) {
  if (!testing::OnPath("redis-server")) GTEST_SKIP() << "redis-server is not on PATH";
  embcol::testing::RedisTestServer server;
  ASSERT_TRUE(server.Start());
  json config = {{"class_name", "RedisTableCreator"},
                 {"config", {{"redis_host_port", {server.port()}}, {"storage_slice", 2}}}};
  const KvCreator creator = KvCreatorFromConfig(config, "table t");
  DynamicStoreSpec spec;
  spec.name = "t_mht_1of1";
  spec.dim = 2;
  auto store = creator(spec, 0);
  store->Upsert(std::vector<int64_t>{5}, std::vector<float>{1.5f, -2.0f});
  std::vector<float> got(2);
  creator(spec, 0)->Lookup(std::vector<int64_t>{5}, got);  // a second store, same data
  EXPECT_EQ(got, (std::vector<float>{1.5f, -2.0f}));
}

}  // namespace
}  // namespace embcol::dynamic_embedding
