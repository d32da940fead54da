// SummaryWriter under concurrent writers (also built into
// embcol_stress_tests for the ThreadSanitizer run): every event arrives
// whole, and each thread's events in its own order, while another thread
// flushes.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "embcol/summary_writer.h"

namespace embcol {
namespace {

std::string FreshDir(const std::string& name) {
  const std::string dir = testing::TempDir() + "/summary_writer_" + name + "_" +
                          std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(SummaryWriterStressTest, ThreadsWriteWholeEvents) {
  const std::string dir = FreshDir("threads");
  constexpr int kThreads = 4, kSteps = 300;  // values t * 1000 + s: exact in float
  {
    SummaryWriterOptions o;
    o.flush_seconds = 0.001;
    SummaryWriter w(dir, o);
    std::atomic<bool> done{false};
    std::thread flusher([&] {
      while (!done.load()) w.Flush();
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&w, t] {
        const std::string tag = "thread" + std::to_string(t);
        for (int s = 0; s < kSteps; ++s) w.AddScalar(tag, t * 1000 + s, s);
      });
    }
    for (std::thread& th : threads) th.join();
    done = true;
    flusher.join();
  }
  std::map<std::string, int> next_step;
  for (const ScalarEvent& e : ReadScalarEvents(dir)) {
    const int t = e.tag.back() - '0';
    int& s = next_step[e.tag];
    EXPECT_EQ(e.step, s) << e.tag;  // each thread's events in its order
    EXPECT_EQ(e.value, static_cast<float>(t * 1000 + s)) << e.tag;
    ++s;
  }
  ASSERT_EQ(next_step.size(), static_cast<size_t>(kThreads));
  for (const auto& [tag, n] : next_step) EXPECT_EQ(n, kSteps) << tag;
}

}  // namespace
}  // namespace embcol
