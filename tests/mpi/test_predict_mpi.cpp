// The predict stage under real MPI on a hand-made cube, with real LibTorch
// inference (a freshly initialised model: the same weights on every rank and
// in every run). Maps must carry the cube's tile grids exactly, mark no data
// where the cube holds the fill value (a whole block, single pixels, partial
// blocks at tile edges), and be byte-identical whether 1, 2 or 4 ranks made
// them; the same for a trained XGBoost model, which must also map the fields'
// classes. Parcel votes reduced over ranks must equal the serial count.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <filesystem>

#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "stages/predict/inference.hpp"
#include "stages/predict/parcel_votes.hpp"
#include "stages/predict/predict.hpp"
#include "stages/train/xgboost_model.hpp"
#include "tests/mpi/mpi_test_support.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
using namespace cropmap::mapping;
namespace fs = std::filesystem;

namespace {

constexpr int kP = 4, kB = 3;
constexpr std::uint16_t kFill = 65535;

std::vector<TileGrid> tiles() {
  TileGrid a{"33UVP", gdal::wktOf(*gdal::srsFromEpsg(32633)), 32633, {499980.5, 10, 0, 5400000.25, 0, -10}, 70, 45};
  TileGrid b{"32UPU", gdal::wktOf(*gdal::srsFromEpsg(32632)), 32632, {600000, 10, 0, 5300000, 0, -10}, 40, 40};
  return {a, b};
}

// No data: tile 0's block at (32, 32) entirely, and single pixels where one
// period and band is missing.
bool fillAt(int tile, int p, int b, int r, int c) {
  if (tile == 0 && r >= 32 && c >= 32 && c < 64) return true;
  return (r * 13 + c * 7 + tile) % 97 == 0 && p == 2 && b == 1;
}
// A pixel with any value missing is no data in the map.
bool noDataAt(int tile, int r, int c) {
  for (int p = 0; p < kP; ++p)
    for (int b = 0; b < kB; ++b)
      if (fillAt(tile, p, b, r, c)) return true;
  return false;
}
std::uint16_t valueAt(int tile, int p, int b, int r, int c) {
  // Smooth fields of distinct series, so an untrained model still yields several classes.
  const int field = ((r / 5) * 37 + (c / 7) * 53 + tile * 11) % 23;
  return static_cast<std::uint16_t>(((field * (b + 3) * (p + 1)) % 23) * 100 + field * 13);
}

// Written collectively by every rank of the world communicator.
std::string makeCube(const std::string& dir) {
  const std::string path = dir + "/cube.h5";
  CubeLayout l;
  l.periods = {"2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01"};
  l.periodEnds = {"2022-04-01", "2022-07-01", "2022-10-01", "2023-01-01"};
  l.bands = {"B04", "B08", "NDVI"};
  l.bandOffsets = {0, 0, -1};
  l.fillValue = kFill;
  // Inputs of a few units around 0 (an untrained model sees no normalisation): varied classes.
  l.scaleFactor = 2e-3;
  l.chunk = 16;
  const auto ts = tiles();
  Cube cube = Cube::create(path, MPI_COMM_WORLD, l, ts);
  cube.createLayer<std::int64_t>("parcel", 0);
  int unit = 0;
  for (size_t t = 0; t < ts.size(); ++t)
    for (int r0 = 0; r0 < ts[t].height; r0 += 16)
      for (int c0 = 0; c0 < ts[t].width; c0 += 16, ++unit) {
        if (unit % worldSize() != worldRank()) continue;
        Window w{r0, c0, std::min(16, ts[t].height - r0), std::min(16, ts[t].width - c0)};
        const size_t n = static_cast<size_t>(w.pixels());
        std::vector<std::uint16_t> data(static_cast<size_t>(kP * kB) * n);
        std::vector<std::int64_t> parcel(n);
        for (int p = 0; p < kP; ++p)
          for (int b = 0; b < kB; ++b)
            for (int r = 0; r < w.rows; ++r)
              for (int c = 0; c < w.cols; ++c) {
                const int R = r0 + r, C = c0 + c, ti = static_cast<int>(t);
                data[(static_cast<size_t>(p * kB + b) * n) + static_cast<size_t>(r * w.cols + c)] =
                    fillAt(ti, p, b, R, C) ? kFill : valueAt(ti, p, b, R, C);
                parcel[static_cast<size_t>(r * w.cols + c)] = (R / 9) * 10 + C / 11 + 1 + 1000 * ti;
              }
        cube.writeReflectance(ts[t].name, w, data.data());
        cube.writeLayer<std::int64_t>(ts[t].name, "parcel", w, parcel.data());
      }
  cube.close();
  return path;
}

Config testConfig(const std::string& dir) {
  Config c = Config::defaults();
  c.run.output = dir;
  c.composite.block_size = 32;
  c.predict.batch_size = 500;  // several batches per block
  c.predict.quicklook_size = 20;
  c.compute.threads = 1;
  return c;
}

std::vector<std::uint8_t> readAll(const std::string& path, int band) {
  auto ds = gdal::openRaster(path);
  const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
  std::vector<std::uint8_t> v(static_cast<size_t>(w) * static_cast<size_t>(h));
  gdal::readWindow(ds->GetRasterBand(band), 0, 0, w, h, v.data(), w, h, path);
  return v;
}

// Runs predict on the first n ranks of the world into dir/out_<model>_np<n>:
// an untrained LibTorch `model`, or the model file `file` when given.
PredictReport runOn(int n, const std::string& dir, const std::string& cube, const std::string& model,
                    const std::string& file = "") {
  MPI_Comm sub = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, worldRank() < n ? 0 : MPI_UNDEFINED, worldRank(), &sub);
  PredictReport r;
  if (sub != MPI_COMM_NULL) {
    Config cfg = testConfig(dir);
    PredictPaths paths;
    paths.cube = cube;
    paths.output = dir + "/out_" + model + "_np" + std::to_string(n);
    auto classifier = file.empty() ? Classifier::untrained(model, kP, kB, {"a", "b", "c", "d", "e"}, {32, 16},
                                                           EngineOptions{Engine::Fused, 1, 64})
                                   : Classifier::load(file, EngineOptions{Engine::Fused, 1, 64});
    r = runPredict(cfg, paths, PredictOptions{}, sub, classifier.get());
    MPI_Comm_free(&sub);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return r;
}

int fieldAt(int tile, int r, int c) { return ((r / 5) * 37 + (c / 7) * 53 + tile * 11) % 23; }

// Rank 0 trains boosted trees to tell the fields' class (field % 3) from the
// cube's physical values, NaN where the cube has no data, and saves them.
void trainFieldClassTrees(const std::string& path) {
  if (worldRank() != 0) return;
  const double offsets[kB] = {0, 0, -1};
  std::vector<float> x, y;
  const auto ts = tiles();
  for (size_t t = 0; t < ts.size(); ++t)
    for (int r = 0; r < ts[t].height; ++r)
      for (int c = 0; c < ts[t].width; c += 2) {  // every other pixel: the map shows the rest
        const int ti = static_cast<int>(t);
        for (int p = 0; p < kP; ++p)
          for (int b = 0; b < kB; ++b)
            x.push_back(fillAt(ti, p, b, r, c) ? NAN
                                              : static_cast<float>(valueAt(ti, p, b, r, c) * 2e-3 + offsets[b]));
        y.push_back(static_cast<float>(fieldAt(ti, r, c) % 3));
      }
  const auto n = static_cast<std::int64_t>(y.size());
  xgb::DMatrix m(x.data(), n, kP * kB, 1);
  m.setLabels(y);
  xgb::Booster b({&m});
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"objective", "multi:softprob"}, {"num_class", "3"}, {"tree_method", "hist"}, {"nthread", "1"}})
    b.setParam(k, v);
  for (int i = 0; i < 15; ++i) b.updateOneIter(i, m);
  xgb::BoosterMeta meta;
  meta.periods = kP;
  meta.bands = kB;
  meta.classNames = {"a", "b", "c"};
  meta.bandNames = {"B04", "B08", "NDVI"};
  meta.periodStarts = {"2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01"};
  meta.rounds = 15;
  b.save(path, meta);
}

}  // namespace

