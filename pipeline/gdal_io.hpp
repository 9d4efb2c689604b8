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
class OGRCoordinateTransformation;
class OGRFeature;
class OGRGeometry;
class OGRLayer;

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

// Checked transformation between two CRSs; throws "CONTEXT: cannot transform
// from <src> to <dst>: <GDAL message>" when PROJ knows no path between them.
struct TransformDeleter {
  void operator()(OGRCoordinateTransformation* t) const;
};
using Transform = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;
Transform makeTransform(const OGRSpatialReference& src, const OGRSpatialReference& dst, const std::string& context);

// Bounds (xmin, ymin, xmax, ymax) of a rectangle after transformation, with
// the edges densified so that curved images of straight edges are enclosed.
std::array<double, 4> transformBounds(OGRCoordinateTransformation& t, const std::array<double, 4>& bounds,
                                      const std::string& context);

// One layer of a vector file: the dataset that owns it stays open with it.
struct VectorLayer {
  Dataset dataset;
  OGRLayer* layer = nullptr;
  std::string path, name;
  std::string where() const { return path + " (layer '" + name + "')"; }
};
// Opens `layerName` (empty: the first layer). Throws UsageError naming the file
// and listing the layers when the layer does not exist.
VectorLayer openLayer(const std::string& path, const std::string& layerName);
// Index of a field of the layer; throws UsageError naming file, layer and field
// and listing the fields there are.
int fieldIndex(const VectorLayer& v, const std::string& field, const std::string& optionKey);

// Burns value i + 1 of every geometry i (already in the grid's CRS) into an
// int32 raster of rows x cols with geotransform gt, by the pixel-centre rule
// (a pixel is burnt when its centre lies inside the polygon). Later geometries
// overwrite earlier ones. Uses a MEM dataset and GDALRasterizeGeometries.
std::vector<std::int32_t> rasterizeIndices(const std::vector<OGRGeometry*>& geometries, const GeoTransform& gt,
                                           int rows, int cols, const std::string& context);

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

// A GDAL configuration option set for this thread while the object lives
// (e.g. OGR_CURRENT_DATE for reproducible GeoPackages).
class ScopedConfigOption {
 public:
  ScopedConfigOption(std::string key, const std::string& value);
  ~ScopedConfigOption();
  ScopedConfigOption(const ScopedConfigOption&) = delete;
  ScopedConfigOption& operator=(const ScopedConfigOption&) = delete;

 private:
  std::string key_, old_;
  bool hadOld_ = false;
};

enum class PixelType { u8, u16, i16, i32, f32 };

// Creates a raster with `driver` (a driver that supports Create: GTiff, MEM)
// and the creation options ("KEY=VALUE"); throws naming the path.
Dataset createRaster(const std::string& driver, const std::string& path, int width, int height, int bands,
                     PixelType type, const std::vector<std::string>& options = {});
// Copies src into a new file with a CreateCopy driver (COG, JP2OpenJPEG, GTiff).
Dataset createCopy(const std::string& driver, const std::string& path, GDALDataset* src,
                   const std::vector<std::string>& options = {});
void setGeoreference(GDALDataset* ds, const GeoTransform& gt, const OGRSpatialReference& srs, const std::string& context);
void setMetadataItem(GDALDataset* ds, const std::string& key, const std::string& value, const std::string& context);
void setBandInfo(GDALDataset* ds, int band, const std::string& description, const double* noData,
                 const std::string& context);
// Write a window of one band (1-based band index) from a typed buffer.
void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::uint8_t* buf,
                 const std::string& context);
void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::uint16_t* buf,
                 const std::string& context);
void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::int16_t* buf,
                 const std::string& context);
void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::int32_t* buf,
                 const std::string& context);
// Writes cached blocks; errors raised while flushing become an exception.
void flush(GDALDataset* ds, const std::string& context);
// Closes the dataset, turning errors raised while flushing into an exception.
void close(Dataset& ds, const std::string& context);
// Deletes a file written by GDAL (and its sidecars); quiet if it does not exist.
void removeFile(const std::string& path);

// Vector output: a new data source, a layer with a CRS, fields and features.
Dataset createVector(const std::string& driver, const std::string& path, const std::vector<std::string>& options = {});
OGRLayer* createLayer(GDALDataset* ds, const std::string& name, const OGRSpatialReference& srs, int geometryType,
                      const std::vector<std::string>& options, const std::string& context);
// fieldType is an OGRFieldType (OFTInteger, OFTInteger64, OFTString, OFTReal).
void addField(OGRLayer* layer, const std::string& name, int fieldType, const std::string& context);
void addFeature(OGRLayer* layer, OGRFeature* feature, const std::string& context);
void startTransaction(GDALDataset* ds, const std::string& context);
void commitTransaction(GDALDataset* ds, const std::string& context);
// Open a VRT given as XML text (no file on disk); its sources open lazily.
Dataset openVrtXml(const std::string& xml, const std::string& context);
GeoTransform geoTransformOf(GDALDataset* ds, const std::string& context);

// Files are written under a temporary name and renamed into place, so a crash
// never leaves a half-written file under its final name.
std::string temporaryName(const std::string& finalPath);
void commitFile(const std::string& temporary, const std::string& finalPath);
// Commit a raster and its PAM sidecar (PATH.aux.xml, where GDAL keeps category
// names): the sidecar first, so the raster's final name appearing means both are there.
void commitRaster(const std::string& temporary, const std::string& finalPath);


}  // namespace cropmap::gdal
