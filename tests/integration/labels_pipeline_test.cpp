// labels -> split -> sample through the cropmap binary on the hand-made
// fixture region: identical outputs at 1, 2 and 4 ranks, the split rules
// (a parcel in one split only, no train/val pixel within the test buffer),
// sample counts against the formula, every class counted, and clear errors
// (exit 2) for bad parcel inputs.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "kernels/sampling.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
using namespace cropmap::test;

namespace {

const std::string kFixture = LABELS_FIXTURE_EXE;
constexpr int kN = 192;
constexpr double kX0 = 500000, kShift = 1280;

// The (region, zone) key of the vertical zone strip holding column `col` of
// tile t: 8 strips over the fixture, 4 per region, drawn independently of the
// zone raster.
std::pair<std::int64_t, std::int64_t> stripKey(int t, int col) {
  const double stripW = (kShift + kN * 10.0) / 8;
  const double x = kX0 + t * kShift + (col + 0.5) * 10.0;
  const int strip = static_cast<int>(std::floor((x - kX0) / stripW));
  return {strip / 4 + 1, strip % 4 + 1};
}

template <class T>
std::vector<T> readAll(const std::string& file, const std::string& path, hid_t type) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << file;
  hid_t d = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
  EXPECT_GE(d, 0) << file << ":" << path;
  hid_t s = H5Dget_space(d);
  const hssize_t n = H5Sget_simple_extent_npoints(s);
  std::vector<T> v(static_cast<size_t>(n));
  if (n > 0) {
    EXPECT_GE(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
  }
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return v;
}

std::string run(int ranks, const std::string& args) {
  const auto r = ranks == 1 ? runCropmap(args) : runCropmapMpi(ranks, args);
  EXPECT_EQ(r.exitCode, 0) << args << "\n" << r.output;
  return r.output;
}

// One pipeline run per rank count, shared by the tests below.
struct Runs {
  std::map<int, std::string> dir;
};
const Runs& runs() {
  static Runs r = [] {
    Runs out;
    for (int n : {1, 2, 4}) {
      const std::string d = scratchDir("labels_pipeline_np" + std::to_string(n));
      const auto fx = runCommand(kFixture + " " + d);
      EXPECT_EQ(fx.exitCode, 0) << fx.output;
      // Several ranks take blocks from the dynamic scheduler, so a rank may get
      // different blocks in the two passes of split: results must not change.
      const std::string cfg =
          " --config " + d + "/config.yaml" + (n > 1 ? " --set compute.scheduler=dynamic" : "");
      run(n, "labels" + cfg);
      run(n, "split" + cfg);
      run(n, "sample" + cfg);
      if (n != 2) run(n, "sample" + cfg + " --set sample.level=parcel --set sample.output=parcels.h5");
      out.dir[n] = d;
    }
    return out;
  }();
  return r;
}

}  // namespace

TEST(LabelsPipeline, IdenticalOutputsAtOneTwoAndFourRanks) {
  const auto& r = runs();
  for (int n : {2, 4}) {
    for (const char* t : {"33UVP", "33UWP"})
      for (const char* layer : {"label", "parcel", "split", "zone", "fold_buffer"}) {
        const std::string obj = std::string("/tiles/") + t + "/" + layer;
        const auto res = runCommand("h5diff " + r.dir.at(1) + "/cube.h5 " + r.dir.at(n) + "/cube.h5 " + obj + " " + obj);
        EXPECT_EQ(res.exitCode, 0) << obj << " differs at " << n << " ranks\n" << res.output;
      }
    for (const char* obj : {"/zones/split", "/zones/fold", "/zones/region", "/zones/zone"}) {
      const auto res = runCommand("h5diff " + r.dir.at(1) + "/cube.h5 " + r.dir.at(n) + "/cube.h5 " + obj + " " + obj);
      EXPECT_EQ(res.exitCode, 0) << obj << "\n" << res.output;
    }
    for (const char* f : {"samples.h5", "parcels.h5"}) {
      if (n == 2 && std::string(f) == "parcels.h5") continue;  // parcel level runs at 1 and 4 ranks
      const auto res = runCommand("h5diff -c " + r.dir.at(1) + "/" + f + " " + r.dir.at(n) + "/" + f);
      EXPECT_EQ(res.exitCode, 0) << f << " differs at " << n << " ranks\n" << res.output;
    }
    // Identical up to the run directory named inside.
    auto normalised = [&](int k, const char* f) {
      std::string s = readFile(r.dir.at(k) + "/" + f);
      for (size_t pos; (pos = s.find(r.dir.at(k))) != std::string::npos;) s.replace(pos, r.dir.at(k).size(), "DIR");
      return s;
    };
    for (const char* f : {"labels_summary.json", "split_manifest.json"}) EXPECT_EQ(normalised(1, f), normalised(n, f)) << f;
  }
}

