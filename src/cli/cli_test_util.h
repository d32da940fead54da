// Test helper: runs the built `embcol` binary (EMBCOL_CLI_PATH) as a user
// would and captures its exit status, stdout and stderr. Tests only.
#ifndef EMBCOL_CLI_CLI_TEST_UTIL_H_
#define EMBCOL_CLI_CLI_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace embcol::testing_cli {

struct CliResult {
  int status = -1;  // exit status; -1 when the process did not exit normally
  std::string out;
  std::string err;
};

// `args` is appended to the binary's path and run by the shell; stderr goes
// to a file unique to the test and process (ctest runs tests in parallel).
inline CliResult RunCli(const std::string& args) {
  const std::string err_path =
      ::testing::TempDir() + "/embcol_cli_stderr_" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
      std::to_string(::getpid()) + ".txt";
  const std::string cmd = std::string(EMBCOL_CLI_PATH) + " " + args + " 2>" + err_path;
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream e(err_path);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  std::remove(err_path.c_str());
  return r;
}

}  // namespace embcol::testing_cli

#endif  // EMBCOL_CLI_CLI_TEST_UTIL_H_
