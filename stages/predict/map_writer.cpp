#include "map_writer.hpp"

#include <gdal_priv.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"
#include "pipeline/json.hpp"
#include "pipeline/markup.hpp"

namespace cropmap::mapping {

namespace fs = std::filesystem;

std::uint8_t confidenceByte(float p) {
  if (!(p > 0.0f)) return 0;  // also catches NaN
  const long v = std::lround(static_cast<double>(p) * 255.0);
  return static_cast<std::uint8_t>(std::min<long>(v, 254));
}

std::string partPath(const std::string& partsDir, const std::string& tile, const Window& w) {
  return (fs::path(partsDir) / tile / ("r" + std::to_string(w.row0) + "_c" + std::to_string(w.col0) + ".tif"))
      .string();
}

namespace {

gdal::GeoTransform windowTransform(const TileGrid& g, const Window& w) {
  const auto& t = g.geotransform;
  return {t[0] + w.col0 * t[1] + w.row0 * t[2], t[1], t[2], t[3] + w.col0 * t[4] + w.row0 * t[5], t[4], t[5]};
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Palette of the class band: legend colours, black for unused ids, and a
// transparent entry for no data.
GDALColorTable colourTable(const MapStyle& style) {
  GDALColorTable ct;
  for (int i = 0; i < 256; ++i) {
    GDALColorEntry e{0, 0, 0, 255};
    if (i < static_cast<int>(style.colours.size())) {
      const auto& c = style.colours[static_cast<size_t>(i)];
      e = GDALColorEntry{c[0], c[1], c[2], 255};
    }
    if (i == kNoData) e.c4 = 0;
    ct.SetColorEntry(i, &e);
  }
  return ct;
}

void styleClassBand(GDALRasterBand* band, const MapStyle& style, const std::string& context) {
  GDALColorTable ct = colourTable(style);
  gdal::check(band->SetColorTable(&ct), context + ": set colour table");
  gdal::check(band->SetColorInterpretation(GCI_PaletteIndex), context + ": set colour interpretation");
  // Category names reach GeoTIFF readers through the .aux.xml sidecar; the
  // same names go into the band metadata, which the TIFF itself carries.
  std::vector<std::string> names(style.classNames);
  CPLStringList list;
  for (const auto& n : names) list.AddString(n.c_str());
  gdal::check(band->SetCategoryNames(list.List()), context + ": set category names");
  gdal::check(band->SetMetadataItem("CLASS_NAMES", joined(names, ";").c_str()), context + ": set metadata");
}

}  // namespace

void writePart(const std::string& path, const TileGrid& grid, const BlockMap& block) {
  fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = gdal::temporaryName(path);
  const Window& w = block.window;
  {
    auto ds = gdal::createRaster("GTiff", tmp, w.cols, w.rows, block.bands, gdal::PixelType::u8,
                                 {"INTERLEAVE=BAND"});
    gdal::setGeoreference(ds.get(), windowTransform(grid, w), *gdal::srsFromWkt(grid.crsWkt), tmp);
    for (int b = 0; b < block.bands; ++b) {
      GDALRasterBand* band = ds->GetRasterBand(b + 1);
      gdal::check(band->SetNoDataValue(kNoData), tmp + ": set no-data value");
      gdal::writeWindow(ds.get(), b + 1, 0, 0, w.cols, w.rows, block.band(b), tmp);
    }
    gdal::close(ds, tmp);
  }
  gdal::commitRaster(tmp, path);
}

BlockMap readPart(const std::string& path, const Window& w, int bands) {
  auto ds = gdal::openRaster(path);
  if (ds->GetRasterXSize() != w.cols || ds->GetRasterYSize() != w.rows || ds->GetRasterCount() != bands)
    throw std::runtime_error(path + ": part has " + std::to_string(ds->GetRasterXSize()) + "x" +
                             std::to_string(ds->GetRasterYSize()) + "x" + std::to_string(ds->GetRasterCount()) +
                             ", expected " + std::to_string(w.cols) + "x" + std::to_string(w.rows) + "x" +
                             std::to_string(bands) + "; delete it and rerun with --resume");
  BlockMap block(w, bands);
  for (int b = 0; b < bands; ++b)
    gdal::readWindow(ds->GetRasterBand(b + 1), 0, 0, w.cols, w.rows, block.band(b), w.cols, w.rows, path);
  return block;
}

void assembleTile(const TileGrid& grid, const std::vector<std::pair<Window, std::string>>& parts,
                  const MapStyle& style, const std::string& finalPath) {
  const std::string context = "map of tile " + grid.name;
  // The parts must tile the grid exactly: an uncovered pixel would silently
  // read as 0 (a class) in the VRT.
  std::int64_t covered = 0;
  for (const auto& [w, path] : parts) {
    if (w.row0 < 0 || w.col0 < 0 || w.row0 + w.rows > grid.height || w.col0 + w.cols > grid.width)
      throw std::runtime_error(context + ": part " + path + " lies outside the tile grid");
    if (!fs::exists(path)) throw std::runtime_error(context + ": missing part " + path);
    covered += w.pixels();
  }
  if (covered != static_cast<std::int64_t>(grid.width) * grid.height)
    throw std::runtime_error(context + ": parts cover " + std::to_string(covered) + " of " +
                             std::to_string(static_cast<std::int64_t>(grid.width) * grid.height) + " pixels");

  static const char* kDescriptions[] = {"class", "confidence", "stop_period"};
  std::ostringstream xml;
  xml << "<VRTDataset rasterXSize=\"" << grid.width << "\" rasterYSize=\"" << grid.height << "\">\n";
  for (int b = 0; b < style.bands(); ++b) {
    xml << " <VRTRasterBand dataType=\"Byte\" band=\"" << b + 1 << "\">\n"
        << "  <NoDataValue>" << int(kNoData) << "</NoDataValue>\n";
    for (const auto& [w, path] : parts) {
      xml << "  <SimpleSource><SourceFilename relativeToVRT=\"0\">" << xmlEscape(fs::absolute(path).string())
          << "</SourceFilename><SourceBand>" << b + 1 << "</SourceBand>"
          << "<SourceProperties RasterXSize=\"" << w.cols << "\" RasterYSize=\"" << w.rows
          << "\" DataType=\"Byte\" BlockXSize=\"" << w.cols << "\" BlockYSize=\"1\"/>"
          << "<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"" << w.cols << "\" ySize=\"" << w.rows << "\"/>"
          << "<DstRect xOff=\"" << w.col0 << "\" yOff=\"" << w.row0 << "\" xSize=\"" << w.cols << "\" ySize=\""
          << w.rows << "\"/></SimpleSource>\n";
    }
    xml << " </VRTRasterBand>\n";
  }
  xml << "</VRTDataset>\n";

  auto vrt = gdal::openVrtXml(xml.str(), context);
  // Georeferencing straight from the cube's tile grid, so the map lands on the
  // very pixels the cube describes.
  gdal::setGeoreference(vrt.get(), grid.geotransform, *gdal::srsFromWkt(grid.crsWkt), context);
  styleClassBand(vrt->GetRasterBand(1), style, context);
  for (int b = 0; b < style.bands(); ++b) {
    vrt->GetRasterBand(b + 1)->SetDescription(kDescriptions[b]);
    // Without this, GeoTIFF writers take a second band for alpha and viewers
    // would hide low-confidence pixels.
    if (b > 0)
      gdal::check(vrt->GetRasterBand(b + 1)->SetColorInterpretation(GCI_Undefined),
                  context + ": set colour interpretation");
  }
  gdal::check(vrt->GetRasterBand(2)->SetMetadataItem("SCALE_DENOMINATOR", "255"), context + ": set metadata");
  if (style.stopBand)
    gdal::check(vrt->GetRasterBand(3)->SetMetadataItem("PERIODS", joined(style.periods, ";").c_str()),
                context + ": set metadata");
  gdal::check(vrt->SetMetadataItem("TILE", grid.name.c_str()), context + ": set metadata");

  writeMapFile(vrt.get(), style.format, style.compress, "NEAREST", finalPath);
}

void writeMapFile(GDALDataset* src, const std::string& format, const std::string& compressOption,
                  const std::string& resampling, const std::string& finalPath) {
  const int width = src->GetRasterXSize(), height = src->GetRasterYSize();
  fs::create_directories(fs::path(finalPath).parent_path());
  const std::string tmp = gdal::temporaryName(finalPath);
  gdal::removeFile(tmp);
  std::string compress = compressOption;
  std::transform(compress.begin(), compress.end(), compress.begin(), ::toupper);
  // PHOTOMETRIC=MINISBLACK keeps the palette (GDAL still writes the colour
  // map) but stops GeoTIFF from declaring band 2 an alpha channel, which it
  // does for paletted images with extra samples. The COG driver has no such
  // option, so a COG is written as the GTiff driver writes one itself: tiled,
  // overviews copied from a source that has them (COPY_SRC_OVERVIEWS), IFDs
  // before the data (LAYOUT=COG).
  const std::vector<std::string> common = {"COMPRESS=" + compress, "PHOTOMETRIC=MINISBLACK", "BIGTIFF=IF_SAFER",
                                           "TILED=YES"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), common.begin(), common.end());
    return extra;
  };
  // Overview factors down to less than a block. Class maps use nearest
  // neighbour: class ids must never be averaged.
  auto buildOverviews = [&](GDALDataset* ds, int smallest, const std::string& what) {
    std::vector<int> levels;
    for (int f = 2; std::max(width, height) / (f / 2) > smallest; f *= 2) levels.push_back(f);
    if (!levels.empty())
      gdal::check(ds->BuildOverviews(resampling.c_str(), static_cast<int>(levels.size()), levels.data(), 0, nullptr,
                                     nullptr, nullptr, nullptr),
                  what + ": build overviews");
    return !levels.empty();
  };
  const std::string ovrSource = tmp + ".ovr-source.tif";
  try {
    if (format == "cog") {
      auto ovr = gdal::createCopy("GTiff", ovrSource, src,
                                  {"COMPRESS=LZW", "PHOTOMETRIC=MINISBLACK", "BIGTIFF=IF_SAFER", "TILED=YES",
                                   "BLOCKXSIZE=512", "BLOCKYSIZE=512"});
      buildOverviews(ovr.get(), 512, ovrSource);
      auto out = gdal::createCopy("GTiff", tmp, ovr.get(),
                                  with({"BLOCKXSIZE=512", "BLOCKYSIZE=512", "COPY_SRC_OVERVIEWS=YES"}));
      // A TIFF holds a colour map only for one sample plus at most one extra:
      // with the stop band the palette lives in the .aux.xml sidecar, which a
      // copy from the intermediate file does not carry over. Set it again (the
      // sidecar, written when the file is open read-only; the COG layout of
      // the TIFF is untouched).
      gdal::close(out, tmp);
      const GDALColorTable* palette = src->GetRasterBand(1)->GetColorTable();
      if (palette) {
        auto written = gdal::openRaster(tmp);
        GDALRasterBand* band = written->GetRasterBand(1);
        if (!band->GetColorTable()) {
          gdal::check(band->SetColorTable(const_cast<GDALColorTable*>(palette)), tmp + ": set colour table");
          if (char** names = src->GetRasterBand(1)->GetCategoryNames())
            gdal::check(band->SetCategoryNames(names), tmp + ": set class names");
          gdal::close(written, tmp);
        }
      }
      gdal::close(ovr, ovrSource);
      gdal::removeFile(ovrSource);
    } else {
      auto out = gdal::createCopy("GTiff", tmp, src, with({"BLOCKXSIZE=256", "BLOCKYSIZE=256"}));
      buildOverviews(out.get(), 256, tmp);
      gdal::close(out, tmp);
    }
    gdal::commitRaster(tmp, finalPath);
  } catch (...) {
    gdal::removeFile(tmp);
    gdal::removeFile(ovrSource);
    throw;
  }
}

