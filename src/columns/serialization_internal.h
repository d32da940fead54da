// Helpers shared by the serialization .cc files: JSON paths, strict key-set
// checks, tuple unwrapping and typed field readers. Every reader throws
// InvalidArgument "<json path>: <what>". Pure functions: thread-safe.
#ifndef EMBCOL_COLUMNS_SERIALIZATION_INTERNAL_H_
#define EMBCOL_COLUMNS_SERIALIZATION_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/errors.h"
#include "embcol/feature.h"

namespace embcol::internal {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// "$[2]", "$.config.keys" ...
inline std::string IndexPath(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}
inline std::string KeyPath(const std::string& path, const std::string& key) {
  return path + "." + key;
}

[[noreturn]] void Invalid(const std::string& path, const std::string& what);

// Re-throws `error` (same class) with "<path>: " in front, unless the
// message already starts with a JSON path.
[[noreturn]] void RethrowAt(const Error& error, const std::string& path);

std::string JoinKeys(const std::vector<std::string>& keys);

// Requires `object` to be a JSON object holding every key of `required`, any
// of `optional`, and nothing else (TF's _check_config_keys, plus embcol's
// lenient defaults). The message lists the expected keys.
void CheckKeys(const json& object, const std::string& path,
               const std::vector<std::string>& required,
               const std::vector<std::string>& optional = {});

// A JSON array, or the SavedModel tuple form {"class_name": "__tuple__",
// "items": [...]}; nullptr for anything else.
const json* TupleItems(const json& value);
// Like TupleItems, but throws naming `path` when `value` is neither.
const json& RequireList(const json& value, const std::string& path);

// Typed readers of `object[key]`; the path in messages is path.key.
std::string GetString(const json& object, const std::string& path, const char* key);
std::optional<std::string> GetOptionalString(const json& object, const std::string& path,
                                             const char* key);
int64_t GetInt(const json& object, const std::string& path, const char* key);
std::optional<int64_t> GetOptionalInt(const json& object, const std::string& path,
                                      const char* key);
bool GetBool(const json& object, const std::string& path, const char* key);
// A JSON int or float.
double ToNumber(const json& value, const std::string& path);
// A JSON int, or a float with an integral value.
int64_t ToInt(const json& value, const std::string& path);

// TF dtype names. Integer names read as kInt64, floating names as kFloat32
// (embcol computes in those); "string" as kString. `kinds` (a mask of the
// constants below) says which kinds the key accepts.
inline constexpr int kStringDType = 1;
inline constexpr int kIntDType = 2;
inline constexpr int kFloatDType = 4;
DType GetDType(const json& object, const std::string& path, const char* key, int kinds);

}  // namespace embcol::internal

#endif  // EMBCOL_COLUMNS_SERIALIZATION_INTERNAL_H_
