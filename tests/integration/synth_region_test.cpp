// `cropmap synth` end to end on small regions: the files open with GDAL as
// real inputs would, the SAFE metadata parses back, parcels land on the tile,
// the statistics match the configuration, and the output is byte-identical
// across reruns and rank counts.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "pipeline/gdal_io.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/s2_metadata.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cropmap;

namespace {

struct Region {
  std::string root;  // <run.output>/synth
  test::RunResult run;
};

std::string configText(const std::string& output, const std::string& body) {
  return "run:\n  output: " + output + "\n  seed: 11\n" + body;
}

const char* kInvekos =
    "synth:\n  tiles: [33UVP]\n  size: 128\n  year: 2022\n  layout: both\n  register_style: invekos\n"
    "  cloud_cover: 0.35\n  regions: 2\n  zones_per_region: 3\n  block_rows: 48\n"
    "labels:\n  legend: LEGEND\n";
const char* kRpg =
    "synth:\n  tiles: [31TCJ]\n  size: 64\n  year: 2018\n  layout: safe\n  bands_20m: false\n"
    "  register_style: rpg\n  cloud_cover: 0.6\n  reprocessed_share: 0.0\n";

std::string withLegend(std::string body) {
  const auto p = body.find("LEGEND");
  if (p != std::string::npos) body.replace(p, 6, test::sourcePath("configs/legends/austria.yaml"));
  return body;
}

Region makeRegion(const std::string& name, const std::string& body, int ranks) {
  const std::string dir = test::scratchDir("synth_" + name);
  test::writeFile(dir + "/config.yaml", configText(dir + "/out", withLegend(body)));
  Region r;
  r.root = dir + "/out/synth";
  const std::string args = "synth --config " + dir + "/config.yaml --set log.level=warn";
  r.run = ranks > 1 ? test::runCropmapMpi(ranks, args) : test::runCropmap(args);
  return r;
}

struct Scenes {
  std::vector<std::map<std::string, std::string>> rows;
};
Scenes readCsv(const std::string& path) {
  Scenes s;
  std::istringstream in(test::readFile(path));
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> cols;
  {
    std::stringstream hs(header);
    for (std::string c; std::getline(hs, c, ',');) cols.push_back(c);
  }
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::map<std::string, std::string> row;
    size_t i = 0;
    for (std::string v; std::getline(ls, v, ',') && i < cols.size(); ++i) row[cols[i]] = v;
    s.rows.push_back(row);
  }
  return s;
}

template <class T>
std::vector<T> readBand(GDALDataset* ds, int band = 1) {
  const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
  std::vector<T> v(static_cast<size_t>(w) * static_cast<size_t>(h));
  GDALDataType t = std::is_same_v<T, std::uint8_t>   ? GDT_Byte
                   : std::is_same_v<T, std::uint16_t> ? GDT_UInt16
                   : std::is_same_v<T, std::int16_t>  ? GDT_Int16
                                                      : GDT_Int32;
  EXPECT_EQ(ds->GetRasterBand(band)->RasterIO(GF_Read, 0, 0, w, h, v.data(), w, h, t, 0, 0, nullptr), CE_None);
  return v;
}

int epsgOf(GDALDataset* ds) {
  const OGRSpatialReference* srs = ds->GetSpatialRef();
  return srs ? gdal::epsgOf(*srs) : 0;
}

class SynthRegion : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gdal::ensureRegistered();
    a_ = new Region(makeRegion("a", kInvekos, 1));
    b_ = new Region(makeRegion("b", kInvekos, 2));
    rpg_ = new Region(makeRegion("rpg", kRpg, 1));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    delete rpg_;
  }
  static Region* a_;
  static Region* b_;
  static Region* rpg_;
};
Region* SynthRegion::a_ = nullptr;
Region* SynthRegion::b_ = nullptr;
Region* SynthRegion::rpg_ = nullptr;

}  // namespace

TEST_F(SynthRegion, CommandsSucceed) {
  EXPECT_EQ(a_->run.exitCode, 0) << a_->run.output;
  EXPECT_EQ(b_->run.exitCode, 0) << b_->run.output;
  EXPECT_EQ(rpg_->run.exitCode, 0) << rpg_->run.output;
}