TEST(LabelsPipeline, ParcelInOneSplitAndNothingInTheTestBuffer) {
  const std::string d = runs().dir.at(2), cube = d + "/cube.h5";
  const auto zr = readAll<std::int64_t>(cube, "/zones/region", H5T_NATIVE_INT64);
  const auto zz = readAll<std::int64_t>(cube, "/zones/zone", H5T_NATIVE_INT64);
  const auto zs = readAll<std::uint8_t>(cube, "/zones/split", H5T_NATIVE_UINT8);
  std::map<std::pair<std::int64_t, std::int64_t>, int> splitOfZone;
  for (size_t i = 0; i < zs.size(); ++i) splitOfZone[{zr[i], zz[i]}] = zs[i];
  ASSERT_EQ(splitOfZone.size(), 8u);
  std::map<std::int64_t, std::set<int>> splitsOfParcel;
  std::int64_t checked = 0, tested = 0;
  for (int t = 0; t < 2; ++t) {
    const std::string tile = t == 0 ? "33UVP" : "33UWP";
    const auto split = readAll<std::uint8_t>(cube, "/tiles/" + tile + "/split", H5T_NATIVE_UINT8);
    const auto parcel = readAll<std::int64_t>(cube, "/tiles/" + tile + "/parcel", H5T_NATIVE_INT64);
    const auto label = readAll<std::int16_t>(cube, "/tiles/" + tile + "/label", H5T_NATIVE_INT16);
    std::set<std::int64_t> testParcels;
    for (size_t i = 0; i < split.size(); ++i) {
      if (split[i] != 0) {
        ASSERT_GE(label[i], 0) << "a split on an unlabelled pixel";
        splitsOfParcel[parcel[i]].insert(split[i]);
      }
      if (split[i] == 3) testParcels.insert(parcel[i]);
    }
    // The test area: pixel centres in a test strip (drawn independently of the
    // zone raster: 8 vertical strips over the fixture), and test parcels' pixels.
    auto inTest = [&](int row, int col) {
      if (row < 0 || col < 0 || row >= kN || col >= kN) return false;
      if (splitOfZone.at(stripKey(t, col)) == 3) return true;
      const std::int64_t p = parcel[static_cast<size_t>(row) * kN + col];
      return label[static_cast<size_t>(row) * kN + col] >= 0 && testParcels.count(p) > 0;
    };
    for (int row = 0; row < kN; ++row)
      for (int col = 0; col < kN; ++col) {
        const int s = split[static_cast<size_t>(row) * kN + col];
        if (s == 3) ++tested;
        if (s != 1 && s != 2) continue;
        ++checked;
        for (int dy = -3; dy <= 3; ++dy)
          for (int dx = -3; dx <= 3; ++dx)
            if (std::hypot(dx * 10.0, dy * 10.0) <= 30.0) {
              ASSERT_FALSE(inTest(row + dy, col + dx))
                  << tile << " train/val pixel (" << row << "," << col << ") within 30 m of the test area";
            }
      }
  }
  EXPECT_GT(checked, 5000);
  EXPECT_GT(tested, 1000);
  for (const auto& [p, s] : splitsOfParcel) EXPECT_EQ(s.size(), 1u) << "parcel " << p << " is in several splits";
}

