#include "gdal_io.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "log.hpp"
#include "mpi.hpp"

namespace cropmap::gdal {

namespace {
void CPL_STDCALL quietHandler(CPLErr cls, CPLErrorNum, const char* msg) {
  // Failures are reported by cropmap with context; GDAL's own chatter goes to debug.
  if (cls >= CE_Warning) log::debug("GDAL: ", msg);
}
}  // namespace

void ensureRegistered() {
  static std::once_flag once;
  std::call_once(once, [] {
    GDALAllRegister();
    CPLSetErrorHandler(quietHandler);
  });
}

void DatasetCloser::operator()(GDALDataset* ds) const {
  if (ds) GDALClose(GDALDataset::ToHandle(ds));
}

std::string lastError() {
  const char* m = CPLGetLastErrorMsg();
  return m && *m ? std::string(m) : std::string("no details from GDAL");
}

static Dataset openWith(const std::string& path, unsigned flags, const char* what) {
  ensureRegistered();
  CPLErrorReset();
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": no such file");
  GDALDataset* ds = GDALDataset::Open(path.c_str(), flags);
  if (!ds) throw std::runtime_error(path + ": cannot open as " + what + ": " + lastError());
  return Dataset(ds);
}

Dataset openRaster(const std::string& path) { return openWith(path, GDAL_OF_RASTER | GDAL_OF_READONLY, "raster"); }
Dataset openVector(const std::string& path) { return openWith(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, "vector"); }
Dataset openRasterUpdate(const std::string& path) { return openWith(path, GDAL_OF_RASTER | GDAL_OF_UPDATE, "raster"); }

void check(int err, const std::string& context) {
  if (err != CE_None) throw std::runtime_error(context + ": " + lastError());
}
void checkOgr(int err, const std::string& context) {
  if (err != OGRERR_NONE) throw std::runtime_error(context + ": OGR error " + std::to_string(err) + ": " + lastError());
}

