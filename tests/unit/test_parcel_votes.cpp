// Parcel aggregation on a hand-made case: a parcel layer and predictions
// written out by hand, the expected majority, share and mean confidence
// worked out by hand; and the GeoPackage written from a hand-made register.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogrsf_frmts.h>

#include <array>
#include <filesystem>
#include <map>

#include "pipeline/gdal_io.hpp"
#include "stages/labels/coverage.hpp"
#include "stages/predict/parcel_votes.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
using namespace cropmap::mapping;

namespace {

// A 4 x 6 block: parcel layer (0 = no parcel) and predictions (255 = no data).
const std::vector<std::int64_t> kParcel = {
    7, 7, 7, 0, 9, 9,  //
    7, 7, 7, 0, 9, 9,  //
    0, 0, 0, 0, 12, 12,  //
    3, 3, 0, 0, 12, 12};
const std::vector<std::uint8_t> kClass = {
    1, 1, 2, 0, 0, 1,  //
    1, 255, 2, 2, 1, 0,  //
    2, 2, 2, 2, 255, 255,  //
    4, 4, 0, 0, 255, 255};
const std::vector<std::uint8_t> kConf = {
    200, 100, 50, 9, 255, 0,  //
    60, 0, 40, 9, 51, 204,  //
    9, 9, 9, 9, 0, 0,  //
    254, 254, 9, 9, 0, 0};

}  // namespace

TEST(ParcelVotes, HandMadeMajorityShareConfidence) {
  ParcelVotes v(5);
  v.add(kParcel.data(), kClass.data(), kConf.data(), kParcel.size());
  const auto s = v.summarise();
  // Parcel 12 has only no-data pixels: no summary.
  ASSERT_EQ(s.size(), 3u);
  // Sorted by id: 3, 7, 9.
  EXPECT_EQ(s[0].parcel, 3);
  EXPECT_EQ(s[0].cls, 4);
  EXPECT_EQ(s[0].pixels, 2);
  EXPECT_DOUBLE_EQ(s[0].share, 1.0);
  EXPECT_DOUBLE_EQ(s[0].meanConfidence, 254.0 / 255.0);
  // Parcel 7: classes 1,1,2,1,2 (one no-data pixel skipped) -> 1 with 3 of 5.
  EXPECT_EQ(s[1].parcel, 7);
  EXPECT_EQ(s[1].cls, 1);
  EXPECT_EQ(s[1].pixels, 5);
  EXPECT_DOUBLE_EQ(s[1].share, 0.6);
  EXPECT_DOUBLE_EQ(s[1].meanConfidence, (200 + 100 + 50 + 60 + 40) / 255.0 / 5);
  // Parcel 9: classes 0,1,1,0 -> a tie, which goes to the smaller id.
  EXPECT_EQ(s[2].parcel, 9);
  EXPECT_EQ(s[2].cls, 0);
  EXPECT_DOUBLE_EQ(s[2].share, 0.5);
  EXPECT_DOUBLE_EQ(s[2].meanConfidence, (255 + 0 + 51 + 204) / 255.0 / 4);
}

TEST(ParcelVotes, SplitIntoBlocksAndMergedGivesTheSame) {
  ParcelVotes whole(5);
  whole.add(kParcel.data(), kClass.data(), kConf.data(), kParcel.size());
  // Rows 0-1 on one "rank", rows 2-3 on another, merged through pack/unpack.
  ParcelVotes a(5), b(5);
  a.add(kParcel.data(), kClass.data(), kConf.data(), 12);
  b.add(kParcel.data() + 12, kClass.data() + 12, kConf.data() + 12, 12);
  ParcelVotes merged(5);
  const auto pa = a.pack(), pb = b.pack();
  merged.unpack(pb.data(), pb.size());
  merged.unpack(pa.data(), pa.size());
  const auto x = whole.summarise(), y = merged.summarise();
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].parcel, y[i].parcel);
    EXPECT_EQ(x[i].cls, y[i].cls);
    EXPECT_EQ(x[i].pixels, y[i].pixels);
    EXPECT_EQ(x[i].share, y[i].share);
    EXPECT_EQ(x[i].meanConfidence, y[i].meanConfidence);
  }
  EXPECT_THROW(merged.unpack(pa.data(), pa.size() - 1), std::invalid_argument);
}

