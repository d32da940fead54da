#include "io/tensor_bundle_table.h"

#include <snappy.h>

#include "core/crc32c.h"
#include "embcol/errors.h"

namespace embcol::internal {

bool GetVarint64(const char** p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < limit; shift += 7) {
    const uint64_t byte = static_cast<unsigned char>(**p);
    ++*p;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetVarint32(const char** p, const char* limit, uint32_t* v) {
  uint64_t wide = 0;
  const char* start = *p;
  if (!GetVarint64(p, limit, &wide) || wide > 0xffffffffull || *p - start > 5) return false;
  *v = static_cast<uint32_t>(wide);
  return true;
}

uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

uint64_t DecodeFixed64(const char* p) {
  return uint64_t{DecodeFixed32(p)} | uint64_t{DecodeFixed32(p + 4)} << 32;
}

namespace {

struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

[[noreturn]] void Corrupt(const std::string& path, uint64_t offset, const std::string& what) {
  throw DataLoss("TensorFlow checkpoint index " + path + " is corrupt at byte offset " +
                 std::to_string(offset) + ": " + what +
                 "; the checkpoint cannot be used, write it again.");
}

bool GetHandle(const char** p, const char* limit, BlockHandle* h) {
  return GetVarint64(p, limit, &h->offset) && GetVarint64(p, limit, &h->size);
}

// The stored block at `h`, CRC-checked and uncompressed. The handle's
// range and trailer must lie before the footer.
std::string ReadBlock(const std::string& path, std::string_view file, const BlockHandle& h,
                      const char* what) {
  const uint64_t end_of_blocks = file.size() - kTableFooterSize;
  if (h.offset > end_of_blocks || h.size > end_of_blocks - h.offset ||
      kBlockTrailerSize > end_of_blocks - h.offset - h.size) {
    Corrupt(path, h.offset,
            std::string(what) + " block of " + std::to_string(h.size) +
                " bytes (+5 trailer) extends past the end of the blocks at byte " +
                std::to_string(end_of_blocks) + " (truncated file?)");
  }
  const char* data = file.data() + h.offset;
  const uint8_t type = static_cast<uint8_t>(data[h.size]);
  const uint32_t stored = DecodeFixed32(data + h.size + 1);
  const uint32_t actual = MaskCrc32c(Crc32c(data, h.size + 1));
  if (stored != actual) {
    Corrupt(path, h.offset,
            std::string(what) + " block of " + std::to_string(h.size) +
                " bytes fails its CRC-32C check");
  }
  if (type == kNoCompression) return std::string(data, h.size);
  if (type == kSnappyCompression) {
    size_t n = 0;
    std::string out;
    if (!snappy::GetUncompressedLength(data, h.size, &n) ||
        (out.resize(n), !snappy::RawUncompress(data, h.size, out.data()))) {
      Corrupt(path, h.offset, std::string(what) + " block holds invalid Snappy data");
    }
    return out;
  }
  Corrupt(path, h.offset + h.size,
          std::string(what) + " block has unknown compression type " + std::to_string(type) +
              " (known: 0 none, 1 Snappy)");
}

// Decodes the prefix-compressed entries of one uncompressed block and
// appends them. `block_offset` is the block's position in the file, for
// messages.
void ParseBlock(const std::string& path, uint64_t block_offset, const std::string& block,
                std::vector<std::pair<std::string, std::string>>* out) {
  const auto bad = [&](uint64_t at, const std::string& what) {
    Corrupt(path, block_offset,
            "block entry at byte " + std::to_string(at) + " of the uncompressed block: " + what);
  };
  if (block.size() < 4) bad(0, "block of " + std::to_string(block.size()) + " bytes is too short");
  const uint64_t num_restarts = DecodeFixed32(block.data() + block.size() - 4);
  if (num_restarts > (block.size() - 4) / 4) {
    bad(block.size() - 4, "restart count " + std::to_string(num_restarts) + " does not fit");
  }
  const char* const base = block.data();
  const char* const limit = base + block.size() - 4 - 4 * num_restarts;
  const char* p = base;
  std::string key;
  while (p < limit) {
    const uint64_t at = p - base;
    uint32_t shared = 0, unshared = 0, value_len = 0;
    if (!GetVarint32(&p, limit, &shared) || !GetVarint32(&p, limit, &unshared) ||
        !GetVarint32(&p, limit, &value_len)) {
      bad(at, "truncated entry header");
    }
    if (shared > key.size()) {
      bad(at, "shares " + std::to_string(shared) + " key bytes with a previous key of " +
                  std::to_string(key.size()));
    }
    if (unshared > static_cast<uint64_t>(limit - p) ||
        value_len > static_cast<uint64_t>(limit - p) - unshared) {
      bad(at, "key/value length runs past the entries");
    }
    key.resize(shared);
    key.append(p, unshared);
    p += unshared;
    if (!out->empty() && !(out->back().first < key)) {
      bad(at, "key \"" + key + "\" is not after the previous key \"" + out->back().first + "\"");
    }
    out->emplace_back(key, std::string(p, value_len));
    p += value_len;
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ReadTableEntries(const std::string& path,
                                                                  std::string_view file) {
  if (file.size() < kTableFooterSize) {
    Corrupt(path, 0,
            "file holds " + std::to_string(file.size()) + " bytes, fewer than the " +
                std::to_string(kTableFooterSize) + "-byte footer (truncated file?)");
  }
  const uint64_t footer_at = file.size() - kTableFooterSize;
  const char* footer = file.data() + footer_at;
  if (DecodeFixed64(footer + kTableHandlesSize) != kTableMagic) {
    Corrupt(path, footer_at + kTableHandlesSize,
            "bad magic number (not a TensorFlow checkpoint index, or truncated)");
  }
  const char* p = footer;
  BlockHandle metaindex, index;
  if (!GetHandle(&p, footer + kTableHandlesSize, &metaindex) ||
      !GetHandle(&p, footer + kTableHandlesSize, &index)) {
    Corrupt(path, footer_at, "footer block handles do not decode");
  }
  // Bundles keep no meta blocks, but the metaindex block is checked like
  // the others so that no stored byte goes unverified.
  std::vector<std::pair<std::string, std::string>> meta_entries;
  ParseBlock(path, metaindex.offset, ReadBlock(path, file, metaindex, "metaindex"),
             &meta_entries);
  std::vector<std::pair<std::string, std::string>> index_entries;
  ParseBlock(path, index.offset, ReadBlock(path, file, index, "index"), &index_entries);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [separator, value] : index_entries) {
    BlockHandle h;
    const char* q = value.data();
    if (!GetHandle(&q, value.data() + value.size(), &h)) {
      Corrupt(path, index.offset, "index entry \"" + separator + "\" holds no block handle");
    }
    const size_t before = out.size();
    ParseBlock(path, h.offset, ReadBlock(path, file, h, "data"), &out);
    if (out.size() > before && separator < out.back().first) {
      Corrupt(path, h.offset, "data block ends with a key after its index separator");
    }
  }
  return out;
}

}  // namespace embcol::internal