TEST(Predict, XgboostMapsLearnFieldsAndMatchAcrossRankCounts) {
  const std::string dir = test::sharedDir("predict_xgboost");
  const std::string cube = makeCube(dir);
  const std::string model = dir + "/model.ubj";
  trainFieldClassTrees(model);
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<int> counts;
  for (int n = 1; n <= worldSize(); n *= 2) counts.push_back(n);
  for (int n : counts) runOn(n, dir, cube, "xgboost", model);
  if (worldRank() != 0) return;
  const auto ts = tiles();
  for (size_t t = 0; t < ts.size(); ++t) {
    const TileGrid& g = ts[t];
    const std::string ref = dir + "/out_xgboost_np1/maps/" + g.name + ".tif";
    auto ds = gdal::openRaster(ref);
    EXPECT_EQ(ds->GetRasterCount(), 2);  // class and confidence: no stopping band
    const auto cls = readAll(ref, 1), conf = readAll(ref, 2);
    std::int64_t mapped = 0, right = 0, wrongNoData = 0;
    for (int r = 0; r < g.height; ++r)
      for (int c = 0; c < g.width; ++c) {
        const bool fill = noDataAt(static_cast<int>(t), r, c);
        const size_t i = static_cast<size_t>(r * g.width + c);
        wrongNoData += fill != (cls[i] == 255);
        if (fill) continue;
        ++mapped;
        right += cls[i] == fieldAt(static_cast<int>(t), r, c) % 3;
      }
    EXPECT_EQ(wrongNoData, 0) << g.name;
    EXPECT_GT(static_cast<double>(right), 0.95 * static_cast<double>(mapped)) << g.name << ": chance is 1/3";
    for (int n : counts) {
      if (n == 1) continue;
      const std::string other = dir + "/out_xgboost_np" + std::to_string(n) + "/maps/" + g.name + ".tif";
      EXPECT_EQ(readAll(other, 1), cls) << other;
      EXPECT_EQ(readAll(other, 2), conf) << other;
    }
  }
}

