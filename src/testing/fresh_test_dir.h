// FreshTestDir: an empty scratch directory for the running test, unique per
// process and test name (ctest runs tests in parallel processes). Tests
// only; not thread-safe across tests of one process sharing a name.
#ifndef EMBCOL_TESTING_FRESH_TEST_DIR_H_
#define EMBCOL_TESTING_FRESH_TEST_DIR_H_

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace embcol::testing_util {

// <temp>/<prefix>_<pid>_<test name>, removed if it exists (not created).
inline std::filesystem::path FreshTestDir(const std::string& prefix) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      (prefix + "_" + std::to_string(::getpid()) + "_" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace embcol::testing_util

#endif  // EMBCOL_TESTING_FRESH_TEST_DIR_H_
