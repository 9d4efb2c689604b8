// The faults tier: what operators do by mistake and what clusters do to jobs,
// on the tiny synthetic region under 2 ranks. Each case is refused with the
// right exit code and a message that names what to do, or completes with
// outputs equal to an uninterrupted run's.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gdal_priv.h>

#include "pipeline/gdal_io.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap::test;
namespace fs = std::filesystem;

namespace {

const std::string kConfig = std::string(CROPMAP_SOURCE_DIR) + "/tests/data/tiny_region.yaml";
// Enough epochs (without early stopping) that a signal reliably lands during training.
const std::string kCommon = "--set train.epochs=25 --set train.patience=0";

std::string inSource(const std::string& args) {
  return "cd " + std::string(CROPMAP_SOURCE_DIR) + " && " + args;
}
std::string cropmapLine(const std::string& command, const std::string& out, const std::string& extra = "",
                        int ranks = 2, const std::string& env = "") {
  return inSource(env + " " + std::string(CROPMAP_MPIEXEC) + " -n " + std::to_string(ranks) + " " + CROPMAP_EXE + " " + command +
                  " --config " + kConfig + " --set run.output=" + out + " " + kCommon + " " + extra);
}
RunResult runStage(const std::string& command, const std::string& out, const std::string& extra = "", int ranks = 2) {
  return runCommand(cropmapLine(command, out, extra, ranks));
}

// The status column of one stage in the run summary ("ran (...)", "skipped (complete)").
std::string statusOf(const std::string& output, const std::string& stage) {
  std::smatch m;
  if (std::regex_search(output, m, std::regex("\\n  " + stage + " +((ran|skipped|disabled)[^\\n]*?) {2,}")))
    return m[1];
  return "?";
}

bool sameDataset(const std::string& a, const std::string& b, const std::string& ds) {
  return runCommand("h5diff '" + a + "' '" + b + "' " + ds + " " + ds).exitCode == 0;
}
// The pixel checksum of a band of a raster (GDAL), to compare maps whatever their metadata.
std::string checksum(const std::string& raster, int band) {
  const std::string text = runCommand("gdalinfo -checksum '" + raster + "'").output;
  const std::regex re("Checksum=(\\d+)");
  int seen = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re);
       it != std::sregex_iterator(); ++it)
    if (++seen == band) return (*it)[1];
  return "?";
}

// One uninterrupted run of the whole pipeline: the reference of every case that resumes.
class Faults : public ::testing::Test {
 protected:
  static std::string ref() { return std::string(CROPMAP_TEST_TMP) + "/faults_ref/out"; }
  static void SetUpTestSuite() {
    scratchDir("faults_ref");
    const auto r = runStage("run", ref());
    refOk_ = r.exitCode == 0;
    refOutput_ = r.output;
  }
  void SetUp() override { ASSERT_TRUE(refOk_) << "the reference run failed:\n" << refOutput_; }
  static inline bool refOk_ = false;
  static inline std::string refOutput_;
};

}  // namespace

