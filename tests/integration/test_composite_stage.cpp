// `cropmap catalog` and `cropmap composite` on small synthetic regions written
// with real GDAL drivers (SAFE trees with JP2 + MTD_MSIL2A.xml, GeoTIFFs),
// run as real processes, under mpiexec where ranks matter. The cube is read
// back with HDF5's default (serial) driver and compared with the truth.
#include <gtest/gtest.h>
#include <gdal_priv.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "kernels/gap_fill.hpp"
#include "kernels/spectral.hpp"
#include "pipeline/gdal_io.hpp"
#include "stages/bench/synthetic_scenes.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cropmap;

namespace {

// A dataset ("/tiles/T/valid") or an attribute ("/tiles/T@scene_dates") read whole.
template <class T>
std::vector<T> readAll(const std::string& file, const std::string& object, hid_t type, std::vector<hsize_t>* dims = nullptr) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw std::runtime_error("cannot open " + file);
  const size_t at = object.find('@');
  const bool attr = at != std::string::npos;
  hid_t d = attr ? H5Aopen_by_name(f, object.substr(0, at).c_str(), object.substr(at + 1).c_str(), H5P_DEFAULT,
                                   H5P_DEFAULT)
                 : H5Dopen2(f, object.c_str(), H5P_DEFAULT);
  if (d < 0) {
    H5Fclose(f);
    throw std::runtime_error("no dataset or attribute " + object + " in " + file);
  }
  hid_t s = attr ? H5Aget_space(d) : H5Dget_space(d);
  std::vector<hsize_t> dd(static_cast<size_t>(H5Sget_simple_extent_ndims(s)));
  H5Sget_simple_extent_dims(s, dd.data(), nullptr);
  size_t n = 1;
  for (auto x : dd) n *= x;
  std::vector<T> out(n);
  const herr_t rc = attr ? H5Aread(d, type, out.data()) : H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  H5Sclose(s);
  attr ? H5Aclose(d) : H5Dclose(d);
  H5Fclose(f);
  if (rc < 0) throw std::runtime_error("cannot read " + object);
  if (dims) *dims = dd;
  return out;
}

std::string writeConfig(const std::string& dir, const std::string& inputs, const std::string& extra = "") {
  const std::string path = dir + "/config.yaml";
  test::writeFile(path, "run:\n  name: test\n  output: " + dir + "/out\n" + "log:\n  progress_interval: 60\n" +
                            "inputs:\n" + inputs + "  bands: [B02, B03, B04, B08]\n" +
                            "composite:\n  year: 2022\n  indices: [NDVI]\n  block_size: 32\n  chunk: 32\n" + extra);
  return path;
}

// A clipped product's region: an odd 45 x 37 px 10 m extent.
synthetic::RegionSpec clippedRegion(const std::string& dir, std::vector<std::string> bands) {
  synthetic::RegionSpec region;
  region.dir = dir;
  region.rows = 37;
  region.cols = 45;
  region.bands = std::move(bands);
  return region;
}

// One scene on the 10th of every month of 2022; `vary` sets the month's product quirks.
template <class Vary>
std::vector<synthetic::SceneSpec> monthlyScenes(std::uint64_t seed, double cloudCover, Vary vary) {
  std::vector<synthetic::SceneSpec> scenes;
  for (int m = 1; m <= 12; ++m) {
    synthetic::SceneSpec s;
    char d[16];
    std::snprintf(d, sizeof d, "2022-%02d-10", m);
    s.date = d;
    s.seed = seed + static_cast<std::uint64_t>(m);
    s.cloudCover = cloudCover;
    vary(s, m);
    scenes.push_back(s);
  }
  return scenes;
}

// The monthly cube of one scene per month equals the truth: valid exactly where
// the scene is clear, every band's nearest reading there. Returns the clear pixels checked.
size_t expectMonthlyTruth(const std::string& cube, const synthetic::RegionSpec& region,
                          const std::vector<synthetic::SceneSpec>& scenes) {
  std::vector<hsize_t> dims;
  auto refl = readAll<std::uint16_t>(cube, "/tiles/33UVP/reflectance", H5T_NATIVE_UINT16, &dims);
  auto valid = readAll<std::uint8_t>(cube, "/tiles/33UVP/valid", H5T_NATIVE_UINT8);
  const size_t B = region.bands.size();
  const int rows = region.rows, cols = region.cols;
  EXPECT_EQ(dims, (std::vector<hsize_t>{scenes.size(), B, static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)}));
  if (::testing::Test::HasFailure()) return 0;
  const size_t N = static_cast<size_t>(rows * cols);
  size_t checked = 0;
  for (size_t p = 0; p < scenes.size(); ++p)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const auto& s = scenes[p];
        const size_t px = static_cast<size_t>(r * cols + c);
        const bool clear = !synthetic::cloudy(region, s, r, c);
        EXPECT_EQ(valid[p * N + px], clear ? 1 : 0) << s.date << " " << r << "," << c;
        if (!clear) continue;
        for (size_t b = 0; b < B; ++b)
          EXPECT_EQ(refl[(p * B + b) * N + px], synthetic::truthNearest(region, s, region.bands[b], r, c))
              << region.bands[b] << " " << s.date << " baseline " << s.baseline << " pixel " << r << "," << c;
        if (::testing::Test::HasFailure()) return checked;
        ++checked;
      }
  return checked;
}

bool sameDatasets(const std::string& a, const std::string& b, const std::string& tile) {
  for (const char* ds : {"reflectance", "valid"}) {
    const std::string obj = "/tiles/" + tile + "/" + ds;
    auto r = test::runCommand("h5diff " + a + " " + b + " " + obj + " " + obj);
    if (r.exitCode != 0) {
      ADD_FAILURE() << "h5diff " << obj << ":\n" << r.output.substr(0, 2000);
      return false;
    }
  }
  return true;
}

}  // namespace

