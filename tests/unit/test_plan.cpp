// `cropmap plan` arithmetic on hand-worked figures: work volumes from the
// configuration, core-hours and wall time from the rates, memory per rank
// independent of the country's size, the node count where I/O starts to bound.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pipeline/mpi.hpp"
#include "stages/bench/bench.hpp"
#include "stages/plan/plan.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
namespace fs = std::filesystem;

namespace {

Config configWith(const std::string& yaml) {
  const fs::path dir = test::scratchDir("plan");
  const std::string path = (dir / "plan.yaml").string();
  std::ofstream(path) << yaml;
  return Config::load(path, {});
}

plan::Rates rates() {
  plan::Rates r;
  r.source = "rates.json";
  r.compositeObservationsPerS = 1e6;
  r.trainSamplesPerS = {{"lstm", 1000}};
  r.predictPixelsPerS = {{"lstm", 1e5}};
  r.otherStagesShare = 0.1;
  return r;
}

const char* kTwoTiles =
    "inputs:\n  tiles: [31TCJ, 31TDJ]\n  bands: [B02, B03, B04, B08]\n"
    "composite:\n  indices: []\n  block_size: 1024\n"
    "sample:\n  train_size: 100000\ntrain:\n  model: lstm\n  epochs: 10\n";

}  // namespace

TEST(Plan, WorkAndTimeFromRates) {
  const Config cfg = configWith(kTwoTiles);
  plan::Shape shape;
  shape.nodes = 2;
  shape.ranksPerNode = 4;
  shape.scenesPerTile = 50;
  shape.tilePixels = 1000;
  shape.fsBytesPerS = 1e12;
  const plan::Projection p = plan::project(cfg, rates(), shape);
  ASSERT_EQ(p.rows.size(), 4u);
  EXPECT_EQ(p.tiles, 2);
  EXPECT_EQ(p.periods, 12);
  // composite: 2 tiles x 1e6 px x 50 scenes x 4 bands = 4e8 observations at 1e6/s per rank.
  EXPECT_EQ(p.rows[0].stage, "composite");
  EXPECT_NEAR(p.rows[0].coreHours, 400.0 / 3600, 1e-9);
  EXPECT_NEAR(p.rows[0].wallSeconds, 400.0 / 8, 1e-9);
  // train: 1e5 samples x 10 epochs at 1000/s per rank.
  EXPECT_NEAR(p.rows[1].coreHours, 1000.0 / 3600, 1e-9);
  EXPECT_NEAR(p.rows[1].wallSeconds, 1000.0 / 8, 1e-9);
  // predict: 2e6 pixels at 1e5/s per rank.
  EXPECT_NEAR(p.rows[2].coreHours, 20.0 / 3600, 1e-9);
  EXPECT_EQ(p.bound, "train");
  EXPECT_NEAR(p.wallSeconds, 400.0 / 8 + 1000.0 / 8 + 20.0 / 8 + 42.0 / 8, 1e-6);
}

TEST(Plan, MemoryPerRankDoesNotGrowWithTheCountry) {
  plan::Shape shape;
  shape.scenesPerTile = 100;
  const plan::Projection small = plan::project(configWith(kTwoTiles), rates(), shape);
  const plan::Projection big = plan::project(
      configWith(std::string(kTwoTiles).replace(std::string(kTwoTiles).find("[31TCJ, 31TDJ]"), 14,
                                                "[31TCJ, 31TDJ, 31TEJ, 31UDP, 31UEP, 30TXT, 30TYT, 31TFL]")),
      rates(), shape);
  EXPECT_EQ(big.tiles, 8);
  EXPECT_DOUBLE_EQ(small.rows[0].memoryPerRank, big.rows[0].memoryPerRank);
  EXPECT_DOUBLE_EQ(small.rows[2].memoryPerRank, big.rows[2].memoryPerRank);
  EXPECT_NEAR(big.rows[0].coreHours, 4 * small.rows[0].coreHours, 1e-9);
}

TEST(Plan, FileSystemBoundsTheStageFromSomeNodeCount) {
  plan::Shape shape;
  shape.scenesPerTile = 10;
  shape.tilePixels = 1000;
  shape.ranksPerNode = 1;
  shape.fsBytesPerS = 1e6;  // a slow file system
  const plan::Projection p = plan::project(configWith(kTwoTiles), rates(), shape);
  const plan::StageRow& c = p.rows[0];
  // in: 2e6 px x 10 scenes x 9 bytes; out: 2e6 px x 12 periods x 9 bytes.
  EXPECT_NEAR(c.bytesIn, 1.8e8, 1);
  EXPECT_NEAR(c.bytesOut, 2.16e8, 1);
  // compute: 8e7 observations / 1e6 per s = 80 s per node; I/O 396 s: bound from the first node.
  EXPECT_EQ(c.ioBoundFromNodes, 1);
  EXPECT_NEAR(c.wallSeconds, c.ioSeconds, 1e-9);
}

TEST(Plan, RatesFileMustComeFromBenchAll) {
  const fs::path dir = test::scratchDir("plan_rates");
  const std::string bad = (dir / "bad.json").string();
  std::ofstream(bad) << "{\"samples_per_s\": 3}\n";
  EXPECT_THROW(plan::readRates(bad), UsageError);
  EXPECT_THROW(plan::readRates((dir / "missing.json").string()), UsageError);
  const std::string good = (dir / "all.json").string();
  std::ofstream(good) << "{\"composite_observations_per_s\": 2e6, \"composite_efficiency\": {\"1\": 1, \"2\": 0.8},"
                         " \"train_samples_per_s\": {\"lstm\": 900}, \"predict_pixels_per_s\": {\"tempcnn\": 5e4}}\n";
  const plan::Rates r = plan::readRates(good);
  EXPECT_DOUBLE_EQ(r.compositeObservationsPerS, 2e6);
  EXPECT_DOUBLE_EQ(r.compositeEfficiency.at(2), 0.8);
  // A model without a measured rate is refused with what to run.
  EXPECT_THROW(plan::project(configWith(kTwoTiles), r, plan::Shape{}), UsageError);
}

// bench all measures the models and the imagery layout of the configuration
// it plans for: a run of ten bands + NDVI in dekads trains 36 x 11 series.
TEST(Plan, BenchMeasuresTheConfigurationsShapeAndLayout) {
  const Config demo = configWith("synth:\n  enabled: true\n  layout: both\n");
  EXPECT_EQ(seriesShapeOf(demo).periods, 12);
  EXPECT_EQ(seriesShapeOf(demo).bands, 4);
  EXPECT_EQ(imageryLayoutOf(demo), "safe");
  const Config ten = configWith(
      "inputs:\n  geotiff: [x]\n  bands: [B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12]\n"
      "composite:\n  period: dekad\n  indices: [NDVI]\n");
  EXPECT_EQ(seriesShapeOf(ten).periods, 36);
  EXPECT_EQ(seriesShapeOf(ten).bands, 11);
  EXPECT_EQ(imageryLayoutOf(ten), "geotiff");
  EXPECT_EQ(imageryLayoutOf(configWith("inputs:\n  safe: [x]\n")), "safe");
}
