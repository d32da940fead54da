// JSON field readers for the serialization code; see serialization_internal.h.
#include <algorithm>
#include <cmath>

#include "columns/serialization_internal.h"

namespace embcol::internal {

void Invalid(const std::string& path, const std::string& what) {
  throw InvalidArgument(path + ": " + what);
}

void RethrowAt(const Error& error, const std::string& path) {
  std::string message = error.what();
  if (message.empty() || message[0] != '$') message = path + ": " + message;
  switch (error.code()) {
    case ErrorCode::kInvalidArgument: throw InvalidArgument(message);
    case ErrorCode::kNotFound: throw NotFound(message);
    case ErrorCode::kOutOfRange: throw OutOfRange(message);
    case ErrorCode::kFailedPrecondition: throw FailedPrecondition(message);
    case ErrorCode::kDataLoss: throw DataLoss(message);
    case ErrorCode::kUnavailable: throw Unavailable(message);
    case ErrorCode::kInternal: throw Internal(message);
  }
  throw Internal(message);
}

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& key : keys) out += (out.empty() ? "" : ", ") + key;
  return out;
}

void CheckKeys(const json& object, const std::string& path,
               const std::vector<std::string>& required,
               const std::vector<std::string>& optional) {
  auto expected = [&] {
    std::string text = "expected keys: (" + JoinKeys(required) + ")";
    if (!optional.empty()) text += ", optional: (" + JoinKeys(optional) + ")";
    return text;
  };
  if (!object.is_object()) {
    Invalid(path, "expected a JSON object; got " + object.dump() + "; " + expected() + ".");
  }
  for (const auto& key : required) {
    if (!object.contains(key)) {
      Invalid(path, "Invalid config: missing key '" + key + "'; " + expected() + ".");
    }
  }
  for (const auto& [key, value] : object.items()) {
    if (std::find(required.begin(), required.end(), key) == required.end() &&
        std::find(optional.begin(), optional.end(), key) == optional.end()) {
      Invalid(path, "Invalid config: unknown key '" + key + "'; " + expected() + ".");
    }
  }
}

const json* TupleItems(const json& value) {
  if (value.is_array()) return &value;
  if (value.is_object() && value.size() == 2 && value.contains("class_name") &&
      value["class_name"] == "__tuple__" && value.contains("items") &&
      value["items"].is_array()) {
    return &value["items"];
  }
  return nullptr;
}

const json& RequireList(const json& value, const std::string& path) {
  const json* items = TupleItems(value);
  if (items == nullptr) {
    Invalid(path, "expected a list (a JSON array or {\"class_name\": \"__tuple__\", "
                  "\"items\": [...]}); got " + value.dump() + ".");
  }
  return *items;
}

std::string GetString(const json& object, const std::string& path, const char* key) {
  const json& value = object.at(key);
  if (!value.is_string()) {
    Invalid(KeyPath(path, key), "expected a string; got " + value.dump() + ".");
  }
  return value.get<std::string>();
}

std::optional<std::string> GetOptionalString(const json& object, const std::string& path,
                                             const char* key) {
  if (object.at(key).is_null()) return std::nullopt;
  return GetString(object, path, key);
}

double ToNumber(const json& value, const std::string& path) {
  if (!value.is_number()) Invalid(path, "expected a number; got " + value.dump() + ".");
  return value.get<double>();
}

int64_t ToInt(const json& value, const std::string& path) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      Invalid(path, "integer " + value.dump() + " does not fit in int64.");
    }
    return value.get<int64_t>();
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::abs(d) < 9.0e18) {
      return static_cast<int64_t>(d);
    }
  }
  Invalid(path, "expected an integer; got " + value.dump() + ".");
}

int64_t GetInt(const json& object, const std::string& path, const char* key) {
  return ToInt(object.at(key), KeyPath(path, key));
}

std::optional<int64_t> GetOptionalInt(const json& object, const std::string& path,
                                      const char* key) {
  if (object.at(key).is_null()) return std::nullopt;
  return GetInt(object, path, key);
}

bool GetBool(const json& object, const std::string& path, const char* key) {
  const json& value = object.at(key);
  if (!value.is_boolean()) {
    Invalid(KeyPath(path, key), "expected true or false; got " + value.dump() + ".");
  }
  return value.get<bool>();
}

DType GetDType(const json& object, const std::string& path, const char* key, int kinds) {
  static const char* const kInts[] = {"int64",  "int32",  "int16",  "int8",
                                      "uint64", "uint32", "uint16", "uint8"};
  static const char* const kFloats[] = {"float32", "float64", "float16", "bfloat16",
                                        "half",    "double"};
  const std::string name = GetString(object, path, key);
  auto check = [&](int kind, DType dtype) {
    if ((kinds & kind) == 0) {
      std::vector<std::string> allowed;
      if (kinds & kStringDType) allowed.push_back("string");
      if (kinds & kIntDType) allowed.push_back("an integer type (int64, int32, ...)");
      if (kinds & kFloatDType) allowed.push_back("a floating type (float32, float64, ...)");
      Invalid(KeyPath(path, key), "dtype '" + name + "' is not allowed here; expected " +
                                      JoinKeys(allowed) + ".");
    }
    return dtype;
  };
  if (name == "string") return check(kStringDType, DType::kString);
  for (const char* n : kInts) {
    if (name == n) return check(kIntDType, DType::kInt64);
  }
  for (const char* n : kFloats) {
    if (name == n) return check(kFloatDType, DType::kFloat32);
  }
  Invalid(KeyPath(path, key), "unknown or unsupported dtype '" + name +
                                  "'; embcol reads string, integer and floating dtypes.");
}

}  // namespace embcol::internal
