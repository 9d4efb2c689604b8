// `cropmap run` under 2 ranks on a tiny synthetic region: the whole pipeline,
// skipping of completed stages, rerunning from a changed stage on, and
// --resume after a rank is killed in the middle of compositing.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "tests/support/test_support.hpp"

using namespace cropmap::test;
namespace fs = std::filesystem;

namespace {

const std::string kConfig = std::string(CROPMAP_SOURCE_DIR) + "/tests/data/tiny_region.yaml";

// The status column of one stage in the run summary.
std::string statusOf(const std::string& output, const std::string& stage) {
  std::smatch m;
  if (std::regex_search(output, m, std::regex("\\n  " + stage + " +(ran|skipped \\(complete\\)|disabled)")))
    return m[1];
  return "?";
}

RunResult runIn(const std::string& dir, const std::string& args, const std::string& env = "") {
  return runCommand("cd " + std::string(CROPMAP_SOURCE_DIR) + " && " + env + " " + CROPMAP_MPIEXEC + " -n 2 " +
                    CROPMAP_EXE + " run --config " + kConfig + " --set run.output=" + dir + "/out " + args);
}

}  // namespace

TEST(Run, WholePipelineThenSkipsThenRerunsFromAChangedStage) {
  const std::string dir = scratchDir("run_test_pipeline");

  auto first = runIn(dir, "");
  ASSERT_EQ(first.exitCode, 0) << first.output;
  for (const char* s : {"synth", "composite", "labels", "split", "sample", "train", "evaluate", "predict"})
    EXPECT_EQ(statusOf(first.output, s), "ran") << s << "\n" << first.output;
  EXPECT_NE(first.output.find("imbalance max/mean"), std::string::npos);
  EXPECT_NE(first.output.find("test split: overall_accuracy"), std::string::npos) << first.output;
  EXPECT_TRUE(fs::exists(dir + "/out/cube.h5"));
  EXPECT_TRUE(fs::exists(dir + "/out/train/report.json"));
  EXPECT_TRUE(fs::exists(dir + "/out/maps/33UVP.tif"));
  EXPECT_TRUE(fs::exists(dir + "/out/parcels.gpkg"));
  EXPECT_NE(first.output.find("map test OA"), std::string::npos) << first.output;
  EXPECT_EQ(statusOf(first.output, "report"), "ran") << first.output;
  EXPECT_TRUE(fs::exists(dir + "/out/report/index.html"));
  EXPECT_TRUE(fs::exists(dir + "/out/stac/collection.json"));

  auto again = runIn(dir, "");
  ASSERT_EQ(again.exitCode, 0) << again.output;
  for (const char* s : {"synth", "composite", "labels", "split", "sample", "train", "evaluate", "predict"})
    EXPECT_EQ(statusOf(again.output, s), "skipped (complete)") << s << "\n" << again.output;
  // The report reads whatever the stages left, so it is written every time.
  EXPECT_EQ(statusOf(again.output, "report"), "ran") << again.output;

  auto changed = runIn(dir, "--set train.epochs=1");
  ASSERT_EQ(changed.exitCode, 0) << changed.output;
  for (const char* s : {"synth", "composite", "labels", "split", "sample"})
    EXPECT_EQ(statusOf(changed.output, s), "skipped (complete)") << s;
  EXPECT_EQ(statusOf(changed.output, "train"), "ran");
  EXPECT_EQ(statusOf(changed.output, "evaluate"), "ran");
  EXPECT_EQ(statusOf(changed.output, "predict"), "ran");

  // A removed output makes its stage incomplete again, and everything after it reruns.
  fs::remove(dir + "/out/samples.h5");
  auto removed = runIn(dir, "--set train.epochs=1 --until sample");
  ASSERT_EQ(removed.exitCode, 0) << removed.output;
  EXPECT_EQ(statusOf(removed.output, "split"), "skipped (complete)");
  EXPECT_EQ(statusOf(removed.output, "sample"), "ran");
  EXPECT_TRUE(fs::exists(dir + "/out/samples.h5"));
}

TEST(Run, ResumesAtTheInterruptedStageAndUnit) {
  const std::string dir = scratchDir("run_test_resume");
  // Rank 1 kills itself after writing its first composite unit.
  auto killed = runIn(dir, "--until composite --set compute.scheduler=static", "CROPMAP_FAULT_KILL=composite:1:1");
  ASSERT_NE(killed.exitCode, 0) << killed.output;
  EXPECT_FALSE(fs::exists(dir + "/out/.run/composite.done"));
  EXPECT_TRUE(fs::exists(dir + "/out/.run/synth.done"));

  auto resumed = runIn(dir, "--until composite --resume --set compute.scheduler=static");
  ASSERT_EQ(resumed.exitCode, 0) << resumed.output;
  EXPECT_EQ(statusOf(resumed.output, "synth"), "skipped (complete)") << resumed.output;
  EXPECT_EQ(statusOf(resumed.output, "composite"), "ran");
  EXPECT_NE(resumed.output.find("composite (resuming)"), std::string::npos) << resumed.output;
  // Fewer units than the whole tile were left to do: the ledger was honoured.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(resumed.output, m, std::regex("units (\\d+)/(\\d+)"))) << resumed.output;
  EXPECT_LT(std::stoi(m[1]), std::stoi(m[2])) << resumed.output;

  // The resumed cube equals an uninterrupted one.
  const std::string ref = dir + "/ref";
  auto whole = runCommand("cd " + std::string(CROPMAP_SOURCE_DIR) + " && " + CROPMAP_MPIEXEC + " -n 2 " + CROPMAP_EXE +
                          " run --config " + kConfig + " --set run.output=" + ref + " --until composite");
  ASSERT_EQ(whole.exitCode, 0) << whole.output;
  for (const char* ds : {"/tiles/33UVP/reflectance", "/tiles/33UVP/valid"}) {
    auto diff = runCommand(std::string("h5diff ") + dir + "/out/cube.h5 " + ref + "/cube.h5 " + ds + " " + ds);
    EXPECT_EQ(diff.exitCode, 0) << ds << "\n" << diff.output;
  }
}
