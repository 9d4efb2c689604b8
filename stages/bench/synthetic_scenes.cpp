#include "synthetic_scenes.hpp"

#include <cpl_conv.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"
#include "pipeline/s2_metadata.hpp"

namespace fs = std::filesystem;

namespace cropmap::synthetic {

int epsgOfTile(const std::string& tile) { return 32600 + std::stoi(tile.substr(0, 2)); }

namespace {

int bandNumber(const std::string& band) {
  static const std::vector<std::string> order{"B01", "B02", "B03", "B04", "B05", "B06", "B07",
                                              "B08", "B8A", "B09", "B10", "B11", "B12"};
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] == band) return static_cast<int>(i);
  return 0;
}

struct Disc {
  double r, c, radius;
};

// Cloud discs of a scene on the 20 m grid, from its seed.
std::vector<Disc> cloudDiscs(const RegionSpec& region, const SceneSpec& s) {
  std::mt19937_64 rng(s.seed * 7919 + std::hash<std::string>{}(s.tile + s.date));
  const double side = std::max(region.rows, region.cols) > 0 ? std::max(region.rows, region.cols) / 2.0
                                                              : region.size / 2.0;
  std::vector<Disc> discs;
  if (s.cloudCover <= 0) return discs;
  const double radius = side / 6.0;
  const double discArea = M_PI * radius * radius;
  const int n = static_cast<int>(std::round(s.cloudCover * side * side / discArea));
  std::uniform_real_distribution<double> pos(0, side);
  for (int i = 0; i < n; ++i) discs.push_back({pos(rng), pos(rng), radius});
  return discs;
}

bool inCloud(const std::vector<Disc>& discs, int r20, int c20) {
  for (const auto& d : discs)
    if ((r20 + 0.5 - d.r) * (r20 + 0.5 - d.r) + (c20 + 0.5 - d.c) * (c20 + 0.5 - d.c) < d.radius * d.radius) return true;
  return false;
}

std::string compact(const std::string& iso) { return iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2); }

int rowsOf(const RegionSpec& r) { return r.rows > 0 ? r.rows : r.size; }
int colsOf(const RegionSpec& r) { return r.cols > 0 ? r.cols : r.size; }
// Pixels of a coarse raster (k 10 m pixels per pixel) over n 10 m pixels.
int coarseCount(int n, int k, bool down) { return down ? n / k : (n + k - 1) / k; }

void writeRaster(const std::string& path, const char* driver, int cols, int rows, GDALDataType type, const void* data,
                 const std::array<double, 6>& gt, int epsg, const std::vector<std::pair<std::string, std::string>>& md) {
  gdal::ensureRegistered();
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* out = GetGDALDriverManager()->GetDriverByName(driver);
  if (!mem || !out) throw std::runtime_error(std::string("GDAL driver missing: ") + driver);
  gdal::Dataset ds(mem->Create("", cols, rows, 1, type, nullptr));
  if (!ds) throw std::runtime_error("cannot create an in-memory raster: " + gdal::lastError());
  std::array<double, 6> g = gt;
  gdal::check(ds->SetGeoTransform(g.data()), path + ": SetGeoTransform");
  auto srs = gdal::srsFromEpsg(epsg);
  gdal::check(ds->SetSpatialRef(srs.get()), path + ": SetSpatialRef");
  for (const auto& [k, v] : md) gdal::check(ds->SetMetadataItem(k.c_str(), v.c_str()), path + ": SetMetadataItem");
  gdal::check(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, cols, rows, const_cast<void*>(data), cols, rows, type, 0,
                                             0, nullptr),
              path + ": write");
  char** opts = nullptr;
  if (std::string(driver) == "JP2OpenJPEG") {
    opts = CSLSetNameValue(opts, "REVERSIBLE", "YES");
    opts = CSLSetNameValue(opts, "QUALITY", "100");
  } else {
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "TILED", "YES");
  }
  GDALDataset* copy = out->CreateCopy(path.c_str(), ds.get(), FALSE, opts, nullptr, nullptr);
  CSLDestroy(opts);
  if (!copy) throw std::runtime_error(path + ": cannot write: " + gdal::lastError());
  GDALClose(GDALDataset::ToHandle(copy));
}