// Composites of clear pixels equal the truth; old (no offset) and new
// (BOA_ADD_OFFSET -1000) baselines mix within every month; cloudy observations
// never leak; gaps are filled; NDVI is derived from the bands.
TEST(CompositeStage, MatchesTruthAcrossBaselinesAndMasksClouds) {
  const std::string dir = test::scratchDir("composite_truth");
  synthetic::RegionSpec region;
  region.dir = dir;
  region.layout = "safe";
  region.size = 64;
  auto scenes = synthetic::yearOfScenes({"33UVP"}, 2022, 0.4, 3);
  for (auto& s : scenes) {
    s.baseline = s.date.substr(8, 2) == "05" ? "02.14" : "04.00";
    s.l2aPrefix = s.baseline < "04.00";  // older baselines' file names
    if (s.date.substr(5, 2) == "06") s.cloudCover = 0.9;  // a cloudy month: gaps to fill
  }
  for (const auto& s : scenes) synthetic::writeScene(region, s);
  const std::string cfg = writeConfig(dir, "  safe: [" + dir + "/safe]\n");
  auto run = test::runCropmap("composite --config " + cfg);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  EXPECT_NE(run.output.find("composite summary: 4 of 4 blocks"), std::string::npos) << run.output;

  const std::string cube = dir + "/out/cube.h5";
  std::vector<hsize_t> dims;
  auto refl = readAll<std::uint16_t>(cube, "/tiles/33UVP/reflectance", H5T_NATIVE_UINT16, &dims);
  auto valid = readAll<std::uint8_t>(cube, "/tiles/33UVP/valid", H5T_NATIVE_UINT8);
  ASSERT_EQ(dims, (std::vector<hsize_t>{12, 5, 64, 64}));
  const std::vector<std::string> bands{"B02", "B03", "B04", "B08"};
  const size_t N = 64 * 64;
  size_t checkedClear = 0, gaps = 0;
  for (int r = 0; r < 64; ++r)
    for (int c = 0; c < 64; ++c) {
      const size_t px = static_cast<size_t>(r * 64 + c);
      std::vector<std::uint8_t> avail(12);
      for (int p = 0; p < 12; ++p) {
        int clear = 0;
        std::string date;
        for (const auto& s : scenes)
          if (std::stoi(s.date.substr(5, 2)) == p + 1) {
            clear += !synthetic::cloudy(region, s, r, c);
            date = s.date;
          }
        ASSERT_EQ(valid[static_cast<size_t>(p) * N + px], clear) << "pixel " << r << "," << c << " period " << p;
        avail[static_cast<size_t>(p)] = clear > 0;
      }
      for (size_t b = 0; b < bands.size(); ++b) {
        std::vector<std::uint16_t> expect(12);
        for (int p = 0; p < 12; ++p) {
          char date[16];
          std::snprintf(date, sizeof date, "2022-%02d-10", p + 1);
          expect[static_cast<size_t>(p)] = synthetic::truth("33UVP", bands[b], r, c, date);
        }
        std::vector<std::uint16_t> filled = expect;
        const bool any = fillSeries(filled.data(), 1, avail.data(), 12, GapMode::linear);
        for (int p = 0; p < 12; ++p) {
          const std::uint16_t got = refl[(static_cast<size_t>(p) * 5 + b) * N + px];
          const std::uint16_t want = !any ? kReflectanceFill : filled[static_cast<size_t>(p)];
          ASSERT_EQ(got, want) << "pixel " << r << "," << c << " band " << bands[b] << " period " << p
                               << (avail[static_cast<size_t>(p)] ? " (clear)" : " (filled)");
          checkedClear += avail[static_cast<size_t>(p)];
          gaps += !avail[static_cast<size_t>(p)];
        }
      }
      // NDVI from the composited B08 and B04.
      for (int p = 0; p < 12; ++p) {
        const std::uint16_t nir = refl[(static_cast<size_t>(p) * 5 + 3) * N + px];
        const std::uint16_t red = refl[(static_cast<size_t>(p) * 5 + 2) * N + px];
        std::uint16_t nd;
        normalizedDifference(&nir, &red, 1, &nd);
        ASSERT_EQ(refl[(static_cast<size_t>(p) * 5 + 4) * N + px], nd);
      }
    }
  EXPECT_GT(checkedClear, 0u);
  EXPECT_GT(gaps, 0u) << "the fixture should have gaps to fill";

  // With cloud classes kept, the bright cloud values leak into medians.
  auto leaky = test::runCropmap("composite --config " + cfg + " --set composite.scl_keep=[4,9] --set run.output=" +
                                dir + "/leaky");
  ASSERT_EQ(leaky.exitCode, 0) << leaky.output;
  auto refl2 = readAll<std::uint16_t>(dir + "/leaky/cube.h5", "/tiles/33UVP/reflectance", H5T_NATIVE_UINT16);
  size_t differ = 0;
  for (size_t i = 0; i < refl.size(); ++i) differ += refl[i] != refl2[i];
  EXPECT_GT(differ, refl.size() / 20);
  // ...and the masked cube never holds them.
  for (size_t i = 0; i < refl.size(); ++i)
    if ((i / N) % 5 != 4) {
      ASSERT_LT(refl[i], 6000u) << "cloud value in the masked cube at " << i;
    }

  // The cube opens with h5dump and carries its attributes.
  auto dump = test::runCommand("h5dump -A " + cube);
  ASSERT_EQ(dump.exitCode, 0);
  EXPECT_NE(dump.output.find("\"2022-06-01\""), std::string::npos);
  EXPECT_NE(dump.output.find("\"NDVI\""), std::string::npos);
  EXPECT_NE(dump.output.find("crs_wkt"), std::string::npos);
}

