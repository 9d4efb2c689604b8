#include "gdal_io.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <ogr_spatialref.h>
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

}  // namespace cropmap::gdal
