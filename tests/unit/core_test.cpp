// The core's small pieces without MPI: the serial stand-in of Comm, the JSON
// reader, the block geometry, the registry of model and backend names and the
// process usage that block stages report per rank.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "pipeline/grid.hpp"
#include "pipeline/json.hpp"
#include "pipeline/memory.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/registry.hpp"
#include "pipeline/run_lock.hpp"

using namespace cropmap;

TEST(SerialComm, EveryCollectiveIsTheIdentityWithoutMpi) {
  // No MPI_Init in this process: a call into MPI would abort.
  const Comm c = Comm::serial();
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  EXPECT_TRUE(c.root());
  EXPECT_EQ(c.bcast(7, "x"), 7);
  EXPECT_EQ(c.bcast(std::string("text"), "x"), "text");
  EXPECT_EQ(c.bcast(std::vector<double>{1.5, 2.5}, "x"), (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(c.sum(3.5, "x"), 3.5);
  EXPECT_EQ(c.max(std::int64_t{9}, "x"), 9);
  std::vector<std::int64_t> v{1, 2, 3};
  c.sumInPlace(v, "x");
  EXPECT_EQ(v, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(c.exclusivePrefixSum(std::int64_t{5}, "x"), 0);
  EXPECT_EQ(c.allgather(4, "x"), std::vector<int>{4});
  EXPECT_EQ(c.allgatherv(std::vector<int>{1, 2}, "x"), (std::vector<int>{1, 2}));
  EXPECT_EQ(c.allgatherv(std::string("ab"), "x"), "ab");
  EXPECT_EQ(c.gatherText("line", "x"), std::vector<std::string>{"line"});
  struct Rec {
    std::int64_t a;
    double b;
  };
  std::vector<int> from;
  const auto got = c.exchange(std::vector<std::vector<Rec>>{{{1, 2.0}, {3, 4.0}}}, "x", &from);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].a, 3);
  EXPECT_EQ(from, (std::vector<int>{0, 0}));
  EXPECT_THROW(c.exchange(std::vector<std::vector<Rec>>{{}, {}}, "x"), std::invalid_argument);
}

TEST(Json, ParsesWhatCropmapWritesAndNamesErrors) {
  const json::Value v = json::parse(
      R"({"model": "lstm", "pixel": {"kappa": 0.93, "n": -12, "e": 1.5e-3}, "list": [1, "two", null, true],
          "esc": "a\"b\\c\u00e9\n"})",
      "report.json");
  EXPECT_EQ(v.at("model").string(), "lstm");
  EXPECT_DOUBLE_EQ(v.at("pixel").at("kappa").number(), 0.93);
  EXPECT_DOUBLE_EQ(v.at("pixel").numberOr("n", 0), -12);
  EXPECT_DOUBLE_EQ(v.at("pixel").numberOr("e", 0), 1.5e-3);
  EXPECT_DOUBLE_EQ(v.at("pixel").numberOr("absent", 7), 7);
  ASSERT_EQ(v.at("list").array().size(), 4u);
  EXPECT_TRUE(v.at("list").array()[2].isNull());
  EXPECT_TRUE(v.at("list").array()[3].boolean());
  EXPECT_EQ(v.at("esc").string(), "a\"b\\c\xc3\xa9\n");
  EXPECT_EQ(v.members().front().first, "model");  // document order
  // Round trip of the writer.
  const json::Value w = json::parse(json::Object().field("x", 0.1).field("s", "q\"uote").text());
  EXPECT_DOUBLE_EQ(w.at("x").number(), 0.1);
  EXPECT_EQ(w.at("s").string(), "q\"uote");
  // Errors name the document, the offset or the key path.
  try {
    json::parse("{\"a\": [1, 2,]}", "bad.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: offset"), std::string::npos) << e.what();
  }
  try {
    v.at("pixel").at("kappa").string();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("report.json: /pixel/kappa"), std::string::npos) << e.what();
  }
  EXPECT_THROW(json::parse("{} x"), std::runtime_error);
  EXPECT_THROW(json::parse("[\"unterminated]"), std::runtime_error);
}

TEST(Grid, BlocksCoverEveryTileOnceAndAreNamedByPosition) {
  std::vector<TileGrid> tiles(2);
  tiles[0].name = "33UVP";
  tiles[0].width = 300;
  tiles[0].height = 130;
  tiles[1].name = "33UWP";
  tiles[1].width = 64;
  tiles[1].height = 64;
  const auto units = makeUnits(tiles, 128);
  ASSERT_EQ(units.size(), 3u * 2u + 1u);
  std::int64_t pixels = 0;
  for (size_t i = 0; i < units.size(); ++i) {
    EXPECT_EQ(units[i].index, static_cast<std::int64_t>(i));
    pixels += units[i].window().pixels();
  }
  EXPECT_EQ(pixels, 300 * 130 + 64 * 64);
  EXPECT_EQ(units[4].row0, 128);
  EXPECT_EQ(units[4].rows, 2);
  EXPECT_EQ(describeUnit(units[4], "33UVP", 128), "tile 33UVP block (1,1)");
  EXPECT_EQ(blockEdge(300, 64), 256);
  EXPECT_EQ(blockEdge(10, 64), 64);
  EXPECT_TRUE(units[1].sameBlock(WorkUnit{99, 0, 0, 128, 128, 128, 5.0}));
}

