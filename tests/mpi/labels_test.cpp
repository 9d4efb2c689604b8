// `cropmap labels` on the hand-made fixture region, in process at 2 and 4
// ranks: the label and parcel layers against an independent pixel-centre
// rasterization of the drawn shapes (point-in-polygon per pixel centre, then
// brute-force erosion), the per-tile summary, and reprojection against
// hand-implemented geodesy.
#include <gtest/gtest.h>
#include <mpi.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "kernels/split_rules.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/legend.hpp"
#include "stages/labels/labels.hpp"
#include "support/labels_fixture.hpp"
#include "support/test_support.hpp"
#include "tests/mpi/mpi_test_support.hpp"

using namespace cropmap;

namespace {

CommandContext contextFor(const std::string& config, MpiRuntime& rt) {
  CommandContext ctx;
  ctx.config = Config::load(config);
  ctx.mpi = &rt;
  return ctx;
}

// Independent expectation: the drawn polygon (in UTM) containing each pixel
// centre, the last drawn winning, on the tile grid grown by r pixels.
std::vector<std::int64_t> expectedIds(const test::LabelsFixture& fx, int tile, int r) {
  const int n = test::LabelsFixture::kSize + 2 * r;
  std::vector<std::unique_ptr<OGRGeometry>> geoms;
  for (const auto& p : fx.parcels_) {
    OGRGeometry* g = nullptr;
    EXPECT_EQ(OGRGeometryFactory::createFromWkt(p.wktUtm.c_str(), nullptr, &g), OGRERR_NONE);
    geoms.emplace_back(g);
  }
  std::vector<std::int64_t> ids(static_cast<size_t>(n * n), 0);
  const double x0 = test::LabelsFixture::kX0 + tile * test::LabelsFixture::kShift, y0 = test::LabelsFixture::kY0;
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      OGRPoint pt(x0 + (x - r + 0.5) * 10.0, y0 - (y - r + 0.5) * 10.0);
      for (size_t i = 0; i < geoms.size(); ++i) {
        OGREnvelope e;
        geoms[i]->getEnvelope(&e);
        if (pt.getX() < e.MinX || pt.getX() > e.MaxX || pt.getY() < e.MinY || pt.getY() > e.MaxY) continue;
        if (geoms[i]->Contains(&pt)) ids[static_cast<size_t>(y) * n + x] = static_cast<std::int64_t>(i + 1);
      }
    }
  return ids;
}

// Hand-written transverse Mercator (Krüger series, 3 terms: better than 1 mm
// within a zone) on WGS 84, for checking PROJ's answer independently.
std::array<double, 2> utmWgs84(double lonDeg, double latDeg, int zone) {
  const double a = 6378137.0, f = 1 / 298.257223563, k0 = 0.9996, pi = std::acos(-1.0);
  const double n = f / (2 - f), A = a / (1 + n) * (1 + n * n / 4 + n * n * n * n / 64);
  const double al[3] = {n / 2 - 2 * n * n / 3 + 5 * n * n * n / 16, 13 * n * n / 48 - 3 * n * n * n / 5,
                        61 * n * n * n / 240};
  const double phi = latDeg * pi / 180, dl = (lonDeg - (zone * 6 - 183)) * pi / 180;
  const double c = 2 * std::sqrt(n) / (1 + n);
  const double t = std::sinh(std::atanh(std::sin(phi)) - c * std::atanh(c * std::sin(phi)));
  const double xi = std::atan(t / std::cos(dl)), eta = std::atanh(std::sin(dl) / std::sqrt(1 + t * t));
  double E = eta, N = xi;
  for (int j = 1; j <= 3; ++j) {
    E += al[j - 1] * std::cos(2 * j * xi) * std::sinh(2 * j * eta);
    N += al[j - 1] * std::sin(2 * j * xi) * std::cosh(2 * j * eta);
  }
  return {500000 + k0 * A * E, k0 * A * N};
}

// MGI (Bessel 1841) geographic to WGS 84 by the 7-parameter Helmert
// transformation EPSG:1618 (position vector convention).
std::array<double, 2> mgiToWgs84(double lonDeg, double latDeg) {
  const double pi = std::acos(-1.0), sec = pi / (180 * 3600);
  auto toEcef = [](double a, double f, double lon, double lat) {
    const double e2 = f * (2 - f), N = a / std::sqrt(1 - e2 * std::sin(lat) * std::sin(lat));
    return std::array<double, 3>{N * std::cos(lat) * std::cos(lon), N * std::cos(lat) * std::sin(lon),
                                 N * (1 - e2) * std::sin(lat)};
  };
  const auto X = toEcef(6377397.155, 1 / 299.1528128, lonDeg * pi / 180, latDeg * pi / 180);
  const double tx = 577.326, ty = 90.129, tz = 463.919, rx = 5.137 * sec, ry = 1.474 * sec, rz = 5.297 * sec,
               s = 1 + 2.4232e-6;
  const double x = tx + s * (X[0] - rz * X[1] + ry * X[2]), y = ty + s * (rz * X[0] + X[1] - rx * X[2]),
               z = tz + s * (-ry * X[0] + rx * X[1] + X[2]);
  const double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f);
  const double lon = std::atan2(y, x), p = std::hypot(x, y);
  double lat = std::atan2(z, p * (1 - e2));
  for (int i = 0; i < 10; ++i) {
    const double N = a / std::sqrt(1 - e2 * std::sin(lat) * std::sin(lat));
    lat = std::atan2(z + e2 * N * std::sin(lat), p);
  }
  return {lon * 180 / pi, lat * 180 / pi};
}

}  // namespace