TEST(ParcelVotes, GeoPackageKeepsGeometryAndRegisterAttributes) {
  const std::string dir = test::scratchDir("parcel_gpkg");
  const std::string reg = dir + "/register.gpkg";
  {
    auto ds = gdal::createVector("GPKG", reg);
    auto srs = gdal::srsFromEpsg(31287);
    OGRLayer* l = ds->CreateLayer("invekos", srs.get(), wkbPolygon, nullptr);
    ASSERT_NE(l, nullptr);
    OGRFieldDefn id("FS_KENNUNG", OFTString), code("SNAR_BEZEICHNUNG", OFTString);
    ASSERT_EQ(l->CreateField(&id), OGRERR_NONE);
    ASSERT_EQ(l->CreateField(&code), OGRERR_NONE);
    const char* ids[] = {"7", "9", "44"};
    const char* codes[] = {"MAIS", "WINTERWEIZEN", "WIESE"};
    for (int i = 0; i < 3; ++i) {
      OGRFeatureUniquePtr f(OGRFeature::CreateFeature(l->GetLayerDefn()));
      f->SetField("FS_KENNUNG", ids[i]);
      f->SetField("SNAR_BEZEICHNUNG", codes[i]);
      OGRPolygon poly;
      OGRLinearRing ring;
      const double x0 = 400000 + 100 * i, y0 = 450000;
      ring.addPoint(x0, y0);
      ring.addPoint(x0 + 50, y0);
      ring.addPoint(x0 + 50, y0 + 50);
      ring.addPoint(x0, y0);
      poly.addRing(&ring);
      f->SetGeometry(&poly);
      ASSERT_EQ(l->CreateFeature(f.get()), OGRERR_NONE);
    }
  }
  ParcelVotes v(5);
  v.add(kParcel.data(), kClass.data(), kConf.data(), kParcel.size());
  LabelsSection labels;
  labels.parcels = reg;
  labels.id_field = "FS_KENNUNG";
  const std::string out = dir + "/parcels.gpkg";
  const auto written = writeParcelFile(labels, v.summarise(), {"c0", "c1", "c2", "c3", "c4"}, out).written;
  EXPECT_EQ(written, 2);  // parcel 44 has no pixels; parcel 3 is not in the register

  auto ds = gdal::openVector(out);
  OGRLayer* l = ds->GetLayer(0);
  ASSERT_EQ(l->GetFeatureCount(), 2);
  EXPECT_EQ(gdal::epsgOf(*l->GetSpatialRef()), 31287);
  std::map<std::string, OGRFeatureUniquePtr> byId;
  for (OGRFeatureUniquePtr f(l->GetNextFeature()); f; f.reset(l->GetNextFeature()))
    byId[f->GetFieldAsString("FS_KENNUNG")] = std::move(f);
  ASSERT_EQ(byId.count("7"), 1u);
  auto& f7 = byId["7"];
  EXPECT_STREQ(f7->GetFieldAsString("SNAR_BEZEICHNUNG"), "MAIS");
  EXPECT_EQ(f7->GetFieldAsInteger("pred_class"), 1);
  EXPECT_STREQ(f7->GetFieldAsString("pred_name"), "c1");
  EXPECT_DOUBLE_EQ(f7->GetFieldAsDouble("pred_share"), 0.6);
  EXPECT_EQ(f7->GetFieldAsInteger64("pred_pixels"), 5);
  ASSERT_NE(f7->GetGeometryRef(), nullptr);
  EXPECT_NEAR(f7->GetGeometryRef()->toPolygon()->get_Area(), 1250.0, 1e-6);
  EXPECT_EQ(byId["9"]->GetFieldAsInteger("pred_class"), 0);
}

