// The map writer on hand-made blocks: parts assembled into COG and tiled
// GeoTIFF maps that carry the tile grid exactly, the legend's colours and
// class names, no data where a block had none; partial blocks at the tile's
// edges; refusal to assemble an incomplete tile; the PNG quick-look.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include <filesystem>

#include "pipeline/gdal_io.hpp"
#include "stages/predict/map_writer.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
using namespace cropmap::mapping;
namespace fs = std::filesystem;

namespace {

// A grid whose sides are not multiples of the block, with a geotransform whose
// origin is not a round number (decimal digits that a float text round trip could lose).
TileGrid testGrid() {
  TileGrid g;
  g.name = "33UVP";
  g.crsWkt = gdal::wktOf(*gdal::srsFromEpsg(32633));
  g.epsg = 32633;
  g.geotransform = {499980.123456789, 10, 0, 5400000.987654321, 0, -10};
  g.width = 70;
  g.height = 45;
  return g;
}

MapStyle testStyle(bool stop, const std::string& format) {
  MapStyle s;
  s.classNames = {"grassland", "maize", "winter wheat"};
  s.colours = {{{77, 175, 74}}, {{255, 255, 51}}, {{228, 26, 28}}};
  s.periods = {"2022-01-01", "2022-02-01"};
  s.stopBand = stop;
  s.format = format;
  return s;
}

// Class of a pixel in the hand-made map; blocks at (32, 32) are all no data.
std::uint8_t classAt(int r, int c) { return static_cast<std::uint8_t>((r * 7 + c * 3) % 3); }
bool noDataBlock(const Window& w) { return w.row0 == 32 && w.col0 == 32; }

std::vector<std::pair<Window, std::string>> writeParts(const std::string& dir, const TileGrid& g, int block,
                                                        int bands) {
  std::vector<std::pair<Window, std::string>> parts;
  for (int r0 = 0; r0 < g.height; r0 += block)
    for (int c0 = 0; c0 < g.width; c0 += block) {
      Window w{r0, c0, std::min(block, g.height - r0), std::min(block, g.width - c0)};
      BlockMap b(w, bands);
      if (!noDataBlock(w))
        for (int r = 0; r < w.rows; ++r)
          for (int c = 0; c < w.cols; ++c) {
            const size_t i = static_cast<size_t>(r * w.cols + c);
            b.band(0)[i] = classAt(r0 + r, c0 + c);
            b.band(1)[i] = static_cast<std::uint8_t>((r0 + r + c0 + c) % 255);
            if (bands > 2) b.band(2)[i] = static_cast<std::uint8_t>((r0 + r) % 2);
          }
      const std::string path = partPath(dir, g.name, w);
      writePart(path, g, b);
      parts.emplace_back(w, path);
    }
  return parts;
}

std::vector<std::uint8_t> readBand(GDALDataset* ds, int band) {
  std::vector<std::uint8_t> v(static_cast<size_t>(ds->GetRasterXSize()) * static_cast<size_t>(ds->GetRasterYSize()));
  gdal::readWindow(ds->GetRasterBand(band), 0, 0, ds->GetRasterXSize(), ds->GetRasterYSize(), v.data(),
                   ds->GetRasterXSize(), ds->GetRasterYSize(), "test");
  return v;
}

void expectMap(const std::string& path, const TileGrid& g, const MapStyle& style) {
  auto ds = gdal::openRaster(path);
  ASSERT_EQ(ds->GetRasterXSize(), g.width);
  ASSERT_EQ(ds->GetRasterYSize(), g.height);
  ASSERT_EQ(ds->GetRasterCount(), style.bands());
  // Georeferencing: the cube's tile grid, bit for bit, and the same CRS.
  EXPECT_EQ(gdal::geoTransformOf(ds.get(), path), g.geotransform);
  const OGRSpatialReference* srs = ds->GetSpatialRef();
  ASSERT_NE(srs, nullptr);
  EXPECT_TRUE(srs->IsSame(gdal::srsFromWkt(g.crsWkt).get()));
  EXPECT_EQ(gdal::epsgOf(*srs), 32633);

  GDALRasterBand* cls = ds->GetRasterBand(1);
  int hasNoData = 0;
  EXPECT_EQ(cls->GetNoDataValue(&hasNoData), 255.0);
  EXPECT_TRUE(hasNoData);
  EXPECT_EQ(cls->GetRasterDataType(), GDT_Byte);
  GDALColorTable* ct = cls->GetColorTable();
  ASSERT_NE(ct, nullptr);
  for (size_t k = 0; k < style.colours.size(); ++k) {
    const GDALColorEntry* e = ct->GetColorEntry(static_cast<int>(k));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->c1, style.colours[k][0]);
    EXPECT_EQ(e->c2, style.colours[k][1]);
    EXPECT_EQ(e->c3, style.colours[k][2]);
  }
  char** names = cls->GetCategoryNames();
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(CSLCount(names), 3);
  EXPECT_STREQ(names[2], "winter wheat");
  EXPECT_STREQ(cls->GetMetadataItem("CLASS_NAMES"), "grassland;maize;winter wheat");

