// `embcol train | evaluate | predict` run as a user runs them: generated
// data, the bundled example config (examples/clicks/model.json) with a short
// schedule, then evaluation and prediction from the checkpoint it wrote.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace embcol {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_cli::RunCli;

class ModelCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("embcol_model_cmd_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    // The README's main job, smaller: TFRecord files from gen-data and the
    // bundled config (its data paths unchanged), on a short schedule.
    ASSERT_EQ(RunCli("gen-data --out " + (dir_ / "data/train.tfrecord").string() +
                     " --examples 20000")
                  .status,
              0);
    const auto eval_data = RunCli("gen-data --out " + (dir_ / "data/eval.tfrecord").string() +
                                  " --examples 4000 --data-seed 2");
    ASSERT_EQ(eval_data.status, 0);
    const size_t at = eval_data.out.find("planted model on these examples: AUC ");
    ASSERT_NE(at, std::string::npos) << eval_data.out;
    planted_auc_ = std::stod(eval_data.out.substr(at + 37));
    std::ifstream in(std::string(EMBCOL_SOURCE_DIR) + "/examples/clicks/model.json");
    config_ = json::parse(in);
    ASSERT_EQ(config_["train"]["data"]["files"], json::array({"data/train.tfrecord"}));
    config_["train"].erase("epochs");
    config_["train"]["max_steps"] = 300;
    config_["train"]["eval_every_steps"] = 0;
    config_["train"]["save_checkpoints_steps"] = 0;
    WriteConfig(config_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteConfig(const json& config) { std::ofstream(dir_ / "model.json") << config.dump(1); }
  std::string Config() const { return (dir_ / "model.json").string(); }

  fs::path dir_;
  json config_;
  double planted_auc_ = 0.0;
};

TEST_F(ModelCommandsTest, TrainEvaluatePredict) {
  const auto train = RunCli("train --no-progress --config " + Config());
  ASSERT_EQ(train.status, 0) << train.err;
  // Epochs repeat and do not mix: 156 batches of 128 and one of 32 per
  // 20000-example epoch, so 300 steps are 157 + 143 batches: 20000 + 18304.
  EXPECT_NE(train.out.find("trained 300 steps (38304 examples)"), std::string::npos) << train.out;
  EXPECT_TRUE(fs::exists(dir_ / "model" / "ckpt-300")) << train.out;
  // "AUC 0.xxxx, log loss 0.xxxx" is the last line.
  const size_t at = train.out.rfind("AUC ");
  ASSERT_NE(at, std::string::npos) << train.out;
  double auc = 0, log_loss = 0;
  ASSERT_EQ(std::sscanf(train.out.c_str() + at, "AUC %lf, log loss %lf", &auc, &log_loss), 2);
  EXPECT_GT(auc, 0.65);  // better than chance after 300 steps
  EXPECT_GT(planted_auc_, 0.7);
  EXPECT_LT(auc, planted_auc_ + 0.01);  // and not better than the planted model
  EXPECT_GT(log_loss, 0.3);
  EXPECT_LT(log_loss, 0.6931);  // below a constant 0.5 prediction's

  // evaluate reads the same checkpoint: the same numbers, as JSON.
  const auto eval = RunCli("evaluate --config " + Config());
  ASSERT_EQ(eval.status, 0) << eval.err;
  const json metrics = json::parse(eval.out);
  EXPECT_EQ(metrics["global_step"], 300);
  EXPECT_EQ(metrics["examples"], 4000);
  EXPECT_NEAR(metrics["metrics"]["auc"].get<double>(), auc, 5e-5);
  EXPECT_NEAR(metrics["metrics"]["log_loss"].get<double>(), log_loss, 5e-5);

  // predict: a header and one line per example.
  const std::string scores = (dir_ / "scores.tsv").string();
  const auto predict = RunCli("predict --config " + Config() + " --out " + scores);
  ASSERT_EQ(predict.status, 0) << predict.err;
  std::ifstream in(scores);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 4001);

  // Restarted with a higher max_steps, train resumes from step 300.
  const auto more = RunCli("train --no-progress --max-steps 350 --config " + Config());
  ASSERT_EQ(more.status, 0) << more.err;
  EXPECT_NE(more.out.find("trained 50 steps"), std::string::npos) << more.out;
  EXPECT_NE(more.err.find("Restored"), std::string::npos) << more.err;
}

TEST_F(ModelCommandsTest, ConfigErrorsNameTheJsonPath) {
  json bad = config_;
  bad["train"]["batch_size"] = 0;
  WriteConfig(bad);
  auto r = RunCli("train --config " + Config());
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "InvalidArgument: " + Config() +
                       ": $.train.batch_size: must be an integer >= 1; got 0.\n");

  bad = config_;
  bad["feature_columns"][0]["class_name"] = "EmbeddingColumnn";
  WriteConfig(bad);
  r = RunCli("train --config " + Config());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("$.feature_columns[0]"), std::string::npos) << r.err;

  WriteConfig(config_);
  r = RunCli("evaluate --config " + Config());  // nothing trained yet
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("FailedPrecondition: evaluate: model_dir", 0), 0u) << r.err;
}

}  // namespace
}  // namespace embcol