// 1. Two jobs in one run directory.
TEST_F(Faults, ASecondJobInTheSameDirectoryIsRefusedAndAStaleLockIsTakenOver) {
  const std::string dir = scratchDir("faults_lock"), out = dir + "/out";
  const int pid = startInSession(cropmapLine("run", out, "--until composite"), dir + "/first.log");
  ASSERT_TRUE(waitUntil([&] { return fs::exists(out + "/.cropmap.lock"); }, 60));
  const auto second = runStage("run", out, "--until composite");
  EXPECT_EQ(second.exitCode, 2) << second.output;
  EXPECT_NE(second.output.find("is in use by another cropmap job"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("pid "), std::string::npos) << second.output;
  EXPECT_EQ(waitExit(pid), 0) << readFile(dir + "/first.log");
  EXPECT_FALSE(fs::exists(out + "/.cropmap.lock")) << "the lock outlived its job";

  // A lock left by a job that died on this host.
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  writeFile(out + "/.cropmap.lock", std::string("host ") + host + "\npid 999999999\njob \ncommand cropmap run\nsince x\n");
  const auto after = runStage("run", out, "--until synth");
  EXPECT_EQ(after.exitCode, 0) << after.output;
  EXPECT_NE(after.output.find("taking over a stale lock"), std::string::npos) << after.output;
}

// 2. Paths that leave run.output.
TEST_F(Faults, OutputPathsOutsideTheRunDirectoryAreRefused) {
  const std::string dir = scratchDir("faults_paths");
  fs::create_directories(dir + "/outside/safe");
  writeFile(dir + "/outside/safe/keep.txt", "a user's file");
  const auto up = runStage("synth", dir + "/new/out", "--set synth.output=..", 1);
  EXPECT_EQ(up.exitCode, 2) << up.output;
  EXPECT_NE(up.output.find("synth.output"), std::string::npos) << up.output;
  EXPECT_NE(up.output.find("outside run.output"), std::string::npos) << up.output;
  fs::create_directories(dir + "/out");
  fs::create_directory_symlink(dir + "/outside", dir + "/out/link");
  const auto link = runStage("synth", dir + "/out", "--set synth.output=link", 1);
  EXPECT_EQ(link.exitCode, 2) << link.output;
  EXPECT_TRUE(fs::exists(dir + "/outside/safe/keep.txt"));
}

// 3 and 10. A changed option reruns its stage and everything after it, with or
// without --resume, and says why; a stage command on its own makes the records
// after it stale.
TEST_F(Faults, ChangedConfigurationRerunsItsStageAndEverythingAfter) {
  const std::string dir = scratchDir("faults_rerun"), out = dir + "/out";
  const std::string quick = "--set train.epochs=2";
  ASSERT_EQ(runStage("run", out, quick).exitCode, 0);
  const auto same = runStage("run", out, quick + " --resume");
  ASSERT_EQ(same.exitCode, 0) << same.output;
  EXPECT_EQ(statusOf(same.output, "labels"), "skipped (complete)") << same.output;
  EXPECT_EQ(statusOf(same.output, "predict"), "skipped (complete)") << same.output;
  const std::string labelsBefore = dir + "/label_before.h5";
  fs::copy_file(out + "/cube.h5", labelsBefore);

  const auto eroded = runStage("run", out, quick + " --resume --set labels.erosion_px=0");
  ASSERT_EQ(eroded.exitCode, 0) << eroded.output;
  EXPECT_EQ(statusOf(eroded.output, "composite"), "skipped (complete)") << eroded.output;
  EXPECT_EQ(statusOf(eroded.output, "labels"), "ran (configuration or inputs changed)") << eroded.output;
  EXPECT_EQ(statusOf(eroded.output, "train"), "ran (after labels)") << eroded.output;
  EXPECT_FALSE(sameDataset(labelsBefore, out + "/cube.h5", "/tiles/33UVP/label"));

  const std::string both = quick + " --set labels.erosion_px=0";
  const auto lr = runStage("run", out, both + " --set train.lr=0.003");
  ASSERT_EQ(lr.exitCode, 0) << lr.output;
  EXPECT_EQ(statusOf(lr.output, "sample"), "skipped (complete)") << lr.output;
  EXPECT_EQ(statusOf(lr.output, "train"), "ran (configuration or inputs changed)") << lr.output;

  // `cropmap composite` alone rewrites the cube: labels and later must not pass for complete.
  ASSERT_EQ(runStage("composite", out, both + " --set train.lr=0.003").exitCode, 0);
  const auto after = runStage("run", out, both + " --set train.lr=0.003 --until split");
  ASSERT_EQ(after.exitCode, 0) << after.output;
  EXPECT_EQ(statusOf(after.output, "composite"), "ran (not run before)") << after.output;
  EXPECT_EQ(statusOf(after.output, "labels"), "ran (after composite)") << after.output;
}

// 4 and 9. Changed inputs refuse a resume; a cube whose creation was cut short is made anew.
TEST_F(Faults, ResumeOverChangedInputsIsRefusedAndABrokenCubeIsRemade) {
  const std::string dir = scratchDir("faults_inputs"), out = dir + "/out";
  fs::create_directories(out);
  fs::copy(ref() + "/synth", out + "/synth", fs::copy_options::recursive);
  const auto killed = runCommand(
      cropmapLine("composite", out, "--set compute.scheduler=static", 2, "CROPMAP_FAULT_KILL=composite:1:1"));
  ASSERT_NE(killed.exitCode, 0) << killed.output;
  // A month of scenes disappears from the archive.
  std::vector<fs::path> may;
  for (const auto& e : fs::recursive_directory_iterator(out + "/synth/geotiff"))
    if (e.path().filename().string().find("_202205") != std::string::npos) may.push_back(e.path());
  int removed = 0;
  for (const auto& p : may) removed += fs::remove(p);
  ASSERT_GT(removed, 0);
  const auto resumed = runStage("composite", out, "--resume --set compute.scheduler=static");
  EXPECT_EQ(resumed.exitCode, 2) << resumed.output;
  EXPECT_NE(resumed.output.find("cannot resume"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("scenes"), std::string::npos) << resumed.output;

  // A cube cut short while it was created (here: truncated) opens no more.
  fs::resize_file(out + "/cube.h5", 2048);
  const auto remade = runStage("composite", out, "--resume");
  EXPECT_EQ(remade.exitCode, 0) << remade.output;
  EXPECT_NE(remade.output.find("a new cube is made"), std::string::npos) << remade.output;
}

// 7. A model trained on other period dates.
TEST_F(Faults, AModelOfOtherPeriodsIsRefused) {
  const std::string dir = scratchDir("faults_periods"), out = dir + "/out";
  fs::create_directories(out);
  fs::copy(ref() + "/synth", out + "/synth", fs::copy_options::recursive);
  const std::string shifted = "--set composite.start_month=2 --set predict.model=" + ref() + "/train/model.pt";
  ASSERT_EQ(runStage("composite", out, shifted).exitCode, 0);
  const auto refused = runStage("predict", out, shifted);
  EXPECT_EQ(refused.exitCode, 2) << refused.output;
  EXPECT_NE(refused.output.find("allow_other_periods"), std::string::npos) << refused.output;
  const auto forced = runStage("predict", out, shifted + " --set predict.allow_other_periods=true");
  EXPECT_EQ(forced.exitCode, 0) << forced.output;
}

// 8. A register whose declared CRS is wrong labels nothing: an error naming it.
TEST_F(Faults, ARegisterInTheWrongCrsIsAnErrorNamingItsExtent) {
  const std::string dir = scratchDir("faults_crs"), out = dir + "/out";
  fs::create_directories(out);
  fs::copy_file(ref() + "/cube.h5", out + "/cube.h5");
  const std::string wrong = dir + "/parcels_4326.gpkg";
  const auto tag = runCommand("ogr2ogr -a_srs EPSG:4326 " + wrong + " " + ref() + "/synth/parcels.gpkg");
  ASSERT_EQ(tag.exitCode, 0) << tag.output;
  const auto r = runStage("labels", out, "--set labels.parcels=" + wrong);
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_NE(r.output.find("EPSG:4326"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("33UVP EPSG:"), std::string::npos) << r.output;
  EXPECT_EQ(countOccurrences(r.output, "error:"), 1u) << "printed once, not per rank:\n" << r.output;
}

// 11. SIGTERM in the middle of compositing and of training: exit 75 with what
// was saved; --resume then gives the uninterrupted run's cube, model and map.
TEST_F(Faults, SigtermStopsCleanlyAndResumeEqualsAnUninterruptedRun) {
  const std::string dir = scratchDir("faults_signal"), out = dir + "/out";
  const int pid = startInSession(cropmapLine("run", out), dir + "/run.log");
  ASSERT_TRUE(waitUntil([&] { return fs::exists(out + "/.run/composite.started"); }, 120)) << readFile(dir + "/run.log");
  signalSession(pid, SIGTERM, "cropmap");
  const int rc = waitExit(pid);
  const std::string log = readFile(dir + "/run.log");
  ASSERT_EQ(rc, 75) << log;
  EXPECT_NE(log.find("stopped by SIGTERM"), std::string::npos) << log;
  EXPECT_NE(log.find("--resume"), std::string::npos) << log;
  EXPECT_EQ(countOccurrences(log, "stopped by SIGTERM"), 1u) << log;

  // Stop again during training, once a few epochs are done.
  const int pid2 = startInSession(cropmapLine("run", out, "--resume"), dir + "/run2.log");
  const std::string metrics = out + "/train/metrics.jsonl";
  ASSERT_TRUE(waitUntil([&] { return fs::exists(metrics) && countOccurrences(readFile(metrics), "\n") >= 3; }, 300))
      << readFile(dir + "/run2.log");
  signalSession(pid2, SIGTERM, "cropmap");
  const int rc2 = waitExit(pid2);
  const std::string log2 = readFile(dir + "/run2.log");
  ASSERT_EQ(rc2, 75) << log2;
  EXPECT_NE(log2.find("checkpoint"), std::string::npos) << log2;

  const auto done = runStage("run", out, "--resume");
  ASSERT_EQ(done.exitCode, 0) << done.output;
  EXPECT_TRUE(sameDataset(ref() + "/cube.h5", out + "/cube.h5", "/tiles/33UVP/reflectance"));
  EXPECT_TRUE(sameDataset(ref() + "/samples.h5", out + "/samples.h5", "/train/x"));
  EXPECT_EQ(checksum(ref() + "/maps/33UVP.tif", 1), checksum(out + "/maps/33UVP.tif", 1));
  EXPECT_EQ(checksum(ref() + "/maps/33UVP.tif", 2), checksum(out + "/maps/33UVP.tif", 2));
}

// 12. A full disk during a checkpoint: the file and the cause named, nothing half-written left.
TEST_F(Faults, AFullDiskNamesTheFileAndLeavesNoTemporaries) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small file system needs root";
  const std::string dir = scratchDir("faults_disk"), out = dir + "/out";
  fs::create_directories(out);
  if (mount("tmpfs", out.c_str(), "tmpfs", 0, "size=1m") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{out};
  // Fill the file system but for a few kilobytes.
  runCommand("dd if=/dev/zero of=" + out + "/filler bs=4k count=1000 2>/dev/null; true");
  fs::resize_file(out + "/filler", fs::file_size(out + "/filler") - 8192);
  const auto r = runStage("train", out, "--set train.samples=" + ref() + "/samples.h5");
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("no space left on device"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(out + "/train/"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << "a LibTorch backtrace:\n" << r.output;
  bool leftover = false;
  for (const auto& e : fs::recursive_directory_iterator(out))
    leftover = leftover || e.path().filename().string().find(".tmp") != std::string::npos;
  EXPECT_FALSE(leftover);
}

// 13. Duplicate keys, and an error every rank meets printed once.
TEST_F(Faults, DuplicateKeysAndErrorsPrintedOnce) {
  const std::string dir = scratchDir("faults_small");
  writeFile(dir + "/dup.yaml", "run:\n  output: " + dir + "/out\ntrain:\n  epochs: 3\n  epochs: 4\n");
  const auto dup = runCommand(std::string(CROPMAP_EXE) + " config --config " + dir + "/dup.yaml");
  EXPECT_EQ(dup.exitCode, 2) << dup.output;
  EXPECT_NE(dup.output.find("dup.yaml:5: key 'train.epochs': given twice (first at line 4)"), std::string::npos)
      << dup.output;
  const auto nocube = runStage("split", dir + "/out");
  EXPECT_EQ(nocube.exitCode, 2) << nocube.output;
  EXPECT_EQ(countOccurrences(nocube.output, "error:"), 1u) << nocube.output;
}

// 14. A block size that cannot fit the memory per rank.
TEST_F(Faults, ABlockTooLargeForTheMemoryPerRankIsRefusedWithTheEstimate) {
  const std::string dir = scratchDir("faults_memory"), out = dir + "/out";
  fs::create_directories(out);
  fs::copy(ref() + "/synth", out + "/synth", fs::copy_options::recursive);
  const auto r = runStage("composite", out, "--set compute.memory_mb=2 --set composite.block_size=128 --set composite.chunk=32");
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_NE(r.output.find("compute.memory_mb 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("use composite.block_size"), std::string::npos) << r.output;
}

// 5. A corrupt but decodable band file: its impossible values are left out,
// counted and reported naming the scene, band and file; with the check off
// they would have gone into the cube.
TEST_F(Faults, CorruptButDecodableValuesAreLeftOutAndReported) {
  const std::string dir = scratchDir("faults_corrupt"), out = dir + "/out";
  fs::create_directories(out);
  fs::copy(ref() + "/synth", out + "/synth", fs::copy_options::recursive);
  std::vector<fs::path> b04;
  for (const auto& e : fs::recursive_directory_iterator(out + "/synth/geotiff")) {
    const std::string name = e.path().filename().string();
    if (name.find("_202207") != std::string::npos && name.find("_B04.tif") != std::string::npos) b04.push_back(e.path());
  }
  ASSERT_FALSE(b04.empty());
  std::sort(b04.begin(), b04.end());
  const std::string victim = b04.front().string();
  // Overwrite the whole band with a value no L2A surface reflects (as a flipped
  // block of a codestream decodes): the file still opens and decodes.
  cropmap::gdal::ensureRegistered();
  {
    auto ds = cropmap::gdal::openRasterUpdate(victim);
    const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
    std::vector<std::uint16_t> garbage(static_cast<size_t>(w) * h, 62000);
    ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, w, h, garbage.data(), w, h, GDT_UInt16, 0, 0, nullptr),
              CE_None);
  }
  const auto r = runStage("composite", out, "--set compute.scheduler=static");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("band B04: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("above inputs.max_reflectance 20000 (" + victim), std::string::npos) << r.output;
  const std::smatch counted = [&] {
    std::smatch m;
    std::regex_search(r.output, m, std::regex("impossible values left out: ([0-9]+)"));
    return m;
  }();
  ASSERT_EQ(counted.size(), 2u) << r.output;
  EXPECT_GT(std::stoll(counted[1].str()), 0) << r.output;
  const auto off = runStage("composite", out, "--set compute.scheduler=static --set inputs.max_reflectance=0");
  ASSERT_EQ(off.exitCode, 0) << off.output;
  EXPECT_NE(off.output.find("impossible values left out: 0"), std::string::npos) << off.output;
}
