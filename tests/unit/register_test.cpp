// Real-format registers: an INVEKOS-like GeoPackage written with GDAL (EPSG:31287,
// FS_KENNUNG a Real shared by several plots, SNAR_CODE numeric, SNAR_BEZEICHNUNG
// with umlauts) read by the labels stage's parcel source and rasterized.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <map>
#include <set>

#include "pipeline/gdal_io.hpp"
#include "pipeline/mpi.hpp"
#include "stages/labels/coverage.hpp"
#include "stages/labels/labels.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;

namespace {

constexpr double kX0 = 500000, kY0 = 5300000;  // tile origin, EPSG:32633, 10 m pixels
constexpr int kSize = 40;

struct Plot {
  double fsKennung;
  int slId, snarCode;
  const char* name;
  int row0, col0;  // 10 x 10 pixel square
};

const std::vector<Plot> kPlots = {
    {4711.0, 1, 105, "KÖRNERMAIS", 0, 0},
    {4711.0, 2, 138, "WINTERWEICHWEIZEN", 0, 10},
    {4712.0, 1, 145, "WINTERDINKEL (SPELZ)", 20, 0},
    {4713.0, 1, 717, "MÄHWIESE/-WEIDE DREI UND MEHR NUTZUNGEN", 20, 20},
};

// Writes the plots, drawn in the tile's UTM CRS, reprojected to EPSG:31287.
std::string writeRegister(const std::string& dir, const std::vector<Plot>& plots) {
  GDALAllRegister();
  const std::string path = dir + "/INSPIRE_SCHLAEGE_2021_POLYGON.gpkg";
  auto utm = gdal::srsFromEpsg(32633), lambert = gdal::srsFromEpsg(31287);
  auto ct = gdal::makeTransform(*utm, *lambert, "test");
  auto ds = gdal::createVector("GPKG", path);
  OGRLayer* l = gdal::createLayer(ds.get(), "INSPIRE_SCHLAEGE_2021_POLYGON", *lambert, wkbPolygon, {}, path);
  gdal::addField(l, "FS_KENNUNG", OFTReal, path);
  gdal::addField(l, "SL_ID", OFTInteger, path);
  gdal::addField(l, "SNAR_CODE", OFTInteger, path);
  gdal::addField(l, "SNAR_BEZEICHNUNG", OFTString, path);
  for (const auto& p : plots) {
    OGRFeature f(l->GetLayerDefn());
    f.SetField("FS_KENNUNG", p.fsKennung);
    f.SetField("SL_ID", p.slId);
    f.SetField("SNAR_CODE", p.snarCode);
    f.SetField("SNAR_BEZEICHNUNG", p.name);
    const double x0 = kX0 + p.col0 * 10, y1 = kY0 - p.row0 * 10;
    OGRLinearRing ring;
    for (auto [x, y] : {std::pair{x0, y1}, {x0 + 100, y1}, {x0 + 100, y1 - 100}, {x0, y1 - 100}, {x0, y1}})
      ring.addPoint(x, y);
    OGRPolygon poly;
    poly.addRing(&ring);
    EXPECT_EQ(poly.transform(ct.get()), OGRERR_NONE);
    f.SetGeometry(&poly);
    EXPECT_EQ(l->CreateFeature(&f), OGRERR_NONE);
  }
  gdal::close(ds, path);
  return path;
}

// A corner of tile 33UVP (its CRS, a smaller extent).
TileGrid tile() {
  TileGrid t = tileGridOf("33UVP");
  t.geotransform = {kX0, 10, 0, kY0, 0, -10};
  t.width = t.height = kSize;
  return t;
}

const Legend& legend() {
  static const Legend l = Legend::parse(
      "name: t\nclasses:\n"
      "  - {id: 0, name: maize, codes: ['105', KÖRNERMAIS]}\n"
      "  - {id: 1, name: wheat, codes: ['138', '145', WINTERWEICHWEIZEN, WINTERDINKEL (SPELZ)]}\n"
      "ignore: ['717']\n",
      "inline");
  return l;
}

LabelsSection options(const std::string& file) {
  LabelsSection o;
  o.parcels = file;
  o.code_field = "SNAR_CODE";
  o.id_field = "FS_KENNUNG";
  return o;
}

// Parcel id -> pixels burnt in the block (erosion 0), labelled or not.
std::map<std::int64_t, int> burnt(ParcelSource& src) {
  const BlockLabels b = labelBlock(src, tile(), 0, Window{0, 0, kSize, kSize}, 0);
  std::map<std::int64_t, int> n;
  for (const auto& r : b.records) n[r.parcel] += static_cast<int>(r.before);
  std::map<std::int64_t, int> layer;  // the parcel layer holds the labelled ones
  for (auto id : b.parcel)
    if (id) ++layer[id];
  EXPECT_EQ(layer.size() + 1, n.size()) << "every parcel but the ignored one is in the parcel layer";
  return n;
}

}  // namespace