std::string mtdXml(const SceneSpec& s, const std::vector<std::string>& imageFiles, const std::string& productUri) {
  const bool hasOffset = offsetOfBaseline(s.baseline) != 0 && !s.sparseMetadata;
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<n1:Level-2A_User_Product xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd\">\n"
      "  <n1:General_Info>\n    <Product_Info>\n"
      "      <PRODUCT_START_TIME>" + s.date + "T10:10:31.024Z</PRODUCT_START_TIME>\n"
      "      <PRODUCT_URI>" +
      (productUri.empty() ? "S2A_MSIL2A_" + compact(s.date) + "T101031_N" + s.baseline.substr(0, 2) +
                                s.baseline.substr(3, 2) + "_R022_T" + s.tile + "_" + compact(s.date) + "T120000.SAFE"
                          : productUri) +
      "</PRODUCT_URI>\n"
      "      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>\n" +
      (s.sparseMetadata ? std::string() : "      <PROCESSING_BASELINE>" + s.baseline + "</PROCESSING_BASELINE>\n") +
      "      <Product_Organisation><Granule_List><Granule imageFormat=\"JPEG2000\">\n";
  for (const auto& f : imageFiles) x += "        <IMAGE_FILE>" + f + "</IMAGE_FILE>\n";
  x += "      </Granule></Granule_List></Product_Organisation>\n    </Product_Info>\n"
       "    <Product_Image_Characteristics>\n"
       "      <QUANTIFICATION_VALUES_LIST>\n"
       "        <BOA_QUANTIFICATION_VALUE unit=\"none\">10000</BOA_QUANTIFICATION_VALUE>\n"
       "        <AOT_QUANTIFICATION_VALUE unit=\"none\">1000.0</AOT_QUANTIFICATION_VALUE>\n"
       "      </QUANTIFICATION_VALUES_LIST>\n";
  if (hasOffset) {
    x += "      <BOA_ADD_OFFSET_VALUES_LIST>\n";
    for (int b = 0; b <= 12; ++b)
      x += "        <BOA_ADD_OFFSET band_id=\"" + std::to_string(b) + "\">-1000</BOA_ADD_OFFSET>\n";
    x += "      </BOA_ADD_OFFSET_VALUES_LIST>\n";
  }
  x += "      <Spectral_Information_List>\n";
  const char* phys[] = {"B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"};
  for (int b = 0; b <= 12; ++b)
    x += "        <Spectral_Information bandId=\"" + std::to_string(b) + "\" physicalBand=\"" + phys[b] +
         "\"><RESOLUTION>10</RESOLUTION></Spectral_Information>\n";
  x += "      </Spectral_Information_List>\n    </Product_Image_Characteristics>\n  </n1:General_Info>\n"
       "</n1:Level-2A_User_Product>\n";
  return x;
}

}  // namespace

std::uint16_t truth(const std::string& tile, const std::string& band, int row, int col, const std::string& date) {
  const int month = std::stoi(date.substr(5, 2));
  const int b = bandNumber(band);
  const int t = static_cast<int>(std::hash<std::string>{}(tile) % 97);
  // Fields of 8x8 pixels with their own level, a seasonal cycle stronger in the near infrared.
  const int field = ((row / 8) * 31 + (col / 8) * 17 + t) % 23;
  const double season = std::sin((month - 3) * M_PI / 6.0);
  const double amp = b == 7 ? 1500.0 : 200.0;
  return static_cast<std::uint16_t>(std::lround(600.0 + 150.0 * b + 40.0 * field + amp * (season + 1.0)));
}

int resolutionOf(const std::string& band) {
  if (band == "B01" || band == "B09") return 60;
  if (band == "B05" || band == "B06" || band == "B07" || band == "B8A" || band == "B11" || band == "B12" ||
      band == "SCL")
    return 20;
  return 10;
}

bool cloudy(const RegionSpec& region, const SceneSpec& scene, int row, int col) {
  const int r20 = std::min(row / 2, coarseCount(rowsOf(region), 2, scene.coarseRoundedDown) - 1);
  const int c20 = std::min(col / 2, coarseCount(colsOf(region), 2, scene.coarseRoundedDown) - 1);
  return inCloud(cloudDiscs(region, scene), r20, c20);
}

std::uint16_t truthNearest(const RegionSpec& region, const SceneSpec& scene, const std::string& band, int row,
                           int col) {
  const int k = resolutionOf(band) / 10;
  const int r = std::min(row / k, coarseCount(rowsOf(region), k, scene.coarseRoundedDown) - 1);
  const int c = std::min(col / k, coarseCount(colsOf(region), k, scene.coarseRoundedDown) - 1);
  return truth(scene.tile, band, r * k, c * k, scene.date);
}

std::vector<SceneSpec> yearOfScenes(const std::vector<std::string>& tiles, int year, double cloudCover,
                                    std::uint64_t seed, const std::vector<int>& days) {
  std::vector<SceneSpec> out;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> cover(0.0, std::min(1.0, 2 * cloudCover));
  for (const auto& t : tiles)
    for (int m = 1; m <= 12; ++m)
      for (int d : days) {
        SceneSpec s;
        s.tile = t;
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, m, d);
        s.date = buf;
        s.cloudCover = cover(rng);
        s.seed = rng();
        out.push_back(s);
      }
  return out;
}