  EXPECT_EQ(cls->GetColorInterpretation(), GCI_PaletteIndex);
  for (int b = 2; b <= style.bands(); ++b)
    EXPECT_NE(ds->GetRasterBand(b)->GetColorInterpretation(), GCI_AlphaBand) << "band " << b << " is data, not alpha";
  EXPECT_STREQ(ds->GetRasterBand(2)->GetDescription(), "confidence");
  const auto c = readBand(ds.get(), 1), conf = readBand(ds.get(), 2);
  int mismatches = 0, noData = 0;
  for (int r = 0; r < g.height; ++r)
    for (int col = 0; col < g.width; ++col) {
      const size_t i = static_cast<size_t>(r * g.width + col);
      const bool nd = r >= 32 && col >= 32 && r < 48 && col < 64;
      if (nd) {
        noData += c[i] == 255 && conf[i] == 255;
      } else {
        mismatches += c[i] != classAt(r, col) || conf[i] != (r + col) % 255;
      }
    }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(noData, 13 * 32);  // the no-data block is partial: rows 32..44, cols 32..63
  if (style.stopBand) {
    const auto stop = readBand(ds.get(), 3);
    EXPECT_EQ(stop[static_cast<size_t>(3 * g.width + 5)], 1);
    EXPECT_STREQ(ds->GetRasterBand(3)->GetMetadataItem("PERIODS"), "2022-01-01;2022-02-01");
  }
}

}  // namespace

TEST(MapWriter, ConfidenceByte) {
  EXPECT_EQ(confidenceByte(0.0f), 0);
  EXPECT_EQ(confidenceByte(0.5f), 128);
  EXPECT_EQ(confidenceByte(0.998f), 254);
  EXPECT_EQ(confidenceByte(1.0f), 254);  // 255 is no data
  EXPECT_EQ(confidenceByte(std::nanf("")), 0);
}