TEST(Register, NonUniqueRealIdsFallBackToFeatureIdsAndNeverMerge) {
  const auto file = writeRegister(cropmap::test::scratchDir("register_dup"), kPlots);
  ParcelSource src(options(file), legend());
  EXPECT_EQ(src.ids().mode(), ParcelIdRule::Mode::fid);
  EXPECT_EQ(src.ids().duplicateFeatures(), 2);
  EXPECT_NE(src.ids().warning().find("'FS_KENNUNG' (labels.id_field) is not unique"), std::string::npos)
      << src.ids().warning();
  // Labelled and ignored parcels all burn, each on its own 100 pixels; the two
  // plots sharing FS_KENNUNG 4711 stay two parcels.
  const auto n = burnt(src);
  ASSERT_EQ(n.size(), 4u);
  for (const auto& [id, px] : n) EXPECT_EQ(px, 100) << "parcel " << id;
  const auto parcels = src.query(tile(), {kX0, kY0 - 400, kX0 + 400, kY0});
  ASSERT_EQ(parcels.size(), 4u);
  std::set<std::int64_t> ids;
  for (const auto& p : parcels) ids.insert(p.id);
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(parcels[3].status, ParcelStatus::ignored);
}

TEST(Register, DuplicateIdsFailOrUseTheCompositeKey) {
  const auto file = writeRegister(cropmap::test::scratchDir("register_key"), kPlots);
  auto o = options(file);
  o.duplicate_ids = "fail";
  EXPECT_THROW(ParcelSource(o, legend()), UsageError);
  o.duplicate_ids = "key";
  EXPECT_THROW(ParcelSource(o, legend()), UsageError);  // no key fields named
  o.id_key_fields = {"FS_KENNUNG"};
  EXPECT_THROW(ParcelSource(o, legend()), UsageError);  // the key is not unique either
  o.id_key_fields = {"FS_KENNUNG", "SL_ID"};
  ParcelSource src(o, legend());
  EXPECT_EQ(src.ids().mode(), ParcelIdRule::Mode::key);
  const auto n = burnt(src);
  EXPECT_EQ(n.size(), 4u);
  for (const auto& [id, px] : n) EXPECT_GT(id, 0);
}

TEST(Register, UniqueIntegralRealIdsAreUsedAsStored) {
  auto plots = kPlots;
  plots[1].fsKennung = 4714.0;
  const auto file = writeRegister(cropmap::test::scratchDir("register_real"), plots);
  ParcelSource src(options(file), legend());
  EXPECT_EQ(src.ids().mode(), ParcelIdRule::Mode::field);
  EXPECT_TRUE(src.ids().warning().empty());
  const auto n = burnt(src);
  EXPECT_EQ(n, (std::map<std::int64_t, int>{{4711, 100}, {4712, 100}, {4713, 100}, {4714, 100}}));

  plots[2].fsKennung = 4712.5;
  const auto bad = writeRegister(cropmap::test::scratchDir("register_frac"), plots);
  try {
    ParcelSource s(options(bad), legend());
    FAIL() << "a fractional id was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("4712.5"), std::string::npos) << e.what();
  }
}