TEST(Labels, MatchIndependentRasterizationAndErosion) {
  int argc = 0;
  char** argv = nullptr;
  MpiRuntime rt(&argc, &argv);
  const auto fx = test::makeLabelsFixture(test::sharedDir("labels"), MPI_COMM_WORLD);
  auto ctx = contextFor(fx.config, rt);
  ASSERT_EQ(runLabels(ctx), 0);

  const Legend legend = Legend::load(ctx.config.labels.legend);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) return;  // the brute-force reference is slow; one rank checks the file
  Cube cube = Cube::open(fx.cube, MPI_COMM_SELF, false);
  const int N = test::LabelsFixture::kSize, r = ctx.config.labels.erosion_px;
  std::int64_t labelled = 0, borderParcelTiles = 0;
  const std::int64_t seamId = fx.parcels_.back().id;
  for (int t = 0; t < 2; ++t) {
    const auto& name = cube.tiles()[t].name;
    std::vector<std::int16_t> label(static_cast<size_t>(N * N));
    std::vector<std::int64_t> parcel(static_cast<size_t>(N * N));
    cube.readLayer<std::int16_t>(name, "label", Window{0, 0, N, N}, label.data());
    cube.readLayer<std::int64_t>(name, "parcel", Window{0, 0, N, N}, parcel.data());
    const auto ids = expectedIds(fx, t, r);
    const int M = N + 2 * r;
    bool seamSeen = false;
    for (int y = 0; y < N; ++y)
      for (int x = 0; x < N; ++x) {
        const std::int64_t id = ids[static_cast<size_t>(y + r) * M + x + r];
        bool keep = id != 0;
        for (int dy = -r; dy <= r && keep; ++dy)
          for (int dx = -r; dx <= r && keep; ++dx) keep = ids[static_cast<size_t>(y + r + dy) * M + x + r + dx] == id;
        int cls = -1;
        std::int64_t pid = 0;
        if (keep) {
          const auto& p = fx.parcels_[static_cast<size_t>(id - 1)];
          cls = legend.classOf(p.code);
          if (cls >= 0) pid = p.id;
          else cls = -1;
        }
        const size_t o = static_cast<size_t>(y) * N + x;
        ASSERT_EQ(label[o], cls) << name << " row " << y << " col " << x;
        ASSERT_EQ(parcel[o], pid) << name << " row " << y << " col " << x;
        labelled += cls >= 0;
        seamSeen = seamSeen || pid == seamId;
      }
    borderParcelTiles += seamSeen;
  }
  EXPECT_GT(labelled, 10000);
  EXPECT_EQ(borderParcelTiles, 2) << "the parcel across the tile seam is labelled on both tiles";
  cube.close();

  // The summary: the one-pixel-wide parcel is eroded away, the unknown code is named.
  {
    const std::string js = test::readFile(fx.dir + "/labels_summary.json");
    EXPECT_NE(js.find("\"9999\""), std::string::npos);
    EXPECT_NE(js.find("\"eroded_away\": 1"), std::string::npos) << js.substr(0, 2000);
    EXPECT_NE(js.find("\"name\": \"winter caraway\""), std::string::npos);
  }
}

TEST(Labels, ReprojectionAgainstHandComputedGeodesy) {
  Legend legend = Legend::load(std::string(CROPMAP_SOURCE_DIR) + "/configs/legends/austria.yaml");
  const auto fx = test::makeLabelsFixture(test::sharedDir("reproj"), MPI_COMM_WORLD);
  LabelsSection opts;
  opts.parcels = fx.parcels;
  opts.code_field = "SNAR_BEZEICHNUNG";
  ParcelSource src(opts, legend);
  TileGrid tile;
  tile.name = "33UVP";
  tile.crsWkt = gdal::wktOf(*gdal::srsFromEpsg(32633));
  // The false origin of EPSG:31287 is (13 deg 20', 47 deg 30') on MGI exactly.
  const auto wgs = mgiToWgs84(13.0 + 20.0 / 60, 47.5);
  const auto expect = utmWgs84(wgs[0], wgs[1], 33);
  const auto got = src.toTile(tile, 400000, 400000);
  EXPECT_NEAR(got[0], expect[0], 3.0) << "easting";
  EXPECT_NEAR(got[1], expect[1], 3.0) << "northing";
  // Far from the origin too (Vienna area).
  {
    OGRSpatialReference mgiLcc;
    ASSERT_EQ(mgiLcc.importFromEPSG(31287), OGRERR_NONE);
    mgiLcc.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    OGRSpatialReference mgiGeo;
    ASSERT_EQ(mgiGeo.CopyGeogCSFrom(&mgiLcc), OGRERR_NONE);
    mgiGeo.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    auto ct = gdal::makeTransform(mgiGeo, mgiLcc, "test");
    double x = 16.37, y = 48.2;  // MGI geographic, projected by PROJ's Lambert (same datum: no shift)
    ASSERT_TRUE(ct->Transform(1, &x, &y));
    const auto w = mgiToWgs84(16.37, 48.2);
    const auto e = utmWgs84(w[0], w[1], 33);
    const auto g = src.toTile(tile, x, y);
    EXPECT_NEAR(g[0], e[0], 3.0);
    EXPECT_NEAR(g[1], e[1], 3.0);
  }
}
