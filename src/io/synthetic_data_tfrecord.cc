// The synthetic click dataset as TFRecord files of tf.Example, its parse
// spec, and the choice of output format for `embcol gen-data`.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "embcol/errors.h"
#include "embcol/synthetic_data.h"
#include "embcol/tfrecord.h"
#include "io/proto/example.pb.h"

namespace embcol {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "" / "GZIP" / "ZLIB", or InvalidArgument naming `path`.
std::string CheckCompression(const std::string& name, const std::string& path) {
  std::string up = Upper(name);
  if (up == "NONE") up.clear();
  if (up.empty() || up == "GZIP" || up == "ZLIB") return up;
  throw InvalidArgument("TFRecord output " + path + ": unknown compression \"" + name +
                        "\"; use \"\" (or \"NONE\"), \"GZIP\" or \"ZLIB\".");
}

// With sorted map keys, so equal examples are equal bytes.
void SerializeDeterministic(const tensorflow::Example& example, std::string* out) {
  out->clear();
  google::protobuf::io::StringOutputStream stream(out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  example.SerializeToCodedStream(&coded);
}

}  // namespace

void WriteClicksTfRecord(const SyntheticClicks& d, const std::string& path,
                         const std::string& compression) {
  TFRecordWriterOptions options;
  options.compression = CheckCompression(compression, path);
  // Every feature is inserted first; then the lists are refilled per example
  // (map values keep their addresses while no key is added).
  tensorflow::Example example;
  auto& features = *example.mutable_features()->mutable_feature();
  features["label"].mutable_float_list();
  for (const std::string& name : d.numeric_names) features[name].mutable_float_list();
  for (const std::string& name : d.categorical_names) features[name].mutable_int64_list();
  tensorflow::FloatList* label = features["label"].mutable_float_list();
  std::vector<tensorflow::FloatList*> numeric;
  for (const std::string& name : d.numeric_names) {
    numeric.push_back(features[name].mutable_float_list());
  }
  std::vector<tensorflow::Int64List*> categorical;
  for (const std::string& name : d.categorical_names) {
    categorical.push_back(features[name].mutable_int64_list());
  }

  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    TFRecordWriter writer(tmp, options);
    std::string record;
    for (int64_t i = 0; i < d.size(); ++i) {
      label->clear_value();
      label->add_value(d.labels[i]);
      for (size_t j = 0; j < numeric.size(); ++j) {
        numeric[j]->clear_value();
        numeric[j]->add_value(d.numeric[j][i]);
      }
      for (size_t f = 0; f < categorical.size(); ++f) {
        categorical[f]->clear_value();
        categorical[f]->add_value(d.categorical[f][i]);
      }
      SerializeDeterministic(example, &record);
      writer.Write(record);
    }
    writer.Close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Unavailable("cannot rename '" + tmp + "' to '" + path + "'.");
  }
}

ParseSpec ClicksExampleSpec(const SyntheticClicks& d) {
  const FixedLenFeature scalar{{1}, DType::kFloat32, std::nullopt};
  ParseSpec spec;
  spec["label"] = scalar;
  for (const std::string& name : d.numeric_names) spec[name] = scalar;
  for (const std::string& name : d.categorical_names) spec[name] = VarLenFeature{DType::kInt64};
  return spec;
}

ClicksFileFormat ResolveClicksFileFormat(const std::string& path, const std::string& format,
                                         const std::string& compression) {
  const bool gz = EndsWith(path, ".gz");
  const std::string stem = gz ? path.substr(0, path.size() - 3) : path;
  ClicksFileFormat out;
  const std::string f = Upper(format);
  if (f.empty()) {
    out.format = EndsWith(stem, ".tfrecord") || EndsWith(stem, ".tfrecords") ? "tfrecord" : "tsv";
  } else if (f == "TSV" || f == "TFRECORD") {
    out.format = f == "TSV" ? "tsv" : "tfrecord";
  } else {
    throw InvalidArgument("gen-data output " + path + ": unknown format \"" + format +
                          "\"; use \"tsv\" or \"tfrecord\".");
  }
  if (out.format == "tsv") {
    if (!CheckCompression(compression, path).empty()) {
      throw InvalidArgument("gen-data output " + path + ": compression \"" + compression +
                            "\" applies to TFRecord only; add --format tfrecord or drop "
                            "--compression.");
    }
    if (gz) {
      throw InvalidArgument("gen-data output " + path + ": TSV output is not compressed; drop "
                            "the .gz ending, or name the file .tfrecord.gz for GZIP TFRecord.");
    }
    return out;
  }
  out.compression = compression.empty() ? (gz ? "GZIP" : "") : CheckCompression(compression, path);
  return out;
}

void WriteClicks(const SyntheticClicks& data, const std::string& path,
                 const ClicksFileFormat& format) {
  if (format.format == "tfrecord") {
    WriteClicksTfRecord(data, path, format.compression);
  } else if (format.format == "tsv") {
    if (!CheckCompression(format.compression, path).empty()) {
      throw InvalidArgument("gen-data output " + path + ": TSV output is not compressed; "
                            "compression \"" + format.compression + "\" needs TFRecord.");
    }
    WriteClicksTsv(data, path);
  } else {
    throw InvalidArgument("gen-data output " + path + ": unknown format \"" + format.format +
                          "\"; use \"tsv\" or \"tfrecord\".");
  }
}

}  // namespace embcol
