// Run-time dispatch of the pooled lookup: AVX-512 -> AVX2 -> reference,
// overridable for tests and benchmarks with ForcePooledLookupPath.
#include <atomic>
#include <cassert>

#include "embcol/embedding_lookup.h"
#include "embedding/pooled_lookup.h"

namespace embcol::kernels {
namespace {

enum class Path : int { kAuto, kRef, kAvx2, kAvx512 };

bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

// The AVX-512 file is compiled with F, BW, VL and DQ (and AVX2/FMA).
bool CpuHasAvx512() {
  static const bool has = CpuHasAvx2() && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq");
  return has;
}

Path BestPath() {
  if (CpuHasAvx512()) return Path::kAvx512;
  if (CpuHasAvx2()) return Path::kAvx2;
  return Path::kRef;
}

std::atomic<Path> forced_path{Path::kAuto};

Path CurrentPath() {
  const Path p = forced_path.load(std::memory_order_relaxed);
  return p == Path::kAuto ? BestPath() : p;
}

}  // namespace

int64_t PooledLookup(const float* table, int64_t num_rows, int64_t dim,
                     const RaggedIds& ragged, Combiner combiner,
                     std::optional<float> max_norm, float* out) {
  const Path path = CurrentPath();
  if (path == Path::kRef) {
    return PooledLookupRef(table, num_rows, dim, ragged, combiner, max_norm, out);
  }
  assert(!ragged.has_weights() || ragged.weights.size() == ragged.ids.size());
  assert(ragged.num_rows() == 0 || ragged.row_splits.back() ==
                                       static_cast<int64_t>(ragged.ids.size()));
  internal::PooledLookupArgs args{};
  args.table = table;
  args.num_rows = num_rows;
  args.dim = dim;
  args.row_splits = ragged.row_splits.data();
  args.num_out_rows = ragged.num_rows();
  args.ids = ragged.ids.data();
  args.num_ids = static_cast<int64_t>(ragged.ids.size());
  args.weights = ragged.has_weights() ? ragged.weights.data() : nullptr;
  args.combiner = combiner;
  args.has_max_norm = max_norm.has_value();
  args.max_norm = max_norm.value_or(0.0f);
  args.out = out;
  return path == Path::kAvx512 ? internal::PooledLookupAvx512(args)
                               : internal::PooledLookupAvx2(args);
}

bool ForcePooledLookupPath(const std::string& path) {
  Path p;
  if (path == "auto") {
    p = Path::kAuto;
  } else if (path == "ref") {
    p = Path::kRef;
  } else if (path == "avx2") {
    if (!CpuHasAvx2()) return false;
    p = Path::kAvx2;
  } else if (path == "avx512") {
    if (!CpuHasAvx512()) return false;
    p = Path::kAvx512;
  } else {
    return false;
  }
  forced_path.store(p, std::memory_order_relaxed);
  return true;
}

std::string PooledLookupPath() {
  switch (CurrentPath()) {
    case Path::kAvx512: return "avx512";
    case Path::kAvx2: return "avx2";
    default: return "ref";
  }
}

}  // namespace embcol::kernels