// split.folds 2: every training and validation zone has a fold; bit k of a
// pixel's fold_buffer is set exactly when fold k's held-out area (its zones'
// strips and its parcels) lies within buffer_m (30 m) of a pixel of another
// fold; /cv holds every train and val pixel (eval_size 0) with its fold.
TEST(LabelsPipeline, FoldBuffersAndCrossValidationRows) {
  const std::string d = runs().dir.at(2), cube = d + "/cube.h5";
  const auto zr = readAll<std::int64_t>(cube, "/zones/region", H5T_NATIVE_INT64);
  const auto zz = readAll<std::int64_t>(cube, "/zones/zone", H5T_NATIVE_INT64);
  const auto zs = readAll<std::uint8_t>(cube, "/zones/split", H5T_NATIVE_UINT8);
  const auto zf = readAll<std::int32_t>(cube, "/zones/fold", H5T_NATIVE_INT32);
  std::map<std::pair<std::int64_t, std::int64_t>, int> foldOfKey;
  for (size_t i = 0; i < zf.size(); ++i) {
    EXPECT_EQ(zf[i] >= 0, zs[i] != 3) << "zone " << i << ": test zones have no fold, the others have one";
    foldOfKey[{zr[i], zz[i]}] = zf[i];
  }
  std::int64_t pool = 0, set = 0;
  for (int t = 0; t < 2; ++t) {
    const std::string tile = t == 0 ? "33UVP" : "33UWP";
    const auto split = readAll<std::uint8_t>(cube, "/tiles/" + tile + "/split", H5T_NATIVE_UINT8);
    const auto zone = readAll<std::int32_t>(cube, "/tiles/" + tile + "/zone", H5T_NATIVE_INT32);
    const auto label = readAll<std::int16_t>(cube, "/tiles/" + tile + "/label", H5T_NATIVE_INT16);
    const auto buffer = readAll<std::uint16_t>(cube, "/tiles/" + tile + "/fold_buffer", H5T_NATIVE_UINT16);
    ASSERT_EQ(buffer.size(), split.size());
    // Fold of a pixel: its parcel's zone when labelled and assigned, else the strip it lies in.
    auto foldAt = [&](int row, int col) {
      if (row < 0 || col < 0 || row >= kN || col >= kN) return -1;
      const size_t i = static_cast<size_t>(row) * kN + col;
      if (label[i] >= 0 && zone[i] >= 0) return zf[static_cast<size_t>(zone[i])];
      return foldOfKey.at(stripKey(t, col));
    };
    for (int row = 0; row < kN; ++row)
      for (int col = 0; col < kN; ++col) {
        const size_t i = static_cast<size_t>(row) * kN + col;
        if (split[i] != 1 && split[i] != 2) {
          EXPECT_EQ(buffer[i], 0) << tile << " (" << row << "," << col << "): a buffer bit outside train/val";
          continue;
        }
        ++pool;
        const int own = zf[static_cast<size_t>(zone[i])];
        ASSERT_GE(own, 0);
        int near = 0;
        for (int dy = -3; dy <= 3; ++dy)
          for (int dx = -3; dx <= 3; ++dx)
            if (std::hypot(dx * 10.0, dy * 10.0) <= 30.0) {
              const int f = foldAt(row + dy, col + dx);
              if (f >= 0 && f != own) near |= 1 << f;
            }
        EXPECT_EQ(buffer[i], near) << tile << " (" << row << "," << col << ") of fold " << own;
        if (buffer[i]) ++set;
      }
  }
  EXPECT_GT(pool, 5000);
  EXPECT_GT(set, 100);  // the folds meet: some pixels are in another fold's buffer
  // /cv: every train and val pixel, each with its fold and buffer bits.
  const auto cvFold = readAll<std::int32_t>(d + "/samples.h5", "/cv/fold", H5T_NATIVE_INT32);
  const auto cvBuffer = readAll<std::int32_t>(d + "/samples.h5", "/cv/fold_buffer", H5T_NATIVE_INT32);
  EXPECT_EQ(static_cast<std::int64_t>(cvFold.size()), pool);
  ASSERT_EQ(cvBuffer.size(), cvFold.size());
  for (size_t i = 0; i < cvFold.size(); ++i) {
    ASSERT_GE(cvFold[i], 0);
    ASSERT_EQ((cvBuffer[i] >> cvFold[i]) & 1, 0);
  }
}