TEST(Register, GermanNamesWithUmlautsAreCodesToo) {
  const auto file = writeRegister(cropmap::test::scratchDir("register_names"), kPlots);
  auto o = options(file);
  o.code_field = "SNAR_BEZEICHNUNG";
  ParcelSource src(o, legend());
  const auto parcels = src.query(tile(), {kX0, kY0 - 400, kX0 + 400, kY0});
  ASSERT_EQ(parcels.size(), 4u);
  EXPECT_EQ(parcels[0].code, "KÖRNERMAIS");
  EXPECT_EQ(parcels[0].cls, 0);
  EXPECT_EQ(parcels[2].cls, 1);
  EXPECT_EQ(parcels[3].status, ParcelStatus::unknown);  // the legend ignores 717, not the name
}

TEST(Register, CoverageCountsParcelsAndAreaByLegendOutcome) {
  auto plots = kPlots;
  plots.push_back({4714.0, 1, 360, "LSE FELDRAIN", 30, 0});
  plots.push_back({4715.0, 1, 360, "LSE FELDRAIN", 30, 10});
  const auto file = writeRegister(cropmap::test::scratchDir("register_coverage"), plots);
  ParcelSource src(options(file), legend());
  const Coverage c = measureCoverage(src, {tile(), tile()});  // a parcel is counted once
  EXPECT_EQ(c.labelled.parcels, 3);
  EXPECT_EQ(c.ignored.parcels, 1);
  EXPECT_EQ(c.unknown.parcels, 2);
  EXPECT_NEAR(c.labelled.area_m2, 30000, 1);
  EXPECT_NEAR(c.unknown.area_m2, 20000, 1);
  ASSERT_EQ(c.unknownCodes.size(), 1u);
  EXPECT_EQ(c.unknownCodes.at("360").parcels, 2);
  const std::string js = coverageJson(c, file, "inline", {"33UVP"});
  EXPECT_NE(js.find("\"unknown\": {\"parcels\": 2, \"area_ha\": 2.0000, \"parcels_pct\": 33.33"), std::string::npos) << js;

  const TileGrid t = tileGridOf("33UVP");
  EXPECT_EQ(t.epsg, 32633);
  EXPECT_EQ(t.geotransform[0], 399960.0);
  EXPECT_EQ(t.geotransform[3], 5400000.0);
}

// `cropmap labels --coverage` on a register alone: no cube, no imagery; the
// tile grid comes from the MGRS name.
TEST(Register, CoverageCommandNeedsNoImagery) {
  const std::string d = cropmap::test::scratchDir("register_coverage_cli");
  auto plots = kPlots;
  plots.push_back({4714.0, 1, 999, "NEUER CODE", 30, 0});
  const auto file = writeRegister(d, plots);
  cropmap::test::writeFile(d + "/config.yaml",
                           "run: {name: cov, output: " + d + "/out}\ninputs: {tiles: [33UVP]}\n"
                           "labels: {parcels: " + file + ", code_field: SNAR_CODE, id_field: FS_KENNUNG,\n"
                           "         legend: " + cropmap::test::sourcePath("configs/legends/austria.yaml") + "}\n");
  const auto r = cropmap::test::runCropmap("labels --coverage --config " + d + "/config.yaml");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("is not unique"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("5 parcels"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("labelled 4 (80.0 %)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("'999' x1"), std::string::npos) << r.output;
  const std::string js = cropmap::test::readFile(d + "/out/labels_coverage.json");
  EXPECT_NE(js.find("\"tiles\": [\"33UVP\"]"), std::string::npos) << js;
  EXPECT_NE(js.find("{\"code\": \"999\", \"parcels\": 1"), std::string::npos) << js;
}
