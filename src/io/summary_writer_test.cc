// TensorBoard event files: the bytes of the first records written out by
// the protobuf wire-format rules, round trips through ReadScalarEvents,
// flushing and damaged files (threads: summary_writer_stress_test.cc).
#include "embcol/summary_writer.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "core/crc32c.h"
#include "embcol/errors.h"
#include "embcol/tfrecord.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  const std::string dir = testing::TempDir() + "/summary_writer_" + name + "_" +
                          std::to_string(::getpid());
  fs::remove_all(dir);
  return dir;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string LittleEndian(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// TFRecord framing, from the format: length, masked CRC-32C of the length
// bytes, data, masked CRC-32C of the data.
std::string Frame(const std::string& data) {
  const std::string len = LittleEndian(data.size(), 8);
  return len + LittleEndian(internal::MaskCrc32c(internal::Crc32c(len)), 4) + data +
         LittleEndian(internal::MaskCrc32c(internal::Crc32c(data)), 4);
}

double DoubleAt(const std::string& bytes, size_t pos) {
  uint64_t bits = 0;
  for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<unsigned char>(bytes[pos + i]);
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string DoubleBytes(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof d);
  return LittleEndian(bits, 8);
}

TEST(SummaryWriterTest, FileNameAndFileVersionRecordBytes) {
  const std::string dir = FreshDir("version");
  const double t0 = Now();
  SummaryWriter w(dir + "/nested/run");  // creates the parents too
  const double t1 = Now();

  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string name = fs::path(w.path()).filename().string();
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      name, m, std::regex(R"(events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+))")))
      << name;
  EXPECT_EQ(m[2].str(), host);
  EXPECT_EQ(m[3].str(), std::to_string(::getpid()));
  const long long secs = std::stoll(m[1].str());
  EXPECT_GE(secs, static_cast<long long>(t0));
  EXPECT_LE(secs, static_cast<long long>(t1));
  EXPECT_EQ(fs::path(w.path()).parent_path(), fs::path(dir + "/nested/run"));

  // The version record is flushed by the constructor. Event{wall_time = 1:
  // tag (1 << 3) | 1 = 0x09, 8 bytes; file_version = 3: tag (3 << 3) | 2 =
  // 0x1a, length 13, "brain.Event:2"} = 1 + 8 + 2 + 13 = 24 bytes.
  const std::string bytes = ReadBytes(w.path());
  ASSERT_EQ(bytes.size(), 12u + 24u + 4u);
  EXPECT_EQ(bytes.substr(0, 8), LittleEndian(24, 8));
  ASSERT_EQ(bytes[12], '\x09');
  const double wall = DoubleAt(bytes, 13);
  EXPECT_GE(wall, t0);
  EXPECT_LE(wall, t1);
  const std::string data = std::string("\x09") + DoubleBytes(wall) + "\x1a\x0d" "brain.Event:2";
  EXPECT_EQ(bytes, Frame(data));
}

TEST(SummaryWriterTest, ScalarRecordBytes) {
  const std::string dir = FreshDir("scalar_bytes");
  SummaryWriter w(dir);
  const double t0 = Now();
  w.AddScalar("loss", 0.5, 300);
  const double t1 = Now();
  w.Flush();
  // Event{wall_time (0x09 + 8 bytes), step = 2: 0x10 varint(300) = ac 02,
  // summary = 5: 0x2a len 13 Summary{value = 1: 0x0a len 11 Value{tag = 1:
  // 0x0a 04 "loss", simple_value = 2: (2 << 3) | 5 = 0x15, float 0.5 =
  // 0x3f000000 little endian}}} = 9 + 3 + 2 + 13 = 27 bytes.
  const std::string bytes = ReadBytes(w.path());
  const size_t at = 40;  // after the version record
  ASSERT_EQ(bytes.size(), at + 12 + 27 + 4);
  ASSERT_EQ(bytes[at + 12], '\x09');
  const double wall = DoubleAt(bytes, at + 13);
  EXPECT_GE(wall, t0);
  EXPECT_LE(wall, t1);
  const std::string data = std::string("\x09") + DoubleBytes(wall) + "\x10\xac\x02" +
                           "\x2a\x0d" + "\x0a\x0b" + "\x0a\x04" + "loss" +
                           std::string("\x15\x00\x00\x00\x3f", 5);
  ASSERT_EQ(data.size(), 27u);
  EXPECT_EQ(bytes.substr(at), Frame(data));
}

TEST(SummaryWriterTest, ScalarsRoundTrip) {
  const std::string dir = FreshDir("round_trip");
  const double t0 = Now();
  {
    SummaryWriter w(dir);
    for (int step = 0; step < 3; ++step) w.AddScalar("loss", 1.0 / (step + 1), step);
    w.AddScalars(10, {{"train/auc", 0.75}, {"zero", 0.0}, {"tiny", 0.1}});
    w.AddScalars(11, {});  // nothing
    w.AddScalar("nan", std::numeric_limits<double>::quiet_NaN(), -4);
    w.AddScalar("big", 1e300, int64_t{1} << 40);  // beyond float: +inf
  }  // the destructor flushes
  const double t1 = Now();
  const std::vector<ScalarEvent> got = ReadScalarEvents(dir);
  struct Want {
    std::string tag;
    int64_t step;
    float value;
  };
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Want> want = {{"loss", 0, 1.0f},        {"loss", 1, 0.5f},
                                  {"loss", 2, 1.0f / 3.0f}, {"train/auc", 10, 0.75f},
                                  {"zero", 10, 0.0f},       {"tiny", 10, 0.1f},
                                  {"nan", -4, 0.0f},        {"big", int64_t{1} << 40, inf}};
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].tag, want[i].tag) << i;
    EXPECT_EQ(got[i].step, want[i].step) << i;
    if (want[i].tag == "nan") {
      EXPECT_TRUE(std::isnan(got[i].value));
    } else {
      EXPECT_EQ(got[i].value, want[i].value) << i;
    }
    EXPECT_GE(got[i].wall_time, t0);
    EXPECT_LE(got[i].wall_time, t1);
  }
  // One event for the three scalars at step 10: one wall time.
  EXPECT_EQ(got[3].wall_time, got[5].wall_time);
}