TEST(Predict, MapsMatchGridNoDataAndRankCount) {
  const std::string dir = test::sharedDir("predict_maps");
  const std::string cube = makeCube(dir);
  std::vector<int> counts;
  for (int n = 1; n <= worldSize(); n *= 2) counts.push_back(n);
  for (int n : counts) {
    const PredictReport r = runOn(n, dir, cube, "lstm");
    if (worldRank() == 0) {
      EXPECT_EQ(r.pixels, 70 * 45 + 40 * 40);
      EXPECT_EQ(r.units, 6 + 4);  // 3 x 2 blocks of 32 (partial at the edges) + 2 x 2
    }
  }
  if (worldRank() != 0) return;
  const auto ts = tiles();
  for (size_t t = 0; t < ts.size(); ++t) {
    const TileGrid& g = ts[t];
    const std::string ref = dir + "/out_lstm_np1/maps/" + g.name + ".tif";
    ASSERT_TRUE(fs::exists(ref));
    EXPECT_TRUE(fs::exists(dir + "/out_lstm_np1/maps/" + g.name + ".png"));
    EXPECT_FALSE(fs::exists(dir + "/out_lstm_np1/maps/.parts"));  // parts are gone once maps are complete
    {
      // Georeferencing equals the cube's tile grid, read back through GDAL.
      auto ds = gdal::openRaster(ref);
      EXPECT_EQ(ds->GetRasterXSize(), g.width);
      EXPECT_EQ(ds->GetRasterYSize(), g.height);
      EXPECT_EQ(ds->GetRasterCount(), 2);
      EXPECT_EQ(gdal::geoTransformOf(ds.get(), ref), g.geotransform);
      EXPECT_TRUE(ds->GetSpatialRef()->IsSame(gdal::srsFromWkt(g.crsWkt).get()));
      EXPECT_EQ(gdal::epsgOf(*ds->GetSpatialRef()), g.epsg);
    }
    const auto cls = readAll(ref, 1), conf = readAll(ref, 2);
    int wrongNoData = 0, levels = 0;
    std::vector<int> seen(256, 0);
    for (int r = 0; r < g.height; ++r)
      for (int c = 0; c < g.width; ++c) {
        const bool fill = noDataAt(static_cast<int>(t), r, c);
        const size_t i = static_cast<size_t>(r * g.width + c);
        wrongNoData += fill != (cls[i] == 255) || fill != (conf[i] == 255);
        if (!fill) {
          EXPECT_LT(cls[i], 5);
          EXPECT_GE(conf[i], 255 / 5);  // the max of 5 posteriors is at least 1/5
        }
        if (!fill) seen[conf[i]] = 1;
      }
    EXPECT_EQ(wrongNoData, 0) << g.name;
    // An untrained model is nearly uniform, but its posteriors still follow
    // the input: comparing maps across rank counts must compare varied bytes.
    for (int v : seen) levels += v;
    EXPECT_GE(levels, 3) << "a constant map proves little about rank independence";
    for (int n : counts) {
      if (n == 1) continue;
      const std::string other = dir + "/out_lstm_np" + std::to_string(n) + "/maps/" + g.name + ".tif";
      EXPECT_EQ(readAll(other, 1), cls) << other;
      EXPECT_EQ(readAll(other, 2), conf) << other;
    }
  }
}