TEST_F(SynthRegion, GeoTiffLayoutOpensWithTheRightGrid) {
  const Scenes sc = readCsv(a_->root + "/truth/scenes.csv");
  ASSERT_GE(sc.rows.size(), 70u);  // a year at a 5-day revisit
  std::set<int> sclSeen;
  for (const auto& row : sc.rows) {
    std::string date = row.at("date");
    date.erase(std::remove(date.begin(), date.end(), '-'), date.end());
    const std::string base = a_->root + "/geotiff/33UVP/33UVP_" + date + "_";
    auto b04 = gdal::openRaster(base + "B04.tif");
    EXPECT_EQ(b04->GetRasterXSize(), 128);
    EXPECT_EQ(b04->GetRasterBand(1)->GetRasterDataType(), GDT_UInt16);
    EXPECT_EQ(epsgOf(b04.get()), 32633);
    double gt[6];
    ASSERT_EQ(b04->GetGeoTransform(gt), CE_None);
    EXPECT_DOUBLE_EQ(gt[0], 399960.0);
    EXPECT_DOUBLE_EQ(gt[3], 5400000.0);
    EXPECT_DOUBLE_EQ(gt[1], 10.0);
    EXPECT_DOUBLE_EQ(gt[5], -10.0);
    const char* offset = b04->GetMetadataItem("BOA_ADD_OFFSET");
    const bool withOffset = row.at("baseline") >= "04.00";
    EXPECT_EQ(offset != nullptr, withOffset) << date;
    if (offset) {
      EXPECT_STREQ(offset, "-1000");
    }
    EXPECT_STREQ(b04->GetMetadataItem("BOA_QUANTIFICATION_VALUE"), "10000");
    EXPECT_STREQ(b04->GetMetadataItem("PROCESSING_BASELINE"), row.at("baseline").c_str());
    auto scl = gdal::openRaster(base + "SCL.tif");
    EXPECT_EQ(scl->GetRasterXSize(), 64);
    EXPECT_EQ(scl->GetRasterBand(1)->GetRasterDataType(), GDT_Byte);
    ASSERT_EQ(scl->GetGeoTransform(gt), CE_None);
    EXPECT_DOUBLE_EQ(gt[1], 20.0);
    for (auto v : readBand<std::uint8_t>(scl.get())) sclSeen.insert(v);
    auto b11 = gdal::openRaster(base + "B11.tif");
    EXPECT_EQ(b11->GetRasterXSize(), 64);
  }
  for (int v : sclSeen) EXPECT_TRUE(v == 0 || (v >= 3 && v <= 10)) << v;
  for (int v : {3, 4, 5, 7, 8, 9, 10}) EXPECT_TRUE(sclSeen.count(v)) << "SCL class " << v << " never occurs";
}

TEST_F(SynthRegion, SafeProductsParseBackAndMatchTheGeoTiffs) {
  int products = 0, withOffset = 0, without = 0;
  for (const auto& e : fs::directory_iterator(a_->root + "/safe")) {
    const S2ProductMetadata md = parseS2Metadata((e.path() / "MTD_MSIL2A.xml").string());
    ++products;
    EXPECT_EQ(md.tile, "33UVP");
    EXPECT_EQ(md.productUri, e.path().filename().string());
    EXPECT_DOUBLE_EQ(md.quantification, 10000.0);
    (md.offsetOf("B04") == -1000.0 ? withOffset : without)++;
    EXPECT_EQ(md.offsetOf("B04") == -1000.0, md.baseline >= "04.00");
    for (const char* band : {"B02", "B03", "B04", "B08", "SCL", "B05", "B12"}) ASSERT_NE(md.find(band), nullptr) << band;
    if (products % 10 != 1) continue;  // pixel comparison on every tenth product
    auto jp2 = gdal::openRaster(md.find("B08")->path);
    EXPECT_STREQ(jp2->GetDriver()->GetDescription(), "JP2OpenJPEG");
    EXPECT_EQ(epsgOf(jp2.get()), 32633);
    double gt[6];
    ASSERT_EQ(jp2->GetGeoTransform(gt), CE_None);
    EXPECT_DOUBLE_EQ(gt[0], 399960.0);
    EXPECT_DOUBLE_EQ(gt[3], 5400000.0);
    auto tif = gdal::openRaster(a_->root + "/geotiff/33UVP/33UVP_" + md.date + "_B08.tif");
    EXPECT_EQ(readBand<std::uint16_t>(jp2.get()), readBand<std::uint16_t>(tif.get())) << "lossless JP2 differs";
    auto scl = gdal::openRaster(md.find("SCL")->path);
    EXPECT_EQ(scl->GetRasterXSize(), 64);
  }
  EXPECT_GE(products, 70);
  EXPECT_GT(withOffset, 0);
  EXPECT_GT(without, 0);  // January 2022 products predate baseline 04.00
}

