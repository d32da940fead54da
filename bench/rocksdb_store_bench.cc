// rocksdb_store_bench: lookups per second of the RocksDB-backed dynamic
// table (embcol/rocksdb_store.h) for batches of 4096 x 20 ids, with a warm
// cache (every key cached) and a cold one (the store just reopened with a
// cache a tenth of the table, so most keys come from RocksDB).
//
// A short run by default: --keys=N (default 200000), --dim=D (default 16),
// --batches=B (default 20). The database is built under the system's
// temporary directory and removed at the end. Output: one markdown table on
// stdout, progress on stderr. Single-threaded.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "embcol/rocksdb_store.h"

namespace {

int64_t Flag(int argc, char** argv, const std::string& name, int64_t fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind(prefix, 0) == 0) return std::strtoll(a.c_str() + prefix.size(), nullptr, 10);
  }
  return fallback;
}

// Seconds to look up `batches` batches of `ids` keys drawn from [0, keys).
double TimeLookups(embcol::DynamicStore& store, int64_t keys, int64_t ids, int64_t batches,
                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> batch(static_cast<size_t>(ids));
  std::vector<float> out(static_cast<size_t>(ids * store.dim()));
  double seconds = 0;
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t& k : batch) k = static_cast<int64_t>(rng() % static_cast<uint64_t>(keys));
    const auto t0 = std::chrono::steady_clock::now();
    store.Lookup(embcol::KeyView(batch), out);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t keys = Flag(argc, argv, "keys", 200000);
  const int64_t dim = Flag(argc, argv, "dim", 16);
  const int64_t batches = Flag(argc, argv, "batches", 20);
  const int64_t ids = 4096 * 20;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("embcol_rocksdb_bench_" + std::to_string(::getpid()));
  embcol::RocksDbStoreOptions o;
  o.spec.name = "bench";
  o.spec.dim = dim;
  o.spec.slot_initial_values = {0.0f};
  o.path = dir.string();
  // Entry cost: key, row and slot floats, ~112 bytes of bookkeeping.
  const int64_t entry_bytes = 10 + dim * 2 * 4 + 112;
  o.cache_bytes = keys * entry_bytes * 2;
  {
    std::fprintf(stderr, "filling %lld keys of dim %lld\n", static_cast<long long>(keys),
                 static_cast<long long>(dim));
    std::unique_ptr<embcol::RocksDbStore> store = embcol::NewRocksDbStore(o);
    std::vector<int64_t> chunk;
    std::vector<float> values;
    for (int64_t begin = 0; begin < keys; begin += 65536) {
      chunk.clear();
      for (int64_t k = begin; k < std::min(keys, begin + 65536); ++k) chunk.push_back(k);
      values.assign(chunk.size() * static_cast<size_t>(dim), 0.5f);
      store->Upsert(embcol::KeyView(chunk), values);
    }
    store->Flush();
    std::vector<int64_t> all(static_cast<size_t>(keys));
    for (int64_t k = 0; k < keys; ++k) all[k] = k;
    std::vector<float> out(static_cast<size_t>(keys * dim));
    store->Lookup(embcol::KeyView(all), out);
    const double warm = TimeLookups(*store, keys, ids, batches, 2);
    std::printf("| cache | ids per batch | batches | lookups/s |\n|---|---|---|---|\n");
    std::printf("| warm (all %lld keys cached) | %lld | %lld | %.3g |\n",
                static_cast<long long>(keys), static_cast<long long>(ids),
                static_cast<long long>(batches), static_cast<double>(ids * batches) / warm);
  }
  {
    o.cache_bytes = keys * entry_bytes / 10;
    std::unique_ptr<embcol::RocksDbStore> store = embcol::NewRocksDbStore(o);
    const double cold = TimeLookups(*store, keys, ids, batches, 3);
    const embcol::RocksDbStore::CacheStats s = store->cache_stats();
    std::printf("| cold (reopened, cache = 1/10 of the table; %.0f%% misses) | %lld | %lld | "
                "%.3g |\n",
                100.0 * static_cast<double>(s.misses) / static_cast<double>(s.hits + s.misses),
                static_cast<long long>(ids), static_cast<long long>(batches),
                static_cast<double>(ids * batches) / cold);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