// With the written maps, the parcel file holds every parcel on the mapped
// tiles: one without votes (eroded away, smaller than a pixel) takes the class
// of the map pixels it touches; one over no data is null with its reason; one
// off the tiles is left out.
TEST(ParcelFile, EveryParcelOnTheMapAppears) {
  GDALAllRegister();
  const std::string dir = test::scratchDir("parcel_file_all");
  TileGrid grid = tileGridOf("33UVP");  // its CRS; a 20 x 20 corner
  grid.geotransform = {500000, 10, 0, 5300000, 0, -10};
  grid.width = grid.height = 20;
  // Map: class 1 west of column 10, class 2 east; rows 15.. no data; confidence 204.
  const std::string map = dir + "/33UVP.tif";
  {
    GDALDatasetUniquePtr ds(GetGDALDriverManager()->GetDriverByName("GTiff")->Create(map.c_str(), 20, 20, 2, GDT_Byte, nullptr));
    ASSERT_TRUE(ds);
    double gt[6] = {500000, 10, 0, 5300000, 0, -10};
    ds->SetGeoTransform(gt);
    ds->SetProjection(grid.crsWkt.c_str());
    std::vector<std::uint8_t> cls(400), conf(400, 204);
    for (int r = 0; r < 20; ++r)
      for (int c = 0; c < 20; ++c) cls[static_cast<size_t>(r * 20 + c)] = r >= 15 ? 255 : c < 10 ? 1 : 2;
    ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 20, 20, cls.data(), 20, 20, GDT_Byte, 0, 0, nullptr), CE_None);
    ASSERT_EQ(ds->GetRasterBand(2)->RasterIO(GF_Write, 0, 0, 20, 20, conf.data(), 20, 20, GDT_Byte, 0, 0, nullptr), CE_None);
  }
  const std::string reg = dir + "/register.gpkg";
  {
    auto ds = gdal::createVector("GPKG", reg);
    OGRLayer* l = gdal::createLayer(ds.get(), "plots", *gdal::srsFromEpsg(32633), wkbPolygon, {}, reg);
    gdal::addField(l, "GEO_ID", OFTInteger64, reg);
    // x0, y0 (upper left), width, height in metres
    const std::vector<std::array<double, 5>> plots = {
        {7, 500000, 5300000, 90, 90},         // voted for
        {9, 500122, 5299978, 3, 3},            // inside one pixel (row 2, col 12): smaller than a pixel
        {11, 500020, 5299835, 50, 20},         // over no data only
        {13, 600000, 5300000, 50, 50},         // off the tile
        {15, 500088, 5299948, 14, 4}};         // straddles columns 8 and 10 of rows 5: 2 west, 1 east pixel
    for (const auto& p : plots) {
      OGRFeature f(l->GetLayerDefn());
      f.SetField("GEO_ID", static_cast<GIntBig>(p[0]));
      OGRLinearRing ring;
      ring.addPoint(p[1], p[2]);
      ring.addPoint(p[1] + p[3], p[2]);
      ring.addPoint(p[1] + p[3], p[2] - p[4]);
      ring.addPoint(p[1], p[2] - p[4]);
      ring.addPoint(p[1], p[2]);
      OGRPolygon poly;
      poly.addRing(&ring);
      f.SetGeometry(&poly);
      ASSERT_EQ(l->CreateFeature(&f), OGRERR_NONE);
    }
    gdal::close(ds, reg);
  }
  LabelsSection labels;
  labels.parcels = reg;
  labels.id_field = "GEO_ID";
  ParcelSummary voted;
  voted.parcel = 7;
  voted.cls = 0;
  voted.pixels = 81;
  voted.share = 1.0;
  voted.meanConfidence = 0.5;
  const std::string out = dir + "/parcels.gpkg";
  const auto counts = writeParcelFile(labels, {voted}, {"c0", "c1", "c2"}, out, {MappedTile{grid, map}});
  EXPECT_EQ(counts.written, 4);
  EXPECT_EQ(counts.voted, 1);
  EXPECT_EQ(counts.touched, 2);
  EXPECT_EQ(counts.none, 1);

  auto ds = gdal::openVector(out);
  std::map<std::int64_t, OGRFeatureUniquePtr> byId;
  OGRLayer* l = ds->GetLayer(0);
  for (OGRFeatureUniquePtr f(l->GetNextFeature()); f; f.reset(l->GetNextFeature()))
    byId[f->GetFieldAsInteger64("GEO_ID")] = std::move(f);
  ASSERT_EQ(byId.size(), 4u);
  EXPECT_EQ(byId.count(13), 0u);
  EXPECT_EQ(byId[7]->GetFieldAsInteger("pred_class"), 0);  // its own votes, not the map under it
  EXPECT_STREQ(byId[7]->GetFieldAsString("pred_source"), "pixels");
  EXPECT_EQ(byId[9]->GetFieldAsInteger("pred_class"), 2);
  EXPECT_EQ(byId[9]->GetFieldAsInteger64("pred_pixels"), 1);
  EXPECT_STREQ(byId[9]->GetFieldAsString("pred_source"), "touched");
  EXPECT_NEAR(byId[9]->GetFieldAsDouble("pred_conf"), 0.8, 1e-9);
  EXPECT_EQ(byId[15]->GetFieldAsInteger("pred_class"), 1);
  EXPECT_EQ(byId[15]->GetFieldAsInteger64("pred_pixels"), 3);
  EXPECT_NEAR(byId[15]->GetFieldAsDouble("pred_share"), 2.0 / 3.0, 1e-9);
  EXPECT_TRUE(byId[11]->IsFieldNull(byId[11]->GetFieldIndex("pred_class")));
  EXPECT_STREQ(byId[11]->GetFieldAsString("pred_source"), "no mapped pixel");
}