TEST(MapWriter, CogCarriesGridLegendAndNoData) {
  const std::string dir = test::scratchDir("map_writer_cog");
  const TileGrid g = testGrid();
  const MapStyle style = testStyle(false, "cog");
  const auto parts = writeParts(dir + "/parts", g, 32, style.bands());
  EXPECT_EQ(parts.size(), 6u);  // 3 x 2 blocks, the right and bottom ones partial
  const std::string map = dir + "/maps/33UVP.tif";
  assembleTile(g, parts, style, map);
  expectMap(map, g, style);
  auto ds = gdal::openRaster(map);
  EXPECT_STREQ(ds->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG");
  // A tile larger than a COG block gets overviews, and the COG layout stays.
  TileGrid big = g;
  big.width = big.height = 600;
  BlockMap b(Window{0, 0, 600, 600}, 2);
  std::fill(b.band(0), b.band(0) + 600 * 600, 2);
  const std::string part = partPath(dir + "/parts", "big", b.window);
  writePart(part, big, b);
  assembleTile(big, {{b.window, part}}, style, dir + "/maps/big.tif");
  auto bds = gdal::openRaster(dir + "/maps/big.tif");
  EXPECT_STREQ(bds->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG");
  for (const auto& m : {map, dir + "/maps/big.tif"}) {
    const auto v = test::validateCog(m);
    EXPECT_EQ(v.exitCode, 0) << m << ": " << v.output;
  }
  ASSERT_EQ(bds->GetRasterBand(1)->GetOverviewCount(), 1);  // 300 x 300 fits one 512 block
  EXPECT_NE(bds->GetRasterBand(2)->GetColorInterpretation(), GCI_AlphaBand);
  EXPECT_EQ(bds->GetRasterBand(1)->GetColorInterpretation(), GCI_PaletteIndex);
  // Nothing left under a temporary name.
  for (const auto& e : fs::directory_iterator(dir + "/maps"))
    EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos) << e.path();
}

TEST(MapWriter, TiledGeoTiffWithStopBandAndOverviews) {
  const std::string dir = test::scratchDir("map_writer_gtiff");
  TileGrid g = testGrid();
  const MapStyle style = testStyle(true, "gtiff");
  const auto parts = writeParts(dir + "/parts", g, 32, style.bands());
  const std::string map = dir + "/maps/33UVP.tif";
  assembleTile(g, parts, style, map);
  expectMap(map, g, style);

  // A grid large enough for overviews: one block, all class 1.
  TileGrid big = g;
  big.width = big.height = 600;
  BlockMap b(Window{0, 0, 600, 600}, 3);
  std::fill(b.band(0), b.band(0) + 600 * 600, 1);
  const std::string part = partPath(dir + "/parts", "big", b.window);
  writePart(part, big, b);
  assembleTile(big, {{b.window, part}}, style, dir + "/maps/big.tif");
  auto ds = gdal::openRaster(dir + "/maps/big.tif");
  int bx = 0, by = 0;
  ds->GetRasterBand(1)->GetBlockSize(&bx, &by);
  EXPECT_EQ(bx, 256);
  EXPECT_EQ(by, 256);
  ASSERT_EQ(ds->GetRasterBand(1)->GetOverviewCount(), 2);  // 300 and 150: down to less than a block
  std::vector<std::uint8_t> ov(300 * 300);
  GDALRasterBand* o = ds->GetRasterBand(1)->GetOverview(0);
  gdal::readWindow(o, 0, 0, 300, 300, ov.data(), 300, 300, "overview");
  EXPECT_EQ(std::count(ov.begin(), ov.end(), 1), 300 * 300);  // nearest: never a blended class id
}

TEST(MapWriter, RefusesIncompleteTileAndLeavesNoFinalFile) {
  const std::string dir = test::scratchDir("map_writer_incomplete");
  const TileGrid g = testGrid();
  const MapStyle style = testStyle(false, "cog");
  auto parts = writeParts(dir + "/parts", g, 32, style.bands());
  const std::string map = dir + "/maps/33UVP.tif";
  auto missing = parts;
  fs::remove(missing[3].second);
  EXPECT_THROW(assembleTile(g, missing, style, map), std::runtime_error);
  missing.erase(missing.begin() + 3);
  EXPECT_THROW(assembleTile(g, missing, style, map), std::runtime_error);
  EXPECT_FALSE(fs::exists(map));
}

TEST(MapWriter, PartRoundTripAndQuicklook) {
  const std::string dir = test::scratchDir("map_writer_quicklook");
  const TileGrid g = testGrid();
  const MapStyle style = testStyle(false, "cog");
  const auto parts = writeParts(dir + "/parts", g, 32, style.bands());
  // A part georeferenced to its own window of the grid.
  auto pds = gdal::openRaster(parts[1].second);
  const auto pgt = gdal::geoTransformOf(pds.get(), parts[1].second);
  EXPECT_DOUBLE_EQ(pgt[0], g.geotransform[0] + 32 * 10);
  EXPECT_DOUBLE_EQ(pgt[3], g.geotransform[3]);
  const BlockMap back = readPart(parts[4].second, parts[4].first, 2);
  EXPECT_EQ(back.window.row0, 32);
  EXPECT_EQ(back.band(0)[0], 255);  // (32, 32) is the no-data block
  EXPECT_THROW(readPart(parts[4].second, parts[4].first, 3), std::runtime_error);

  const std::string map = dir + "/maps/33UVP.tif", png = dir + "/maps/33UVP.png";
  assembleTile(g, parts, style, map);
  writeQuicklook(map, png, 35, style);
  auto q = gdal::openRaster(png);
  EXPECT_EQ(std::string(q->GetDriver()->GetDescription()), "PNG");
  EXPECT_EQ(q->GetRasterXSize(), 35);
  EXPECT_EQ(q->GetRasterYSize(), 23);  // 45 * 35 / 70, rounded
  GDALColorTable* ct = q->GetRasterBand(1)->GetColorTable();
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(ct->GetColorEntry(1)->c1, 255);
  EXPECT_EQ(ct->GetColorEntry(2)->c1, 228);
  const auto pixels = readBand(q.get(), 1);
  EXPECT_EQ(pixels[0], classAt(0, 0));
  EXPECT_EQ(pixels[22 * 35 + 20], 255);  // row 44, column 41: inside the no-data block
  EXPECT_EQ(pixels.back(), classAt(44, 69));
}

// An early-classification model adds the stop band: its COG map keeps the
// class band's colour table and names too (every format x band count).
TEST(MapWriter, EveryMapHasItsColourTableAndClassNames) {
  for (const char* format : {"cog", "gtiff"})
    for (bool stop : {false, true}) {
      const std::string dir = test::scratchDir(std::string("map_writer_palette_") + format + (stop ? "_stop" : ""));
      const TileGrid g = testGrid();
      const MapStyle style = testStyle(stop, format);
      const auto parts = writeParts(dir + "/parts", g, 32, style.bands());
      const std::string map = dir + "/maps/33UVP.tif";
      assembleTile(g, parts, style, map);
      SCOPED_TRACE(std::string(format) + (stop ? " with stop band" : ""));
      expectMap(map, g, style);
    }
}

TEST(MapWriter, GtiffFormatIsNotACog) {
  // The validator must be able to say no: a plain tiled GeoTIFF with
  // overviews after the data fails it.
  const std::string dir = test::scratchDir("map_writer_not_cog");
  TileGrid big = testGrid();
  big.width = big.height = 600;
  BlockMap b(Window{0, 0, 600, 600}, 2);
  std::fill(b.band(0), b.band(0) + 600 * 600, 1);
  const std::string part = partPath(dir + "/parts", "big", b.window);
  writePart(part, big, b);
  assembleTile(big, {{b.window, part}}, testStyle(false, "gtiff"), dir + "/big.tif");
  const auto v = test::validateCog(dir + "/big.tif");
  EXPECT_NE(v.exitCode, 0);
  EXPECT_NE(v.output.find("is NOT a valid cloud optimized GeoTIFF"), std::string::npos) << v.output;
}

TEST(MapWriter, QgisStyleListsTheLegend) {
  MapStyle style = testStyle(false, "cog");
  style.classNames[1] = "maize & <silage>";
  const std::string qml = qmlText(style);
  EXPECT_EQ(qmlPath("/x/maps/33UVP.tif"), "/x/maps/33UVP.qml");
  EXPECT_NE(qml.find("<rasterrenderer type=\"paletted\" band=\"1\""), std::string::npos) << qml;
  EXPECT_EQ(test::countOccurrences(qml, "<paletteEntry "), style.classNames.size());
  char colour[8];
  const auto& c = style.colours[1];
  std::snprintf(colour, sizeof colour, "#%02x%02x%02x", c[0], c[1], c[2]);
  EXPECT_NE(qml.find(std::string("value=\"1\" color=\"") + colour + "\" alpha=\"255\" label=\"maize &amp; &lt;silage&gt;\""),
            std::string::npos)
      << qml;
  EXPECT_EQ(qml.find("value=\"255\""), std::string::npos);  // no data stays transparent
}