TEST(Registry, NamesAndPropertiesComeFromOneTable) {
  EXPECT_EQ(modelNames().front(), "tempcnn");  // the default of train.model
  EXPECT_TRUE(modelKind("earlyrnn").earlyStopping);
  EXPECT_EQ(modelKind("earlyrnn").defaultLoss, "early_reward");
  EXPECT_FALSE(modelKind("tempcnn").earlyStopping);
  EXPECT_EQ(modelKind("xgboost").engine, "xgboost");
  EXPECT_EQ(modelKind("xgboost").modelFile, "model.ubj");
  EXPECT_EQ(modelKind("lstm").modelFile, "model.pt");
  EXPECT_EQ(modelNames("torch"), (std::vector<std::string>{"tempcnn", "lstm", "earlyrnn"}));
  EXPECT_EQ(findModel("nope"), nullptr);
  EXPECT_THROW(modelKind("nope"), std::invalid_argument);
  const auto b = backendNames();
  EXPECT_NE(std::find(b.begin(), b.end(), "nccl"), b.end());
}

// A lock whose holder is a zombie (killed, not yet reaped) or whose pid now
// belongs to another process is stale; a live holder is refused.
TEST(RunLock, ZombieOrReusedPidIsStaleLiveHolderIsRefused) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("cropmap_lock_" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  auto holder = [&](long pid, const std::string& start) {
    std::ofstream(RunLock::lockPath(dir)) << "host " << host << "\npid " << pid << "\npid_start " << start
                                          << "\njob \ncommand cropmap run\nsince 2026-01-01T00:00:00Z\n";
  };
  // This process, as recorded by a lock it took itself: alive, refused.
  std::string selfStart;
  {
    auto lock = RunLock::acquire(dir, "cropmap test", Comm::serial());
    std::ifstream in(RunLock::lockPath(dir));
    for (std::string line; std::getline(in, line);)
      if (line.rfind("pid_start ", 0) == 0) selfStart = line.substr(10);
  }
  ASSERT_FALSE(selfStart.empty());
  holder(getpid(), selfStart);
  EXPECT_THROW(RunLock::acquire(dir, "cropmap test", Comm::serial()), UsageError);
  // The same pid with another start time: the pid was reused.
  holder(getpid(), selfStart + "1");
  EXPECT_NO_THROW(RunLock::acquire(dir, "cropmap test", Comm::serial()));
  // A zombie holder.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  usleep(200000);
  holder(child, "");
  EXPECT_NO_THROW(RunLock::acquire(dir, "cropmap test", Comm::serial()));
  waitpid(child, nullptr, 0);
  std::filesystem::remove_all(dir);
}

// Tasks of a job array share a run: units of their own exclude only the same
// unit and the whole run's lock, and the whole run's lock excludes them.
TEST(RunLock, UnitLocksShareARunAndExcludeTheRunLock) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("cropmap_units_" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(dir);
  const Comm one = Comm::serial();
  {
    auto a = RunLock::acquireUnit(dir, "cv-lstm-fold-0", "cropmap cv --task 0", one);
    auto b = RunLock::acquireUnit(dir, "cv-lstm-fold-1", "cropmap cv --task 1", one);
    EXPECT_TRUE(std::filesystem::exists(RunLock::unitLockPath(dir, "cv-lstm-fold-1")));
    EXPECT_THROW(RunLock::acquireUnit(dir, "cv-lstm-fold-1", "cropmap cv --task 1", one), UsageError);
    try {
      RunLock::acquire(dir, "cropmap cv --resume", one);
      ADD_FAILURE() << "the run lock was given while array tasks held units";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("task of a job array"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(RunLock::lockPath(dir))) << "a refused run lock was left behind";
  }
  EXPECT_FALSE(std::filesystem::exists(RunLock::unitLockPath(dir, "cv-lstm-fold-0")));
  {
    auto run = RunLock::acquire(dir, "cropmap run", one);
    EXPECT_THROW(RunLock::acquireUnit(dir, "cv-lstm-fold-0", "cropmap cv --task 0", one), UsageError);
    EXPECT_FALSE(std::filesystem::exists(RunLock::unitLockPath(dir, "cv-lstm-fold-0")));
  }
  // A unit lock left by a start of this Slurm job before it was requeued (on another node) is stale.
  std::ofstream(RunLock::unitLockPath(dir, "cv-lstm-fold-0"))
      << "host another-node\npid 1\npid_start 1\njob 4242\ncommand cropmap cv --task 0\nsince x\n";
  EXPECT_THROW(RunLock::acquireUnit(dir, "cv-lstm-fold-0", "cropmap cv --task 0", one), UsageError);
  setenv("SLURM_JOB_ID", "4242", 1);
  setenv("SLURM_RESTART_COUNT", "1", 1);
  EXPECT_NO_THROW(RunLock::acquireUnit(dir, "cv-lstm-fold-0", "cropmap cv --task 0", one));
  unsetenv("SLURM_JOB_ID");
  unsetenv("SLURM_RESTART_COUNT");
  std::filesystem::remove_all(dir);
}

TEST(ProcessUsage, PeakRssAndBytesFollowWhatTheProcessDid) {
  const ProcessUsage before = ProcessUsage::now();
  ASSERT_GT(before.peakRssBytes, 0);
  ASSERT_GE(before.writtenBytes, 0) << "/proc/self/io unreadable";
  // 256 MB touched: the peak grows by about that much, whatever it was.
  std::vector<char> big(256u << 20, 1);
  const std::string path = (std::filesystem::temp_directory_path() / "cropmap_usage_test.bin").string();
  {
    std::ofstream out(path, std::ios::binary);
    out.write(big.data(), 4 << 20);
  }
  const ProcessUsage after = ProcessUsage::now();
  std::filesystem::remove(path);
  EXPECT_GE(after.peakRssBytes, static_cast<std::int64_t>(big[12345]) * (200 << 20));
  EXPECT_GE(after.writtenBytes - before.writtenBytes, 4 << 20);
  EXPECT_GE(after.readBytes, before.readBytes);
}
