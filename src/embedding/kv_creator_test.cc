// Tests of the kv_creator registry (kv_creator.h): the short forms, the
// canonical form, errors naming the context and the registered names, and a
// store registered at run time backing a Variable.
#include "embcol/kv_creator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "embcol/errors.h"

namespace embcol::dynamic_embedding {
namespace {

using nlohmann::json;

const json kInMemory = json::parse(R"({"class_name": "CuckooHashTableCreator", "config": {}})");

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(KvCreatorTest, ShortFormsResolveToTheInMemoryClass) {
  EXPECT_EQ(CanonicalKvCreatorConfig(nullptr, "layer a"), kInMemory);
  EXPECT_EQ(CanonicalKvCreatorConfig("memory", "layer a"), kInMemory);
  EXPECT_EQ(CanonicalKvCreatorConfig(json::parse(R"({"class_name": "CuckooHashTableCreator"})"),
                                     "layer a"),
            kInMemory);
  EXPECT_EQ(CanonicalKvCreatorConfig(
                json::parse(R"({"class_name": "CuckooHashTableCreator", "config": null})"),
                "layer a"),
            kInMemory);
  EXPECT_EQ(CanonicalKvCreatorConfig(kInMemory, "layer a"), kInMemory);
}

TEST(KvCreatorTest, InMemoryIsRegisteredAndNamesAreSorted) {
  const std::vector<std::string> names = RegisteredKvCreators();
  EXPECT_NE(std::find(names.begin(), names.end(), "CuckooHashTableCreator"), names.end());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::string(kInMemoryKvCreator), "CuckooHashTableCreator");
}

TEST(KvCreatorTest, UnknownClassNameListsTheRegisteredOnesAndTheContext) {
  const std::string e = ErrorOf([] {
    CanonicalKvCreatorConfig(json::parse(R"({"class_name": "HkvTableCreator", "config": {}})"),
                             "dynamic embedding layer user_emb");
  });
  EXPECT_NE(e.find("dynamic embedding layer user_emb"), std::string::npos) << e;
  EXPECT_NE(e.find("'HkvTableCreator'"), std::string::npos) << e;
  EXPECT_NE(e.find("registered: "), std::string::npos) << e;
  EXPECT_NE(e.find("CuckooHashTableCreator"), std::string::npos) << e;
  EXPECT_NE(e.find("RegisterKvCreator"), std::string::npos) << e;
  // KvCreatorFromConfig reports the same error.
  EXPECT_THROW(KvCreatorFromConfig(json::parse(R"({"class_name": "Nope"})"), "x"), InvalidArgument);
}

TEST(KvCreatorTest, BadShapesAreRejected) {
  for (const char* text : {R"(3)", R"("disk")", R"("CuckooHashTableCreator")", R"({})",
                           R"({"class_name": 5})", R"([])",
                           R"({"class_name": "CuckooHashTableCreator", "cfg": {}})",
                           R"({"class_name": "CuckooHashTableCreator", "config": [1]})"}) {
    const std::string e = ErrorOf([&] { CanonicalKvCreatorConfig(json::parse(text), "var v"); });
    EXPECT_NE(e.find("var v"), std::string::npos) << text << " -> " << e;
  }
}

TEST(KvCreatorTest, InMemoryConfigAcceptsOnlyANullSaver) {
  EXPECT_NO_THROW(KvCreatorFromConfig(
      json::parse(R"({"class_name": "CuckooHashTableCreator", "config": {"saver": null}})"), "v"));
  std::string e = ErrorOf([] {
    KvCreatorFromConfig(
        json::parse(R"({"class_name": "CuckooHashTableCreator", "config": {"capacity": 4}})"),
        "var v");
  });
  EXPECT_NE(e.find("'capacity'"), std::string::npos) << e;
  EXPECT_NE(e.find("var v"), std::string::npos) << e;
  e = ErrorOf([] {
    KvCreatorFromConfig(json::parse(R"({"class_name": "CuckooHashTableCreator",
                                        "config": {"saver": {"path": "/tmp"}}})"),
                        "var v");
  });
  EXPECT_NE(e.find("saver"), std::string::npos) << e;
}

