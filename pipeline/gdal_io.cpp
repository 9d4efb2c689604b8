#include "gdal_io.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "log.hpp"

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


// ---- writing -------------------------------------------------------------------

namespace {
GDALDataType gdalType(PixelType t) {
  switch (t) {
    case PixelType::byte: return GDT_Byte;
    case PixelType::uint16: return GDT_UInt16;
    case PixelType::int16: return GDT_Int16;
    case PixelType::float32: return GDT_Float32;
  }
  return GDT_Unknown;
}

// A NULL-terminated option list owned for the duration of one call.
class OptionList {
 public:
  explicit OptionList(const std::vector<std::string>& options) {
    for (const auto& o : options) list_ = CSLAddString(list_, o.c_str());
  }
  ~OptionList() { CSLDestroy(list_); }
  OptionList(const OptionList&) = delete;
  OptionList& operator=(const OptionList&) = delete;
  char** get() const { return list_; }

 private:
  char** list_ = nullptr;
};

GDALDriver* driverNamed(const std::string& name, const std::string& path) {
  ensureRegistered();
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName(name.c_str());
  if (!drv) throw std::runtime_error(path + ": GDAL has no " + name + " driver in this build");
  return drv;
}
}  // namespace

Dataset createRaster(const std::string& driver, const std::string& path, int width, int height, int bands,
                     PixelType type, const std::vector<std::string>& options) {
  GDALDriver* drv = driverNamed(driver, path);
  OptionList opts(options);
  CPLErrorReset();
  GDALDataset* ds = drv->Create(path.c_str(), width, height, bands, gdalType(type), opts.get());
  if (!ds) throw std::runtime_error(path + ": cannot create " + driver + " raster: " + lastError());
  return Dataset(ds);
}

Dataset createCopy(const std::string& driver, const std::string& path, GDALDataset* source,
                   const std::vector<std::string>& options) {
  GDALDriver* drv = driverNamed(driver, path);
  OptionList opts(options);
  CPLErrorReset();
  GDALDataset* ds = drv->CreateCopy(path.c_str(), source, FALSE, opts.get(), nullptr, nullptr);
  if (!ds) throw std::runtime_error(path + ": cannot write " + driver + " copy: " + lastError());
  return Dataset(ds);
}

Dataset createVector(const std::string& driver, const std::string& path, const std::vector<std::string>& options) {
  GDALDriver* drv = driverNamed(driver, path);
  OptionList opts(options);
  CPLErrorReset();
  GDALDataset* ds = drv->Create(path.c_str(), 0, 0, 0, GDT_Unknown, opts.get());
  if (!ds) throw std::runtime_error(path + ": cannot create " + driver + " data source: " + lastError());
  return Dataset(ds);
}

Dataset openVrtXml(const std::string& xml, const std::string& context) {
  ensureRegistered();
  CPLErrorReset();
  GDALDataset* ds = GDALDataset::Open(xml.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY);
  if (!ds) throw std::runtime_error(context + ": cannot open the assembled VRT: " + lastError());
  return Dataset(ds);
}

void setGeoreference(GDALDataset* ds, const GeoTransform& gt, const std::string& crsWkt, const std::string& context) {
  GeoTransform copy = gt;
  check(ds->SetGeoTransform(copy.data()), context + ": set geotransform");
  if (!crsWkt.empty()) {
    auto srs = srsFromWkt(crsWkt);
    check(ds->SetSpatialRef(srs.get()), context + ": set coordinate reference system");
  }
}

GeoTransform geoTransformOf(GDALDataset* ds, const std::string& context) {
  GeoTransform gt{};
  check(ds->GetGeoTransform(gt.data()), context + ": no geotransform");
  return gt;
}

void writeWindow(GDALRasterBand* band, int x, int y, int w, int h, const std::uint8_t* buf,
                 const std::string& context) {
  CPLErrorReset();
  CPLErr err = band->RasterIO(GF_Write, x, y, w, h, const_cast<std::uint8_t*>(buf), w, h, GDT_Byte, 0, 0, nullptr);
  if (err != CE_None)
    throw std::runtime_error(context + ": write of window (" + std::to_string(x) + "," + std::to_string(y) + ") " +
                             std::to_string(w) + "x" + std::to_string(h) + " failed: " + lastError());
}

void closeChecked(Dataset& ds, const std::string& context) {
  if (!ds) return;
  CPLErrorReset();
  ds.reset();
  if (CPLGetLastErrorType() == CE_Failure || CPLGetLastErrorType() == CE_Fatal)
    throw std::runtime_error(context + ": failed while closing: " + lastError());
}

void commitRaster(const std::string& temporary, const std::string& finalPath) {
  const std::string aux = temporary + ".aux.xml";
  if (std::filesystem::exists(aux)) commitFile(aux, finalPath + ".aux.xml");
  commitFile(temporary, finalPath);
}

void removeRaster(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(path + ".aux.xml", ec);
}

}  // namespace cropmap::gdal
