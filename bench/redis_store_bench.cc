// Lookups per second of the Redis store (embcol/redis_store.h) for one
// training batch of 4096 examples x 20 ids: the store's pipelined batch
// (one command per bucket, one round trip per call) against one round trip
// per key. Starts its own redis-server on a free loopback port (skips when
// redis-server is not on PATH); set EMBCOL_REDIS_PORT to use a running one.
//
//   ./build/redis_store_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "embcol/redis_store.h"
#include "storage/redis_test_server.h"

namespace {

constexpr int64_t kBatch = 4096 * 20;
constexpr int64_t kDim = 16;

struct Fixture {
  std::unique_ptr<embcol::testing::RedisTestServer> server;
  std::unique_ptr<embcol::DynamicStore> store;
  std::vector<int64_t> ids;
};

// A function-local static: destroyed at exit, which stops the server.
Fixture* Get() {
  static const std::unique_ptr<Fixture> f = [] {
    auto out = std::make_unique<Fixture>();
    int port = 0;
    if (const char* env = std::getenv("EMBCOL_REDIS_PORT")) {
      port = std::atoi(env);
    } else if (embcol::testing::OnPath("redis-server")) {
      out->server = std::make_unique<embcol::testing::RedisTestServer>(
          std::vector<std::string>{"--appendonly", "no"});
      if (out->server->Start()) port = out->server->port();
    }
    if (port == 0) return out;
    embcol::RedisStoreOptions o;
    o.spec.name = "bench";
    o.spec.dim = kDim;
    o.port = port;
    out->store = embcol::NewRedisStore(o);
    out->store->Clear();
    // Zipf-like ids over 1M keys, half of them present.
    std::mt19937_64 rng(1);
    out->ids.resize(kBatch);
    for (int64_t& id : out->ids) id = static_cast<int64_t>(rng() % (1 << 20)) >> (rng() % 8);
    std::vector<int64_t> present(out->ids.begin(), out->ids.begin() + kBatch / 2);
    out->store->Upsert(present, std::vector<float>(present.size() * kDim, 0.5f));
    return out;
  }();
  return f.get();
}

void BM_LookupPipelined(benchmark::State& state) {
  Fixture* f = Get();
  if (!f->store) {
    state.SkipWithError("no redis-server");
    return;
  }
  std::vector<float> out(kBatch * kDim);
  for (auto _ : state) {
    f->store->Lookup(f->ids, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_LookupPipelined)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LookupOneRoundTripPerKey(benchmark::State& state) {
  Fixture* f = Get();
  if (!f->store) {
    state.SkipWithError("no redis-server");
    return;
  }
  std::vector<float> out(kDim);
  for (auto _ : state) {
    for (int64_t i = 0; i < kBatch; ++i) {
      f->store->Lookup(embcol::KeyView(&f->ids[i], 1), out);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_LookupOneRoundTripPerKey)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
