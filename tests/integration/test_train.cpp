// cropmap train + evaluate on generated, learnable sample tables, through the
// real binary: every model beats the majority-class rate, lstm reaches 90 %,
// resume equals an uninterrupted run, the fused and torch engines score the
// trained models identically, and bad inputs exit 2 with clear messages.
#include <gtest/gtest.h>

#include <csignal>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include "tests/support/sample_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
namespace fs = std::filesystem;

namespace {

// The first number after "key": in a JSON text (the pixel-level block comes first).
double jsonNumber(const std::string& text, const std::string& key, size_t from = 0) {
  const auto at = text.find("\"" + key + "\": ", from);
  if (at == std::string::npos) throw std::runtime_error("no " + key + " in " + text.substr(0, 200));
  return std::strtod(text.c_str() + at + key.size() + 4, nullptr);
}

// All values of a key, in order, from metrics.jsonl.
std::vector<std::string> jsonField(const std::string& text, const std::string& key) {
  std::vector<std::string> out;
  std::regex re("\"" + key + "\": ([^,}]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

struct Run {
  std::string dir, config;
};

Run prepare(const std::string& name, const std::string& extraYaml, const test::SyntheticSamples& spec = {}) {
  Run r;
  r.dir = test::scratchDir(name);
  test::writeSyntheticSamples(r.dir + "/samples.h5", spec);
  r.config = r.dir + "/config.yaml";
  test::writeFile(r.config, "run:\n  output: " + r.dir + "\n  seed: 3\ncompute:\n  threads: 1\n" + extraYaml);
  return r;
}

void trainAndCheck(const std::string& model, const std::string& trainYaml, int ranks, double minOa) {
  auto r = prepare("train_" + model, "train:\n  model: " + model + "\n" + trainYaml);
  auto t = test::runCropmapMpi(ranks, "train --config " + r.config);
  ASSERT_EQ(t.exitCode, 0) << t.output;
  ASSERT_TRUE(fs::exists(r.dir + "/train/model.pt")) << t.output;
  ASSERT_TRUE(fs::exists(r.dir + "/train/checkpoint.pt"));
  const auto metrics = test::readFile(r.dir + "/train/metrics.jsonl");
  EXPECT_GE(test::countOccurrences(metrics, "\"val_loss\""), 2u);
  EXPECT_EQ(jsonField(metrics, "ranks").front(), std::to_string(ranks));
  if (trainYaml.find("weight_cap") != std::string::npos) {  // the weights applied, and which the cap cut
    EXPECT_NE(t.output.find("class weights capped to"), std::string::npos) << t.output;
  }

  auto e = test::runCropmapMpi(ranks, "evaluate --config " + r.config);
  ASSERT_EQ(e.exitCode, 0) << e.output;
  EXPECT_NE(e.output.find("confusion matrix"), std::string::npos) << e.output;
  const auto report = test::readFile(r.dir + "/train/report.json");
  const double oa = jsonNumber(report, "overall_accuracy");
  const double majority = jsonNumber(report, "majority_class_rate");
  const auto parcelAt = report.find("\"parcel\":");
  ASSERT_NE(parcelAt, std::string::npos) << "parcel-level block missing";
  const double parcelOa = jsonNumber(report, "overall_accuracy", parcelAt);
  std::printf("%s: test OA %.4f (parcels %.4f), majority-class rate %.4f\n", model.c_str(), oa, parcelOa, majority);
  EXPECT_GE(oa, minOa) << report;
  EXPECT_GE(oa, majority + 0.25) << "must beat the majority class clearly\n" << report;
  EXPECT_GE(jsonNumber(report, "kappa"), 0.5);
  EXPECT_NE(report.find("\"crop3\""), std::string::npos);  // class names from the sample file
  if (model == "earlyrnn") {
    const double step = jsonNumber(report, "mean_step");
    EXPECT_GE(step, 0.0);
    EXPECT_LE(step, 11.0);
    EXPECT_NE(report.find("\"mean_step_period_start\": \"2022-"), std::string::npos);
  }
  // The trained model through the LibTorch reference engine: the same
  // decisions (classes, earlyrnn stopping periods), so the same scores.
  EXPECT_NE(report.find("\"engine\": \"fused\""), std::string::npos);
  auto ref = test::runCropmapMpi(ranks, "evaluate --config " + r.config + " --set predict.engine=torch");
  ASSERT_EQ(ref.exitCode, 0) << ref.output;
  const auto refReport = test::readFile(r.dir + "/train/report.json");
  EXPECT_NE(refReport.find("\"engine\": \"torch\""), std::string::npos);
  EXPECT_EQ(report.substr(report.find("\"pixel\":")), refReport.substr(refReport.find("\"pixel\":")));
}

}  // namespace

TEST(Train, LstmReachesNinetyPercentAtTwoRanks) {
  trainAndCheck("lstm", "  hidden: [48, 32]\n  epochs: 12\n  patience: 4\n  batch_size: 32\n", 2, 0.90);
}

TEST(Train, EarlyRnnBeatsMajorityAtTwoRanks) {
  trainAndCheck("earlyrnn", "  epochs: 12\n  batch_size: 32\n  lr: 0.005\n  alpha: 0.8\n  epsilon: 5\n", 2, 0.75);
}

// A sample table from a cube with pixels never seen clear in some period
// (NaN values, as `cropmap sample` stores them): training must not turn NaN.
TEST(Train, ValuesWithoutDataLeaveTheLossFinite) {
  test::SyntheticSamples spec;
  spec.missing = 0.01;
  auto r = prepare("train_missing", "train:\n  model: lstm\n  hidden: [16]\n  epochs: 2\n  batch_size: 32\n", spec);
  auto t = test::runCropmapMpi(2, "train --config " + r.config);
  ASSERT_EQ(t.exitCode, 0) << t.output;
  EXPECT_TRUE(fs::exists(r.dir + "/train/model.pt")) << t.output;
  const auto metrics = test::readFile(r.dir + "/train/metrics.jsonl");
  ASSERT_EQ(jsonField(metrics, "val_loss").size(), 2u) << metrics;
  for (const auto& key : {"train_loss", "val_loss"})
    for (const auto& v : jsonField(metrics, key)) EXPECT_NE(v, "null") << key << " is not finite\n" << metrics;
}

TEST(Train, TempCnnWeightedThenFineTunedAsSingleton) {
  trainAndCheck("tempcnn",
                "  epochs: 5\n  finetune_epochs: 2\n  loss: weighted_ce\n  class_weights: sqrt\n  weight_cap: 1.2\n"
                "  batch_size: 32\n  schedule: cosine\n", 1,
                0.80);
}

TEST(Train, XgboostBaselineGathersToRankZeroAndEvaluates) {
  auto r = prepare("train_xgboost", "train:\n  model: xgboost\n  xgb_rounds: 60\n  xgb_early_rounds: 10\n");
  auto t = test::runCropmapMpi(2, "train --config " + r.config);
  ASSERT_EQ(t.exitCode, 0) << t.output;
  EXPECT_NE(t.output.find("rows gathered to rank 0"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("train: class weights max_over_count, cap 20"), std::string::npos) << t.output;
  ASSERT_TRUE(fs::exists(r.dir + "/train/model.ubj")) << t.output;
  EXPECT_FALSE(fs::exists(r.dir + "/train/model.pt"));
  const auto metrics = test::readFile(r.dir + "/train/metrics.jsonl");
  EXPECT_GE(test::countOccurrences(metrics, "\"val_loss\""), 10u);
  // evaluate finds model.ubj by train.model and scores it with the same code as the deep models.
  auto e = test::runCropmapMpi(2, "evaluate --config " + r.config);
  ASSERT_EQ(e.exitCode, 0) << e.output;
  const auto report = test::readFile(r.dir + "/train/report.json");
  EXPECT_NE(report.find("\"model_type\": \"xgboost\""), std::string::npos) << report;
  const double oa = jsonNumber(report, "overall_accuracy");
  std::printf("xgboost: test OA %.4f, majority-class rate %.4f\n", oa, jsonNumber(report, "majority_class_rate"));
  EXPECT_GE(oa, 0.85) << report;
  EXPECT_GE(oa, jsonNumber(report, "majority_class_rate") + 0.25) << report;

  // Rows that do not fit rank 0's memory are refused, naming the key.
  auto small = test::runCropmap("train --config " + r.config + " --set compute.memory_mb=1");
  EXPECT_EQ(small.exitCode, 2) << small.output;
  EXPECT_NE(small.output.find("compute.memory_mb"), std::string::npos) << small.output;
}

TEST(Train, XgboostStopsBetweenRoundsOnASignal) {
  auto r = prepare("train_xgboost_signal", "train:\n  model: xgboost\n  xgb_rounds: 100000\n  xgb_early_rounds: 0\n");
  const std::string metrics = r.dir + "/train/metrics.jsonl";
  const int pid = test::startInSession(std::string(CROPMAP_MPIEXEC) + " -n 2 " + CROPMAP_EXE + " train --config " +
                                           r.config,
                                       r.dir + "/train.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline &&
         !(fs::exists(metrics) && test::countOccurrences(test::readFile(metrics), "\n") >= 3))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  test::signalSession(pid, SIGUSR1, "cropmap");
  const int rc = test::waitExit(pid);
  const std::string log = test::readFile(r.dir + "/train.log");
  EXPECT_EQ(rc, 75) << log;
  EXPECT_NE(log.find("xgboost stopped by SIGUSR1 between boosting rounds"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(r.dir + "/train/model.ubj"));
}

TEST(Train, ResumeEqualsUninterruptedRun) {
  const std::string yaml = "train:\n  model: lstm\n  hidden: [24]\n  epochs: 4\n  patience: 0\n  batch_size: 64\n";
  test::SyntheticSamples spec;
  spec.train = 600;
  spec.val = 200;
  spec.test = 80;
  auto a = prepare("resume_whole", yaml, spec);
  auto b = prepare("resume_parts", yaml, spec);
  auto whole = test::runCropmap("train --config " + a.config);
  ASSERT_EQ(whole.exitCode, 0) << whole.output;
  auto first = test::runCropmap("train --config " + b.config + " --stop-after 2");
  ASSERT_EQ(first.exitCode, 0) << first.output;
  EXPECT_FALSE(fs::exists(b.dir + "/train/model.pt"));
  auto second = test::runCropmap("train --config " + b.config + " --resume");
  ASSERT_EQ(second.exitCode, 0) << second.output;
  EXPECT_NE(second.output.find("resuming"), std::string::npos) << second.output;
  const auto ma = test::readFile(a.dir + "/train/metrics.jsonl"), mb = test::readFile(b.dir + "/train/metrics.jsonl");
  for (const char* key : {"epoch", "train_loss", "val_loss", "val_oa", "lr"}) {
    EXPECT_EQ(jsonField(ma, key), jsonField(mb, key)) << key << "\n" << ma << "\n" << mb;
  }
  EXPECT_EQ(jsonField(mb, "epoch").size(), 4u);
  auto ea = test::runCropmap("evaluate --config " + a.config), eb = test::runCropmap("evaluate --config " + b.config);
  ASSERT_EQ(ea.exitCode, 0) << ea.output;
  ASSERT_EQ(eb.exitCode, 0) << eb.output;
  const auto ra = test::readFile(a.dir + "/train/report.json"), rb = test::readFile(b.dir + "/train/report.json");
  EXPECT_EQ(ra.substr(ra.find("\"pixel\"")), rb.substr(rb.find("\"pixel\"")));
}

TEST(Train, ClearErrorsExitTwo) {
  const std::string dir = test::scratchDir("train_errors");
  auto missing = test::runCropmap("train --set run.output=" + dir + " --set train.samples=" + dir + "/nope.h5");
  EXPECT_EQ(missing.exitCode, 2) << missing.output;
  EXPECT_NE(missing.output.find(dir + "/nope.h5"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("not found"), std::string::npos) << missing.output;

  auto unknown = test::runCropmap("train --set run.output=" + dir + " --set train.model=transformer");
  EXPECT_EQ(unknown.exitCode, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("train.model"), std::string::npos) << unknown.output;

  auto mismatch = test::runCropmap("train --set run.output=" + dir + " --set train.loss=early_reward");
  EXPECT_EQ(mismatch.exitCode, 2) << mismatch.output;
  EXPECT_NE(mismatch.output.find("train.loss"), std::string::npos) << mismatch.output;

  // Not a sample table at all.
  test::writeFile(dir + "/text.h5", "hello");
  auto notHdf5 = test::runCropmap("train --set run.output=" + dir + " --set train.samples=" + dir + "/text.h5");
  EXPECT_EQ(notHdf5.exitCode, 2) << notHdf5.output;
  EXPECT_NE(notHdf5.output.find("not an HDF5 file"), std::string::npos) << notHdf5.output;

  auto noModel = test::runCropmap("evaluate --set run.output=" + dir + " --model " + dir + "/none.pt");
  EXPECT_EQ(noModel.exitCode, 2) << noModel.output;
  EXPECT_NE(noModel.output.find(dir + "/none.pt"), std::string::npos) << noModel.output;

  auto bench = test::runCropmap("bench nothing --set run.output=" + dir);
  EXPECT_EQ(bench.exitCode, 2) << bench.output;
  EXPECT_NE(bench.output.find("unknown bench target 'nothing'"), std::string::npos) << bench.output;
}
