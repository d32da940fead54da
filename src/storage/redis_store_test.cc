// Tests of the Redis store against a throwaway redis-server (skipped when
// redis-server is not on PATH). Expected values are hand-computed, or come
// from a std::map model of the DynamicStore rules (dynamic_store.h).
#include "embcol/redis_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include "embcol/dynamic_table.h"
#include "embcol/errors.h"
#include "storage/redis_test_server.h"

namespace embcol {
namespace {

using testing::RedisTestServer;

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::OnPath("redis-server")) GTEST_SKIP() << "redis-server is not on PATH";
    server_ = std::make_unique<RedisTestServer>();
    ASSERT_TRUE(server_->Start()) << "redis-server did not start; log in " << server_->dir();
  }

  RedisStoreOptions Options(const std::string& name, int64_t dim, int slots) const {
    RedisStoreOptions o;
    o.spec.name = name;
    o.spec.dim = dim;
    o.spec.initializer = {"Constant", {{"value", 0.5}}};
    o.spec.slot_initial_values.assign(static_cast<size_t>(slots), 0.25f);
    o.port = server_->port();
    o.num_shards = 4;
    o.retry_seconds = 20;
    return o;
  }

  std::unique_ptr<RedisTestServer> server_;
};

// The model: key -> row (dim 2), slot row (1 slot), meta.
struct ModelEntry {
  std::array<float, 2> row;
  std::array<float, 2> slot;
  EntryMeta meta;
};

TEST_F(RedisStoreTest, RandomOperationsMatchAMapModel) {
  auto store = NewRedisStore(Options("model", 2, 1));
  std::map<int64_t, ModelEntry> model;
  const ModelEntry fresh{{0.5f, 0.5f}, {0.25f, 0.25f}, {}};
  std::mt19937 rng(20261125);
  const auto quarter = [&] { return static_cast<float>(static_cast<int>(rng() % 17) - 8) / 4; };
  for (int step = 0; step < 300; ++step) {
    std::vector<int64_t> keys(1 + rng() % 6);
    for (int64_t& k : keys) k = static_cast<int64_t>(rng() % 24) - 4;
    const int64_t n = static_cast<int64_t>(keys.size());
    std::vector<float> values(static_cast<size_t>(2 * n));
    for (float& v : values) v = quarter();
    const int op = static_cast<int>(rng() % 6);
    SCOPED_TRACE("step " + std::to_string(step) + " op " + std::to_string(op));
    if (op == 0 || op == 1) {  // Lookup / LookupOrInit
      std::vector<float> got(values.size());
      std::unique_ptr<bool[]> exists(new bool[n]);
      if (op == 0) store->Lookup(keys, got, {exists.get(), static_cast<size_t>(n)});
      else store->LookupOrInit(keys, got, {exists.get(), static_cast<size_t>(n)});
      for (int64_t i = 0; i < n; ++i) {
        auto it = model.find(keys[i]);
        EXPECT_EQ(exists[i], it != model.end()) << "key " << keys[i];
        const ModelEntry& e = it != model.end() ? it->second : fresh;
        EXPECT_EQ(got[2 * i], e.row[0]);
        EXPECT_EQ(got[2 * i + 1], e.row[1]);
        if (op == 1 && it == model.end()) model[keys[i]] = fresh;
      }
    } else if (op == 2) {  // Upsert: the row changes, slots and meta stay
      store->Upsert(keys, values);
      for (int64_t i = 0; i < n; ++i) {
        auto [it, inserted] = model.try_emplace(keys[i], fresh);
        it->second.row = {values[2 * i], values[2 * i + 1]};
      }
    } else if (op == 3) {  // Accumulate, bp_v2
      std::unique_ptr<bool[]> flags(new bool[n]);
      for (int64_t i = 0; i < n; ++i) flags[i] = rng() % 3 != 0;
      store->Accumulate(keys, values, {flags.get(), static_cast<size_t>(n)});
      for (int64_t i = 0; i < n; ++i) {
        auto it = model.find(keys[i]);
        if (it != model.end() && flags[i]) {
          it->second.row[0] += values[2 * i];
          it->second.row[1] += values[2 * i + 1];
        } else if (it == model.end() && !flags[i]) {
          model[keys[i]] = {{values[2 * i], values[2 * i + 1]}, fresh.slot, {}};
        }
      }
    } else if (op == 4) {  // Remove
      int64_t want = 0;
      std::vector<int64_t> distinct = keys;
      std::sort(distinct.begin(), distinct.end());
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      for (int64_t k : distinct) want += model.erase(k);
      EXPECT_EQ(store->Remove(keys), want);
    } else {  // UpdateRows with inserts: row += 1, slot -= 1, frequency + 1
      store->UpdateRows(keys, MissingKeys::kInsert,
                        [&](int64_t i, float* row, float* slots, EntryMeta& meta, bool existed) {
                          auto [it, inserted] = model.try_emplace(keys[i], fresh);
                          EXPECT_EQ(existed, !inserted);
                          row[0] += 1;
                          row[1] += 1;
                          slots[0] -= 1;
                          slots[1] -= 1;
                          meta.frequency += 1;
                          meta.last_update = static_cast<uint32_t>(step);
                          ModelEntry& e = it->second;
                          e.row = {e.row[0] + 1, e.row[1] + 1};
                          e.slot = {e.slot[0] - 1, e.slot[1] - 1};
                          e.meta = {static_cast<uint32_t>(step), e.meta.frequency + 1};
                        });
    }
    ASSERT_EQ(store->Size(), static_cast<int64_t>(model.size()));
    if (step % 10 != 9) continue;
    const ExportedEntries all = store->Export();
    ASSERT_EQ(all.size(), static_cast<int64_t>(model.size()));
    for (int64_t j = 0; j < all.size(); ++j) {
      const ModelEntry& e = model.at(all.int64_keys[j]);
      EXPECT_EQ(all.values[2 * j], e.row[0]);
      EXPECT_EQ(all.values[2 * j + 1], e.row[1]);
      EXPECT_EQ(all.slots[2 * j], e.slot[0]);
      EXPECT_EQ(all.slots[2 * j + 1], e.slot[1]);
      EXPECT_EQ(all.meta[j], e.meta);
    }
  }
}