TEST(LabelsPipeline, SampleCountsObeyTheFormulaAndEveryClassIsCounted) {
  const std::string d = runs().dir.at(2), cube = d + "/cube.h5";
  constexpr int K = 15;
  std::vector<std::int64_t> avail(4 * K, 0), labelled(K, 0);
  for (const char* tile : {"33UVP", "33UWP"}) {
    const auto split = readAll<std::uint8_t>(cube, std::string("/tiles/") + tile + "/split", H5T_NATIVE_UINT8);
    const auto label = readAll<std::int16_t>(cube, std::string("/tiles/") + tile + "/label", H5T_NATIVE_INT16);
    for (size_t i = 0; i < split.size(); ++i) {
      if (label[i] >= 0) labelled[label[i]] += 1;
      if (split[i] != 0) avail[split[i] * K + label[i]] += 1;
    }
  }
  const char* names[] = {"", "train", "val", "test"};
  for (int s = 1; s <= 3; ++s) {
    std::vector<std::int64_t> n(avail.begin() + s * K, avail.begin() + (s + 1) * K);
    const auto plan = s == 1 ? kernels::stratifiedCounts(n, 3000, 40, 0.5, 65) : kernels::stratifiedCounts(n, 0, 0, 1.0, 65);
    const auto y = readAll<std::int16_t>(d + "/samples.h5", std::string("/") + names[s] + "/y", H5T_NATIVE_INT16);
    std::vector<std::int64_t> got(K, 0);
    for (auto c : y) got[c] += 1;
    EXPECT_EQ(got, plan.target) << names[s];
    if (s == 1) {
      EXPECT_GE(plan.total(), 2900);
      // Rows match the cube: a pixel's label and split at its (tile, row, col).
      const auto row = readAll<std::int32_t>(d + "/samples.h5", "/train/row", H5T_NATIVE_INT32);
      const auto tile = readAll<std::int32_t>(d + "/samples.h5", "/train/tile", H5T_NATIVE_INT32);
      const auto x = readAll<float>(d + "/samples.h5", "/train/x", H5T_NATIVE_FLOAT);
      const auto col = readAll<std::int32_t>(d + "/samples.h5", "/train/col", H5T_NATIVE_INT32);
      ASSERT_EQ(x.size(), y.size() * 3 * 2);
      for (size_t i = 0; i < y.size(); i += 97) {
        // fixtureReflectance(tile, period 1, band 1, row, col) * 1e-4
        const double expect = (1000 + 400 * tile[i] + 100 + 37 + (row[i] * 7 + col[i] * 3) % 61) * 1e-4;
        EXPECT_NEAR(x[i * 6 + 1 * 2 + 1], expect, 1e-6) << "row " << i;
      }
    }
  }
  // labels_summary.json counts every labelled pixel of every class.
  const std::string js = readFile(d + "/labels_summary.json");
  std::int64_t summed = 0;
  for (size_t pos = 0; (pos = js.find("\"pixels\": ", pos)) != std::string::npos; pos += 10)
    summed += std::stoll(js.substr(pos + 10));
  std::int64_t total = 0;
  for (auto v : labelled) total += v;
  EXPECT_EQ(summed, total);
  // The parcel-level table: one row per parcel, mean and median bands.
  const std::string d4 = runs().dir.at(4);
  const auto py = readAll<std::int16_t>(d4 + "/parcels.h5", "/train/y", H5T_NATIVE_INT16);
  const auto pp = readAll<std::int64_t>(d4 + "/parcels.h5", "/train/parcel", H5T_NATIVE_INT64);
  EXPECT_EQ(std::set<std::int64_t>(pp.begin(), pp.end()).size(), pp.size());
  EXPECT_GT(py.size(), 30u);
}