std::string writeScene(const RegionSpec& region, const SceneSpec& s) {
  const int rows = rowsOf(region), cols = colsOf(region);
  const int epsg = s.epsgOverride ? s.epsgOverride : epsgOfTile(s.tile);
  const double offset = offsetOfBaseline(s.baseline);
  const auto discs = cloudDiscs(region, s);
  // The raster of a band (or the SCL) at its native resolution: size, geotransform, pixels.
  struct Native {
    int k, cols, rows;
    std::array<double, 6> gt;
  };
  auto native = [&](const std::string& band) {
    const int k = resolutionOf(band) / 10;
    const double shift = k > 1 ? s.coarseShiftM : 0.0;
    return Native{k, coarseCount(cols, k, s.coarseRoundedDown), coarseCount(rows, k, s.coarseRoundedDown),
                  {399960.0 + shift, 10.0 * k, 0, 5400000.0, 0, -10.0 * k}};
  };
  const Native g20 = native("SCL");
  std::vector<std::uint8_t> scl(static_cast<size_t>(g20.rows) * static_cast<size_t>(g20.cols));
  for (int r = 0; r < g20.rows; ++r)
    for (int c = 0; c < g20.cols; ++c)
      scl[static_cast<size_t>(r * g20.cols + c)] = s.sclAllNoData ? 0 : inCloud(discs, r, c) ? 9 : 4;
  auto bandData = [&](const std::string& band) {
    const Native g = native(band);
    std::vector<std::uint16_t> dn(static_cast<size_t>(g.rows) * static_cast<size_t>(g.cols));
    for (int r = 0; r < g.rows; ++r)
      for (int c = 0; c < g.cols; ++c) {
        // The SCL pixel under this pixel's top-left 10 m pixel; 60 m pixels are left clear.
        const int sr = std::min(r * g.k / 2, g20.rows - 1), sc = std::min(c * g.k / 2, g20.cols - 1);
        const bool cl = g.k <= 2 && scl[static_cast<size_t>(sr * g20.cols + sc)] == 9;
        const double refl = cl ? 8000.0 : truth(s.tile, band, r * g.k, c * g.k, s.date);
        // A product with no data over the tile has 0 (NODATA) in every band, as its SCL.
        dn[static_cast<size_t>(r * g.cols + c)] = s.sclAllNoData ? 0 : static_cast<std::uint16_t>(refl - offset);
      }
    return dn;
  };
  const std::string d = compact(s.date);
  char bl[32];
  std::snprintf(bl, sizeof bl, "%g", offset);
  if (region.layout == "geotiff") {
    const fs::path dir = fs::path(region.dir) / "geotiff";
    fs::create_directories(dir);
    std::vector<std::pair<std::string, std::string>> md{
        {"BOA_QUANTIFICATION_VALUE", "10000"}, {"PROCESSING_BASELINE", s.baseline}};
    if (offset != 0) md.emplace_back("BOA_ADD_OFFSET", bl);
    std::string first;
    for (const auto& b : region.bands) {
      const std::string p = (dir / (s.tile + "_" + d + "_" + b + ".tif")).string();
      const Native g = native(b);
      auto dn = bandData(b);
      writeRaster(p, "GTiff", g.cols, g.rows, GDT_UInt16, dn.data(), g.gt, epsg, md);
      if (first.empty()) first = p;
    }
    writeRaster((dir / (s.tile + "_" + d + "_SCL.tif")).string(), "GTiff", g20.cols, g20.rows, GDT_Byte, scl.data(),
                g20.gt, epsg, {});
    return first;
  }
  const std::string nb = s.baseline.substr(0, 2) + s.baseline.substr(3, 2);
  // Product, granule and file names of the compact naming (from December 2016) or the old format before it.
  std::string product, granule, prefix, mtdName = "MTD_MSIL2A.xml";
  if (s.oldFormatNames) {
    const std::string stamp = d + "T120000";
    product = "S2A_USER_PRD_MSIL2A_PDMC_" + stamp + "_R022_V" + d + "T101031_" + d + "T101031";
    mtdName = "S2A_USER_MTD_SAFL2A_PDMC_" + stamp + "_R022_V" + d + "T101031_" + d + "T101031.xml";
    const std::string tl = "S2A_USER_MSI_L2A_TL_SGS__" + stamp + "_A000001_T" + s.tile;
    granule = "GRANULE/" + tl + "_N" + s.baseline;
    prefix = tl + "_";
  } else {
    product = "S2A_MSIL2A_" + d + "T101031_N" + nb + "_R022_T" + s.tile + "_" + d + "T120000";
    granule = "GRANULE/L2A_T" + s.tile + "_A000001_" + d + "T101559";
    prefix = (s.l2aPrefix ? "L2A_T" : "T") + s.tile + "_" + d + "T101031_";
  }
  const fs::path safe = fs::path(region.dir) / "safe" / (product + ".SAFE");
  std::vector<std::string> images;
  auto write = [&](const std::string& band, GDALDataType type, const void* data) {
    const Native g = native(band);
    const std::string res = std::to_string(10 * g.k) + "m";
    const std::string rel = granule + "/IMG_DATA/R" + res + "/" + prefix + band + "_" + res;
    fs::create_directories((safe / rel).parent_path());
    writeRaster((safe / (rel + ".jp2")).string(), "JP2OpenJPEG", g.cols, g.rows, type, data, g.gt, epsg, {});
    images.push_back(rel);
  };
  for (const auto& b : region.bands) {
    auto dn = bandData(b);
    write(b, GDT_UInt16, dn.data());
  }
  write("SCL", GDT_Byte, scl.data());
  std::ofstream(safe / mtdName) << mtdXml(s, images, s.oldFormatNames ? product + ".SAFE" : "");
  return safe.string();
}

}  // namespace cropmap::synthetic