std::string qmlPath(const std::string& mapPath) {
  return (fs::path(mapPath).parent_path() / (fs::path(mapPath).stem().string() + ".qml")).string();
}

std::string qmlText(const MapStyle& style) {
  auto hex = [](const std::array<std::uint8_t, 3>& c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
    return std::string(buf);
  };
  std::ostringstream q;
  // A paletted renderer on band 1: QGIS shows the legend's colours and names
  // and lists them in its layer legend; 255 (no data) is left out, so it is
  // transparent.
  q << "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
    << "<qgis version=\"3.28.0\" styleCategories=\"Symbology\">\n"
    << "  <pipe>\n"
    << "    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" alphaBand=\"-1\" nodataColor=\"\">\n"
    << "      <rasterTransparency/>\n"
    << "      <minMaxOrigin><limits>None</limits><extent>WholeRaster</extent><statAccuracy>Estimated</statAccuracy>"
    << "<cumulativeCutLower>0.02</cumulativeCutLower><cumulativeCutUpper>0.98</cumulativeCutUpper>"
    << "<stdDevFactor>2</stdDevFactor></minMaxOrigin>\n"
    << "      <colorPalette>\n";
  for (size_t i = 0; i < style.classNames.size() && i < style.colours.size(); ++i)
    q << "        <paletteEntry value=\"" << i << "\" color=\"" << hex(style.colours[i])
      << "\" alpha=\"255\" label=\"" << xmlEscape(style.classNames[i]) << "\"/>\n";
  q << "      </colorPalette>\n"
    << "      <colorramp name=\"[source]\" type=\"randomcolors\"/>\n"
    << "    </rasterrenderer>\n"
    << "    <brightnesscontrast brightness=\"0\" contrast=\"0\" gamma=\"1\"/>\n"
    << "    <huesaturation saturation=\"0\" grayscaleMode=\"0\" colorizeOn=\"0\" invertColors=\"0\"/>\n"
    << "    <rasterresampler maxOversampling=\"2\"/>\n"
    << "  </pipe>\n"
    << "  <blendMode>0</blendMode>\n"
    << "</qgis>\n";
  return q.str();
}

