// The small, implementation-independent parts of embcol/dynamic_store.h:
// dtype names, key views, exported entries, initializer rows of keys.
#include <cassert>
#include <string>

#include "core/hashing.h"
#include "embcol/dynamic_store.h"
#include "embcol/errors.h"

namespace embcol {

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kInt64: return "int64";
    case KeyType::kInt32: return "int32";
    case KeyType::kString: return "string";
  }
  return "unknown";
}

KeyType ParseKeyType(std::string_view name, const std::string& context) {
  if (name == "int64") return KeyType::kInt64;
  if (name == "int32") return KeyType::kInt32;
  if (name == "string") return KeyType::kString;
  throw InvalidArgument(context + ": unknown key dtype '" + std::string(name) +
                        "'; dynamic tables take int64, int32 or string keys.");
}

std::string_view ValueDtypeName(ValueDtype dtype) {
  switch (dtype) {
    case ValueDtype::kFloat32: return "float32";
    case ValueDtype::kFloat16: return "float16";
    case ValueDtype::kBFloat16: return "bfloat16";
  }
  return "unknown";
}

ValueDtype ParseValueDtype(std::string_view name, const std::string& context) {
  if (name == "float32" || name == "float") return ValueDtype::kFloat32;
  if (name == "float16" || name == "half") return ValueDtype::kFloat16;
  if (name == "bfloat16") return ValueDtype::kBFloat16;
  throw InvalidArgument(context + ": unknown value dtype '" + std::string(name) +
                        "'; dynamic tables store float32, float16 (half) or bfloat16 rows.");
}

KeyView KeyView::subview(int64_t begin, int64_t n) const {
  assert(begin >= 0 && n >= 0 && begin + n <= size_);
  KeyView out = *this;
  out.size_ = n;
  switch (type_) {
    case KeyType::kInt64: out.data_ = static_cast<const int64_t*>(data_) + begin; break;
    case KeyType::kInt32: out.data_ = static_cast<const int32_t*>(data_) + begin; break;
    case KeyType::kString:
      out.data_ = std_strings_
                      ? static_cast<const void*>(static_cast<const std::string*>(data_) + begin)
                      : static_cast<const void*>(static_cast<const std::string_view*>(data_) +
                                                 begin);
      break;
  }
  return out;
}

int64_t InitializerRowOf(const KeyRef& key) {
  if (key.type == KeyType::kString) {
    return static_cast<int64_t>(internal::Fingerprint64(key.string));
  }
  return key.integer;
}

int64_t ExportedEntries::size() const {
  switch (key_type) {
    case KeyType::kInt64: return static_cast<int64_t>(int64_keys.size());
    case KeyType::kInt32: return static_cast<int64_t>(int32_keys.size());
    case KeyType::kString: return static_cast<int64_t>(string_keys.size());
  }
  return 0;
}

int DynamicStore::ExportPartCount() const { return 1; }

ExportedEntries DynamicStore::ExportPart(int part) const {
  if (part != 0) {
    throw InvalidArgument("Dynamic table '" + name() + "': ExportPart(" + std::to_string(part) +
                          ") is out of range; the store has 1 part");
  }
  return Export();
}

KeyView ExportedEntries::keys() const {
  switch (key_type) {
    case KeyType::kInt64: return KeyView(int64_keys);
    case KeyType::kInt32: return KeyView(int32_keys);
    case KeyType::kString: return KeyView(string_keys);
  }
  return KeyView();
}

}  // namespace embcol
