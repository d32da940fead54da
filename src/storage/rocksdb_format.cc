// Encoding of a RocksDB-backed dynamic table's keys and values
// (rocksdb_format.h).
#include "storage/rocksdb_format.h"

#include <bit>
#include <cstring>
#include <vector>

#include "core/hashing.h"
#include "embedding/dynamic_table_convert.h"

namespace embcol::internal::rocks {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the RocksDB value layout is little-endian; add byte swaps for this host");

void AppendBigEndian(uint64_t v, int bytes, std::string& out) {
  for (int b = bytes - 1; b >= 0; --b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}

uint64_t ReadBigEndian(std::string_view s) {
  uint64_t v = 0;
  for (const char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

}  // namespace

std::string EncodeKey(const KeyView& keys, int64_t i, int parts) {
  std::string out(2, '\0');
  switch (keys.type()) {
    case KeyType::kInt64:
      AppendBigEndian(static_cast<uint64_t>(keys.int64_at(i)) ^ (uint64_t{1} << 63), 8, out);
      break;
    case KeyType::kInt32:
      AppendBigEndian(static_cast<uint32_t>(keys.int32_at(i)) ^ (uint32_t{1} << 31), 4, out);
      break;
    case KeyType::kString:
      out += keys.string_at(i);
      break;
  }
  const uint64_t part =
      Fingerprint64(std::string_view(out).substr(2)) % static_cast<uint64_t>(parts);
  out[0] = static_cast<char>(part >> 8);
  out[1] = static_cast<char>(part & 0xff);
  return out;
}

std::string PartStart(int part) {
  std::string out;
  AppendBigEndian(static_cast<uint64_t>(part), 2, out);
  return out;
}

bool DecodeKey(std::string_view encoded, KeyType type, KeyRef& out) {
  if (encoded.size() < 2) return false;
  const std::string_view bytes = encoded.substr(2);
  out.type = type;
  switch (type) {
    case KeyType::kInt64:
      if (bytes.size() != 8) return false;
      out.integer = static_cast<int64_t>(ReadBigEndian(bytes) ^ (uint64_t{1} << 63));
      return true;
    case KeyType::kInt32:
      if (bytes.size() != 4) return false;
      out.integer = static_cast<int32_t>(static_cast<uint32_t>(ReadBigEndian(bytes)) ^
                                         (uint32_t{1} << 31));
      return true;
    case KeyType::kString:
      out.string = bytes;
      return true;
  }
  return false;
}

std::string KeyRefText(const KeyRef& key) {
  if (key.type != KeyType::kString) return std::to_string(key.integer);
  std::string out = "'" + std::string(key.string.substr(0, 64));
  return out + (key.string.size() > 64 ? "...'" : "'");
}

size_t ValueLayout::row_bytes() const {
  return static_cast<size_t>(dim) * (dtype == ValueDtype::kFloat32 ? 4 : 2);
}

void EncodeValue(const ValueLayout& layout, const float* row, const float* slots,
                 const EntryMeta& meta, std::string& out) {
  const size_t at = out.size();
  out.resize(at + layout.total_bytes());
  char* p = out.data() + at;
  switch (layout.dtype) {
    case ValueDtype::kFloat32:
      std::memcpy(p, row, layout.row_bytes());
      break;
    case ValueDtype::kBFloat16:
      EncodeBf16Row(row, reinterpret_cast<uint16_t*>(p), layout.dim);
      break;
    case ValueDtype::kFloat16:
      EncodeF16Row(row, reinterpret_cast<uint16_t*>(p), layout.dim);
      break;
  }
  p += layout.row_bytes();
  if (layout.slot_bytes() > 0) std::memcpy(p, slots, layout.slot_bytes());
  p += layout.slot_bytes();
  std::memcpy(p, &meta.last_update, 4);
  std::memcpy(p + 4, &meta.frequency, 4);
}

void DecodeValue(const ValueLayout& layout, std::string_view value, float* row, float* slots,
                 EntryMeta& meta) {
  const char* p = value.data();
  switch (layout.dtype) {
    case ValueDtype::kFloat32:
      std::memcpy(row, p, layout.row_bytes());
      break;
    case ValueDtype::kBFloat16:
    case ValueDtype::kFloat16: {
      // The value's bytes may be unaligned: copy them out first.
      std::vector<uint16_t> half(static_cast<size_t>(layout.dim));
      std::memcpy(half.data(), p, layout.row_bytes());
      if (layout.dtype == ValueDtype::kBFloat16) {
        DecodeBf16Row(half.data(), row, layout.dim);
      } else {
        DecodeF16Row(half.data(), row, layout.dim);
      }
      break;
    }
  }
  p += layout.row_bytes();
  if (slots != nullptr && layout.slot_bytes() > 0) std::memcpy(slots, p, layout.slot_bytes());
  meta = DecodeMeta(layout, value);
}

EntryMeta DecodeMeta(const ValueLayout& layout, std::string_view value) {
  EntryMeta meta;
  const char* p = value.data() + layout.row_bytes() + layout.slot_bytes();
  std::memcpy(&meta.last_update, p, 4);
  std::memcpy(&meta.frequency, p + 4, 4);
  return meta;
}

std::string EncodeInt64(int64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}

bool DecodeInt64(std::string_view bytes, int64_t& v) {
  if (bytes.size() != 8) return false;
  std::memcpy(&v, bytes.data(), 8);
  return true;
}

}  // namespace embcol::internal::rocks
