#include "map_writer.hpp"

#include <gdal_priv.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"

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

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
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

  fs::create_directories(fs::path(finalPath).parent_path());
  const std::string tmp = gdal::temporaryName(finalPath);
  gdal::removeFile(tmp);
  std::string compress = style.compress;
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
  // Nearest-neighbour overview factors: class ids must never be averaged.
  auto buildOverviews = [&](GDALDataset* ds, int smallest, const std::string& what) {
    std::vector<int> levels;
    for (int f = 2; std::max(grid.width, grid.height) / (f / 2) > smallest; f *= 2) levels.push_back(f);
    if (!levels.empty())
      gdal::check(ds->BuildOverviews("NEAREST", static_cast<int>(levels.size()), levels.data(), 0, nullptr, nullptr,
                                     nullptr, nullptr),
                  what + ": build overviews");
    return !levels.empty();
  };
  const std::string ovrSource = tmp + ".ovr-source.tif";
  try {
    if (style.format == "cog") {
      auto src = gdal::createCopy("GTiff", ovrSource, vrt.get(),
                                  {"COMPRESS=LZW", "PHOTOMETRIC=MINISBLACK", "BIGTIFF=IF_SAFER", "TILED=YES",
                                   "BLOCKXSIZE=512", "BLOCKYSIZE=512"});
      buildOverviews(src.get(), 512, ovrSource);
      auto out = gdal::createCopy("GTiff", tmp, src.get(),
                                  with({"BLOCKXSIZE=512", "BLOCKYSIZE=512", "COPY_SRC_OVERVIEWS=YES"}));
      // A TIFF holds a colour map only for one sample plus at most one extra:
      // with the stop band the palette lives in the .aux.xml sidecar, which a
      // copy from the intermediate file does not carry over. Set it again (the
      // sidecar, written when the file is open read-only; the COG layout of
      // the TIFF is untouched).
      gdal::close(out, tmp);
      auto written = gdal::openRaster(tmp);
      if (!written->GetRasterBand(1)->GetColorTable()) {
        styleClassBand(written->GetRasterBand(1), style, tmp);
        gdal::close(written, tmp);
      }
      gdal::close(src, ovrSource);
      gdal::removeFile(ovrSource);
    } else {
      auto out = gdal::createCopy("GTiff", tmp, vrt.get(), with({"BLOCKXSIZE=256", "BLOCKYSIZE=256"}));
      buildOverviews(out.get(), 256, tmp);
      gdal::close(out, tmp);
    }
    vrt.reset();
    gdal::commitRaster(tmp, finalPath);
  } catch (...) {
    gdal::removeFile(tmp);
    gdal::removeFile(ovrSource);
    throw;
  }
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