TEST_F(RedisStoreTest, MissingKeysReadTheInMemoryTablesInitialValues) {
  RedisStoreOptions o = Options("init", 5, 0);
  o.spec.key_type = KeyType::kString;
  o.spec.initializer = {"RandomNormal", {{"mean", 0.0}, {"stddev", 1.0}, {"seed", 3}}};
  DynamicTableOptions mem;
  mem.spec = o.spec;
  auto redis = NewRedisStore(o);
  auto memory = NewDynamicTable(mem);
  const std::vector<std::string> keys = {"a", "bb", "", "a"};
  std::vector<float> got(20), want(20);
  redis->LookupOrInit(keys, got);
  memory->LookupOrInit(keys, want);
  EXPECT_EQ(got, want);
  redis->Lookup(keys, got);
  EXPECT_EQ(got, want);
  EXPECT_EQ(redis->Size(), 3);
}

TEST_F(RedisStoreTest, AccumulateInsertsThenAddsWithinOneBatch) {
  RedisStoreOptions o = Options("acc", 2, 0);
  o.spec.key_type = KeyType::kString;
  auto store = NewRedisStore(o);
  // "a": absent, flag false -> insert [1, 2]; again with flag true -> += [10, 20].
  // "b": absent, flag true -> ignored (raced with a remover).
  const std::vector<std::string> keys = {"a", "a", "b"};
  const std::vector<float> values = {1, 2, 10, 20, 7, 7};
  const bool flags[] = {false, true, true};
  store->Accumulate(keys, values, flags);
  std::vector<float> got(6);
  bool exists[3];
  store->Lookup(keys, got, exists);
  EXPECT_EQ(got, (std::vector<float>{11, 22, 11, 22, 0.5f, 0.5f}));
  EXPECT_TRUE(exists[0]);
  EXPECT_FALSE(exists[2]);
}

