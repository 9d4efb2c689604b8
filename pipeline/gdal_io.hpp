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

// ---- writing ----------------------------------------------------------------
enum class PixelType { byte, uint16, int16, float32 };

// Create a raster with a named driver ("GTiff", "MEM", ...); options are
// "KEY=VALUE" creation options. Throws "PATH: cannot create DRIVER raster: ...".
Dataset createRaster(const std::string& driver, const std::string& path, int width, int height, int bands,
                     PixelType type, const std::vector<std::string>& options = {});
// CreateCopy of `source` with a named driver (the only way to write COG and PNG).
Dataset createCopy(const std::string& driver, const std::string& path, GDALDataset* source,
                   const std::vector<std::string>& options = {});
// Create an empty vector data source ("GPKG", ...).
Dataset createVector(const std::string& driver, const std::string& path, const std::vector<std::string>& options = {});
// Open a VRT given as XML text (no file on disk); sources are opened lazily.
Dataset openVrtXml(const std::string& xml, const std::string& context);

void setGeoreference(GDALDataset* ds, const GeoTransform& gt, const std::string& crsWkt, const std::string& context);
GeoTransform geoTransformOf(GDALDataset* ds, const std::string& context);

void writeWindow(GDALRasterBand* band, int x, int y, int w, int h, const std::uint8_t* buf, const std::string& context);

// Close now and throw if GDAL reported a failure while flushing: a write error
// surfaces at close, and a destructor cannot report it.
void closeChecked(Dataset& ds, const std::string& context);

// Files are written under a temporary name and renamed into place, so a crash
// never leaves a half-written file under its final name.
std::string temporaryName(const std::string& finalPath);
void commitFile(const std::string& temporary, const std::string& finalPath);
// Commit a raster and its PAM sidecar (PATH.aux.xml, where GDAL keeps category
// names): the sidecar first, so the raster's final name appearing means both are there.
void commitRaster(const std::string& temporary, const std::string& finalPath);
// Remove a file and its PAM sidecar if present (no error when absent).
void removeRaster(const std::string& path);

}  // namespace cropmap::gdal
