#include "embcol/tensor_bundle.h"

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>
#include <snappy.h>

#include "core/crc32c.h"
#include "embcol/dense_features.h"
#include "embcol/errors.h"
#include "embcol/table_set.h"
#include "testing/fresh_test_dir.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// A test-only writer of the tensor bundle format, written from the format
// description (docs/tensorflow-checkpoint-format.md) and sharing no code
// with the reader: varints, prefix-compressed blocks with restart arrays,
// block trailers with masked CRC-32C, the footer and protobuf wire bytes of
// the entries, all assembled by hand.

void PutVarint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}

void PutFixed32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}

void PutFixed64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}

// The masking rule of the spec: rotate right by 15, add 0xa282ead8.
uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Entries `kvs` (sorted) as one block, a restart point every `interval`.
std::string Block(const std::vector<std::pair<std::string, std::string>>& kvs,
                  size_t interval) {
  std::string out;
  std::vector<uint32_t> restarts;
  std::string last;
  for (size_t i = 0; i < kvs.size(); ++i) {
    const auto& [key, value] = kvs[i];
    size_t shared = 0;
    if (i % interval == 0) {
      restarts.push_back(static_cast<uint32_t>(out.size()));
    } else {
      while (shared < last.size() && shared < key.size() && last[shared] == key[shared]) ++shared;
    }
    PutVarint(&out, shared);
    PutVarint(&out, key.size() - shared);
    PutVarint(&out, value.size());
    out += key.substr(shared);
    out += value;
    last = key;
  }
  if (restarts.empty()) restarts.push_back(0);
  for (uint32_t r : restarts) PutFixed32(&out, r);
  PutFixed32(&out, static_cast<uint32_t>(restarts.size()));
  return out;
}

struct TableFile {
  std::string bytes;

  // Appends a block with its trailer; returns the encoded block handle.
  std::string Append(const std::string& raw, bool compress) {
    std::string stored = raw;
    char type = 0;
    if (compress) {
      stored.resize(snappy::MaxCompressedLength(raw.size()));
      size_t n = 0;
      snappy::RawCompress(raw.data(), raw.size(), stored.data(), &n);
      stored.resize(n);
      type = 1;
    }
    std::string handle;
    PutVarint(&handle, bytes.size());
    PutVarint(&handle, stored.size());
    bytes += stored;
    bytes.push_back(type);
    const uint32_t crc = internal::Crc32c(bytes.data() + bytes.size() - stored.size() - 1,
                                          stored.size() + 1);
    PutFixed32(&bytes, Mask(crc));
    return handle;
  }

  void Finish(const std::string& metaindex, const std::string& index) {
    std::string footer = metaindex + index;
    footer.resize(40, '\0');
    PutFixed64(&footer, 0xdb4775248b80fb57ull);
    bytes += footer;
  }
};

// BundleEntryProto wire bytes: field 1 dtype, 2 shape {2: dim {1: size}},
// 4 offset, 5 size, 6 fixed32 crc, 7 slices (given as raw bytes).
std::string Entry(int dtype, const std::vector<int64_t>& shape, uint64_t offset, uint64_t size,
                  uint32_t masked_crc, const std::string& slices = "") {
  std::string dims;
  for (int64_t d : shape) {
    std::string dim = Bytes({0x08});
    PutVarint(&dim, d);
    dims += Bytes({0x12, static_cast<int>(dim.size())}) + dim;
  }
  std::string e = Bytes({0x08, dtype, 0x12, static_cast<int>(dims.size())}) + dims;
  if (offset) {
    e += Bytes({0x20});
    PutVarint(&e, offset);
  }
  if (size) {
    e += Bytes({0x28});
    PutVarint(&e, size);
  }
  e += Bytes({0x35});
  PutFixed32(&e, masked_crc);
  return e + slices;
}

