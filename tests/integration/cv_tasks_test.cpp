// `cropmap cv` split into the tasks of a job array, without Slurm: --list-tasks
// counts models x grid points x folds and leaves the run's records alone, a
// task index out of range is a usage error, two tasks run at once in one run
// directory, tasks and a job holding the whole run exclude each other, and the
// final `cv --resume` writes the table of one plain `cropmap cv`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.hpp"

using namespace cropmap::test;
namespace fs = std::filesystem;

namespace {

const std::string kConfig = std::string(CROPMAP_SOURCE_DIR) + "/tests/data/tiny_region.yaml";
// One model (the tiny region's lstm) and two learning rates over two folds: 4 tasks.
const std::string kGrid = "--set split.folds=2 --set cv.grid_lr=[0.001,0.01]";

std::string cvLine(const std::string& out, const std::string& args) {
  return "cd " + std::string(CROPMAP_SOURCE_DIR) + " && " + CROPMAP_EXE + " cv --config " + kConfig +
         " --set run.output=" + out + " " + kGrid + " " + args;
}
RunResult cv(const std::string& out, const std::string& args) { return runCommand(cvLine(out, args)); }

// A lock file naming this (live) test process as its holder.
void holdLock(const std::string& path, const std::string& command) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  fs::create_directories(fs::path(path).parent_path());
  writeFile(path, std::string("host ") + host + "\npid " + std::to_string(getpid()) + "\njob \ncommand " + command +
                      "\nsince 2026-01-01T00:00:00Z\n");
}

}  // namespace

TEST(CvTasks, ListTasksRangeConcurrentTasksLocksAndGatherEqualOneRun) {
  const std::string dir = scratchDir("cv_tasks"), out = dir + "/array", single = dir + "/single";
  const auto prep = runCommand("cd " + std::string(CROPMAP_SOURCE_DIR) + " && " + CROPMAP_EXE + " run --config " +
                               kConfig + " --set run.output=" + out + " --set split.folds=2 --until sample");
  ASSERT_EQ(prep.exitCode, 0) << prep.output;
  fs::copy(out, single, fs::copy_options::recursive);

  // models x grid points x folds: lstm and tempcnn with 2 learning rates (tempcnn also 2 kernel
  // sizes), the xgboost baseline without a grid, 2 folds.
  writeFile(out + "/.run/cv.done", "a record of an earlier cv\n");
  const auto big = cv(out, "--set cv.models=[lstm,tempcnn] --set cv.baseline=xgboost --set cv.grid_kernel=[3,5] --list-tasks");
  ASSERT_EQ(big.exitCode, 0) << big.output;
  EXPECT_EQ(big.output.rfind("14 tasks: 7 configurations x 2 folds", 0), 0u) << big.output;
  EXPECT_NE(big.output.find("  13  xgboost fold 1\n"), std::string::npos) << big.output;
  EXPECT_NE(big.output.find("  7  tempcnn-lr0.001-k5 fold 1\n"), std::string::npos) << big.output;
  EXPECT_TRUE(fs::exists(out + "/.run/cv.done")) << "--list-tasks removed the run's records";
  const auto list = cv(out, "--list-tasks");
  ASSERT_EQ(list.exitCode, 0) << list.output;
  EXPECT_EQ(list.output.rfind("4 tasks: 2 configurations x 2 folds", 0), 0u) << list.output;

  for (const char* bad : {"4", "-1"}) {
    const auto r = cv(out, std::string("--task ") + bad);
    EXPECT_EQ(r.exitCode, 2) << r.output;
    EXPECT_NE(r.output.find(std::string("--task ") + bad + ": out of range; this cross-validation has 4 tasks (0..3)"),
              std::string::npos)
        << r.output;
  }

  // Two tasks at once in one run directory.
  const int t0 = startInSession(cvLine(out, "--task 0"), dir + "/task0.log");
  const int t1 = startInSession(cvLine(out, "--task 1"), dir + "/task1.log");
  EXPECT_TRUE(waitUntil([&] { return fs::exists(out + "/.cropmap.units/cv-lstm-lr0.001-fold-1.lock"); }, 60));
  EXPECT_EQ(waitExit(t0), 0) << readFile(dir + "/task0.log");
  EXPECT_EQ(waitExit(t1), 0) << readFile(dir + "/task1.log");
  EXPECT_NE(readFile(dir + "/task0.log").find("cv task 0 of 4: lstm-lr0.001 fold 0: OA"), std::string::npos);
  EXPECT_NE(readFile(dir + "/task1.log").find("cv task 1 of 4: lstm-lr0.001 fold 1: OA"), std::string::npos);
  EXPECT_FALSE(fs::exists(out + "/.cropmap.units/cv-lstm-lr0.001-fold-0.lock")) << "a unit lock outlived its task";
  EXPECT_FALSE(fs::exists(out + "/cv/cv_report.json")) << "a task wrote the table";

  // A job holding the whole run keeps tasks out, and a live task keeps such a job out.
  holdLock(out + "/.cropmap.lock", "cropmap run");
  const auto locked = cv(out, "--task 2");
  EXPECT_EQ(locked.exitCode, 2) << locked.output;
  EXPECT_NE(locked.output.find("a task of a job array shares a run only with the other tasks"), std::string::npos)
      << locked.output;
  fs::remove(out + "/.cropmap.lock");
  holdLock(out + "/.cropmap.units/cv-lstm-lr0.01-fold-0.lock", "cropmap cv --task 2");
  const auto busy = cv(out, "--resume");
  EXPECT_EQ(busy.exitCode, 2) << busy.output;
  EXPECT_NE(busy.output.find("is in use by a task of a job array (cv-lstm-lr0.01-fold-0)"), std::string::npos)
      << busy.output;
  EXPECT_FALSE(fs::exists(out + "/.cropmap.lock")) << "a refused job left the run lock";
  fs::remove(out + "/.cropmap.units/cv-lstm-lr0.01-fold-0.lock");

  for (const char* i : {"2", "3"}) {
    const auto r = cv(out, std::string("--resume --task ") + i);
    ASSERT_EQ(r.exitCode, 0) << r.output;
  }
  // A task submitted again (--resume) finds its fold done.
  const auto again = cv(out, "--resume --task 1");
  ASSERT_EQ(again.exitCode, 0) << again.output;
  EXPECT_NE(again.output.find("lstm-lr0.001 fold 1 is complete for this configuration; skipped"), std::string::npos)
      << again.output;

  // The gather: every fold done, then the final model and the table.
  const auto gather = cv(out, "--resume");
  ASSERT_EQ(gather.exitCode, 0) << gather.output;
  EXPECT_EQ(countOccurrences(gather.output, "is complete for this configuration; skipped"), 4u) << gather.output;
  EXPECT_NE(gather.output.find("final model (scored on the test zones) ..."), std::string::npos) << gather.output;
  const auto plain = cv(single, "");
  ASSERT_EQ(plain.exitCode, 0) << plain.output;
  // The same table; only the sample table's path differs.
  std::string table = readFile(out + "/cv/cv_report.json");
  for (size_t p = 0; (p = table.find(out, p)) != std::string::npos; p += single.size()) table.replace(p, out.size(), single);
  EXPECT_EQ(table, readFile(single + "/cv/cv_report.json"));
  EXPECT_NE(table.find("\"per_fold\""), std::string::npos) << table;
}