TEST(Predict, EarlyStoppingBandAndResumeSkipsCompleteStage) {
  const std::string dir = test::sharedDir("predict_earlyrnn");
  const std::string cube = makeCube(dir);
  runOn(worldSize(), dir, cube, "earlyrnn");
  if (worldRank() == 0) {
    const std::string map = dir + "/out_earlyrnn_np" + std::to_string(worldSize()) + "/maps/33UVP.tif";
    auto ds = gdal::openRaster(map);
    ASSERT_EQ(ds->GetRasterCount(), 3);
    const auto stop = readAll(map, 3), cls = readAll(map, 1);
    for (size_t i = 0; i < stop.size(); ++i) {
      if (cls[i] == 255) {
        EXPECT_EQ(stop[i], 255);
      } else {
        EXPECT_LT(stop[i], kP);
      }
    }
  }
  // A second run with resume finds the stage complete and touches nothing.
  Config cfg = testConfig(dir);
  PredictPaths paths;
  paths.cube = cube;
  paths.output = dir + "/out_earlyrnn_np" + std::to_string(worldSize());
  const auto before = fs::last_write_time(paths.output + "/maps/33UVP.tif");
  auto classifier = Classifier::untrained("earlyrnn", kP, kB, {"a", "b", "c", "d", "e"}, {32, 16}, EngineOptions{Engine::Fused, 1, 64});
  PredictOptions options;
  options.resume = true;
  const PredictReport r = runPredict(cfg, paths, options, MPI_COMM_WORLD, classifier.get());
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(fs::last_write_time(paths.output + "/maps/33UVP.tif"), before);
}

TEST(Predict, ParcelVotesReducedOverRanksEqualSerialCount) {
  // Hand-made pixels: parcel ids 1..40 with skewed class counts; rank r takes every size-th pixel.
  const int n = 4000;
  std::vector<std::int64_t> parcel(n);
  std::vector<std::uint8_t> cls(n), conf(n);
  for (int i = 0; i < n; ++i) {
    parcel[static_cast<size_t>(i)] = (i * 7919) % 41;  // includes 0 = no parcel
    cls[static_cast<size_t>(i)] = static_cast<std::uint8_t>(i % 11 < 6 ? (parcel[static_cast<size_t>(i)] % 4) : i % 4);
    conf[static_cast<size_t>(i)] = static_cast<std::uint8_t>(i % 251);
  }
  ParcelVotes all(4), mine(4);
  all.add(parcel.data(), cls.data(), conf.data(), parcel.size());
  for (int i = worldRank(); i < n; i += worldSize())
    mine.add(&parcel[static_cast<size_t>(i)], &cls[static_cast<size_t>(i)], &conf[static_cast<size_t>(i)], 1);
  const int root = worldSize() - 1;  // not rank 0, to catch a hard-wired root
  const auto reduced = reduceParcelVotes(mine, MPI_COMM_WORLD, root);
  if (worldRank() != root) {
    EXPECT_TRUE(reduced.empty());
    return;
  }
  const auto expected = all.summarise();
  ASSERT_EQ(reduced.size(), 40u);
  ASSERT_EQ(reduced.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(reduced[i].parcel, expected[i].parcel);
    EXPECT_EQ(reduced[i].cls, expected[i].cls);
    EXPECT_EQ(reduced[i].pixels, expected[i].pixels);
    EXPECT_DOUBLE_EQ(reduced[i].share, expected[i].share);
    EXPECT_DOUBLE_EQ(reduced[i].meanConfidence, expected[i].meanConfidence);
  }
}