// The same cube from 1, 2 and 4 ranks, static and dynamic scheduling, and
// after a kill at any point followed by --resume.
TEST(CompositeStage, IdenticalAcrossRanksSchedulersAndResume) {
  const std::string dir = test::scratchDir("composite_ranks");
  synthetic::RegionSpec region;
  region.dir = dir;
  region.layout = "geotiff";
  region.size = 128;
  const auto scenes = synthetic::yearOfScenes({"33UVP", "32UPU"}, 2022, 0.35, 9, {12});
  for (const auto& s : scenes) synthetic::writeScene(region, s);
  const std::string cfg = writeConfig(dir, "  geotiff: [" + dir + "/geotiff]\n");
  auto out = [&](const std::string& name) { return " --set run.output=" + dir + "/" + name; };

  auto base = test::runCropmap("composite --config " + cfg + out("np1") + " --set compute.scheduler=static");
  ASSERT_EQ(base.exitCode, 0) << base.output;
  EXPECT_NE(base.output.find("composite summary: 32 of 32 blocks"), std::string::npos) << base.output;
  auto np2 = test::runCropmapMpi(2, "composite --config " + cfg + out("np2") + " --set compute.scheduler=dynamic");
  ASSERT_EQ(np2.exitCode, 0) << np2.output;
  EXPECT_NE(np2.output.find("max/mean"), std::string::npos) << np2.output;
  EXPECT_NE(np2.output.find("rank 1: busy"), std::string::npos) << np2.output;
  auto np4 = test::runCropmapMpi(4, "composite --config " + cfg + out("np4") + " --set compute.scheduler=static");
  ASSERT_EQ(np4.exitCode, 0) << np4.output;
  for (const char* t : {"33UVP", "32UPU"}) {
    EXPECT_TRUE(sameDatasets(dir + "/np1/cube.h5", dir + "/np2/cube.h5", t));
    EXPECT_TRUE(sameDatasets(dir + "/np1/cube.h5", dir + "/np4/cube.h5", t));
  }

  // Kill rank 1 after its 3rd unit (after the ledger mark), and another run
  // between a unit's data write and its ledger mark; both resume to the same cube.
  for (const char* point : {"", ":before_commit"}) {
    const std::string name = std::string("killed") + (point[0] ? "_before" : "");
    auto killed = test::runCommand("CROPMAP_FAULT_KILL=composite:1:3" + std::string(point) + " " + CROPMAP_MPIEXEC + " -n 2 " +
                                   CROPMAP_EXE + " composite --config " + cfg + out(name) +
                                   " --set compute.scheduler=static");  // rank 1's share is fixed: it has a 3rd unit
    ASSERT_NE(killed.exitCode, 0) << killed.output;
    const std::string cube = dir + "/" + name + "/cube.h5";
    auto done = readAll<std::uint8_t>(cube, "/ledger/composite/done", H5T_NATIVE_UINT8);
    size_t finished = 0;
    for (auto d : done) finished += d;
    EXPECT_LT(finished, done.size()) << "the kill came too late to test anything";
    auto resumed = test::runCropmapMpi(2, "composite --config " + cfg + out(name) + " --resume");
    ASSERT_EQ(resumed.exitCode, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
    done = readAll<std::uint8_t>(cube, "/ledger/composite/done", H5T_NATIVE_UINT8);
    for (auto d : done) ASSERT_EQ(d, 1);
    for (const char* t : {"33UVP", "32UPU"}) EXPECT_TRUE(sameDatasets(dir + "/np1/cube.h5", cube, t));
  }
  // A resume with different settings is refused.
  auto changed = test::runCropmap("composite --config " + cfg + out("np1") + " --resume --set composite.block_size=64");
  EXPECT_EQ(changed.exitCode, 2) << changed.output;
  EXPECT_NE(changed.output.find("cannot resume"), std::string::npos) << changed.output;
}

// Every kind of bad input gives its message naming the file; skip leaves the
// scene out and says so, abort stops before any cube is written.
TEST(CompositeStage, BadInputsAreNamedAndNeverSilentlyWrong) {
  const std::string dir = test::scratchDir("composite_bad");
  synthetic::RegionSpec safe;
  safe.dir = dir;
  safe.layout = "safe";
  safe.size = 64;
  synthetic::RegionSpec tif = safe;
  tif.layout = "geotiff";
  std::vector<synthetic::SceneSpec> good;
  for (int m = 1; m <= 12; ++m) {
    if (m == 3) continue;  // an empty month
    synthetic::SceneSpec s;
    char d[16];
    std::snprintf(d, sizeof d, "2022-%02d-10", m);
    s.date = d;
    s.seed = static_cast<std::uint64_t>(m);
    good.push_back(s);
  }
  for (const auto& s : good) synthetic::writeScene(safe, s);
  auto bad = [&](const std::string& date, auto edit) {
    synthetic::SceneSpec s;
    s.date = date;
    edit(s);
    return s;
  };
  // Missing band: written, then B08 removed.
  const std::string missing = synthetic::writeScene(safe, bad("2022-04-20", [](auto&) {}));
  for (const auto& e : fs::recursive_directory_iterator(missing))
    if (e.path().filename().string().find("_B08_") != std::string::npos) fs::remove(e.path());
  // Truncated JP2.
  const std::string trunc = synthetic::writeScene(safe, bad("2022-05-20", [](auto&) {}));
  std::string truncFile;
  for (const auto& e : fs::recursive_directory_iterator(trunc))
    if (e.path().filename().string().find("_B04_") != std::string::npos) truncFile = e.path().string();
  fs::resize_file(truncFile, fs::file_size(truncFile) / 2);
  // Wrong CRS, SCL no-data everywhere, a date outside the year.
  synthetic::writeScene(safe, bad("2022-06-20", [](auto& s) { s.epsgOverride = 32632; }));
  synthetic::writeScene(safe, bad("2022-07-20", [](auto& s) { s.sclAllNoData = true; }));
  synthetic::writeScene(safe, bad("2023-01-15", [](auto&) {}));
  // A truncated GeoTIFF among GeoTIFF inputs.
  const std::string tiffFirst = synthetic::writeScene(tif, bad("2022-08-20", [](auto&) {}));
  const std::string tiffB08 = fs::path(tiffFirst).parent_path() / "33UVP_20220820_B08.tif";
  fs::resize_file(tiffB08, fs::file_size(tiffB08) / 3);

  const std::string cfg = writeConfig(dir, "  safe: [" + dir + "/safe]\n  geotiff: [" + dir + "/geotiff]\n");
  auto cat = test::runCropmapMpi(2, "catalog --config " + cfg);
  ASSERT_EQ(cat.exitCode, 0) << cat.output;
  EXPECT_NE(cat.output.find("missing band file(s) B08"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find(truncFile), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("truncated or corrupt"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("CRS differs from the other scenes of tile 33UVP"), std::string::npos) << cat.output;
  // A product with no data over the tile is a normal acquisition: left out with a warning, not a problem.
  EXPECT_NE(cat.output.find("2022-07-20: "), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("holds no data over the tile (SCL 0 everywhere"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("2023-01-15"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("outside the period axis"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find(tiffB08), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("no scene in period 2022-03-01"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("problems: 5"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("tile 33UVP: 11 scenes"), std::string::npos) << cat.output;

  // abort: exit 1, the problems listed, no cube.
  auto aborted = test::runCropmapMpi(2, "composite --config " + cfg + " --set inputs.on_bad_scene=abort");
  EXPECT_EQ(aborted.exitCode, 1) << aborted.output;
  EXPECT_NE(aborted.output.find("on_bad_scene is abort"), std::string::npos) << aborted.output;
  EXPECT_FALSE(fs::exists(dir + "/out/cube.h5"));

  // skip: the cube from the good scenes only; March is interpolated everywhere.
  auto skipped = test::runCropmapMpi(2, "composite --config " + cfg);
  ASSERT_EQ(skipped.exitCode, 0) << skipped.output;
  EXPECT_NE(skipped.output.find("input problems skipped: 5"), std::string::npos) << skipped.output;
  auto valid = readAll<std::uint8_t>(dir + "/out/cube.h5", "/tiles/33UVP/valid", H5T_NATIVE_UINT8);
  const size_t N = 64 * 64;
  for (size_t i = 0; i < N; ++i) ASSERT_EQ(valid[2 * N + i], 0) << "March has no scene";
  for (size_t i = 0; i < N; ++i) ASSERT_LE(valid[3 * N + i], 1) << "April: only the good scene, not the one without B08";
}

// CSV scene lists, relative paths, and a clear error when nothing is usable.
TEST(CompositeStage, CsvInputsAndEmptyInputs) {
  const std::string dir = test::scratchDir("composite_csv");
  synthetic::RegionSpec tif;
  tif.dir = dir;
  tif.layout = "geotiff";
  tif.size = 64;
  std::string csv = "tile,date,band,path\n";
  for (const auto& s : synthetic::yearOfScenes({"33UVP"}, 2022, 0.2, 4, {15})) {
    synthetic::writeScene(tif, s);
    const std::string d = s.date.substr(0, 4) + s.date.substr(5, 2) + s.date.substr(8, 2);
    for (const char* b : {"B02", "B03", "B04", "B08", "SCL"})
      csv += "33UVP," + s.date + "," + b + ",geotiff/33UVP_" + d + "_" + b + ".tif\n";
  }
  test::writeFile(dir + "/scenes.csv", csv);
  const std::string cfg = writeConfig(dir, "  csv: " + dir + "/scenes.csv\n");
  auto cat = test::runCropmap("catalog --config " + cfg);
  ASSERT_EQ(cat.exitCode, 0) << cat.output;
  EXPECT_NE(cat.output.find("tile 33UVP: 12 scenes"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("problems: 0"), std::string::npos) << cat.output;

  const std::string empty = writeConfig(dir, "  safe: [" + dir + "/nothing_here]\n");
  auto none = test::runCropmap("catalog --config " + empty);
  EXPECT_EQ(none.exitCode, 2) << none.output;
  EXPECT_NE(none.output.find("no usable Sentinel-2 scene"), std::string::npos) << none.output;
  EXPECT_NE(none.output.find("nothing_here: no such file or directory"), std::string::npos) << none.output;
}

// Products clipped to an area of interest: an odd 10 m extent whose 20 m bands
// and SCL have half of it rounded up or down, in both product-name generations,
// composite with 20 m bands brought onto the 10 m grid; a coarse grid shifted
// off the 10 m grid is refused naming both grids.
TEST(CompositeStage, ClippedProductsOddExtentsBothNameGenerations) {
  const std::string dir = test::scratchDir("composite_clipped");
  synthetic::RegionSpec region = clippedRegion(dir, {"B02", "B05", "B8A"});
  region.layout = "safe";
  const auto scenes = monthlyScenes(0, 0.2, [](synthetic::SceneSpec& s, int m) {
    s.oldFormatNames = m % 3 == 0;
    s.coarseRoundedDown = m % 2 == 0;
  });
  for (const auto& s : scenes) synthetic::writeScene(region, s);
  synthetic::SceneSpec shifted;
  shifted.date = "2022-05-25";
  shifted.coarseShiftM = 10;
  const std::string shiftedSafe = synthetic::writeScene(region, shifted);

  const std::string cfg = dir + "/config.yaml";
  test::writeFile(cfg, "run:\n  name: clipped\n  output: " + dir + "/out\nlog:\n  progress_interval: 60\ninputs:\n  safe: [" +
                           dir + "/safe]\n  bands: [B02, B05, B8A]\ncomposite:\n  year: 2022\n  block_size: 16\n  chunk: 16\n");
  auto cat = test::runCropmap("catalog --config " + cfg);
  ASSERT_EQ(cat.exitCode, 0) << cat.output;
  EXPECT_NE(cat.output.find("tile 33UVP: 12 scenes, EPSG:32633, 45x37 pixels"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("problems: 1"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find(shiftedSafe), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("origin is shifted (EPSG:32633, 23x19 pixels of 20 m at (399970.0, 5400000.0) vs "
                            "EPSG:32633, 45x37 pixels of 10 m at (399960.0, 5400000.0))"),
            std::string::npos)
      << cat.output;

  auto run = test::runCropmapMpi(2, "composite --config " + cfg);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  // Blocks of 16 cut the files' single internal tile: the advice is a block size the configuration accepts.
  EXPECT_NE(run.output.find("composite.block_size 48 (a multiple of composite.chunk 16) decodes each once"),
            std::string::npos)
      << run.output;
  const std::string cube = dir + "/out/cube.h5";
  const size_t N = 37 * 45;
  EXPECT_GT(expectMonthlyTruth(cube, region, scenes), N * 4);
  auto refl = readAll<std::uint16_t>(cube, "/tiles/33UVP/reflectance", H5T_NATIVE_UINT16);

  // Bilinear: equal to the truth where the pixel and its neighbours are clear
  // inside a field (all four coarse pixels around it hold the same value).
  auto bil = test::runCropmap("composite --config " + cfg + " --set composite.resampling=bilinear --set run.output=" + dir +
                              "/bilinear");
  ASSERT_EQ(bil.exitCode, 0) << bil.output;
  auto refl2 = readAll<std::uint16_t>(dir + "/bilinear/cube.h5", "/tiles/33UVP/reflectance", H5T_NATIVE_UINT16);
  size_t same = 0, differ = 0;
  for (int p = 0; p < 12; ++p)
    for (int r = 1; r < 36; ++r)
      for (int c = 1; c < 44; ++c) {
        const auto& s = scenes[static_cast<size_t>(p)];
        bool clear = true;
        for (int dr = -1; dr <= 1; ++dr)
          for (int dc = -1; dc <= 1; ++dc) clear = clear && !synthetic::cloudy(region, s, r + dr, c + dc);
        const size_t i = (static_cast<size_t>(p) * 3 + 1) * N + static_cast<size_t>(r * 45 + c);
        if (refl2[i] != refl[i]) ++differ;
        if (!clear || r % 8 < 2 || r % 8 > 5 || c % 8 < 2 || c % 8 > 5) continue;
        ASSERT_EQ(refl2[i], synthetic::truthNearest(region, s, "B05", r, c)) << p << " " << r << "," << c;
        ++same;
      }
  EXPECT_GT(same, 1000u);
  EXPECT_GT(differ, 0u) << "bilinear must differ from nearest at field edges";
}

// inputs.safe pointed at an archive root (Sentinel-2/L2A/YYYY/MM/DD/*.SAFE):
// searched recursively, a symbolic-link loop ends, products too deep are left
// with a warning, the count per tile is printed, and glob patterns still work.
TEST(CompositeStage, ArchiveRootIsSearched) {
  const std::string dir = test::scratchDir("composite_archive");
  synthetic::RegionSpec region;
  region.dir = dir + "/staging";
  region.size = 32;
  const fs::path root = fs::path(dir) / "archive" / "Sentinel-2" / "L2A";
  int written = 0;
  for (const char* tile : {"33UVP", "33UWP"})
    for (int m : {2, 5, 8}) {
      synthetic::SceneSpec s;
      s.tile = tile;
      char d[16];
      std::snprintf(d, sizeof d, "2022-%02d-1%d", m, tile[3] == 'V' ? 1 : 4);
      s.date = d;
      s.seed = static_cast<std::uint64_t>(m);
      const fs::path safe = synthetic::writeScene(region, s);
      const fs::path day = root / s.date.substr(0, 4) / s.date.substr(5, 2) / s.date.substr(8, 2);
      fs::create_directories(day);
      fs::rename(safe, day / safe.filename());
      ++written;
    }
  // A loop (a link to an ancestor) and a product far below the depth bound.
  fs::create_directory_symlink("../..", root / "2022" / "08" / "loop");
  synthetic::SceneSpec deep;
  deep.date = "2022-11-11";
  const fs::path deepSafe = synthetic::writeScene(region, deep);
  const fs::path deepDir = root / "2022" / "11" / "a" / "b" / "c" / "d" / "e" / "f";
  fs::create_directories(deepDir);
  fs::rename(deepSafe, deepDir / deepSafe.filename());

  const std::string cfg = writeConfig(dir, "  safe: [" + (fs::path(dir) / "archive").string() + "]\n");
  auto cat = test::runCropmap("catalog --config " + cfg);
  ASSERT_EQ(cat.exitCode, 0) << cat.output;
  EXPECT_EQ(written, 6);
  EXPECT_NE(cat.output.find("archive: 6 .SAFE product(s) (33UVP: 3, 33UWP: 3)"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("tile 33UVP: 3 scenes"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("tile 33UWP: 3 scenes"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("levels down were not searched"), std::string::npos) << cat.output;

  // A glob over month directories: only the matching months.
  const std::string globCfg = writeConfig(dir, "  safe: ['" + (root / "2022" / "0[25]").string() + "']\n");
  auto globbed = test::runCropmap("catalog --config " + globCfg);
  ASSERT_EQ(globbed.exitCode, 0) << globbed.output;
  EXPECT_NE(globbed.output.find("tile 33UVP: 2 scenes"), std::string::npos) << globbed.output;
  EXPECT_NE(globbed.output.find("/02: 2 .SAFE product(s) (33UVP: 1, 33UWP: 1)"), std::string::npos) << globbed.output;
}

// The region of real-style products as an archive holds them: products
// clipped to an odd 45x37 px area (coarse extents rounded up and down), in
// both product-name generations, processing baselines 02.14, 04.00 and 05.09,
// one acquisition with no data over the tile at all, below an archive root
// Sentinel-2/L2A/YYYY/MM/DD. All ten 10 m and 20 m bands composite onto the
// 10 m grid, equal to the truth wherever the sky is clear; the empty
// acquisition is left out with a warning and aborts nothing.
TEST(CompositeStage, RealStyleArchiveAllTenBands) {
  const std::string dir = test::scratchDir("composite_real_style");
  const synthetic::RegionSpec region =
      clippedRegion(dir + "/staging", {"B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"});
  const size_t B = region.bands.size();
  const auto scenes = monthlyScenes(100, 0.25, [](synthetic::SceneSpec& s, int m) {
    s.baseline = m <= 4 ? "02.14" : m <= 8 ? "04.00" : "05.09";
    s.oldFormatNames = m <= 2;
    s.l2aPrefix = m == 3 || m == 4;
    s.coarseRoundedDown = m % 2 == 0;
  });
  synthetic::SceneSpec empty;
  empty.date = "2022-06-24";
  empty.baseline = "04.00";
  empty.sclAllNoData = true;
  const fs::path root = fs::path(dir) / "archive" / "Sentinel-2" / "L2A";
  auto file = [&](const synthetic::SceneSpec& s) {
    const fs::path safe = synthetic::writeScene(region, s);
    const fs::path day = root / s.date.substr(0, 4) / s.date.substr(5, 2) / s.date.substr(8, 2);
    fs::create_directories(day);
    fs::rename(safe, day / safe.filename());
    return (day / safe.filename()).string();
  };
  for (const auto& s : scenes) file(s);
  const std::string emptySafe = file(empty);

  const std::string cfg = dir + "/config.yaml";
  test::writeFile(cfg, "run:\n  name: real_style\n  output: " + dir + "/out\nlog:\n  progress_interval: 60\ninputs:\n"
                           "  safe: [" + (fs::path(dir) / "archive").string() +
                           "]\n  on_bad_scene: abort\n  bands: [B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12]\n"
                           "composite:\n  year: 2022\n  block_size: 32\n  chunk: 16\n");
  auto run = test::runCropmapMpi(2, "composite --config " + cfg);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  EXPECT_NE(run.output.find("archive: 13 .SAFE product(s) (33UVP: 13)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("tile 33UVP 2022-06-24: " + emptySafe + " holds no data over the tile"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("input problems skipped: 0"), std::string::npos) << run.output;

  const std::string cube = dir + "/out/cube.h5";
  EXPECT_GT(expectMonthlyTruth(cube, region, scenes), 37 * 45 * 6);
  const auto offsets = readAll<double>(cube, "/tiles/33UVP@scene_boa_add_offset", H5T_NATIVE_DOUBLE);
  ASSERT_EQ(offsets.size(), scenes.size() * B) << "the empty acquisition is not a scene of the cube";
  for (size_t i = 0; i < scenes.size(); ++i)
    for (size_t b = 0; b < B; ++b)
      EXPECT_EQ(offsets[i * B + b], scenes[i].baseline >= "04.00" ? -1000.0 : 0.0) << scenes[i].date;
}

// A product whose only data is a strip narrower than the catalogue's reduced
// read samples (a swath edge): it holds observations and stays in the
// catalogue; it is not taken for a product with no data.
TEST(CompositeStage, NarrowStripOfDataIsNotNoData) {
  const std::string dir = test::scratchDir("composite_strip");
  synthetic::RegionSpec region;
  region.dir = dir;
  region.layout = "geotiff";
  region.size = 1024;
  region.bands = {"B02"};
  synthetic::SceneSpec s;
  s.date = "2022-06-10";
  s.cloudCover = 0;
  synthetic::writeScene(region, s);
  {
    // The SCL (512 x 512 px of 20 m) is no data except one column; a 256-px
    // reduced read takes every other column and sees none of it.
    gdal::Dataset scl = gdal::openRasterUpdate(dir + "/geotiff/33UVP_20220610_SCL.tif");
    std::vector<std::uint8_t> v(512 * 512, 0);
    for (int r = 0; r < 512; ++r) v[static_cast<size_t>(r * 512 + 4)] = 4;
    ASSERT_EQ(scl->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 512, 512, v.data(), 512, 512, GDT_Byte, 0, 0), CE_None);
  }
  const std::string cfg = dir + "/config.yaml";
  test::writeFile(cfg, "run:\n  name: strip\n  output: " + dir + "/out\nlog:\n  progress_interval: 60\ninputs:\n"
                           "  geotiff: [" + dir + "/geotiff]\n  bands: [B02]\ncomposite:\n  year: 2022\n");
  auto cat = test::runCropmap("catalog --config " + cfg);
  ASSERT_EQ(cat.exitCode, 0) << cat.output;
  EXPECT_NE(cat.output.find("tile 33UVP: 1 scenes"), std::string::npos) << cat.output;
  EXPECT_EQ(cat.output.find("holds no data"), std::string::npos) << cat.output;
}

// Processing baselines 02.xx (no offset, L2A_ file names), 04.00 and 05.xx
// (BOA_ADD_OFFSET -1000) side by side in one tile, one scene per dekad so that
// a wrong offset cannot hide in a median; a 05.xx product whose metadata lacks
// the baseline and the offset list takes both from its name. The cube records
// the offset applied to each scene.
TEST(CompositeStage, BaselinesSideBySideAndOffsetsRecorded) {
  const std::string dir = test::scratchDir("composite_baselines");
  synthetic::RegionSpec region;
  region.dir = dir;
  region.size = 32;
  region.bands = {"B03", "B8A"};
  std::vector<synthetic::SceneSpec> scenes;
  for (int m = 1; m <= 12; ++m)
    for (int day : {5, 15, 25}) {
      synthetic::SceneSpec s;
      char d[16];
      std::snprintf(d, sizeof d, "2022-%02d-%02d", m, day);
      s.date = d;
      s.seed = static_cast<std::uint64_t>(m * 31 + day);
      s.cloudCover = 0.2;
      s.baseline = day == 5 ? "02.14" : day == 15 ? "04.00" : "05.09";
      s.l2aPrefix = day == 5;
      s.sparseMetadata = day == 25 && m % 2 == 1;
      scenes.push_back(s);
    }
  for (const auto& s : scenes) synthetic::writeScene(region, s);
  const std::string cfg = dir + "/config.yaml";
  test::writeFile(cfg, "run:\n  name: baselines\n  output: " + dir + "/out\nlog:\n  progress_interval: 60\ninputs:\n  safe: [" +
                           dir + "/safe]\n  bands: [B03, B8A]\ncomposite:\n  year: 2022\n  period: dekad\n  block_size: 32\n"
                           "  chunk: 32\n");
  auto run = test::runCropmap("composite --config " + cfg);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  EXPECT_NE(run.output.find("input problems skipped: 0"), std::string::npos) << run.output;
  // The 05.09 products whose metadata lost the offset list say so, once each.
  EXPECT_EQ(test::countOccurrences(run.output, "applies BOA_ADD_OFFSET but the metadata lists none"), 6u) << run.output;
  const std::string cube = dir + "/out/cube.h5";
  auto refl = readAll<std::uint16_t>(cube, "/tiles/33UVP/reflectance", H5T_NATIVE_UINT16);
  auto valid = readAll<std::uint8_t>(cube, "/tiles/33UVP/valid", H5T_NATIVE_UINT8);
  const size_t N = 32 * 32;
  size_t checked = 0;
  for (size_t p = 0; p < scenes.size(); ++p)
    for (int r = 0; r < 32; ++r)
      for (int c = 0; c < 32; ++c) {
        const size_t px = static_cast<size_t>(r * 32 + c);
        if (synthetic::cloudy(region, scenes[p], r, c) || !valid[p * N + px]) continue;
        for (size_t b = 0; b < 2; ++b)
          ASSERT_EQ(refl[(p * 2 + b) * N + px], synthetic::truthNearest(region, scenes[p], region.bands[b], r, c))
              << scenes[p].date << " baseline " << scenes[p].baseline << " " << region.bands[b];
        ++checked;
      }
  EXPECT_GT(checked, N * 20);
  const auto offsets = readAll<double>(cube, "/tiles/33UVP@scene_boa_add_offset", H5T_NATIVE_DOUBLE);
  ASSERT_EQ(offsets.size(), scenes.size() * 2);
  for (size_t i = 0; i < scenes.size(); ++i)
    for (size_t b = 0; b < 2; ++b)
      EXPECT_EQ(offsets[i * 2 + b], scenes[i].baseline >= "04.00" ? -1000.0 : 0.0) << scenes[i].date;
  auto dump = test::runCommand("h5dump -A -a /tiles/33UVP/scene_baselines " + cube);
  EXPECT_NE(dump.output.find("\"02.14\""), std::string::npos) << dump.output.substr(0, 2000);
  EXPECT_NE(dump.output.find("\"05.09\""), std::string::npos) << dump.output.substr(0, 2000);
}

// STAC input: an ItemCollection in the style of the public Sentinel-2 L2A COG
// collections (assets blue/nir08/scl, raster:bands scale and offset, hrefs
// relative to the JSON) and single Items with B03/B8A/SCL keys and file://
// hrefs composite like the same scenes as GeoTIFFs; broken items are named.
TEST(CompositeStage, StacItemsWithCogAssets) {
  const std::string dir = test::scratchDir("composite_stac");
  synthetic::RegionSpec region;
  region.dir = dir;
  region.layout = "geotiff";
  region.size = 32;
  region.bands = {"B03", "B8A"};
  const auto scenes = synthetic::yearOfScenes({"33UVP"}, 2022, 0.3, 9, {12});
  const std::map<std::string, std::string> common{{"B03", "green"}, {"B8A", "nir08"}, {"SCL", "scl"}};
  std::string collection;
  fs::create_directories(dir + "/stac/cog");
  for (size_t i = 0; i < scenes.size(); ++i) {
    synthetic::SceneSpec s = scenes[i];
    s.baseline = i % 2 ? "05.09" : "02.14";
    synthetic::writeScene(region, s);
    const std::string d = s.date.substr(0, 4) + s.date.substr(5, 2) + s.date.substr(8, 2);
    const bool earthSearch = i < 6;
    std::string assets;
    for (const char* b : {"B03", "B8A", "SCL"}) {
      const std::string cog = dir + "/stac/cog/" + d + "_" + b + ".tif";
      gdal::Dataset src = gdal::openRaster(dir + "/geotiff/33UVP_" + d + "_" + b + ".tif");
      gdal::Dataset out = gdal::createCopy("COG", cog, src.get());
      gdal::close(out, cog);
      std::string asset;
      if (earthSearch) {
        asset = "\"" + common.at(b) + "\": {\"href\": \"cog/" + d + "_" + b + ".tif\"";
        if (std::string(b) != "SCL")
          asset += std::string(", \"raster:bands\": [{\"scale\": 0.0001, \"offset\": ") +
                   (s.baseline >= "04.00" ? "-0.1" : "0") + "}]";
      } else {
        asset = std::string("\"") + b + "\": {\"href\": \"file://" + cog + "\"";
      }
      assets += (assets.empty() ? "" : ", ") + asset + "}";
    }
    const std::string id = "S2A_33UVP_" + d + "_0_L2A";
    std::string props = "\"datetime\": \"" + s.date + "T10:10:31Z\"";
    props += earthSearch ? ", \"mgrs:utm_zone\": 33, \"mgrs:latitude_band\": \"U\", \"mgrs:grid_square\": \"VP\""
                         : ", \"s2:mgrs_tile\": \"33UVP\", \"s2:processing_baseline\": \"" + s.baseline + "\"";
    const std::string item = "{\"type\": \"Feature\", \"stac_version\": \"1.0.0\", \"id\": \"" + id +
                             "\", \"properties\": {" + props + "}, \"assets\": {" + assets + "}}";
    if (earthSearch) collection += (collection.empty() ? "" : ",\n") + item;
    else test::writeFile(dir + "/stac/item_" + d + ".json", item);
  }
  test::writeFile(dir + "/stac/collection.json", "{\"type\": \"FeatureCollection\", \"features\": [\n" + collection + "]}");
  test::writeFile(dir + "/stac/broken.json",
                  "{\"type\": \"Feature\", \"id\": \"x\", \"properties\": {\"datetime\": \"2022-03-03T10:00:00Z\", "
                  "\"s2:mgrs_tile\": \"33UVP\"}, \"assets\": {\"B03\": {\"href\": \"cog/none.tif\"}}}");

  auto config = [&](const std::string& name, const std::string& inputs) {
    const std::string cfg = dir + "/" + name + ".yaml";
    test::writeFile(cfg, "run:\n  name: stac\n  output: " + dir + "/out_" + name + "\nlog:\n  progress_interval: 60\ninputs:\n" +
                             inputs + "  bands: [B03, B8A]\ncomposite:\n  year: 2022\n  block_size: 32\n  chunk: 32\n");
    return cfg;
  };
  const std::string stacCfg = config("stac", "  stac: [" + dir + "/stac/*.json]\n");
  auto cat = test::runCropmap("catalog --config " + stacCfg);
  ASSERT_EQ(cat.exitCode, 0) << cat.output;
  EXPECT_NE(cat.output.find("tile 33UVP: 12 scenes"), std::string::npos) << cat.output;
  EXPECT_NE(cat.output.find("broken.json#x (tile 33UVP, 2022-03-03): missing band asset(s) B8A, SCL"),
            std::string::npos)
      << cat.output;

  auto stac = test::runCropmap("composite --config " + stacCfg);
  ASSERT_EQ(stac.exitCode, 0) << stac.output;
  auto tif = test::runCropmap("composite --config " + config("tif", "  geotiff: [" + dir + "/geotiff]\n"));
  ASSERT_EQ(tif.exitCode, 0) << tif.output;
  EXPECT_TRUE(sameDatasets(dir + "/out_stac/cube.h5", dir + "/out_tif/cube.h5", "33UVP"));
  const auto offsets = readAll<double>(dir + "/out_stac/cube.h5", "/tiles/33UVP@scene_boa_add_offset", H5T_NATIVE_DOUBLE);
  ASSERT_EQ(offsets.size(), 24u);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(offsets[2 * i], i % 2 ? -1000.0 : 0.0) << i;
}

// The cube as netCDF-4 / CF: ncdump reads the header, xarray opens a tile with
// its coordinates, and the decoded values equal GDAL's reading of the inputs.
TEST(CompositeStage, CubeOpensInXarrayAndNcdump) {
  const std::string dir = test::scratchDir("composite_cf");
  synthetic::RegionSpec tif;
  tif.dir = dir;
  tif.layout = "geotiff";
  tif.size = 64;
  // One cloud-free scene a month: each month's composite is that scene.
  for (auto s : synthetic::yearOfScenes({"33UVP"}, 2022, 0.0, 4, {15})) {
    s.cloudCover = 0.0;
    synthetic::writeScene(tif, s);
  }
  const std::string cfg = writeConfig(dir, "  geotiff: [" + dir + "/geotiff]\n");
  auto run = test::runCropmapMpi(2, "composite --config " + cfg);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  const std::string cube = dir + "/out/cube.h5";

  auto header = test::runCommand("ncdump -h " + cube);
  ASSERT_EQ(header.exitCode, 0) << header.output.substr(0, 3000);
  for (const char* want : {"33UVP {", "ushort reflectance(period, band, y, x)", "double x(x)", "double y(y)",
                           "double period(period)", "period:units = \"days since 1970-01-01 00:00:00\"",
                           "double period_bounds(period, bnds)", "reflectance:_FillValue = 65535US",
                           "reflectance:grid_mapping = \"spatial_ref\"", "spatial_ref:crs_wkt",
                           ":Conventions = \"CF-1.8\""})
    EXPECT_NE(header.output.find(want), std::string::npos) << want << "\n" << header.output.substr(0, 4000);

  auto check = test::runCommand(std::string(CROPMAP_PYTHON) + " " +
                                test::sourcePath("tests/integration/cube_cf_check.py") + " " + cube + " 33UVP " + dir +
                                "/geotiff");
  EXPECT_EQ(check.exitCode, 0) << check.output;
}

// bench scaling: the stage at 1 and 2 ranks, strong and weak, each its own
// mpiexec job; the efficiencies are written for every count, the first is 1,
// and the weak problem has twice the pixels at 2 ranks.
TEST(CompositeStage, BenchScalingStrongAndWeak) {
  const std::string dir = test::scratchDir("bench_scaling");
  auto r = test::runCropmap("bench scaling --stage composite --ranks 1,2 --size 64 --tiles 1 --block 64 --layout geotiff"
                            " --set run.output=" + dir);
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("1 x 64 px"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 x 90 px"), std::string::npos) << r.output;  // 64 * sqrt(2), even
  const std::string json = test::readFile(dir + "/bench/scaling.json");
  for (const char* key : {"\"composite\"", "\"strong\"", "\"weak\"", "\"2\"", "\"efficiency\": 1\n"})
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  auto bad = test::runCropmap("bench scaling --stage predict --set run.output=" + dir);
  EXPECT_EQ(bad.exitCode, 2) << bad.output;
  EXPECT_NE(bad.output.find("--stage must be composite, train or all"), std::string::npos) << bad.output;
  auto badRanks = test::runCropmap("bench scaling --ranks 1,x --set run.output=" + dir);
  EXPECT_EQ(badRanks.exitCode, 2) << badRanks.output;
}
