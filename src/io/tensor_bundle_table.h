// Constants of the LevelDB table format that TensorFlow uses for a tensor
// bundle's `.index` file, the reader of such a table (all entries at once:
// an index holds one small entry per tensor), and the decoding of the
// binary keys of partitioned variables' slices. The layout is described
// in docs/tensorflow-checkpoint-format.md. Pure functions: thread-safe.
#ifndef EMBCOL_IO_TENSOR_BUNDLE_TABLE_H_
#define EMBCOL_IO_TENSOR_BUNDLE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embcol::internal {

// Last 8 bytes of every table file (little-endian fixed64).
inline constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
// Footer: metaindex handle + index handle (varints), zero padding to 40
// bytes, magic.
inline constexpr size_t kTableFooterSize = 48;
inline constexpr size_t kTableHandlesSize = 40;
// After every block: 1 compression byte + fixed32 masked CRC-32C of the
// stored block bytes and the compression byte.
inline constexpr size_t kBlockTrailerSize = 5;
inline constexpr uint8_t kNoCompression = 0;
inline constexpr uint8_t kSnappyCompression = 1;

// Every key/value of the table whose whole file content is `file`, in key
// order. `path` names the file in errors. Throws DataLoss naming the path
// and the byte offset for a truncated file, a bad magic number, a block
// whose CRC does not match, undecodable Snappy data, a malformed block or
// keys out of order.
std::vector<std::pair<std::string, std::string>> ReadTableEntries(const std::string& path,
                                                                  std::string_view file);

// Little-endian and varint decoding over a bounded cursor. Each returns
// false (leaving *p unspecified) when the bytes run out or a varint is too
// long.
bool GetVarint32(const char** p, const char* limit, uint32_t* v);
bool GetVarint64(const char** p, const char* limit, uint64_t* v);
uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);

// Slice keys of partitioned variables use an order-preserving encoding
// (TensorFlow's OrderedCode). Each reader consumes its item from the front
// of *s and returns false when it does not decode.
// Unsigned: a length byte n, then n big-endian bytes.
bool ReadOrderedUnsigned(std::string_view* s, uint64_t* v);
// String: bytes, 00 ff for a zero byte, ff 00 for 0xff, ended by 00 01.
bool ReadOrderedString(std::string_view* s, std::string* out);
// Signed of L bytes: the L-byte two's complement with its top L bits
// inverted. L up to 8 (|v| < 2^55); 9 and 10 are refused.
bool ReadOrderedSigned(std::string_view* s, int64_t* v);
// A whole slice key: unsigned 0, the variable name, the rank, then per
// dimension the signed start and length (length -1: the whole dimension).
bool DecodeSliceKey(std::string_view key, std::string* name, std::vector<int64_t>* start,
                    std::vector<int64_t>* length);

}  // namespace embcol::internal

#endif  // EMBCOL_IO_TENSOR_BUNDLE_TABLE_H_