TEST_F(RedisStoreTest, ReopenedStoreSeesTheDataAndChecksTheShape) {
  const std::vector<int64_t> keys = {7, -3};
  const std::vector<float> rows = {1, 2, 3, 4, 5, 6};
  NewRedisStore(Options("persist", 3, 1))->Upsert(keys, rows);
  auto again = NewRedisStore(Options("persist", 3, 1));
  std::vector<float> got(6);
  bool exists[2];
  again->Lookup(keys, got, exists);
  EXPECT_EQ(got, rows);
  EXPECT_TRUE(exists[0] && exists[1]);
  EXPECT_THROW(NewRedisStore(Options("persist", 4, 1)), FailedPrecondition);
  RedisStoreOptions other = Options("persist", 3, 1);
  other.key_prefix = "elsewhere:";
  EXPECT_EQ(NewRedisStore(other)->Size(), 0);
}

TEST_F(RedisStoreTest, TwoProcessesAccumulateWithoutLosingUpdates) {
  const std::vector<int64_t> keys = {0, 1, 2, 3, 4, 5, 6, 7};
  NewRedisStore(Options("shared", 4, 0))->Upsert(keys, std::vector<float>(32, 0.0f));
  constexpr int kBatches = 40;
  std::vector<pid_t> children;
  for (int child = 0; child < 2; ++child) {
    const pid_t pid = fork();
    if (pid == 0) {
      int code = 0;
      try {
        auto store = NewRedisStore(Options("shared", 4, 0));
        const std::vector<float> delta(32, static_cast<float>(child + 1));
        const bool flags[8] = {true, true, true, true, true, true, true, true};
        for (int b = 0; b < kBatches; ++b) store->Accumulate(keys, delta, flags);
      } catch (...) {
        code = 1;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::vector<float> got(32);
  NewRedisStore(Options("shared", 4, 0))->Lookup(keys, got);
  // 40 batches of +1 and 40 of +2 per element.
  EXPECT_EQ(got, std::vector<float>(32, 120.0f));
}

TEST_F(RedisStoreTest, ThreadsSharingOneStoreLoseNoUpdate) {
  auto store = NewRedisStore(Options("threads", 3, 0));
  const std::vector<int64_t> keys = {10, 20, 30, 40};
  store->Upsert(keys, std::vector<float>(12, 1.0f));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<float> delta(12, 0.5f * static_cast<float>(t + 1));
      const bool flags[4] = {true, true, true, true};
      for (int b = 0; b < 25; ++b) store->Accumulate(keys, delta, flags);
    });
  }
  for (std::thread& th : threads) th.join();
  std::vector<float> got(12);
  store->Lookup(keys, got);
  // 1 + 25 * 0.5 * (1 + 2 + 3 + 4) = 126.
  EXPECT_EQ(got, std::vector<float>(12, 126.0f));
}

TEST_F(RedisStoreTest, ServerCrashIsUnavailableThenRecoversWithoutLosingWrites) {
  RedisStoreOptions o = Options("crash", 2, 0);
  o.retry_seconds = 0.5;
  auto store = NewRedisStore(o);
  const std::vector<int64_t> keys = {1, 2};
  store->Upsert(keys, std::vector<float>{1, 2, 3, 4});
  const bool flags[] = {true, true};
  store->Accumulate(keys, std::vector<float>{10, 10, 10, 10}, flags);
  server_->Kill();
  std::vector<float> got(4);
  try {
    store->Lookup(keys, got);
    FAIL() << "Lookup succeeded with the server down";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(server_->port())),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("crash"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store->Accumulate(keys, std::vector<float>{1, 1, 1, 1}, flags), Unavailable);
  ASSERT_TRUE(server_->Start());
  store->Lookup(keys, got);
  EXPECT_EQ(got, (std::vector<float>{11, 12, 13, 14}));
  store->Accumulate(keys, std::vector<float>{1, 1, 1, 1}, flags);  // scripts reloaded
  store->Lookup(keys, got);
  EXPECT_EQ(got, (std::vector<float>{12, 13, 14, 15}));
}

