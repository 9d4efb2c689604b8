// GDAL/OGR at the boundary: RAII handles and checked calls whose errors name
// the file and the operation. Everything in cropmap that touches GDAL goes
// through here or keeps to the same rules (check every CPLErr/OGRErr, quote
// CPLGetLastErrorMsg, name the path).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

class GDALDataset;
class GDALRasterBand;
class OGRSpatialReference;

namespace cropmap::gdal {

// Registers the drivers once per process and routes GDAL's own messages
// through cropmap's logger at debug level.
void ensureRegistered();

struct DatasetCloser {
  void operator()(GDALDataset* ds) const;
};
using Dataset = std::unique_ptr<GDALDataset, DatasetCloser>;

// Open for reading; throws std::runtime_error "PATH: cannot open as raster: <GDAL message>".
Dataset openRaster(const std::string& path);
Dataset openVector(const std::string& path);
// Open a raster for update (predict, assembling outputs).
Dataset openRasterUpdate(const std::string& path);

// The last message GDAL recorded on this thread ("" if none).
std::string lastError();
// Throw "CONTEXT: <GDAL message>" unless err is CE_None / OGRERR_NONE.
void check(int cplErr, const std::string& context);
void checkOgr(int ogrErr, const std::string& context);

using GeoTransform = std::array<double, 6>;  // GDAL order: x0, dx, rx, y0, ry, dy

// Spatial references in traditional GIS axis order (x = easting/longitude).
std::unique_ptr<OGRSpatialReference> srsFromEpsg(int epsg);
std::unique_ptr<OGRSpatialReference> srsFromWkt(const std::string& wkt);
std::string wktOf(const OGRSpatialReference& srs);
int epsgOf(const OGRSpatialReference& srs);  // 0 when there is no EPSG code

// Read a window of one band into a typed buffer (GDAL converts the data type).
// bufW/bufH different from w/h resample by nearest neighbour (used to bring
// 20 m SCL onto the 10 m grid).
void readWindow(GDALRasterBand* band, int x, int y, int w, int h, std::uint16_t* buf, int bufW, int bufH,
                const std::string& context);
void readWindow(GDALRasterBand* band, int x, int y, int w, int h, std::uint8_t* buf, int bufW, int bufH,
                const std::string& context);
void readWindow(GDALRasterBand* band, int x, int y, int w, int h, float* buf, int bufW, int bufH,
                const std::string& context);

// Files are written under a temporary name and renamed into place, so a crash
// never leaves a half-written file under its final name.
std::string temporaryName(const std::string& finalPath);
void commitFile(const std::string& temporary, const std::string& finalPath);

}  // namespace cropmap::gdal
