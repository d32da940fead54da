// Helpers shared by the serialization tests.
#ifndef EMBCOL_COLUMNS_SERIALIZATION_TEST_UTIL_H_
#define EMBCOL_COLUMNS_SERIALIZATION_TEST_UTIL_H_

#include <initializer_list>
#include <string>

#include <gtest/gtest.h>

#include "embcol/serialization.h"

namespace embcol::serialization_test {

using nlohmann::json;
using nlohmann::ordered_json;

template <typename E, typename Fn>
void ExpectThrowWith(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception containing " << *parts.begin();
  } catch (const E& e) {
    for (const auto& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << part;
    }
  }
}

// Loads one envelope (as a one-element list) and re-serializes it.
inline ordered_json RoundTrip(const std::string& text) {
  auto columns = DeserializeFeatureColumns(json::array({json::parse(text)}));
  EXPECT_EQ(columns.size(), 1u);
  return SerializeFeatureColumn(*columns.at(0));
}

inline ColumnPtr LoadOne(const std::string& text) {
  return DeserializeFeatureColumns(json::array({json::parse(text)})).at(0);
}

inline void ExpectRoundTrip(const std::string& text) {
  EXPECT_EQ(RoundTrip(text).dump(), ordered_json::parse(text).dump());
}

// ---- Examples from the reference ------------------------------------------

inline const char kExample1[] = R"({
  "class_name": "EmbeddingColumn",
  "config": {
    "categorical_column": {
      "class_name": "IdentityCategoricalColumn",
      "config": {"key": "aaa", "number_buckets": 3, "default_value": null}
    },
    "dimension": 2,
    "combiner": "mean",
    "initializer": {
      "class_name": "TruncatedNormal",
      "config": {"mean": 0.0, "stddev": 0.7071067811865475, "seed": null, "dtype": "float32"}
    },
    "ckpt_to_load_from": null,
    "tensor_name_in_ckpt": null,
    "max_norm": null,
    "trainable": true,
    "use_safe_embedding_lookup": true
  }
})";


}  // namespace embcol::serialization_test

#endif  // EMBCOL_COLUMNS_SERIALIZATION_TEST_UTIL_H_