TEST(LabelsPipeline, BadParcelInputsGiveClearErrors) {
  const std::string d = scratchDir("labels_bad");
  ASSERT_EQ(runCommand(kFixture + " " + d).exitCode, 0);
  const std::string cfg = " --config " + d + "/config.yaml";
  auto expectError = [&](const std::string& set, const std::vector<std::string>& words) {
    const auto r = runCropmap("labels" + cfg + " " + set);
    EXPECT_EQ(r.exitCode, 2) << set << "\n" << r.output;
    for (const auto& w : words) EXPECT_NE(r.output.find(w), std::string::npos) << "'" << w << "' missing in:\n" << r.output;
  };
  expectError("--set labels.code_field=CROP", {"parcels.gpkg", "layer 'parcels'", "no field 'CROP'", "SNAR_BEZEICHNUNG"});
  expectError("--set labels.layer=nope", {"parcels.gpkg", "no layer 'nope'"});
  writeFile(d + "/points.geojson",
            R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"105"},)"
            R"("geometry":{"type":"Point","coordinates":[15.5,47.8]}}]})");
  expectError("--set labels.parcels=" + d + "/points.geojson --set labels.code_field=code --set labels.id_field=",
              {"points.geojson", "Point", "polygons"});
  writeFile(d + "/empty.geojson", R"({"type":"FeatureCollection","features":[]})");
  expectError("--set labels.parcels=" + d + "/empty.geojson --set labels.code_field=code --set labels.id_field=",
              {"empty.geojson", "empty"});
  const std::string bowtie =
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"105"},)"
      R"("geometry":{"type":"Polygon","coordinates":[[[15.50,47.80],[15.51,47.81],[15.51,47.80],[15.50,47.81],[15.50,47.80]]]}}]})";
  writeFile(d + "/bowtie.geojson", bowtie);
  // A register that reaches no tile labels nothing: an error naming its CRS and extent next to the tiles'.
  expectError("--set labels.parcels=" + d + "/bowtie.geojson --set labels.code_field=code --set labels.id_field= "
              "--set labels.on_invalid=abort",
              {"bowtie.geojson", "EPSG:4326", "does not reach any tile", "33UVP EPSG:32633"});
  // A bow tie inside the tiles (in EPSG:32633), with on_invalid abort and repair.
  writeFile(d + "/bowtie_utm.geojson",
            R"({"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:32633"}},"features":[)"
            R"({"type":"Feature","properties":{"code":"105","pid":7},"geometry":{"type":"Polygon",)"
            R"("coordinates":[[[500100,5299000],[500600,5299500],[500600,5299000],[500100,5299500],[500100,5299000]]]}}]})");
  expectError("--set labels.parcels=" + d + "/bowtie_utm.geojson --set labels.code_field=code --set labels.id_field=pid "
              "--set labels.on_invalid=abort",
              {"bowtie_utm.geojson", "feature 0", "parcel 7", "invalid geometry"});
  {
    const auto r = runCropmap("labels" + cfg + " --set labels.parcels=" + d +
                              "/bowtie_utm.geojson --set labels.code_field=code --set labels.id_field=pid");
    EXPECT_EQ(r.exitCode, 0) << r.output;  // repaired by default
  }
  // No CRS: a Shapefile without .prj; a CRS PROJ cannot transform: LOCAL_CS.
  ASSERT_EQ(runCommand("ogr2ogr -f 'ESRI Shapefile' " + d + "/nocrs.shp " + d + "/bowtie_utm.geojson").exitCode, 0);
  std::filesystem::remove(d + "/nocrs.prj");
  expectError("--set labels.parcels=" + d + "/nocrs.shp --set labels.code_field=code --set labels.id_field=",
              {"nocrs.shp", "no coordinate reference system"});
  ASSERT_EQ(runCommand("ogr2ogr -f GPKG -a_srs 'LOCAL_CS[\"site grid\",UNIT[\"metre\",1]]' " + d + "/local.gpkg " + d +
                       "/bowtie_utm.geojson")
                .exitCode,
            0);
  expectError("--set labels.parcels=" + d + "/local.gpkg --set labels.code_field=code --set labels.id_field=",
              {"local.gpkg", "cannot transform"});
  expectError("--set labels.unknown_code=abort", {"parcels.gpkg", "9999", "not in the legend"});
}