TEST_F(SynthRegion, ParcelsReprojectOntoTheTile) {
  auto ds = gdal::openVector(a_->root + "/parcels.gpkg");
  OGRLayer* layer = ds->GetLayer(0);
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(gdal::epsgOf(*layer->GetSpatialRef()), 31287);
  ASSERT_GE(layer->GetLayerDefn()->GetFieldIndex("SNAR_BEZEICHNUNG"), 0);
  ASSERT_GE(layer->GetLayerDefn()->GetFieldIndex("SNAR_CODE"), 0);
  ASSERT_GE(layer->GetLayerDefn()->GetFieldIndex("GEO_ID"), 0);
  // FS_KENNUNG as the real register has it: a Real that plots share.
  const int fs = layer->GetLayerDefn()->GetFieldIndex("FS_KENNUNG");
  ASSERT_GE(fs, 0);
  EXPECT_EQ(layer->GetLayerDefn()->GetFieldDefn(fs)->GetType(), OFTReal);
  auto utm = gdal::srsFromEpsg(32633);
  OGRSpatialReference src(*layer->GetSpatialRef());
  src.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&src, utm.get()));
  ASSERT_TRUE(ct);
  const Legend legend = Legend::load(test::sourcePath("configs/legends/austria.yaml"));
  std::map<std::int64_t, std::string> codeOf;
  int n = 0, ignored = 0, unknown = 0;
  for (auto& f : *layer) {
    ++n;
    std::unique_ptr<OGRGeometry> g(f->GetGeometryRef()->clone());
    ASSERT_EQ(g->transform(ct.get()), OGRERR_NONE);
    OGREnvelope env;
    g->getEnvelope(&env);
    // Intersects the synthetic area (top-left 1280 m of the tile).
    EXPECT_LT(env.MinX, 399960.0 + 1280.0);
    EXPECT_GT(env.MaxX, 399960.0);
    EXPECT_LT(env.MinY, 5400000.0);
    EXPECT_GT(env.MaxY, 5400000.0 - 1280.0);
    const std::string code = f->GetFieldAsString("SNAR_CODE");
    codeOf[f->GetFieldAsInteger64("GEO_ID")] = code;
    const int cls = legend.classOf(code);
    ignored += cls == Legend::kIgnored;
    unknown += cls == Legend::kUnknown;
  }
  EXPECT_GT(n, 20);
  (void)ignored;
  (void)unknown;

  // The truth rasters agree with the register.
  auto pr = gdal::openRaster(a_->root + "/truth/33UVP/parcel.tif");
  auto cr = gdal::openRaster(a_->root + "/truth/33UVP/class.tif");
  EXPECT_EQ(epsgOf(pr.get()), 32633);
  const auto pid = readBand<std::int32_t>(pr.get());
  const auto cid = readBand<std::int16_t>(cr.get());
  size_t labelled = 0;
  for (size_t i = 0; i < pid.size(); ++i) {
    if (pid[i] == 0) {
      EXPECT_EQ(cid[i], -1);
      continue;
    }
    ASSERT_TRUE(codeOf.count(pid[i])) << "parcel " << pid[i] << " in parcel.tif is not in parcels.gpkg";
    const int cls = legend.classOf(codeOf[pid[i]]);
    EXPECT_EQ(cid[i], cls >= 0 ? cls : -1);
    labelled += cid[i] >= 0;
  }
  EXPECT_GT(labelled, pid.size() / 2);
}