std::unique_ptr<OGRSpatialReference> srsFromEpsg(int epsg) {
  ensureRegistered();
  auto srs = std::make_unique<OGRSpatialReference>();
  if (srs->importFromEPSG(epsg) != OGRERR_NONE)
    throw std::runtime_error("EPSG:" + std::to_string(epsg) + " is not a known coordinate reference system");
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

std::unique_ptr<OGRSpatialReference> srsFromWkt(const std::string& wkt) {
  ensureRegistered();
  auto srs = std::make_unique<OGRSpatialReference>();
  if (srs->importFromWkt(wkt.c_str()) != OGRERR_NONE)
    throw std::runtime_error("cannot parse coordinate reference system: " + wkt.substr(0, 80));
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

std::string wktOf(const OGRSpatialReference& srs) {
  char* wkt = nullptr;
  srs.exportToWkt(&wkt);
  std::string s = wkt ? wkt : "";
  CPLFree(wkt);
  return s;
}

int epsgOf(const OGRSpatialReference& srs) {
  OGRSpatialReference copy(srs);
  copy.AutoIdentifyEPSG();
  const char* code = copy.GetAuthorityCode(nullptr);
  return code ? std::atoi(code) : 0;
}

void TransformDeleter::operator()(OGRCoordinateTransformation* t) const {
  if (t) OGRCoordinateTransformation::DestroyCT(t);
}

static std::string crsName(const OGRSpatialReference& srs) {
  const int epsg = epsgOf(srs);
  if (epsg > 0) return "EPSG:" + std::to_string(epsg);
  const char* name = srs.GetName();
  return name ? std::string("'") + name + "'" : std::string("an unnamed CRS");
}

Transform makeTransform(const OGRSpatialReference& src, const OGRSpatialReference& dst, const std::string& context) {
  ensureRegistered();
  CPLErrorReset();
  OGRCoordinateTransformation* t = OGRCreateCoordinateTransformation(&src, &dst);
  if (!t)
    throw UsageError(context + ": cannot transform from " + crsName(src) + " to " + crsName(dst) + ": " +
                     lastError() + "; give the file a CRS that PROJ can transform (e.g. reproject it with ogr2ogr)");
  return Transform(t);
}

std::array<double, 4> transformBounds(OGRCoordinateTransformation& t, const std::array<double, 4>& b,
                                      const std::string& context) {
  std::array<double, 4> out{};
  CPLErrorReset();
  if (!t.TransformBounds(b[0], b[1], b[2], b[3], &out[0], &out[1], &out[2], &out[3], 21))
    throw std::runtime_error(context + ": cannot transform the bounds (" + std::to_string(b[0]) + ", " +
                             std::to_string(b[1]) + ", " + std::to_string(b[2]) + ", " + std::to_string(b[3]) +
                             "): " + lastError());
  return out;
}

VectorLayer openLayer(const std::string& path, const std::string& layerName) {
  VectorLayer v;
  v.path = path;
  try {
    v.dataset = openVector(path);
  } catch (const std::exception& e) {
    throw UsageError(e.what());
  }
  if (v.dataset->GetLayerCount() == 0) throw UsageError(path + ": the file holds no vector layer");
  if (layerName.empty()) {
    v.layer = v.dataset->GetLayer(0);
  } else {
    v.layer = v.dataset->GetLayerByName(layerName.c_str());
    if (!v.layer) {
      std::string names;
      for (int i = 0; i < v.dataset->GetLayerCount(); ++i)
        names += (i ? ", " : "") + std::string(v.dataset->GetLayer(i)->GetName());
      throw UsageError(path + ": no layer '" + layerName + "' (layers: " + names + ")");
    }
  }
  if (!v.layer) throw UsageError(path + ": cannot open the first layer: " + lastError());
  v.name = v.layer->GetName();
  return v;
}

int fieldIndex(const VectorLayer& v, const std::string& field, const std::string& optionKey) {
  OGRFeatureDefn* defn = v.layer->GetLayerDefn();
  const int i = defn->GetFieldIndex(field.c_str());
  if (i >= 0) return i;
  std::string names;
  for (int k = 0; k < defn->GetFieldCount(); ++k) names += (k ? ", " : "") + std::string(defn->GetFieldDefn(k)->GetNameRef());
  throw UsageError(v.where() + ": no field '" + field + "' (set by " + optionKey + "); the layer has: " +
                   (names.empty() ? std::string("no fields") : names));
}

std::vector<std::int32_t> rasterizeIndices(const std::vector<OGRGeometry*>& geometries, const GeoTransform& gt,
                                           int rows, int cols, const std::string& context) {
  ensureRegistered();
  std::vector<std::int32_t> out(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), 0);
  if (geometries.empty() || rows <= 0 || cols <= 0) return out;
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  if (!mem) throw std::runtime_error(context + ": the GDAL MEM driver is missing");
  CPLErrorReset();
  Dataset ds(mem->Create("", cols, rows, 1, GDT_Int32, nullptr));
  if (!ds) throw std::runtime_error(context + ": cannot create an in-memory raster: " + lastError());
  double g[6] = {gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]};
  check(ds->SetGeoTransform(g), context + ": set geotransform");
  std::vector<OGRGeometryH> handles;
  std::vector<double> burn;
  handles.reserve(geometries.size());
  for (std::size_t i = 0; i < geometries.size(); ++i) {
    handles.push_back(OGRGeometry::ToHandle(geometries[i]));
    burn.push_back(static_cast<double>(i + 1));
  }
  int bandList[1] = {1};
  check(GDALRasterizeGeometries(GDALDataset::ToHandle(ds.get()), 1, bandList, static_cast<int>(handles.size()),
                                handles.data(), nullptr, nullptr, burn.data(), nullptr, nullptr, nullptr),
        context + ": rasterize");
  GDALRasterBand* band = ds->GetRasterBand(1);
  CPLErr err = band->RasterIO(GF_Read, 0, 0, cols, rows, out.data(), cols, rows, GDT_Int32, 0, 0, nullptr);
  check(err, context + ": read back the rasterized window");
  return out;
}

template <class T>
static void readImpl(GDALRasterBand* band, int x, int y, int w, int h, T* buf, int bufW, int bufH, GDALDataType type,
                     const std::string& context) {
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = GRIORA_NearestNeighbour;
  CPLErrorReset();
  CPLErr err = band->RasterIO(GF_Read, x, y, w, h, buf, bufW, bufH, type, 0, 0, &extra);
  if (err != CE_None)
    throw std::runtime_error(context + ": read of window (" + std::to_string(x) + "," + std::to_string(y) + ") " +
                             std::to_string(w) + "x" + std::to_string(h) + " failed: " + lastError());
}

