#include "embcol/batch_json.h"

#include <charconv>
#include <cstdlib>
#include <optional>

#include "embcol/errors.h"

namespace embcol {
namespace {

using nlohmann::json;

struct Context {
  const std::string& source;
  [[noreturn]] void Fail(const std::string& path, const std::string& what) const {
    throw InvalidArgument(source + ": " + path + ": " + what);
  }
};

std::optional<DType> ParseDType(const json& j, const Context& ctx,
                                const std::string& path) {
  if (!j.is_string()) ctx.Fail(path, "dtype must be a string such as \"int64\".");
  const std::string s = j.get<std::string>();
  if (s == "int64" || s == "int32") return DType::kInt64;
  if (s == "float32" || s == "float64" || s == "float") return DType::kFloat32;
  if (s == "string") return DType::kString;
  ctx.Fail(path, "unknown dtype \"" + s + "\"; use \"int64\", \"float32\" or \"string\".");
}

// Converts a flat list of JSON scalars to typed values.
Values ParseValues(const std::vector<const json*>& leaves, std::optional<DType> dtype,
                   const Context& ctx, const std::string& path) {
  bool any_string = false, any_number = false, any_float = false;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const json& v = *leaves[i];
    if (v.is_string()) {
      any_string = true;
    } else if (v.is_number()) {
      any_number = true;
      any_float |= v.is_number_float();
    } else {
      ctx.Fail(path + "[" + std::to_string(i) + "]",
               "values must be numbers or strings; got " + std::string(v.type_name()) + ".");
    }
  }
  if (any_string && any_number) {
    ctx.Fail(path, "values mix strings and numbers; a feature has one dtype.");
  }
  DType type = any_string ? DType::kString : any_float ? DType::kFloat32 : DType::kInt64;
  if (dtype) {
    if (*dtype == DType::kString && any_number) {
      ctx.Fail(path, "dtype is string but the values are numbers.");
    }
    if (*dtype != DType::kString && any_string) {
      ctx.Fail(path, "dtype is " + std::string(DTypeName(*dtype)) +
                         " but the values are strings.");
    }
    if (*dtype == DType::kInt64 && any_float) {
      ctx.Fail(path, "dtype is int64 but some values have a fraction or exponent.");
    }
    type = *dtype;
  }
  switch (type) {
    case DType::kString: {
      Strings out;
      out.reserve(leaves.size());
      for (const json* v : leaves) out.push_back(v->get<std::string>());
      return out;
    }
    case DType::kFloat32: {
      Floats out;
      out.reserve(leaves.size());
      for (const json* v : leaves) out.push_back(v->get<float>());
      return out;
    }
    case DType::kInt64: {
      Int64s out;
      out.reserve(leaves.size());
      for (size_t i = 0; i < leaves.size(); ++i) {
        const json& v = *leaves[i];
        if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          ctx.Fail(path + "[" + std::to_string(i) + "]", "integer does not fit in int64.");
        }
        out.push_back(v.get<int64_t>());
      }
      return out;
    }
  }
  return Int64s{};
}

std::vector<int64_t> ParseIntList(const json& j, const Context& ctx,
                                  const std::string& path) {
  if (!j.is_array()) ctx.Fail(path, "expected a list of integers.");
  std::vector<int64_t> out;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number_integer()) {
      ctx.Fail(path + "[" + std::to_string(i) + "]", "expected an integer.");
    }
    out.push_back(j[i].get<int64_t>());
  }
  return out;
}

std::vector<const json*> ListLeaves(const json& j, const Context& ctx,
                                    const std::string& path) {
  if (!j.is_array()) ctx.Fail(path, "expected a list of values.");
  std::vector<const json*> out;
  for (const json& v : j) out.push_back(&v);
  return out;
}

// Walks a nested list, checking it is rectangular; collects the leaves.
void WalkDense(const json& j, size_t depth, std::vector<int64_t>& shape,
               std::vector<const json*>& leaves, const Context& ctx,
               const std::string& path) {
  if (!j.is_array()) {
    if (depth != shape.size()) {
      ctx.Fail(path, "nested list is not rectangular: a value stands where a list "
                     "of length " + std::to_string(shape[depth]) + " was expected.");
    }
    leaves.push_back(&j);
    return;
  }
  if (depth == shape.size()) {
    if (!leaves.empty()) {
      ctx.Fail(path, "nested list is not rectangular: a list stands where a value "
                     "was expected.");
    }
    shape.push_back(static_cast<int64_t>(j.size()));
  } else if (shape[depth] != static_cast<int64_t>(j.size())) {
    ctx.Fail(path, "nested list is not rectangular: length " + std::to_string(j.size()) +
                       " where the first list at this depth had " +
                       std::to_string(shape[depth]) + ".");
  }
  for (size_t i = 0; i < j.size(); ++i) {
    WalkDense(j[i], depth + 1, shape, leaves, ctx, path + "[" + std::to_string(i) + "]");
  }
}