TEST_F(SynthRegion, ZonesCoverRegionsTimesZones) {
  auto ds = gdal::openVector(a_->root + "/zones.gpkg");
  OGRLayer* layer = ds->GetLayer(0);
  EXPECT_EQ(layer->GetFeatureCount(), 2 * 3);
  std::set<std::pair<int, int>> seen;
  double area = 0;
  for (auto& f : *layer) {
    EXPECT_EQ(f->GetFieldDefnRef(f->GetFieldIndex("region"))->GetType(), OFTInteger);
    seen.insert({f->GetFieldAsInteger("region"), f->GetFieldAsInteger("zone")});
    area += f->GetGeometryRef()->toPolygon()->get_Area();
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_NEAR(area, 1280.0 * 1280.0, 0.01 * 1280.0 * 1280.0);  // Lambert and UTM areas agree closely here
}

TEST_F(SynthRegion, StatisticsMatchTheConfiguration) {
  const Scenes sc = readCsv(a_->root + "/truth/scenes.csv");
  double cloudSum = 0;
  int overcast = 0, clear = 0, n = 0;
  // Clear observations per pixel (20 m) and month, from the SCL files themselves.
  std::map<int, std::vector<int>> clearPerMonth;
  for (const auto& row : sc.rows) {
    std::string date = row.at("date");
    const int month = std::stoi(date.substr(5, 2));
    date.erase(std::remove(date.begin(), date.end(), '-'), date.end());
    auto scl = gdal::openRaster(a_->root + "/geotiff/33UVP/33UVP_" + date + "_SCL.tif");
    const auto v = readBand<std::uint8_t>(scl.get());
    auto& counts = clearPerMonth[month];
    counts.resize(v.size(), 0);
    size_t cloudy = 0, valid = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == 0) continue;
      ++valid;
      cloudy += v[i] >= 8 && v[i] <= 10;
      counts[i] += v[i] >= 4 && v[i] <= 7;
    }
    const double f = valid ? static_cast<double>(cloudy) / static_cast<double>(valid) : 0.0;
    EXPECT_NEAR(100.0 * f, std::stod(row.at("cloud_pct")), 0.01);  // the table tells the truth
    cloudSum += f;
    overcast += f > 0.9;
    clear += f < 0.05;
    ++n;
  }
  EXPECT_NEAR(cloudSum / n, 0.35, 0.1);
  EXPECT_GT(overcast, 0);  // some scenes almost fully cloudy
  EXPECT_GT(clear, 0);
  int monthsWithGaps = 0;
  for (const auto& [m, counts] : clearPerMonth)
    monthsWithGaps += std::count(counts.begin(), counts.end(), 0) > static_cast<long>(counts.size() / 10);
  EXPECT_GE(monthsWithGaps, 1) << "no month leaves part of the tile without a clear view";

  // Class shares: grassland dominates (INVEKOS), several classes occur.
  auto cr = gdal::openRaster(a_->root + "/truth/33UVP/class.tif");
  std::map<int, size_t> count;
  size_t total = 0;
  for (auto v : readBand<std::int16_t>(cr.get()))
    if (v >= 0) {
      ++count[v];
      ++total;
    }
  const Legend legend = Legend::load(test::sourcePath("configs/legends/austria.yaml"));
  const int grassland = legend.classOf("634");  // KLEEGRAS
  int top = -1;
  size_t topCount = 0;
  for (const auto& [c, k] : count)
    if (k > topCount) {
      top = c;
      topCount = k;
    }
  EXPECT_EQ(top, grassland);
  EXPECT_GT(static_cast<double>(count[grassland]) / total, 0.15);
  EXPECT_LT(static_cast<double>(count[grassland]) / total, 0.6);
  EXPECT_GE(count.size(), 6u);

  // The truth composites: one per month with the modelled bands.
  for (int m = 1; m <= 12; ++m) {
    char name[64];
    std::snprintf(name, sizeof name, "/truth/33UVP/reflectance_2022-%02d.tif", m);
    auto ds = gdal::openRaster(a_->root + name);
    EXPECT_EQ(ds->GetRasterCount(), 10);
    EXPECT_STREQ(ds->GetRasterBand(3)->GetDescription(), "B04");
  }
}