void readWindow(GDALRasterBand* b, int x, int y, int w, int h, std::uint16_t* buf, int bw, int bh, const std::string& c) {
  readImpl(b, x, y, w, h, buf, bw, bh, GDT_UInt16, c);
}
void readWindow(GDALRasterBand* b, int x, int y, int w, int h, std::uint8_t* buf, int bw, int bh, const std::string& c) {
  readImpl(b, x, y, w, h, buf, bw, bh, GDT_Byte, c);
}
void readWindow(GDALRasterBand* b, int x, int y, int w, int h, float* buf, int bw, int bh, const std::string& c) {
  readImpl(b, x, y, w, h, buf, bw, bh, GDT_Float32, c);
}

ScopedConfigOption::ScopedConfigOption(std::string key, const std::string& value) : key_(std::move(key)) {
  const char* old = CPLGetThreadLocalConfigOption(key_.c_str(), nullptr);
  if (old) {
    hadOld_ = true;
    old_ = old;
  }
  CPLSetThreadLocalConfigOption(key_.c_str(), value.c_str());
}

ScopedConfigOption::~ScopedConfigOption() {
  CPLSetThreadLocalConfigOption(key_.c_str(), hadOld_ ? old_.c_str() : nullptr);
}

namespace {
struct StringList {
  char** list = nullptr;
  explicit StringList(const std::vector<std::string>& items) {
    for (const auto& s : items) list = CSLAddString(list, s.c_str());
  }
  ~StringList() { CSLDestroy(list); }
};

GDALDataType gdalType(PixelType t) {
  switch (t) {
    case PixelType::u8: return GDT_Byte;
    case PixelType::u16: return GDT_UInt16;
    case PixelType::i16: return GDT_Int16;
    case PixelType::i32: return GDT_Int32;
    case PixelType::f32: return GDT_Float32;
  }
  return GDT_Unknown;
}

GDALDriver* driverByName(const std::string& name) {
  ensureRegistered();
  GDALDriver* d = GetGDALDriverManager()->GetDriverByName(name.c_str());
  if (!d) throw std::runtime_error("GDAL driver " + name + " is not available in this GDAL build");
  return d;
}

template <class T>
void writeImpl(GDALDataset* ds, int band, int x, int y, int w, int h, const T* buf, GDALDataType type,
               const std::string& context) {
  GDALRasterBand* b = ds->GetRasterBand(band);
  if (!b) throw std::runtime_error(context + ": no band " + std::to_string(band));
  CPLErrorReset();
  CPLErr err = b->RasterIO(GF_Write, x, y, w, h, const_cast<T*>(buf), w, h, type, 0, 0, nullptr);
  if (err != CE_None)
    throw std::runtime_error(context + ": write of window (" + std::to_string(x) + "," + std::to_string(y) + ") " +
                             std::to_string(w) + "x" + std::to_string(h) + " failed: " + lastError());
}
}  // namespace

Dataset createRaster(const std::string& driver, const std::string& path, int width, int height, int bands,
                     PixelType type, const std::vector<std::string>& options) {
  GDALDriver* d = driverByName(driver);
  StringList opts(options);
  CPLErrorReset();
  GDALDataset* ds = d->Create(path.c_str(), width, height, bands, gdalType(type), opts.list);
  if (!ds) throw std::runtime_error(path + ": cannot create " + driver + " raster: " + lastError());
  return Dataset(ds);
}

Dataset createCopy(const std::string& driver, const std::string& path, GDALDataset* src,
                   const std::vector<std::string>& options) {
  GDALDriver* d = driverByName(driver);
  StringList opts(options);
  CPLErrorReset();
  GDALDataset* ds = d->CreateCopy(path.c_str(), src, FALSE, opts.list, nullptr, nullptr);
  if (!ds) throw std::runtime_error(path + ": cannot write " + driver + " copy: " + lastError());
  return Dataset(ds);
}

void setGeoreference(GDALDataset* ds, const GeoTransform& gt, const OGRSpatialReference& srs,
                     const std::string& context) {
  GeoTransform copy = gt;
  check(ds->SetGeoTransform(copy.data()), context + ": cannot set the geotransform");
  check(ds->SetSpatialRef(&srs), context + ": cannot set the coordinate reference system");
}

void setMetadataItem(GDALDataset* ds, const std::string& key, const std::string& value, const std::string& context) {
  check(ds->SetMetadataItem(key.c_str(), value.c_str()), context + ": cannot set metadata " + key);
}

void setBandInfo(GDALDataset* ds, int band, const std::string& description, const double* noData,
                 const std::string& context) {
  GDALRasterBand* b = ds->GetRasterBand(band);
  if (!b) throw std::runtime_error(context + ": no band " + std::to_string(band));
  if (!description.empty()) b->SetDescription(description.c_str());
  if (noData) check(b->SetNoDataValue(*noData), context + ": cannot set the no-data value");
}