void writeQml(const std::string& mapPath, const MapStyle& style) { writeTextAtomically(qmlPath(mapPath), qmlText(style)); }

std::string clearPath(const std::string& mapsDir, const std::string& tile) {
  return (fs::path(mapsDir) / (tile + "_clear.tif")).string();
}

void writeClearLayer(Cube& cube, const TileGrid& grid, const MapStyle& style, const std::string& finalPath) {
  const int P = cube.periods(), W = grid.width, H = grid.height;
  // Strips of whole chunk rows: a national tile never sits in memory whole.
  const int strip = cube.layout().chunk;
  const std::string source = gdal::temporaryName(finalPath) + ".sum.tif";
  gdal::removeFile(source);
  try {
    {
      auto ds = gdal::createRaster("GTiff", source, W, H, 1, gdal::PixelType::u16,
                                   {"TILED=YES", "COMPRESS=LZW", "BIGTIFF=IF_SAFER"});
      gdal::setGeoreference(ds.get(), grid.geotransform, *gdal::srsFromWkt(grid.crsWkt), source);
      std::vector<std::uint8_t> valid;
      std::vector<std::uint16_t> sum;
      std::vector<double> perPeriod(static_cast<size_t>(P), 0.0);
      for (int r0 = 0; r0 < H; r0 += strip) {
        const Window w{r0, 0, std::min(strip, H - r0), W};
        const size_t n = static_cast<size_t>(w.pixels());
        valid.resize(static_cast<size_t>(P) * n);
        cube.readValid(grid.name, w, valid.data());
        sum.assign(n, 0);
        for (int p = 0; p < P; ++p) {
          const std::uint8_t* v = valid.data() + static_cast<size_t>(p) * n;
          std::uint64_t total = 0;
          for (size_t i = 0; i < n; ++i) {
            sum[i] = static_cast<std::uint16_t>(sum[i] + v[i]);
            total += v[i];
          }
          perPeriod[static_cast<size_t>(p)] += static_cast<double>(total);
        }
        gdal::writeWindow(ds.get(), 1, 0, r0, w.cols, w.rows, sum.data(), source);
      }
      GDALRasterBand* band = ds->GetRasterBand(1);
      band->SetDescription("clear_observations");
      // Mean clear observations per pixel in each period, for the report's
      // coverage table: "start=mean;start=mean;..."
      std::string means;
      const auto& periods = cube.layout().periods;
      for (int p = 0; p < P; ++p) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s=%.4f", periods[static_cast<size_t>(p)].c_str(),
                      perPeriod[static_cast<size_t>(p)] / (static_cast<double>(W) * H));
        means += (p ? ";" : "") + std::string(buf);
      }
      gdal::check(band->SetMetadataItem("CLEAR_MEAN_PER_PERIOD", means.c_str()), source + ": set metadata");
      gdal::check(ds->SetMetadataItem("TILE", grid.name.c_str()), source + ": set metadata");
      gdal::close(ds, source);
    }
    auto src = gdal::openRaster(source);
    // Counts may be averaged in overviews: a coarse view shows mean coverage.
    writeMapFile(src.get(), style.format, style.compress, "AVERAGE", finalPath);
    src.reset();
    gdal::removeFile(source);
  } catch (...) {
    gdal::removeFile(source);
    throw;
  }
}

