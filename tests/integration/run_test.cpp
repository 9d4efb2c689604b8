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

// cv.enabled on the tiny region with split.folds 2: every fold of every grid
// point is trained without the fold and scored on it, the grid picks a point
// per model, the final models are scored on the test zones, and the table
// compares with the baseline; --resume then skips every fold.
TEST(Run, CrossValidationWithABaselineAndAGrid) {
  const std::string dir = scratchDir("run_test_cv");
  const std::string cv =
      "--set split.folds=2 --set cv.enabled=true --set cv.models=[lstm,tempcnn] --set cv.baseline=xgboost "
      "--set cv.grid_lr=[0.001,0.01] --set cv.grid_kernel=[3,5]";
  auto first = runIn(dir, cv);
  ASSERT_EQ(first.exitCode, 0) << first.output;
  EXPECT_EQ(statusOf(first.output, "cv"), "ran") << first.output;
  const std::string out = dir + "/out/cv";
  // lstm: 2 learning rates; tempcnn: 2 x 2 kernel sizes; the xgboost baseline: no grid; each over 2 folds.
  for (const char* label : {"lstm-lr0.001", "lstm-lr0.01", "tempcnn-lr0.001-k3", "tempcnn-lr0.01-k5", "xgboost"})
    for (int f : {0, 1}) {
      const std::string fd = out + "/" + label + "/fold-" + std::to_string(f);
      EXPECT_TRUE(fs::exists(fd + (std::string(label) == "xgboost" ? "/model.ubj" : "/model.pt"))) << fd;
      const std::string report = readFile(fd + "/report.json");
      EXPECT_NE(report.find("\"split\": \"cv\""), std::string::npos) << report.substr(0, 400);
      EXPECT_NE(report.find("\"fold\": " + std::to_string(f)), std::string::npos) << report.substr(0, 400);
    }
  const std::string table = readFile(out + "/cv_report.txt");
  EXPECT_NE(table.find("2-fold spatial cross-validation"), std::string::npos) << table;
  EXPECT_NE(table.find("xgboost (baseline)"), std::string::npos) << table;
  EXPECT_NE(table.find("difference to the baseline"), std::string::npos) << table;
  EXPECT_NE(table.find("grid (selected by the fold mean of macro_f1)"), std::string::npos) << table;
  EXPECT_NE(table.find("final models"), std::string::npos) << table;
  const std::string js = readFile(out + "/cv_report.json");
  // One selected configuration per model, and its final model scored on the test split.
  size_t selected = 0;
  for (size_t p = 0; (p = js.find("\"selected\": true", p)) != std::string::npos; ++p) ++selected;
  EXPECT_EQ(selected, 3u) << js;
  int finals = 0;
  for (const auto& e : fs::directory_iterator(out))
    if (fs::exists(e.path() / "report.json")) {
      ++finals;
      EXPECT_NE(readFile((e.path() / "report.json").string()).find("\"split\": \"test\""), std::string::npos);
    }
  EXPECT_EQ(finals, 3);
  // The report page carries the table.
  const std::string page = readFile(dir + "/out/report/index.html");
  EXPECT_NE(page.find("<h2>Cross-validation</h2>"), std::string::npos);
  EXPECT_NE(page.find("xgboost (baseline)"), std::string::npos);

  auto again = runCommand("cd " + std::string(CROPMAP_SOURCE_DIR) + " && " + CROPMAP_MPIEXEC + " -n 2 " + CROPMAP_EXE +
                          " cv --resume --config " + kConfig + " --set run.output=" + dir + "/out " + cv);
  ASSERT_EQ(again.exitCode, 0) << again.output;
  EXPECT_EQ(again.output.find("(trained without the fold, scored on it)"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("is complete for this configuration; skipped"), std::string::npos) << again.output;
}