void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::uint8_t* buf, const std::string& c) {
  writeImpl(ds, band, x, y, w, h, buf, GDT_Byte, c);
}
void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::uint16_t* buf, const std::string& c) {
  writeImpl(ds, band, x, y, w, h, buf, GDT_UInt16, c);
}
void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::int16_t* buf, const std::string& c) {
  writeImpl(ds, band, x, y, w, h, buf, GDT_Int16, c);
}
void writeWindow(GDALDataset* ds, int band, int x, int y, int w, int h, const std::int32_t* buf, const std::string& c) {
  writeImpl(ds, band, x, y, w, h, buf, GDT_Int32, c);
}

void flush(GDALDataset* ds, const std::string& context) {
  CPLErrorReset();
  ds->FlushCache(false);  // void in GDAL 3.6: failures surface through the error state
  if (CPLGetLastErrorType() >= CE_Failure) throw std::runtime_error(context + ": error while flushing: " + lastError());
}

void close(Dataset& ds, const std::string& context) {
  if (!ds) return;
  CPLErrorReset();
  ds.reset();  // GDAL 3.6's GDALClose reports flush failures only through the error state
  if (CPLGetLastErrorType() >= CE_Failure) throw std::runtime_error(context + ": error while closing: " + lastError());
}

void removeFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(path + ".aux.xml", ec);
}

Dataset createVector(const std::string& driver, const std::string& path, const std::vector<std::string>& options) {
  GDALDriver* d = driverByName(driver);
  StringList opts(options);
  CPLErrorReset();
  GDALDataset* ds = d->Create(path.c_str(), 0, 0, 0, GDT_Unknown, opts.list);
  if (!ds) throw std::runtime_error(path + ": cannot create " + driver + " data source: " + lastError());
  return Dataset(ds);
}

OGRLayer* createLayer(GDALDataset* ds, const std::string& name, const OGRSpatialReference& srs, int geometryType,
                      const std::vector<std::string>& options, const std::string& context) {
  StringList opts(options);
  CPLErrorReset();
  OGRSpatialReference copy(srs);
  OGRLayer* layer = ds->CreateLayer(name.c_str(), &copy, static_cast<OGRwkbGeometryType>(geometryType), opts.list);
  if (!layer) throw std::runtime_error(context + ": cannot create layer " + name + ": " + lastError());
  return layer;
}

void addField(OGRLayer* layer, const std::string& name, int fieldType, const std::string& context) {
  OGRFieldDefn def(name.c_str(), static_cast<OGRFieldType>(fieldType));
  checkOgr(layer->CreateField(&def), context + ": cannot create field " + name);
}

void addFeature(OGRLayer* layer, OGRFeature* feature, const std::string& context) {
  checkOgr(layer->CreateFeature(feature), context + ": cannot write a feature");
}

void startTransaction(GDALDataset* ds, const std::string& context) {
  checkOgr(ds->StartTransaction(), context + ": cannot start a transaction");
}
void commitTransaction(GDALDataset* ds, const std::string& context) {
  checkOgr(ds->CommitTransaction(), context + ": cannot commit");
}

std::string temporaryName(const std::string& finalPath) {
  namespace fs = std::filesystem;
  fs::path p(finalPath);
  // Keep the extension: GDAL picks drivers and sidecar names from it.
  return (p.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" + p.filename().string())).string();
}

void commitFile(const std::string& temporary, const std::string& finalPath) {
  std::error_code ec;
  std::filesystem::rename(temporary, finalPath, ec);
  if (ec) throw std::runtime_error("cannot move " + temporary + " to " + finalPath + ": " + ec.message());
}



Dataset openVrtXml(const std::string& xml, const std::string& context) {
  ensureRegistered();
  CPLErrorReset();
  GDALDataset* ds = GDALDataset::Open(xml.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY);
  if (!ds) throw std::runtime_error(context + ": cannot open the assembled VRT: " + lastError());
  return Dataset(ds);
}

GeoTransform geoTransformOf(GDALDataset* ds, const std::string& context) {
  GeoTransform gt{};
  check(ds->GetGeoTransform(gt.data()), context + ": no geotransform");
  return gt;
}

void commitRaster(const std::string& temporary, const std::string& finalPath) {
  const std::string aux = temporary + ".aux.xml";
  if (std::filesystem::exists(aux)) commitFile(aux, finalPath + ".aux.xml");
  commitFile(temporary, finalPath);
}

}  // namespace cropmap::gdal
