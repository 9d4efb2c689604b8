#include "labels_fixture.hpp"

#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"

namespace cropmap::test {

std::uint16_t fixtureReflectance(int tile, int period, int band, int row, int col) {
  return static_cast<std::uint16_t>(1000 + 400 * tile + 100 * period + 37 * band + (row * 7 + col * 3) % 61);
}

namespace {

// INVEKOS SNAR_CODE of a use name (configs/legends/tables/eurocrops_at_2021.csv);
// 9999 stands for a code the legend does not know.
std::string snarCode(const std::string& name) {
  static const std::map<std::string, std::string> codes = {
      {"WINTERWEICHWEIZEN", "138"}, {"KOERNERMAIS", "105"}, {"SILOMAIS", "109"}, {"WINTERGERSTE", "110"},
      {"SOJABOHNEN", "308"}, {"MAEHWIESE_WEIDE_ZWEI_NUTZUNGEN", "716"}, {"WINTERRAPS", "301"},
      {"ZUCKERRUEBEN", "651"}, {"SONNENBLUMEN", "307"}, {"SPEISEKARTOFFELN", "524"}, {"WALD", "863"},
      {"XYZ_NEU", "9999"}, {"WINTERKUEMMEL", "536"}, {"DINKEL", "145"}, {"HOPFEN", "821"}};
  return codes.at(name);
}

std::string rect(double x0, double y0, double x1, double y1) {
  auto s = [](double v) { return std::to_string(v); };
  return "POLYGON((" + s(x0) + " " + s(y0) + "," + s(x1) + " " + s(y0) + "," + s(x1) + " " + s(y1) + "," + s(x0) +
         " " + s(y1) + "," + s(x0) + " " + s(y0) + "))";
}

void writeLayer(const std::string& path, int epsg, const std::vector<std::string>& wktUtm,
                const std::vector<std::vector<std::pair<std::string, std::string>>>& fields, bool integerFields) {
  gdal::ensureRegistered();
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GPKG");
  std::filesystem::remove(path);
  gdal::Dataset ds(drv->Create(path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
  if (!ds) throw std::runtime_error(path + ": cannot create");
  auto dst = gdal::srsFromEpsg(epsg);
  auto utm = gdal::srsFromEpsg(32633);
  auto ct = gdal::makeTransform(*utm, *dst, path);
  OGRLayer* layer = ds->CreateLayer("parcels", dst.get(), wkbMultiPolygon, nullptr);
  if (!layer) throw std::runtime_error(path + ": cannot create layer");
  for (const auto& [name, value] : fields.at(0)) {
    const bool isInt = integerFields && name != "SNAR_BEZEICHNUNG";
    OGRFieldDefn f(name.c_str(), isInt ? OFTInteger64 : OFTString);
    gdal::checkOgr(layer->CreateField(&f), path);
  }
  for (size_t i = 0; i < wktUtm.size(); ++i) {
    OGRGeometry* g = nullptr;
    gdal::checkOgr(OGRGeometryFactory::createFromWkt(wktUtm[i].c_str(), utm.get(), &g), "wkt");
    std::unique_ptr<OGRGeometry> geom(g);
    // Densify so that the reprojected polygon follows the drawn straight edges.
    geom->segmentize(5.0);
    gdal::checkOgr(geom->transform(ct.get()), "transform");
    geom.reset(OGRGeometryFactory::forceToMultiPolygon(geom.release()));
    OGRFeature feat(layer->GetLayerDefn());
    for (const auto& [name, value] : fields[i]) feat.SetField(name.c_str(), value.c_str());
    gdal::checkOgr(feat.SetGeometry(geom.get()), "geometry");
    gdal::checkOgr(layer->CreateFeature(&feat), "feature");
  }
}

}  // namespace

LabelsFixture makeLabelsFixture(const std::string& dir, MPI_Comm comm, const std::string& extraYaml) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  LabelsFixture fx;
  fx.dir = dir;
  fx.cube = dir + "/cube.h5";
  fx.parcels = dir + "/parcels.gpkg";
  fx.zones = dir + "/zones.gpkg";
  fx.config = dir + "/config.yaml";
  const double px = 10.0, S = LabelsFixture::kSize;
  const double x0 = LabelsFixture::kX0, y0 = LabelsFixture::kY0, xEnd = x0 + LabelsFixture::kShift + S * px,
               yEnd = y0 - S * px;

  // Parcels: a jittered grid of rectangles over both tiles, edges off the
  // pixel-centre lines so that rasterization is unambiguous, then special shapes.
  const char* codes[] = {"WINTERWEICHWEIZEN", "KOERNERMAIS", "SILOMAIS", "WINTERGERSTE", "SOJABOHNEN",
                         "MAEHWIESE_WEIDE_ZWEI_NUTZUNGEN", "WINTERRAPS", "ZUCKERRUEBEN", "SONNENBLUMEN",
                         "SPEISEKARTOFFELN"};
  std::mt19937 rng(5);
  std::int64_t id = 1000;
  for (double y = y0 - 20; y - 160 > yEnd; y -= 170)
    for (double x = x0 + 20; x + 200 < xEnd; x += 210) {
      const double w = 120 + (rng() % 8) * 10 + 3, h = 100 + (rng() % 6) * 10 + 3;
      const unsigned pick = rng() % 100;
      std::string code = codes[pick % 10];
      if (pick >= 94) code = "WALD";          // ignored
      else if (pick >= 90) code = "XYZ_NEU";  // unknown to the legend
      else if (pick < 3) code = "WINTERKUEMMEL";  // a rare class
      fx.parcels_.push_back({id++, code, rect(x + 2.5, y - h, x + w, y - 2.5)});
    }
  // One pixel wide (erodes away), a triangle, a parcel with a hole, and one
  // straddling the seam where tile B begins.
  fx.parcels_.push_back({id++, "DINKEL", rect(x0 + 1003, yEnd + 200, x0 + 1013, yEnd + 420)});
  fx.parcels_.push_back({id++, "HOPFEN", "POLYGON((500053 5298253,500253 5298253,500153 5298453,500053 5298253))"});
  fx.parcels_.push_back({id++, "SOJABOHNEN",
                         "POLYGON((500403 5298253,500603 5298253,500603 5298453,500403 5298453,500403 5298253),"
                         "(500453 5298303,500553 5298303,500553 5298403,500453 5298403,500453 5298303))"});
  fx.parcels_.push_back({id++, "KOERNERMAIS", rect(x0 + 1800 + 3, yEnd + 60, x0 + 2300 - 3, yEnd + 180)});

  // The register carries SNAR_CODE and its name, as the INVEKOS download does;
  // the fixture's parcels keep the code the legend is keyed on.
  std::vector<std::string> names;
  for (auto& p : fx.parcels_) {
    names.push_back(p.code);
    p.code = snarCode(p.code);
  }
  if (rank == 0) {
    std::filesystem::create_directories(dir);
    std::vector<std::string> wkts;
    std::vector<std::vector<std::pair<std::string, std::string>>> fields;
    for (size_t i = 0; i < fx.parcels_.size(); ++i) {
      const auto& p = fx.parcels_[i];
      wkts.push_back(p.wktUtm);
      fields.push_back({{"SNAR_CODE", p.code}, {"SNAR_BEZEICHNUNG", names[i]}, {"FS_KENNUNG", std::to_string(p.id)}});
    }
    writeLayer(fx.parcels, 31287, wkts, fields, true);
    // Zones: two regions (west, east) of four vertical strips each.
    std::vector<std::string> zw;
    std::vector<std::vector<std::pair<std::string, std::string>>> zf;
    const double stripW = (xEnd - x0) / 8;
    for (int i = 0; i < 8; ++i) {
      zw.push_back(rect(x0 + i * stripW, yEnd - 100, x0 + (i + 1) * stripW, y0 + 100));
      zf.push_back({{"region", std::to_string(i / 4 + 1)}, {"zone", std::to_string(i % 4 + 1)}});
    }
    writeLayer(fx.zones, 31287, zw, zf, true);
    std::ofstream cfg(fx.config);
    cfg << "run:\n  name: fixture\n  output: " << dir << "\n  seed: 42\n"
        << "composite:\n  block_size: 64\n  chunk: 32\n"
        << "labels:\n  parcels: " << fx.parcels << "\n  code_field: SNAR_CODE\n  id_field: FS_KENNUNG\n"
        << "  legend: " << CROPMAP_SOURCE_DIR << "/configs/legends/austria.yaml\n  erosion_px: 1\n"
        << "split:\n  mode: region_holdout\n  zones: " << fx.zones << "\n  holdout: 1\n  val_fraction: 0.34\n"
        << "  folds: 2\n  buffer_m: 30\n"
        << "sample:\n  train_size: 3000\n  min_per_class: 40\n  eval_size: 0\n"
        << extraYaml;
  }
  MPI_Barrier(comm);

  CubeLayout layout;
  layout.periods = {"2022-01-01", "2022-02-01", "2022-03-01"};
  layout.periodEnds = {"2022-02-01", "2022-03-01", "2022-04-01"};
  layout.bands = {"B04", "B08"};
  layout.bandOffsets = {0.0, 0.0};
  layout.chunk = LabelsFixture::kChunk;
  std::vector<TileGrid> tiles;
  auto srs = gdal::srsFromEpsg(32633);
  for (int t = 0; t < 2; ++t) {
    TileGrid g;
    g.name = t == 0 ? "33UVP" : "33UWP";
    g.crsWkt = gdal::wktOf(*srs);
    g.epsg = 32633;
    g.geotransform = {x0 + t * LabelsFixture::kShift, px, 0, y0, 0, -px};
    g.width = g.height = LabelsFixture::kSize;
    tiles.push_back(g);
  }
  Cube cube = Cube::create(fx.cube, comm, layout, tiles);
  int size = 1;
  MPI_Comm_size(comm, &size);
  // Each rank writes whole tiles' rows of chunk height, round-robin.
  const int P = LabelsFixture::kPeriods, B = LabelsFixture::kBands, N = LabelsFixture::kSize, c = LabelsFixture::kChunk;
  int unit = 0;
  for (int t = 0; t < 2; ++t)
    for (int r0 = 0; r0 < N; r0 += c, ++unit) {
      if (unit % size != rank) continue;
      std::vector<std::uint16_t> buf(static_cast<size_t>(P * B * c * N));
      for (int p = 0; p < P; ++p)
        for (int b = 0; b < B; ++b)
          for (int r = 0; r < c; ++r)
            for (int col = 0; col < N; ++col)
              buf[((static_cast<size_t>(p) * B + b) * c + r) * N + col] = fixtureReflectance(t, p, b, r0 + r, col);
      cube.writeReflectance(tiles[t].name, Window{r0, 0, c, N}, buf.data());
    }
  cube.close();
  return fx;
}

}  // namespace cropmap::test