Feature ParseFeature(const std::string& key, const json& j, const Context& ctx,
                     const std::string& path) {
  if (j.is_object()) {
    std::optional<DType> dtype;
    for (const auto& [k, v] : j.items()) {
      if (k != "indices" && k != "values" && k != "dense_shape" && k != "row_splits" &&
          k != "dtype") {
        ctx.Fail(path + "." + k, "unknown key; a feature object has \"indices\", "
                                 "\"values\", \"dense_shape\" (sparse) or \"values\", "
                                 "\"row_splits\" (ragged), and optionally \"dtype\".");
      }
    }
    if (j.contains("dtype")) dtype = ParseDType(j["dtype"], ctx, path + ".dtype");
    if (!j.contains("values")) ctx.Fail(path, "feature object needs \"values\".");
    Values values = ParseValues(ListLeaves(j["values"], ctx, path + ".values"), dtype, ctx,
                                path + ".values");
    if (j.contains("row_splits")) {
      if (j.contains("indices") || j.contains("dense_shape")) {
        ctx.Fail(path, "give either row_splits (ragged) or indices + dense_shape "
                       "(sparse), not both.");
      }
      return Feature::Ragged(ParseIntList(j["row_splits"], ctx, path + ".row_splits"),
                             std::move(values), key);
    }
    if (!j.contains("indices") || !j.contains("dense_shape")) {
      ctx.Fail(path, "a sparse feature needs \"indices\" and \"dense_shape\"; a ragged "
                     "one needs \"row_splits\".");
    }
    const std::vector<int64_t> dense_shape =
        ParseIntList(j["dense_shape"], ctx, path + ".dense_shape");
    const json& ji = j["indices"];
    if (!ji.is_array()) ctx.Fail(path + ".indices", "expected a list of index lists.");
    std::vector<int64_t> indices;
    for (size_t i = 0; i < ji.size(); ++i) {
      const std::string ip = path + ".indices[" + std::to_string(i) + "]";
      std::vector<int64_t> idx = ParseIntList(ji[i], ctx, ip);
      if (idx.size() != dense_shape.size()) {
        ctx.Fail(ip, "index has " + std::to_string(idx.size()) +
                         " entries but dense_shape has rank " +
                         std::to_string(dense_shape.size()) + ".");
      }
      indices.insert(indices.end(), idx.begin(), idx.end());
    }
    return Feature::Sparse(std::move(indices), std::move(values), dense_shape, key);
  }
  std::vector<int64_t> shape;
  std::vector<const json*> leaves;
  WalkDense(j, 0, shape, leaves, ctx, path);
  return Feature::Dense(std::move(shape), ParseValues(leaves, std::nullopt, ctx, path), key);
}

double ShortestFloat(float f) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f);
  *res.ptr = '\0';
  return std::strtod(buf, nullptr);
}

json ToJsonRec(const DenseTensor& t, size_t dim, int64_t offset) {
  json out = json::array();
  if (dim == t.shape.size()) return ShortestFloat(t.values[offset]);
  int64_t stride = 1;
  for (size_t d = dim + 1; d < t.shape.size(); ++d) stride *= t.shape[d];
  for (int64_t i = 0; i < t.shape[dim]; ++i) {
    if (dim + 1 == t.shape.size()) {
      out.push_back(ShortestFloat(t.values[offset + i]));
    } else {
      out.push_back(ToJsonRec(t, dim + 1, offset + i * stride));
    }
  }
  return out;
}

}  // namespace

FeatureBatch FeatureBatchFromJson(const json& j, const std::string& source) {
  Context ctx{source};
  if (!j.is_object() || !j.contains("features") || !j["features"].is_object()) {
    ctx.Fail("$", "expected an object {\"features\": {KEY: FEATURE, ...}}.");
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "features") ctx.Fail("$." + k, "unknown key; only \"features\" is read.");
  }
  FeatureBatch batch;
  for (const auto& [key, value] : j["features"].items()) {
    const std::string path = "$.features." + key;
    try {
      batch.Set(key, ParseFeature(key, value, ctx, path));
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      if (what.rfind(source + ": ", 0) == 0) throw;
      ctx.Fail(path, what);
    }
  }
  return batch;
}

json DenseTensorToJson(const DenseTensor& tensor) { return ToJsonRec(tensor, 0, 0); }

}  // namespace embcol