std::vector<std::string> classNamesOf(GDALRasterBand* band) {
  std::vector<std::string> names;
  if (char** cats = band->GetCategoryNames())
    for (int i = 0; cats[i]; ++i) names.emplace_back(cats[i]);
  if (!names.empty()) return names;
  if (const char* item = band->GetMetadataItem("CLASS_NAMES")) {
    std::stringstream ss(item);
    for (std::string n; std::getline(ss, n, ';');) names.push_back(n);
  }
  return names;
}

void writeQuicklook(const std::string& mapPath, const std::string& pngPath, int maxSide, const MapStyle& style) {
  auto map = gdal::openRaster(mapPath);
  const int w = map->GetRasterXSize(), h = map->GetRasterYSize();
  const double scale = std::min(1.0, static_cast<double>(maxSide) / std::max(w, h));
  const int qw = std::max(1, static_cast<int>(std::lround(w * scale)));
  const int qh = std::max(1, static_cast<int>(std::lround(h * scale)));
  std::vector<std::uint8_t> pixels(static_cast<size_t>(qw) * static_cast<size_t>(qh));
  // Nearest neighbour: a quick-look shows real class ids, never blends.
  gdal::readWindow(map->GetRasterBand(1), 0, 0, w, h, pixels.data(), qw, qh, mapPath);
  map.reset();

  auto mem = gdal::createRaster("MEM", "", qw, qh, 1, gdal::PixelType::u8);
  GDALRasterBand* band = mem->GetRasterBand(1);
  gdal::writeWindow(mem.get(), 1, 0, 0, qw, qh, pixels.data(), pngPath);
  GDALColorTable ct = colourTable(style);
  gdal::check(band->SetColorTable(&ct), pngPath + ": set colour table");
  gdal::check(band->SetNoDataValue(kNoData), pngPath + ": set no-data value");

  const std::string tmp = gdal::temporaryName(pngPath);
  try {
    auto png = gdal::createCopy("PNG", tmp, mem.get(), {"WORLDFILE=NO"});
    gdal::close(png, tmp);
    gdal::commitRaster(tmp, pngPath);
  } catch (...) {
    gdal::removeFile(tmp);
    throw;
  }
}

}  // namespace cropmap::mapping
