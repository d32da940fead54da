// The on-disk layout of a RocksDB-backed dynamic table (embcol/rocksdb_store.h),
// specified in prose in docs/storage.md. All integers little-endian unless
// said otherwise.
//
//   data key     := part:uint16 big-endian | key bytes
//     part        = Fingerprint64(key bytes) mod export_parts   (< 4096, so
//                   the first byte of a data key is <= 0x0f)
//     key bytes   int64: 8 bytes big-endian of (key XOR 2^63), int32: 4 bytes
//                 big-endian of (key XOR 2^31) -- so keys sort numerically
//                 within a part; string: the bytes as they are
//   data value   := row | slots | meta
//     row         dim values in the storage dtype (float32: 4 bytes each,
//                 float16 / bfloat16: 2 bytes each)
//     slots       num_slots * dim float32, slot s at s * dim
//     meta        last_update:uint32 | frequency:uint32
//   table record  key "\xff" "embcol.table", value JSON text
//                 {"format": 1, "key_type", "value_dtype", "dim",
//                  "num_slots", "export_parts"}
//   size record   key "\xff" "embcol.size", value int64 (8 bytes): the
//                 number of data keys, written in the same WriteBatch as
//                 every change to them.
//
// Part p of the export is the key range [p big-endian, p+1 big-endian).
// Pure functions: thread-safe.
#ifndef EMBCOL_STORAGE_ROCKSDB_FORMAT_H_
#define EMBCOL_STORAGE_ROCKSDB_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "embcol/dynamic_store.h"

namespace embcol::internal::rocks {

inline constexpr int kFormatVersion = 1;
inline constexpr int kMaxParts = 4096;
inline constexpr int kDefaultParts = 64;
inline constexpr std::string_view kTableRecordKey = "\xff" "embcol.table";
inline constexpr std::string_view kSizeRecordKey = "\xff" "embcol.size";
// Every data key sorts in ["", kDataEnd).
inline constexpr std::string_view kDataEnd = "\xff";

// The data key of keys[i].
std::string EncodeKey(const KeyView& keys, int64_t i, int parts);

// The first key of part p (2 bytes, big-endian).
std::string PartStart(int part);

// Decodes a data key into `out` (string keys view `encoded`). Returns false
// when its length does not fit the key type.
bool DecodeKey(std::string_view encoded, KeyType type, KeyRef& out);

// A key for error messages (strings quoted, cut at 64 bytes).
std::string KeyRefText(const KeyRef& key);

// Sizes of a data value's pieces.
struct ValueLayout {
  int64_t dim = 0;
  int64_t num_slots = 0;
  ValueDtype dtype = ValueDtype::kFloat32;
  size_t row_bytes() const;
  size_t total_bytes() const { return row_bytes() + slot_bytes() + 8; }
  size_t slot_bytes() const { return static_cast<size_t>(num_slots * dim) * 4; }
};

// Appends the value of (row, slots, meta); row is converted to the storage
// dtype (rounded to nearest even). slots: num_slots * dim floats.
void EncodeValue(const ValueLayout& layout, const float* row, const float* slots,
                 const EntryMeta& meta, std::string& out);

// Decodes a value of exactly layout.total_bytes() bytes (checked by the
// caller) into row[dim], slots[num_slots * dim] (nullptr: skipped) and meta.
void DecodeValue(const ValueLayout& layout, std::string_view value, float* row, float* slots,
                 EntryMeta& meta);
EntryMeta DecodeMeta(const ValueLayout& layout, std::string_view value);

std::string EncodeInt64(int64_t v);
// False when `bytes` is not 8 bytes long.
bool DecodeInt64(std::string_view bytes, int64_t& v);

}  // namespace embcol::internal::rocks

#endif  // EMBCOL_STORAGE_ROCKSDB_FORMAT_H_