TEST(SummaryWriterTest, FlushPolicy) {
  const std::string dir = FreshDir("flush");
  SummaryWriterOptions lazy;
  lazy.flush_seconds = 1e6;
  lazy.filename_suffix = ".lazy";
  SummaryWriter w(dir, lazy);
  w.AddScalar("x", 1.0, 1);
  EXPECT_TRUE(ReadScalarEvents(w.path()).empty());  // still buffered
  w.Flush();
  EXPECT_EQ(ReadScalarEvents(w.path()).size(), 1u);

  SummaryWriterOptions eager;
  eager.flush_seconds = 0;
  SummaryWriter e(dir, eager);
  e.AddScalar("y", 2.0, 1);
  const std::vector<ScalarEvent> got = ReadScalarEvents(e.path());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tag, "y");

  SummaryWriterOptions bad;
  bad.flush_seconds = -1;
  EXPECT_THROW(SummaryWriter(dir, bad), InvalidArgument);
}

TEST(SummaryWriterTest, WritersInOneDirectoryGetTheirOwnFiles) {
  const std::string dir = FreshDir("two");
  SummaryWriterOptions o;
  o.filename_suffix = ".x";
  SummaryWriter a(dir, o), b(dir, o), c(dir);
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(b.path(), a.path() + ".1");
  EXPECT_NE(c.path(), a.path());
  a.AddScalar("a", 1.0, 1);
  b.AddScalar("b", 2.0, 2);
  c.AddScalar("c", 3.0, 3);
  a.Close();
  b.Close();
  c.Close();
  std::ofstream(dir + "/notes.txt") << "not an event file";  // ignored by name
  std::map<std::string, float> by_tag;
  for (const ScalarEvent& e : ReadScalarEvents(dir)) by_tag[e.tag] = e.value;
  EXPECT_EQ(by_tag, (std::map<std::string, float>{{"a", 1.0f}, {"b", 2.0f}, {"c", 3.0f}}));
}

TEST(SummaryWriterTest, BadTagsAreRejectedBeforeWriting) {
  const std::string dir = FreshDir("tags");
  SummaryWriter w(dir);
  EXPECT_THROW(w.AddScalar("", 1.0, 0), InvalidArgument);
  try {
    w.AddScalars(0, {{"ok", 1.0}, {"bad\xff", 2.0}});
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("bad\xff"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
  // Overlong encoding of '/', and a UTF-16 surrogate: not UTF-8.
  EXPECT_THROW(w.AddScalar("\xc0\xaf", 1.0, 0), InvalidArgument);
  EXPECT_THROW(w.AddScalar("\xed\xa0\x80", 1.0, 0), InvalidArgument);
  w.AddScalar("\xc3\xa9t\xc3\xa9/\xf0\x9f\x93\x88", 1.0, 0);  // "été/📈"
  w.Close();
  const std::vector<ScalarEvent> got = ReadScalarEvents(w.path());
  ASSERT_EQ(got.size(), 1u);  // "ok" was not written either
  EXPECT_EQ(got[0].tag, "\xc3\xa9t\xc3\xa9/\xf0\x9f\x93\x88");
}

TEST(SummaryWriterTest, CloseThenWriteIsFailedPrecondition) {
  const std::string dir = FreshDir("close");
  SummaryWriter w(dir);
  w.Close();
  w.Close();
  w.Flush();  // nothing to do
  EXPECT_THROW(w.AddScalar("x", 1.0, 0), FailedPrecondition);
}

TEST(SummaryWriterTest, DamagedFilesAreDataLossWithPathAndOffset) {
  const std::string dir = FreshDir("damaged");
  std::string path;
  {
    SummaryWriter w(dir);
    w.AddScalar("loss", 0.5, 300);
    path = w.path();
  }
  std::string bytes = ReadBytes(path);
  std::string flipped = bytes;
  flipped[40 + 12 + 20] ^= 0x01;  // inside the scalar record's data
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  try {
    ReadScalarEvents(dir);
    FAIL() << "expected DataLoss";
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("offset 40"), std::string::npos) << e.what();
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 2);
  EXPECT_THROW(ReadScalarEvents(path), DataLoss);

  // A well-framed record that is not an Event (a field 1 with wire type 7).
  const std::string junk = dir + "/junk.tfevents";
  {
    TFRecordWriter tw(junk);
    tw.Write("\x0f\xff\xff");
    tw.Close();
  }
  try {
    ReadScalarEvents(junk);
    FAIL() << "expected DataLoss";
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find(junk), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("offset 0"), std::string::npos) << e.what();
  }
}

TEST(SummaryWriterTest, MissingPathsAndUnwritableDirectories) {
  const std::string dir = FreshDir("missing");
  EXPECT_THROW(ReadScalarEvents(dir + "/nothing"), NotFound);
  fs::create_directories(dir);
  EXPECT_TRUE(ReadScalarEvents(dir).empty());
  std::ofstream(dir + "/file") << "x";
  try {
    SummaryWriter w(dir + "/file/run");
    FAIL() << "expected Unavailable";
  } catch (const Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/file/run"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SummaryWriter(""), InvalidArgument);
}

}  // namespace
}  // namespace embcol