TEST_F(RedisStoreTest, BadArgumentsAndUnreachableServers) {
  auto store = NewRedisStore(Options("errs", 2, 0));
  const std::vector<int32_t> wrong_type = {1};
  std::vector<float> out(2);
  EXPECT_THROW(store->Lookup(wrong_type, out), InvalidArgument);
  const std::vector<int64_t> keys = {1};
  std::vector<float> short_out(1);
  EXPECT_THROW(store->Lookup(keys, short_out), InvalidArgument);
  const float nan_row[] = {0.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THROW(store->Import(keys, nan_row), InvalidArgument);
  RedisStoreOptions half = Options("half", 2, 0);
  half.spec.value_dtype = ValueDtype::kFloat16;
  EXPECT_THROW(NewRedisStore(half), InvalidArgument);
  RedisStoreOptions bad_shards = Options("s", 2, 0);
  bad_shards.num_shards = 0;
  EXPECT_THROW(NewRedisStore(bad_shards), InvalidArgument);
  RedisStoreOptions nowhere = Options("nowhere", 2, 0);
  nowhere.port = testing::FreeLoopbackPort();
  nowhere.retry_seconds = 0.2;
  try {
    NewRedisStore(nowhere);
    FAIL() << "connected to a port with no server";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(nowhere.port)),
              std::string::npos)
        << e.what();
  }
}

TEST(RedisStoreAuthTest, PasswordAndDatabaseAreUsed) {
  if (!testing::OnPath("redis-server")) GTEST_SKIP() << "redis-server is not on PATH";
  RedisTestServer server({"--requirepass", "s3cret"});
  ASSERT_TRUE(server.Start());
  RedisStoreOptions o;
  o.spec.name = "auth";
  o.port = server.port();
  o.retry_seconds = 20;
  o.password = "wrong";
  try {
    NewRedisStore(o);
    FAIL() << "a wrong password was accepted";
  } catch (const FailedPrecondition& e) {
    EXPECT_NE(std::string(e.what()).find("redis_password"), std::string::npos) << e.what();
  }
  o.password = "s3cret";
  o.db = 2;
  NewRedisStore(o)->Upsert(std::vector<int64_t>{1}, std::vector<float>{4});
  EXPECT_EQ(NewRedisStore(o)->Size(), 1);
  o.db = 0;
  EXPECT_EQ(NewRedisStore(o)->Size(), 0);  // another database
  o.db = 99;  // the server has 16 databases
  EXPECT_THROW(NewRedisStore(o), FailedPrecondition);
}

TEST_F(RedisStoreTest, ImportReplacesAndEvictIfRemovesByMeta) {
  auto store = NewRedisStore(Options("imp", 1, 0));
  store->Upsert(std::vector<int64_t>{100}, std::vector<float>{9});
  const std::vector<int64_t> keys = {1, 2, 3};
  const std::vector<EntryMeta> meta = {{5, 1}, {50, 2}, {7, 3}};
  store->Import(keys, std::vector<float>{1, 2, 3}, {}, meta);
  EXPECT_EQ(store->Size(), 3);
  // Evict last_update < 10: keys 1 and 3.
  EXPECT_EQ(store->EvictIf([](const KeyRef&, const EntryMeta& m) { return m.last_update < 10; }),
            2);
  const ExportedEntries all = store->Export();
  ASSERT_EQ(all.size(), 1);
  EXPECT_EQ(all.int64_keys[0], 2);
  EXPECT_EQ(all.values[0], 2.0f);
  EXPECT_EQ(all.meta[0], (EntryMeta{50, 2}));
  int64_t parts = 0;
  for (int p = 0; p < store->ExportPartCount(); ++p) parts += store->ExportPart(p).size();
  EXPECT_EQ(parts, 1);
}

}  // namespace
}  // namespace embcol