// A slice entry's key in the order-preserving encoding: unsigned 0 (one
// zero byte), the name (no zero or 0xff bytes here) ended by 00 01, the
// rank as one length byte + one value byte, then per dimension the signed
// start and length (-1 = whole dimension). Signed numbers in [-64, 64) are
// one byte, v ^ 0x80; in [-8192, 8192) two big-endian bytes, v ^ 0xc000.
std::string Signed(int64_t v) {
  if (v >= -64 && v < 64) return Bytes({(static_cast<int>(v) & 0xff) ^ 0x80});
  EXPECT_TRUE(v >= -8192 && v < 8192);
  const int x = (static_cast<int>(v) & 0xffff) ^ 0xc000;
  return Bytes({x >> 8, x & 0xff});
}

std::string SliceKey(const std::string& name, const std::vector<std::pair<int64_t, int64_t>>& dims) {
  std::string key = Bytes({0x00}) + name + Bytes({0x00, 0x01, 0x01, static_cast<int>(dims.size())});
  for (const auto& [start, length] : dims) key += Signed(start) + Signed(length);
  return key;
}

template <typename T>
std::string Raw(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

constexpr char kAaa[] = "input_layer/aaa_embedding/embedding_weights";
constexpr char kBbb[] = "input_layer/bbb_embedding/embedding_weights";

// The [4, 3] table of kAaa (exact in float32).
const std::vector<float> kAaaValues = {0.5f,   -1.0f, 2.0f,  0.25f,   3.0f, -4.5f,
                                       8.0f,   0.0f,  1.75f, -0.125f, 6.0f, 10.0f};
const std::vector<float> kBbbValues = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
// part_var [4, 3], saved as rows [0, 2) and rows [2, 4).
const std::vector<float> kPartValues = {-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12};
const std::string kHeader = Bytes({0x08, 0x01, 0x1a, 0x02, 0x08, 0x01});

// Data file: aaa [0, 48), bbb [48, 96), global_step [96, 104), zzz [104, 108),
// part_var's slices [108, 132) and [132, 156).
// Index: data block 1 (Snappy, restart every 3 entries; bbb shares
// "input_layer/" with aaa) = header, a slice
// key, global_step, aaa, bbb; data block 2 (uncompressed) = part_var
// (partitioned, 2 slices), zzz_scalar; empty metaindex; index block.
struct HandBuilt {
  std::string data;
  std::string index;
  uint64_t index_block_offset = 0;
  uint64_t block2_offset = 0;
};

HandBuilt BuildBundle() {
  HandBuilt b;
  const std::string aaa = Raw(kAaaValues), bbb = Raw(kBbbValues);
  const std::string step = Raw(std::vector<int64_t>{7});
  const std::string zzz = Raw(std::vector<float>{1.5f});
  const std::string p1 = Raw(std::vector<float>(kPartValues.begin(), kPartValues.begin() + 6));
  const std::string p2 = Raw(std::vector<float>(kPartValues.begin() + 6, kPartValues.end()));
  b.data = aaa + bbb + step + zzz + p1 + p2;
  const auto crc = [](const std::string& s) { return Mask(internal::Crc32c(s)); };
  // Two slices of dim 0: {start 0, length 2} and {start 2, length 2}, dim 1 full.
  const std::string slices = Bytes({0x3a, 0x06, 0x0a, 0x02, 0x10, 0x02, 0x0a, 0x00,  //
                                    0x3a, 0x08, 0x0a, 0x04, 0x08, 0x02, 0x10, 0x02, 0x0a, 0x00});
  TableFile t;
  const std::string h1 = t.Append(
      Block({{"", kHeader},
             {SliceKey("part_var", {{0, 2}, {0, -1}}), Entry(1, {2, 3}, 108, 24, crc(p1))},
             {SliceKey("part_var", {{2, 2}, {0, -1}}), Entry(1, {2, 3}, 132, 24, crc(p2))},
             {"global_step", Entry(9, {}, 96, 8, crc(step))},
             {kAaa, Entry(1, {4, 3}, 0, 48, crc(aaa))},
             {kBbb, Entry(1, {4, 3}, 48, 48, crc(bbb))}},
            3),
      /*compress=*/true);
  b.block2_offset = t.bytes.size();
  const std::string h2 = t.Append(Block({{"part_var", Entry(1, {4, 3}, 0, 0, 0, slices)},
                                         {"zzz_scalar", Entry(1, {}, 104, 4, crc(zzz))}},
                                        16),
                                  /*compress=*/false);
  const std::string meta = t.Append(Block({}, 16), false);
  b.index_block_offset = t.bytes.size();
  const std::string index = t.Append(Block({{kBbb, h1}, {"zzz_scalar", h2}}, 1), false);
  t.Finish(meta, index);
  b.index = t.bytes;
  return b;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

template <typename E, typename F>
std::string ExpectThrows(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << p << " in: " << msg;
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

class TensorBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_util::FreshTestDir("embcol_bundle_test");
    fs::create_directories(dir_);
    bundle_ = BuildBundle();
    Write(bundle_.index, bundle_.data);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& index, const std::string& data) {
    WriteFile(prefix() + ".index", index);
    WriteFile(prefix() + ".data-00000-of-00001", data);
  }
  std::string dir() const { return dir_.string(); }
  std::string prefix() const { return dir() + "/model.ckpt-7"; }

  fs::path dir_;
  HandBuilt bundle_;
};

TEST_F(TensorBundleTest, ListsTheEntriesOfAHandBuiltBundle) {
  TensorBundleReader r(prefix());
  EXPECT_EQ(r.prefix(), prefix());
  EXPECT_EQ(r.num_shards(), 1);
  const auto& t = r.tensors();
  ASSERT_EQ(t.size(), 5u);  // the slice key is not listed
  EXPECT_EQ(t[0].name, "global_step");
  EXPECT_EQ(t[0].dtype, "int64");
  EXPECT_TRUE(t[0].shape.empty());
  EXPECT_EQ(t[0].offset, 96);
  EXPECT_EQ(t[0].size, 8);
  EXPECT_EQ(t[1].name, kAaa);
  EXPECT_EQ(t[1].dtype, "float32");
  EXPECT_EQ(t[1].shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(t[1].shard, 0);
  EXPECT_EQ(t[1].offset, 0);
  EXPECT_EQ(t[1].size, 48);
  EXPECT_EQ(t[1].num_slices, 0);
  EXPECT_EQ(t[2].name, kBbb);
  EXPECT_EQ(t[2].offset, 48);
  EXPECT_EQ(t[3].name, "part_var");
  EXPECT_EQ(t[3].num_slices, 2);
  EXPECT_EQ(t[4].name, "zzz_scalar");
  EXPECT_EQ(t[4].offset, 104);
  EXPECT_EQ(t[4].size, 4);
  EXPECT_TRUE(r.Has(kAaa));
  EXPECT_FALSE(r.Has("input_layer"));
  EXPECT_EQ(r.Shape(kBbb), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(r.NamesWithShape({4, 3}), (std::vector<std::string>{kAaa, kBbb, "part_var"}));
}

TEST_F(TensorBundleTest, ReadsValuesFromBothBlocks) {
  TensorBundleReader r(prefix());
  EXPECT_EQ(r.ReadFloats(kAaa), kAaaValues);
  EXPECT_EQ(r.ReadFloats(kBbb), kBbbValues);
  EXPECT_EQ(r.ReadInt64s("global_step"), (std::vector<int64_t>{7}));
  EXPECT_EQ(r.ReadFloats("zzz_scalar"), (std::vector<float>{1.5f}));
  ExpectThrows<InvalidArgument>([&] { r.ReadFloats("global_step"); }, {"global_step", "int64"});
  EXPECT_EQ(r.ReadFloats("part_var"), kPartValues);
}

TEST_F(TensorBundleTest, ResolvesDirectoriesAndTheStateFile) {
  // One *.index in the directory.
  EXPECT_EQ(TensorBundleReader(dir()).prefix(), dir() + "/model.ckpt-7");
  EXPECT_TRUE(IsTensorBundle(dir()));
  EXPECT_TRUE(IsTensorBundle(prefix()));
  EXPECT_FALSE(IsTensorBundle(dir() + "/model.ckpt-8"));
  // Two: ambiguous without a state file.
  WriteFile(dir() + "/model.ckpt-9.index", bundle_.index);
  WriteFile(dir() + "/model.ckpt-9.data-00000-of-00001", bundle_.data);
  ExpectThrows<NotFound>([&] { TensorBundleReader r(dir()); }, {"model.ckpt-7.index", "model.ckpt-9"});
  // TensorFlow's text state file picks one (relative to the directory).
  WriteFile(dir() + "/checkpoint",
            "model_checkpoint_path: \"model.ckpt-9\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-7\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-9\"\n");
  EXPECT_EQ(TensorBundleReader(dir()).prefix(), dir() + "/model.ckpt-9");
  // An absolute path from where the directory used to be: found next to
  // the state file.
  WriteFile(dir() + "/checkpoint", "model_checkpoint_path: \"/old/place/model.ckpt-7\"\n");
  EXPECT_EQ(TensorBundleReader(dir()).prefix(), dir() + "/model.ckpt-7");
  WriteFile(dir() + "/checkpoint", "model_checkpoint_path: \"model.ckpt-8\"\n");
  ExpectThrows<NotFound>([&] { TensorBundleReader r(dir()); }, {"model.ckpt-8", "checkpoint"});
  ExpectThrows<NotFound>([&] { TensorBundleReader r(dir() + "/nothing"); }, {"nothing"});
}

TEST_F(TensorBundleTest, UnknownNameListsTheClosestNames) {
  TensorBundleReader r(prefix());
  ExpectThrows<NotFound>([&] { r.ReadFloats("input_layer/aab_embedding/embedding_weights"); },
                         {prefix(), "aab_embedding", "closest names: " + std::string(kAaa)});
  ExpectThrows<NotFound>([&] { r.Info("emb", std::vector<int64_t>{4, 3}); },
                         {"tensors of shape [4, 3]: " + std::string(kAaa) + ", " + kBbb});
}

// --- corruption ------------------------------------------------------------

TEST_F(TensorBundleTest, FlippedIndexBytesAreDataLossWithTheOffset) {
  std::string bad = bundle_.index;
  bad[3] ^= 0x10;  // inside the Snappy data block at offset 0
  Write(bad, bundle_.data);
  ExpectThrows<DataLoss>([&] { TensorBundleReader r(prefix()); },
                         {prefix() + ".index", "byte offset 0", "CRC"});
  bad = bundle_.index;
  bad[bundle_.block2_offset + 2] ^= 0x01;  // the uncompressed data block
  Write(bad, bundle_.data);
  ExpectThrows<DataLoss>([&] { TensorBundleReader r(prefix()); },
                         {"byte offset " + std::to_string(bundle_.block2_offset), "CRC"});
  bad = bundle_.index;
  bad[bundle_.index_block_offset + 1] ^= 0x01;  // the index block
  Write(bad, bundle_.data);
  ExpectThrows<DataLoss>([&] { TensorBundleReader r(prefix()); },
                         {"byte offset " + std::to_string(bundle_.index_block_offset)});
}

TEST_F(TensorBundleTest, TruncatedIndexAndWrongMagicAreDataLoss) {
  const std::string& good = bundle_.index;
  Write(good.substr(0, good.size() - 1), bundle_.data);
  ExpectThrows<DataLoss>([&] { TensorBundleReader r(prefix()); }, {"magic", prefix() + ".index"});
  Write(good.substr(0, 30), bundle_.data);
  ExpectThrows<DataLoss>([&] { TensorBundleReader r(prefix()); }, {"30 bytes", "48-byte footer"});
  // Keep the footer but lose the middle: the handles point past the blocks.
  Write(good.substr(0, 10) + good.substr(good.size() - 48), bundle_.data);
  ExpectThrows<DataLoss>([&] { TensorBundleReader r(prefix()); }, {"truncated"});
  std::string bad = good;
  bad[bad.size() - 1] = 0x00;  // magic ends in 0xdb
  Write(bad, bundle_.data);
  ExpectThrows<DataLoss>([&] { TensorBundleReader r(prefix()); },
                         {"magic", "byte offset " + std::to_string(good.size() - 8)});
}

TEST_F(TensorBundleTest, DataFileProblems) {
  std::string bad = bundle_.data;
  bad[50] ^= 0x01;  // inside bbb [48, 96)
  Write(bundle_.index, bad);
  TensorBundleReader r(prefix());
  EXPECT_EQ(r.ReadFloats(kAaa), kAaaValues);  // its bytes are intact
  ExpectThrows<DataLoss>([&] { r.ReadFloats(kBbb); },
                         {prefix() + ".data-00000-of-00001", kBbb, "byte offset 48", "CRC"});
  Write(bundle_.index, bundle_.data.substr(0, 100));
  ExpectThrows<DataLoss>([&] { TensorBundleReader(prefix()).ReadFloats("zzz_scalar"); },
                         {"truncated", "byte offset 104"});
  fs::remove(prefix() + ".data-00000-of-00001");
  ExpectThrows<NotFound>([&] { TensorBundleReader(prefix()).ReadFloats(kAaa); },
                         {prefix() + ".data-00000-of-00001"});
}

// Every single-byte change and every truncation of the index either is
// caught with a typed error or leaves the values intact (the footer's
// zero padding is not checksummed).
TEST_F(TensorBundleTest, EveryFlippedOrTruncatedIndexIsCaught) {
  const std::string& good = bundle_.index;
  const auto try_read = [&] {
    TensorBundleReader r(prefix());
    for (const auto& t : r.tensors()) {
      if (t.dtype == "float32") r.ReadFloats(t.name);
    }
    return r.ReadFloats(kAaa) == kAaaValues;
  };
  int caught = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x41;
    Write(bad, bundle_.data);
    try {
      EXPECT_TRUE(try_read()) << "byte " << i;
    } catch (const Error&) {
      ++caught;
    }
  }
  // Only the footer's zero padding (40 bytes less the two handles) can
  // change unnoticed.
  EXPECT_GE(caught, static_cast<int>(good.size()) - 40);
  for (size_t n = 0; n < good.size(); ++n) {
    Write(good.substr(0, n), bundle_.data);
    EXPECT_THROW(try_read(), DataLoss) << n << " bytes";
  }
}

TEST_F(TensorBundleTest, SeveralDataShards) {
  // num_shards 2: the header is 08 02 1a 02 08 01; zzz lives in shard 1.
  const std::string zzz = Raw(std::vector<float>{2.5f, -0.5f});
  const std::string aaa = Raw(kAaaValues);
  std::string e = Entry(1, {2}, 0, 8, Mask(internal::Crc32c(zzz)));
  e.insert(e.size() - 5, Bytes({0x18, 0x01}));  // shard_id 1, before the crc field
  TableFile t;
  const std::string h = t.Append(Block({{"", Bytes({0x08, 0x02, 0x1a, 0x02, 0x08, 0x01})},
                                        {kAaa, Entry(1, {4, 3}, 0, 48, Mask(internal::Crc32c(aaa)))},
                                        {"zzz", e}},
                                       16),
                                 false);
  const std::string meta = t.Append(Block({}, 16), false);
  t.Finish(meta, t.Append(Block({{"zzz", h}}, 1), false));
  WriteFile(prefix() + ".index", t.bytes);
  WriteFile(prefix() + ".data-00000-of-00002", aaa);
  WriteFile(prefix() + ".data-00001-of-00002", zzz);
  TensorBundleReader r(prefix());
  EXPECT_EQ(r.num_shards(), 2);
  EXPECT_EQ(r.Info("zzz").shard, 1);
  EXPECT_EQ(r.ReadFloats(kAaa), kAaaValues);
  EXPECT_EQ(r.ReadFloats("zzz"), (std::vector<float>{2.5f, -0.5f}));
  fs::remove(prefix() + ".data-00001-of-00002");
  ExpectThrows<NotFound>([&] { r.ReadFloats("zzz"); }, {".data-00001-of-00002"});
}

// --- loading an embedding column's table ------------------------------------

std::shared_ptr<const EmbeddingColumn> AaaColumn(const std::string& ckpt, const std::string& tensor,
                                                 int64_t buckets = 4, int64_t dim = 3) {
  EmbeddingColumnOptions o;
  o.combiner = "sum";
  o.ckpt_to_load_from = ckpt;
  o.tensor_name_in_ckpt = tensor;
  return embedding_column(categorical_column_with_identity("aaa", buckets), dim, o);
}

TEST_F(TensorBundleTest, EmbeddingColumnLoadsItsTableFromTheBundle) {
  DenseFeatures layer({AaaColumn(prefix(), kAaa)});
  const EmbeddingTable* t = layer.tables().Find("aaa_embedding");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ToVector(), kAaaValues);
  // Ids 3, 0, {1, 2}: rows 3 and 0 and the sum of rows 1 and 2.
  FeatureBatch batch;
  batch.Set("aaa", Feature::Ragged({0, 1, 2, 4}, Int64s{3, 0, 1, 2}));
  const DenseTensor out = layer(batch);
  EXPECT_EQ(out.shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(out.values, (std::vector<float>{-0.125f, 6, 10, 0.5f, -1, 2, 8.25f, 3, -2.75f}));
  // The directory form names the same checkpoint.
  TableSet tables;
  EXPECT_EQ(tables.GetOrCreate(*AaaColumn(dir(), kAaa)).ToVector(), kAaaValues);
}

TEST_F(TensorBundleTest, EmbeddingColumnLoadErrors) {
  ExpectThrows<NotFound>([&] { TableSet().GetOrCreate(*AaaColumn(prefix(), "emb")); },
                         {"\"emb\"", "closest names", "tensors of shape [4, 3]: " +
                                                          std::string(kAaa) + ", " + kBbb});
  const std::string shape_msg = ExpectThrows<InvalidArgument>(
      [&] { TableSet().GetOrCreate(*AaaColumn(prefix(), kAaa, 5, 3)); },
      {"aaa_embedding", kAaa, "float32 [4, 3]", "needs float32 [5, 3]",
       "Tensors of that shape in the checkpoint: none"});
  ExpectThrows<InvalidArgument>([&] { TableSet().GetOrCreate(*AaaColumn(prefix(), kAaa, 4, 2)); },
                                {"[4, 2]"});
  ExpectThrows<InvalidArgument>(
      [&] { TableSet().GetOrCreate(*AaaColumn(prefix(), "global_step")); },
      {"int64 []", "Tensors of that shape in the checkpoint: " + std::string(kAaa)});
  ExpectThrows<NotFound>([&] { TableSet().GetOrCreate(*AaaColumn(dir() + "/none", kAaa)); },
                         {"aaa_embedding", dir() + "/none", "names no checkpoint"});
  // A failed load creates no table.
  TableSet tables;
  EXPECT_THROW(tables.GetOrCreate(*AaaColumn(prefix(), "emb")), NotFound);
  EXPECT_EQ(tables.Find("aaa_embedding"), nullptr);
}

TEST_F(TensorBundleTest, PartitionedVariableLoadsAsOneTable) {
  EXPECT_EQ(TableSet().GetOrCreate(*AaaColumn(prefix(), "part_var")).ToVector(), kPartValues);
}

// An index of one uncompressed data block: the header, then `entries`.
std::string OneBlockIndex(std::vector<std::pair<std::string, std::string>> entries) {
  entries.insert(entries.begin(), {"", kHeader});
  TableFile t;
  const std::string h = t.Append(Block(entries, 16), false);
  const std::string meta = t.Append(Block({}, 16), false);
  t.Finish(meta, t.Append(Block({{"\xff", h}}, 1), false));
  return t.bytes;
}

TEST_F(TensorBundleTest, SlicesAlongAnyDimensionAndTwoByteNumbers) {
  // wide [2, 5] = [[1..5], [6..10]] saved as columns [0, 2) and [2, 5).
  const std::string w1 = Raw(std::vector<float>{1, 2, 6, 7});
  const std::string w2 = Raw(std::vector<float>{3, 4, 5, 8, 9, 10});
  // tall [200, 1], value = row, saved as rows [0, 130) and [130, 200):
  // 130 and 70 take two bytes in the key.
  std::vector<float> rows(200);
  for (int i = 0; i < 200; ++i) rows[i] = static_cast<float>(i);
  const std::string t1 = Raw(std::vector<float>(rows.begin(), rows.begin() + 130));
  const std::string t2 = Raw(std::vector<float>(rows.begin() + 130, rows.end()));
  const auto crc = [](const std::string& s) { return Mask(internal::Crc32c(s)); };
  const std::string wide_slices = Bytes({0x3a, 0x06, 0x0a, 0x00, 0x0a, 0x02, 0x10, 0x02,  //
                                         0x3a, 0x08, 0x0a, 0x00, 0x0a, 0x04, 0x08, 0x02, 0x10, 0x03});
  const std::string tall_slices = Bytes({0x3a, 0x07, 0x0a, 0x03, 0x10, 0x82, 0x01, 0x0a, 0x00,  //
                                         0x3a, 0x09, 0x0a, 0x05, 0x08, 0x82, 0x01, 0x10, 0x46,
                                         0x0a, 0x00});
  const uint64_t o2 = 16, o3 = 40, o4 = 40 + 520;
  Write(OneBlockIndex({
            {SliceKey("tall", {{0, 130}, {0, -1}}), Entry(1, {130, 1}, o3, 520, crc(t1))},
            {SliceKey("tall", {{130, 70}, {0, -1}}), Entry(1, {70, 1}, o4, 280, crc(t2))},
            {SliceKey("wide", {{0, -1}, {0, 2}}), Entry(1, {2, 2}, 0, 16, crc(w1))},
            {SliceKey("wide", {{0, -1}, {2, 3}}), Entry(1, {2, 3}, o2, 24, crc(w2))},
            {"tall", Entry(1, {200, 1}, 0, 0, 0, tall_slices)},
            {"wide", Entry(1, {2, 5}, 0, 0, 0, wide_slices)},
        }),
        w1 + w2 + t1 + t2);
  TensorBundleReader r(prefix());
  ASSERT_EQ(r.tensors().size(), 2u);
  EXPECT_EQ(r.ReadFloats("wide"), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(r.ReadFloats("tall"), rows);
}

TEST_F(TensorBundleTest, StringTensorChecksumCoversLengthsAsUint32) {
  // ["ab", ""]: varint lengths 02 00, masked CRC of the lengths taken as
  // little-endian uint32s, then "ab". The entry's CRC covers the uint32
  // lengths, the 4 stored bytes and "ab".
  const std::string lengths32 = Bytes({2, 0, 0, 0, 0, 0, 0, 0});
  std::string len_crc;
  PutFixed32(&len_crc, Mask(internal::Crc32c(lengths32)));
  const std::string data = Bytes({0x02, 0x00}) + len_crc + "ab";
  const uint32_t entry_crc = Mask(internal::Crc32c(lengths32 + len_crc + "ab"));
  Write(OneBlockIndex({{"names", Entry(7, {2}, 0, 8, entry_crc)}}), data);
  TensorBundleReader r(prefix());
  EXPECT_EQ(r.Info("names").dtype, "string");
  EXPECT_EQ(r.ReadBytes("names"), data);
  std::string bad = data;
  bad[7] = 'x';
  Write(OneBlockIndex({{"names", Entry(7, {2}, 0, 8, entry_crc)}}), bad);
  ExpectThrows<DataLoss>([&] { TensorBundleReader(prefix()).ReadBytes("names"); },
                         {"names", "CRC"});
}

TEST_F(TensorBundleTest, MissingSliceIsDataLoss) {
  const std::string p1 = Raw(std::vector<float>(kPartValues.begin(), kPartValues.begin() + 6));
  const std::string slices = Bytes({0x3a, 0x06, 0x0a, 0x02, 0x10, 0x02, 0x0a, 0x00,  //
                                    0x3a, 0x08, 0x0a, 0x04, 0x08, 0x02, 0x10, 0x02, 0x0a, 0x00});
  Write(OneBlockIndex({{SliceKey("part_var", {{0, 2}, {0, -1}}),
                        Entry(1, {2, 3}, 0, 24, Mask(internal::Crc32c(p1)))},
                       {"part_var", Entry(1, {4, 3}, 0, 0, 0, slices)}}),
        p1);
  ExpectThrows<DataLoss>([&] { TensorBundleReader(prefix()).ReadFloats("part_var"); },
                         {"part_var", "lists 2 slices", "holds 1"});
}

TEST_F(TensorBundleTest, NonFiniteValuesAreRefused) {
  std::vector<float> values = kAaaValues;
  values[7] = std::numeric_limits<float>::quiet_NaN();  // row 2, column 1
  const std::string aaa = Raw(values);
  Write(OneBlockIndex({{kAaa, Entry(1, {4, 3}, 0, 48, Mask(internal::Crc32c(aaa)))}}), aaa);
  ExpectThrows<InvalidArgument>([&] { TableSet().GetOrCreate(*AaaColumn(prefix(), kAaa)); },
                                {"non-finite", "row 2, column 1"});
}

// --- real TensorFlow files (/work/shared/fixtures/README.md) ---------------

std::string FixtureDir(const char* name) {
  return std::string(EMBCOL_SOURCE_DIR "/../shared/fixtures/") + name;
}

TEST(TensorBundleFixtureTest, Tf1HalfPlusTwo) {
  const std::string dir = FixtureDir("tf1_half_plus_two");
  if (!fs::exists(dir)) GTEST_SKIP() << "fixtures not present: " << dir;
  TensorBundleReader r(dir + "/variables");
  std::vector<std::string> names;
  for (const auto& t : r.tensors()) {
    names.push_back(t.name);
    EXPECT_EQ(t.dtype, "float32") << t.name;
    EXPECT_TRUE(t.shape.empty()) << t.name;
    EXPECT_EQ(t.size, 4) << t.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "a2", "b", "c", "c2"}));
  EXPECT_EQ(r.Info("c").offset, 12);
  EXPECT_EQ(r.ReadFloats("a"), (std::vector<float>{0.5f}));
  EXPECT_EQ(r.ReadFloats("a2"), (std::vector<float>{0.5f}));
  EXPECT_EQ(r.ReadFloats("b"), (std::vector<float>{2.0f}));
  EXPECT_EQ(r.ReadFloats("c"), (std::vector<float>{3.0f}));
  EXPECT_EQ(r.ReadFloats("c2"), (std::vector<float>{3.0f}));
  // The directory form finds variables.index.
  EXPECT_EQ(TensorBundleReader(dir).prefix(), dir + "/variables");
}

TEST(TensorBundleFixtureTest, Tf2HalfPlusTwo) {
  const std::string dir = FixtureDir("tf2_half_plus_two");
  if (!fs::exists(dir)) GTEST_SKIP() << "fixtures not present: " << dir;
  TensorBundleReader r(dir);
  ASSERT_EQ(r.tensors().size(), 4u);
  const auto& graph = r.tensors()[0];
  EXPECT_EQ(graph.name, "_CHECKPOINTABLE_OBJECT_GRAPH");
  EXPECT_EQ(graph.dtype, "string");
  EXPECT_EQ(graph.offset, 12);
  EXPECT_EQ(graph.size, 619);
  EXPECT_EQ(r.tensors()[1].name, "a/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(r.tensors()[2].name, "b/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(r.tensors()[3].name, "c/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(r.ReadFloats("a/.ATTRIBUTES/VARIABLE_VALUE"), (std::vector<float>{0.5f}));
  EXPECT_EQ(r.ReadFloats("b/.ATTRIBUTES/VARIABLE_VALUE"), (std::vector<float>{2.0f}));
  EXPECT_EQ(r.ReadFloats("c/.ATTRIBUTES/VARIABLE_VALUE"), (std::vector<float>{3.0f}));
  // The string tensor's bytes pass their CRC; they cannot be read as numbers.
  EXPECT_EQ(r.ReadBytes("_CHECKPOINTABLE_OBJECT_GRAPH").size(), 619u);
  EXPECT_THROW(r.ReadFloats("_CHECKPOINTABLE_OBJECT_GRAPH"), InvalidArgument);
}

}  // namespace
}  // namespace embcol
