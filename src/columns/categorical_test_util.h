// Helpers shared by the categorical column tests (test-only).
#ifndef EMBCOL_COLUMNS_CATEGORICAL_TEST_UTIL_H_
#define EMBCOL_COLUMNS_CATEGORICAL_TEST_UTIL_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "embcol/errors.h"
#include "embcol/feature.h"

namespace embcol::testing_util {

inline FeatureBatch MakeBatch(
    std::initializer_list<std::pair<std::string, Feature>> features) {
  FeatureBatch batch;
  for (const auto& [key, feature] : features) batch.Set(key, feature);
  return batch;
}

// Runs `fn`, expects it to throw exactly `E`, and checks that the message
// contains every string of `parts`.
template <typename E, typename Fn>
void ExpectError(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    const std::string message = e.what();
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "message \"" << message << "\" lacks \"" << part << "\"";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

}  // namespace embcol::testing_util

#endif  // EMBCOL_COLUMNS_CATEGORICAL_TEST_UTIL_H_