TEST(KvCreatorTest, InMemoryCreatorBuildsAWorkingStore) {
  const KvCreator creator = KvCreatorFromConfig("memory", "v");
  DynamicStoreSpec spec;
  spec.name = "t";
  spec.dim = 2;
  auto store = creator(spec, 0);
  ASSERT_NE(store, nullptr);
  const std::vector<int64_t> keys = {4, 9};
  store->Upsert(KeyView(keys), std::vector<float>{1, 2, 3, 4});
  std::vector<float> out(4);
  store->Lookup(KeyView(std::vector<int64_t>{9, 4}), out);
  EXPECT_EQ(out, (std::vector<float>{3, 4, 1, 2}));
}

TEST(KvCreatorTest, RegisteredStoreBacksAVariable) {
  // A test store: the in-memory table, counting the shards it creates and
  // recording the capacity each receives; config {"tag": string}.
  static std::atomic<int> created{0};
  static std::atomic<int64_t> last_capacity{-1};
  RegisterKvCreator("CountingTableCreator", [](const json& config, const std::string& context) {
    if (!config.contains("tag") || !config["tag"].is_string()) {
      throw InvalidArgument(context + ": CountingTableCreator needs a string 'tag'.");
    }
    return KvCreator([](const DynamicStoreSpec& spec, int64_t init_capacity) {
      ++created;
      last_capacity = init_capacity;
      return DefaultKvCreator()(spec, init_capacity);
    });
  });
  const std::vector<std::string> names = RegisteredKvCreators();
  EXPECT_NE(std::find(names.begin(), names.end(), "CountingTableCreator"), names.end());

  const json config = json::parse(R"({"class_name": "CountingTableCreator",
                                      "config": {"tag": "a"}})");
  EXPECT_EQ(CanonicalKvCreatorConfig(config, "v"), config);
  VariableOptions o;
  o.name = "counted";
  o.num_shards = 3;
  o.init_size = 100;
  o.kv_creator = KvCreatorFromConfig(config, "dynamic embedding variable counted");
  created = 0;
  Variable var(std::move(o));
  EXPECT_EQ(created.load(), 3);
  EXPECT_EQ(last_capacity.load(), 33);  // int(100 / 3)
  var.upsert(KeyView(std::vector<int64_t>{0, 1, 2}), std::vector<float>{5, 6, 7});
  EXPECT_EQ(var.lookup(KeyView(std::vector<int64_t>{2, 0})).values, (std::vector<float>{7, 5}));

  // The factory's own validation names the context.
  const std::string e = ErrorOf([] {
    KvCreatorFromConfig(json::parse(R"({"class_name": "CountingTableCreator"})"), "layer z");
  });
  EXPECT_NE(e.find("layer z"), std::string::npos) << e;
  EXPECT_NE(e.find("tag"), std::string::npos) << e;
}

TEST(KvCreatorTest, RegisterRejectsBadArguments) {
  auto factory = [](const json&, const std::string&) { return DefaultKvCreator(); };
  EXPECT_THROW(RegisterKvCreator("", factory), InvalidArgument);
  EXPECT_THROW(RegisterKvCreator("memory", factory), InvalidArgument);
  EXPECT_THROW(RegisterKvCreator("EmptyCreator", KvCreatorFactory()), InvalidArgument);
  const std::vector<std::string> names = RegisteredKvCreators();
  EXPECT_EQ(std::find(names.begin(), names.end(), "EmptyCreator"), names.end());
}

TEST(KvCreatorTest, ConcurrentRegistrationAndLookups) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      const std::string name = "ConcurrentCreator" + std::to_string(t);
      RegisterKvCreator(name, [](const json&, const std::string&) { return DefaultKvCreator(); });
      for (int i = 0; i < 50; ++i) {
        if (!KvCreatorFromConfig({{"class_name", name}}, "v")) ++failures;
        if (!KvCreatorFromConfig(nullptr, "v")) ++failures;
        RegisteredKvCreators();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace embcol::dynamic_embedding