TEST_F(SynthRegion, ByteIdenticalAcrossRerunsAndRankCounts) {
  std::vector<std::string> filesA, filesB;
  for (const auto& e : fs::recursive_directory_iterator(a_->root))
    if (e.is_regular_file()) filesA.push_back(fs::relative(e.path(), a_->root).string());
  for (const auto& e : fs::recursive_directory_iterator(b_->root))
    if (e.is_regular_file()) filesB.push_back(fs::relative(e.path(), b_->root).string());
  std::sort(filesA.begin(), filesA.end());
  std::sort(filesB.begin(), filesB.end());
  ASSERT_EQ(filesA, filesB);
  ASSERT_GT(filesA.size(), 1000u);
  int differing = 0;
  for (const auto& f : filesA)
    if (test::readFile(a_->root + "/" + f) != test::readFile(b_->root + "/" + f)) {
      if (++differing < 5) ADD_FAILURE() << f << " differs between the 1-rank and the 2-rank run";
    }
  EXPECT_EQ(differing, 0);
}

TEST_F(SynthRegion, FrenchRegisterAndOlderBaselines) {
  auto ds = gdal::openVector(rpg_->root + "/parcels.gpkg");
  OGRLayer* layer = ds->GetLayerByName("PARCELLES_GRAPHIQUES");
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(gdal::epsgOf(*layer->GetSpatialRef()), 2154);
  const int code = layer->GetLayerDefn()->GetFieldIndex("CODE_CULTU");
  const int id = layer->GetLayerDefn()->GetFieldIndex("ID_PARCEL");
  ASSERT_GE(code, 0);
  ASSERT_GE(id, 0);
  EXPECT_EQ(layer->GetLayerDefn()->GetFieldDefn(id)->GetType(), OFTString);
  const Legend legend = Legend::load(test::sourcePath("configs/legends/france_turkoglu.yaml"));
  int known = 0;
  for (auto& f : *layer) known += legend.classOf(f->GetFieldAsString(code)) >= 0;
  EXPECT_GT(known, 5);
  EXPECT_FALSE(fs::exists(rpg_->root + "/geotiff"));  // layout: safe
  int legacy = 0, compact = 0;
  for (const auto& e : fs::directory_iterator(rpg_->root + "/safe")) {
    const S2ProductMetadata md = parseS2Metadata((e.path() / "MTD_MSIL2A.xml").string());
    EXPECT_EQ(md.tile, "31TCJ");
    EXPECT_TRUE(md.addOffset.empty()) << md.productUri;  // 2018: no offset
    const S2BandFile* b = md.find("B04");
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(fs::exists(b->path)) << b->path;
    (fs::path(b->path).filename().string().rfind("L2A_", 0) == 0 ? legacy : compact)++;
    if ((legacy + compact) % 20 == 1) {
      auto r = gdal::openRaster(b->path);
      EXPECT_EQ(epsgOf(r.get()), 32631);
      double gt[6];
      ASSERT_EQ(r->GetGeoTransform(gt), CE_None);
      EXPECT_DOUBLE_EQ(gt[0], 300000.0);
      EXPECT_DOUBLE_EQ(gt[3], 4900020.0);
    }
    EXPECT_EQ(md.find("B05"), nullptr);  // bands_20m: false
  }
  EXPECT_GT(legacy, 0);   // PSD 14.2 names before May 2018
  EXPECT_GT(compact, 0);  // compact names after
}

TEST(SynthCommand, RefusesAForeignOutputDirectory) {
  const std::string dir = test::scratchDir("synth_foreign");
  fs::create_directories(dir + "/out/synth");
  test::writeFile(dir + "/out/synth/precious.txt", "keep me");
  test::writeFile(dir + "/config.yaml", configText(dir + "/out", kRpg));
  const auto r = test::runCropmap("synth --config " + dir + "/config.yaml");
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_NE(r.output.find("not written by cropmap synth"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir + "/out/synth/precious.txt"));
}
