// `cropmap synth`: writes the synthetic region (see stages/synth/README.md).
//
// Every rank builds the same landscape (parcels, calendars) from the seed;
// the work units (tile x acquisition scenes, tile x month truth composites,
// per-tile truth rasters, the vector files) are spread round-robin over the
// ranks. Each unit's content depends only on the seed and the unit, so the
// files are byte-identical whatever the number of ranks.
#include "stages/commands.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "landscape.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/log.hpp"
#include "pipeline/progress.hpp"
#include "safe_format.hpp"
#include "scene.hpp"

namespace fs = std::filesystem;

namespace cropmap {

namespace {

using synth::Acquisition;
using synth::kBandIs10m;
using synth::kBandNames;
using synth::kNumBands;
using synth::Landscape;
using synth::TileModel;

constexpr const char* kMarker = ".cropmap-synth";
// GeoPackages record the time they were written; a fixed date keeps reruns byte-identical.
constexpr const char* kFixedDate = "2000-01-01T00:00:00.000Z";

struct Setup {
  const Config& cfg;
  const Landscape& land;
  fs::path out;
  std::vector<int> bands;     // modelled bands written, in kBandNames order
  std::map<std::string, int> legendClass;  // register code -> legend class id (level 0)
  bool haveLegend = false;
  std::string legendFile;
  int rank = 0;
  // Static layers of the tiles this rank works on, built on first use.
  mutable std::map<int, std::unique_ptr<synth::StaticLayer>> statics;
  const synth::StaticLayer* staticsOf(const TileModel& t) const {
    if (!synth::StaticLayer::fits(t.size)) return nullptr;
    auto& p = statics[t.index];
    if (!p) p = std::make_unique<synth::StaticLayer>(land, t);
    return p.get();
  }
};

enum class UnitKind { vectors, tileTruth, periodTruth, scene };
struct Unit {
  UnitKind kind;
  int tile = 0;
  int index = 0;  // acquisition index or month
};

void writeText(const fs::path& path, const std::string& text) {
  const std::string tmp = gdal::temporaryName(path.string());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::runtime_error(tmp + ": cannot write");
    out << text;
    if (!out.flush()) throw std::runtime_error(tmp + ": write failed (disk full?)");
  }
  gdal::commitFile(tmp, path.string());
}

gdal::GeoTransform geoTransform(const TileModel& t, double res) { return {t.x0, res, 0.0, t.y0, 0.0, -res}; }

std::string dateIso(std::int64_t day) {
  int y, m, d;
  synth::civilFromDays(day, y, m, d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

// ---------------------------------------------------------------------------
// One scene: rendered block by block into scratch GeoTIFFs, then copied into
// the per-band GeoTIFF/COG layout and/or the SAFE product (JP2).

struct SceneOutput {
  std::string csvLine;
};

SceneOutput writeScene(const Setup& s, const TileModel& t, const Acquisition& a, bool writeGeotiff) {
  const auto& cfg = s.cfg;
  const bool safe = cfg.synth.layout != "geotiff";
  const std::string ctx = "synth tile " + t.mgrs.id + " " + a.sensingCompact();
  synth::SceneRenderer renderer(s.land, t, a, s.staticsOf(t));
  auto srs = gdal::srsFromEpsg(t.mgrs.epsg);

  // Scratch rasters, one per output band, inside the output tree.
  const fs::path scratch = s.out / (".scratch-rank" + std::to_string(s.rank));
  struct Out {
    std::string band;
    int b;  // index into kBandNames, -1 for SCL
    int res;
    std::string scratchPath;
    gdal::Dataset ds;
  };
  std::vector<Out> outs;
  for (int b : s.bands) outs.push_back({kBandNames[static_cast<size_t>(b)], b, kBandIs10m[static_cast<size_t>(b)] ? 10 : 20, "", nullptr});
  outs.push_back({"SCL", -1, 20, "", nullptr});
  const int size = t.size;
  // Small scenes are staged in memory; full tiles in scratch files (bounded memory).
  const double stagedBytes = static_cast<double>(size) * size * 2.0 * static_cast<double>(outs.size());
  const bool inMemory = stagedBytes <= 512.0 * 1024 * 1024;
  for (auto& o : outs) {
    const int n = o.res == 10 ? size : size / 2;
    const auto type = o.b < 0 ? gdal::PixelType::u8 : gdal::PixelType::u16;
    if (inMemory) {
      o.ds = gdal::createRaster("MEM", "", n, n, 1, type);
    } else {
      fs::create_directories(scratch);
      o.scratchPath = (scratch / (t.mgrs.id + "_" + a.sensingCompact() + "_" + o.band + ".tif")).string();
      o.ds = gdal::createRaster("GTiff", o.scratchPath, n, n, 1, type, {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"});
    }
    gdal::setGeoreference(o.ds.get(), geoTransform(t, o.res), *srs, ctx);
  }

  synth::SceneStats stats;
  synth::SceneBlock block;
  const int blockRows = std::min(cfg.synth.block_rows, size);
  for (int row0 = 0; row0 < size; row0 += blockRows) {
    const int rows = std::min(blockRows, size - row0);
    renderer.render(row0, rows, block, stats);
    const size_t plane10 = static_cast<size_t>(rows) * static_cast<size_t>(size);
    const size_t plane20 = plane10 / 4;
    for (auto& o : outs) {
      if (o.b < 0) gdal::writeWindow(o.ds.get(), 1, 0, row0 / 2, size / 2, rows / 2, block.scl.data(), ctx + " SCL");
      else if (o.res == 10)
        gdal::writeWindow(o.ds.get(), 1, 0, row0, size, rows, block.dn10.data() + static_cast<size_t>(o.b) * plane10, ctx + " " + o.band);
      else
        gdal::writeWindow(o.ds.get(), 1, 0, row0 / 2, size / 2, rows / 2,
                          block.dn20.data() + static_cast<size_t>(o.b) * plane20, ctx + " " + o.band);
    }
  }
  const synth::SafeNames names = synth::safeNames(t.mgrs, a);
  for (auto& o : outs) {
    // What a reader of the per-band layout needs to turn DNs into reflectance.
    if (o.b >= 0) {
      if (a.hasOffset) gdal::setMetadataItem(o.ds.get(), "BOA_ADD_OFFSET", "-1000", ctx);
      gdal::setMetadataItem(o.ds.get(), "BOA_QUANTIFICATION_VALUE", "10000", ctx);
    }
    gdal::setMetadataItem(o.ds.get(), "PROCESSING_BASELINE", a.baseline, ctx);
    gdal::setMetadataItem(o.ds.get(), "PRODUCT_URI", names.product, ctx);
    gdal::setMetadataItem(o.ds.get(), "SENSING_TIME", synth::isoTime(a.day, a.secondsOfDay, a.millis), ctx);
    gdal::setMetadataItem(o.ds.get(), "SPACECRAFT_NAME", std::string("Sentinel-2") + a.satellite, ctx);
    gdal::setMetadataItem(o.ds.get(), "SENSING_ORBIT_NUMBER", std::to_string(a.relativeOrbit), ctx);
    gdal::flush(o.ds.get(), ctx + " " + o.band);
  }

  // Per-band GeoTIFFs: {tile}_{date}_{band}.tif (inputs.geotiff_pattern's default).
  if (writeGeotiff) {
    const fs::path dir = s.out / "geotiff" / t.mgrs.id;
    fs::create_directories(dir);
    for (auto& o : outs) {
      GDALDataset* src = o.ds.get();
      const double noData = 0;
      gdal::setBandInfo(src, 1, o.band, o.b >= 0 ? &noData : nullptr, ctx);
      const fs::path final = dir / (t.mgrs.id + "_" + a.dateCompact() + "_" + o.band + ".tif");
      const std::string tmp = gdal::temporaryName(final.string());
      gdal::Dataset dst;
      if (cfg.synth.geotiff_format == "cog")
        dst = gdal::createCopy("COG", tmp, src,
                               {"COMPRESS=DEFLATE", "PREDICTOR=YES", "BLOCKSIZE=256", "OVERVIEWS=AUTO", "NUM_THREADS=1"});
      else
        dst = gdal::createCopy("GTiff", tmp, src,
                               {"COMPRESS=DEFLATE", "PREDICTOR=2", "TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"});
      gdal::close(dst, final.string());
      gdal::commitFile(tmp, final.string());
    }
  }

  // The SAFE product, assembled under a temporary name and renamed as a whole.
  if (safe) {
    const fs::path finalDir = s.out / "safe" / names.product;
    const fs::path tmpDir = gdal::temporaryName(finalDir.string());
    fs::remove_all(tmpDir);
    const fs::path granule = tmpDir / "GRANULE" / names.granule;
    fs::create_directories(granule / "IMG_DATA" / "R10m");
    fs::create_directories(granule / "IMG_DATA" / "R20m");
    fs::create_directories(granule / "QI_DATA");
    fs::create_directories(tmpDir / "DATASTRIP");
    fs::create_directories(tmpDir / "AUX_DATA");
    std::vector<synth::SafeImage> images;
    gdal::ScopedConfigOption noPam("GDAL_PAM_ENABLED", "NO");  // no .aux.xml beside ESA-style JP2s
    for (auto& o : outs) {
      GDALDataset* src = o.ds.get();
      const std::string stem = synth::bandFileStem(t.mgrs, a, o.band, o.res);
      const fs::path file = granule / synth::bandFolder(o.res) / (stem + ".jp2");
      auto dst = gdal::createCopy("JP2OpenJPEG", file.string(), src,
                                  {"QUALITY=100", "REVERSIBLE=YES", "YCBCR420=NO", "GMLJP2=YES", "GeoJP2=YES",
                                   "WRITE_METADATA=NO", "BLOCKXSIZE=1024", "BLOCKYSIZE=1024", "RESOLUTIONS=4"});
      gdal::close(dst, file.string());
      images.push_back({o.band, o.res});
    }
    writeText(granule / "MTD_TL.xml", synth::tileMetadataXml(t.mgrs, a, size, stats));
    writeText(tmpDir / "MTD_MSIL2A.xml", synth::productMetadataXml(t.mgrs, a, images, stats));
    std::error_code ec;
    fs::remove_all(finalDir, ec);
    fs::rename(tmpDir, finalDir, ec);
    if (ec) throw std::runtime_error("cannot move " + tmpDir.string() + " to " + finalDir.string() + ": " + ec.message());
  }
  for (auto& o : outs) {
    gdal::close(o.ds, ctx + " " + o.band);
    if (!o.scratchPath.empty()) gdal::removeFile(o.scratchPath);
  }

  char line[512];
  std::snprintf(line, sizeof line, "%s,%s,%s,S2%c,%d,%s,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%s\n", t.mgrs.id.c_str(),
                dateIso(a.day).c_str(), synth::isoTime(a.day, a.secondsOfDay, a.millis).c_str(), a.satellite,
                a.relativeOrbit, a.baseline.c_str(), a.hasOffset ? -1000 : 0, 100.0 * renderer.plan().targetCloud,
                stats.percent({8, 9, 10}), stats.percent({3}), stats.percent({0}, false), stats.percent({4, 5, 6}),
                names.product.c_str());
  return {line};
}

// ---------------------------------------------------------------------------
// Truth rasters

const double kNoDataZero = 0;

void writeTileTruth(const Setup& s, const TileModel& t) {
  const std::string ctx = "synth truth tile " + t.mgrs.id;
  const fs::path dir = s.out / "truth" / t.mgrs.id;
  fs::create_directories(dir);
  auto srs = gdal::srsFromEpsg(t.mgrs.epsg);
  const int size = t.size;
  const std::vector<std::string> opts = {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"};
  const fs::path parcelPath = dir / "parcel.tif", classPath = dir / "class.tif";
  const std::string parcelTmp = gdal::temporaryName(parcelPath.string()), classTmp = gdal::temporaryName(classPath.string());
  auto parcel = gdal::createRaster("GTiff", parcelTmp, size, size, 1, gdal::PixelType::i32, opts);
  gdal::setGeoreference(parcel.get(), geoTransform(t, 10), *srs, ctx);
  gdal::setBandInfo(parcel.get(), 1, "parcel id (0: none)", &kNoDataZero, ctx);
  gdal::Dataset cls;
  if (s.haveLegend) {
    cls = gdal::createRaster("GTiff", classTmp, size, size, 1, gdal::PixelType::i16, opts);
    gdal::setGeoreference(cls.get(), geoTransform(t, 10), *srs, ctx);
    const double none = -1;
    gdal::setBandInfo(cls.get(), 1, "legend class (level 0; -1: none, ignored or unknown code)", &none, ctx);
    gdal::setMetadataItem(cls.get(), "LEGEND", s.legendFile, ctx);
  }
  const int rowsPerBlock = 256;
  std::vector<std::int32_t> pid;
  std::vector<std::int16_t> cid;
  const auto& parcels = s.land.parcels();
  const auto& codes = s.land.style().codes;
  for (int row0 = 0; row0 < size; row0 += rowsPerBlock) {
    const int rows = std::min(rowsPerBlock, size - row0);
    pid.assign(static_cast<size_t>(rows) * static_cast<size_t>(size), 0);
    cid.assign(pid.size(), -1);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < size; ++c) {
        const double x = t.x0 + (c + 0.5) * 10.0, y = t.y0 - (row0 + r + 0.5) * 10.0;
        const synth::Site site = s.land.locate(t, x, y);
        if (site.parcel < 0) continue;
        const auto& par = parcels[static_cast<size_t>(site.parcel)];
        const size_t at = static_cast<size_t>(r) * static_cast<size_t>(size) + static_cast<size_t>(c);
        pid[at] = static_cast<std::int32_t>(par.id);
        auto it = s.legendClass.find(codes[static_cast<size_t>(par.code)].code);
        if (it != s.legendClass.end()) cid[at] = static_cast<std::int16_t>(it->second);
      }
    gdal::writeWindow(parcel.get(), 1, 0, row0, size, rows, pid.data(), ctx + " parcel");
    if (cls) gdal::writeWindow(cls.get(), 1, 0, row0, size, rows, cid.data(), ctx + " class");
  }
  gdal::close(parcel, parcelPath.string());
  gdal::commitFile(parcelTmp, parcelPath.string());
  if (cls) {
    gdal::close(cls, classPath.string());
    gdal::commitFile(classTmp, classPath.string());
  }
}

void writePeriodTruth(const Setup& s, const TileModel& t, int month) {
  std::vector<const Acquisition*> dates;
  for (const auto& a : t.acquisitions)
    if (a.month == month) dates.push_back(&a);
  if (dates.empty()) return;
  char period[16];
  std::snprintf(period, sizeof period, "%04d-%02d", s.cfg.synth.year, month);
  const std::string ctx = "synth truth tile " + t.mgrs.id + " period " + period;
  const fs::path dir = s.out / "truth" / t.mgrs.id;
  fs::create_directories(dir);
  const fs::path final = dir / (std::string("reflectance_") + period + ".tif");
  const std::string tmp = gdal::temporaryName(final.string());
  const int size = t.size;
  const int nb = static_cast<int>(s.bands.size());
  auto ds = gdal::createRaster("GTiff", tmp, size, size, nb, gdal::PixelType::u16,
                               {"COMPRESS=DEFLATE", "PREDICTOR=2", "TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                                "INTERLEAVE=BAND"});
  auto srs = gdal::srsFromEpsg(t.mgrs.epsg);
  gdal::setGeoreference(ds.get(), geoTransform(t, 10), *srs, ctx);
  for (int i = 0; i < nb; ++i)
    gdal::setBandInfo(ds.get(), i + 1, kBandNames[static_cast<size_t>(s.bands[static_cast<size_t>(i)])], &kNoDataZero, ctx);
  std::string list;
  for (const auto* a : dates) list += (list.empty() ? "" : ",") + dateIso(a->day);
  gdal::setMetadataItem(ds.get(), "PERIOD", period, ctx);
  gdal::setMetadataItem(ds.get(), "DATES", list, ctx);
  gdal::setMetadataItem(ds.get(), "SCALE", "reflectance x 10000, no offset", ctx);
  gdal::setMetadataItem(ds.get(), "METHOD", "per-pixel median of the cloud-free reflectance on every acquisition date of the period", ctx);

  std::vector<std::unique_ptr<synth::ClearSky>> skies;
  for (const auto* a : dates) skies.push_back(std::make_unique<synth::ClearSky>(s.land, t, *a, s.staticsOf(t)));
  // Rows per block: keep dates x bands x rows x size floats under ~200 MB.
  const size_t perRow = dates.size() * kNumBands * static_cast<size_t>(size) * sizeof(float);
  const int rowsPerBlock = static_cast<int>(std::clamp<size_t>(200u * 1024 * 1024 / perRow, 1, 256));
  std::vector<std::vector<float>> refl(dates.size());
  std::vector<std::uint16_t> outBand;
  std::vector<float> series(dates.size());
  for (int row0 = 0; row0 < size; row0 += rowsPerBlock) {
    const int rows = std::min(rowsPerBlock, size - row0);
    for (size_t d = 0; d < dates.size(); ++d) skies[d]->block(row0, rows, refl[d]);
    const size_t plane = static_cast<size_t>(rows) * static_cast<size_t>(size);
    outBand.resize(plane);
    for (int i = 0; i < nb; ++i) {
      const size_t b = static_cast<size_t>(s.bands[static_cast<size_t>(i)]);
      for (size_t p = 0; p < plane; ++p) {
        for (size_t d = 0; d < dates.size(); ++d) series[d] = refl[d][b * plane + p];
        // Median (lower middle for even counts): what a per-period median of clear views approaches.
        const size_t mid = (series.size() - 1) / 2;
        std::nth_element(series.begin(), series.begin() + static_cast<long>(mid), series.end());
        outBand[p] = synth::toDn(series[mid], false);
      }
      gdal::writeWindow(ds.get(), i + 1, 0, row0, size, rows, outBand.data(), ctx);
    }
  }
  gdal::close(ds, final.string());
  gdal::commitFile(tmp, final.string());
}

// ---------------------------------------------------------------------------
// The register and the zones, in the register's CRS.

std::unique_ptr<OGRPolygon> polygonOf(const synth::Ring& ring, OGRCoordinateTransformation* ct, const std::string& ctx) {
  auto lr = std::make_unique<OGRLinearRing>();
  for (const auto& p : ring) lr->addPoint(p.first, p.second);
  lr->addPoint(ring.front().first, ring.front().second);
  auto poly = std::make_unique<OGRPolygon>();
  poly->addRingDirectly(lr.release());
  if (poly->transform(ct) != OGRERR_NONE) throw std::runtime_error(ctx + ": cannot reproject a polygon");
  return poly;
}

void writeVectors(const Setup& s) {
  const auto& land = s.land;
  const auto& style = land.style();
  gdal::ScopedConfigOption fixedDate("OGR_CURRENT_DATE", kFixedDate);
  auto target = gdal::srsFromEpsg(style.epsg);
  std::map<int, std::unique_ptr<OGRCoordinateTransformation>> toTarget;  // by source EPSG
  auto transformFor = [&](int epsg) {
    auto& ct = toTarget[epsg];
    if (!ct) {
      auto src = gdal::srsFromEpsg(epsg);
      ct.reset(OGRCreateCoordinateTransformation(src.get(), target.get()));
      if (!ct) throw std::runtime_error("cannot transform EPSG:" + std::to_string(epsg) + " to EPSG:" + std::to_string(style.epsg));
    }
    return ct.get();
  };

  // parcels.gpkg
  {
    const fs::path final = s.out / "parcels.gpkg";
    const std::string tmp = gdal::temporaryName(final.string());
    const std::string ctx = final.string();
    auto ds = gdal::createVector("GPKG", tmp);
    OGRLayer* layer = gdal::createLayer(ds.get(), style.layerName, *target, wkbPolygon, {"FID=fid", "SPATIAL_INDEX=YES"}, ctx);
    gdal::addField(layer, style.idField, style.idIsString ? OFTString : OFTInteger64, ctx);
    // The INVEKOS field-piece id: a Real that neighbouring plots share, as in the real register.
    const bool fieldPiece = style.name == "invekos";
    if (fieldPiece) gdal::addField(layer, "FS_KENNUNG", OFTReal, ctx);
    gdal::addField(layer, style.codeField, style.codeIsInteger ? OFTInteger : OFTString, ctx);
    if (!style.nameField.empty()) gdal::addField(layer, style.nameField, OFTString, ctx);
    const std::string areaField = style.name == "rpg" ? "SURF_PARC" : "SL_FLAECHE_BRUTTO_HA";
    gdal::addField(layer, areaField, OFTReal, ctx);
    gdal::startTransaction(ds.get(), ctx);
    for (const auto& p : land.parcels()) {
      const TileModel& t = land.tiles()[static_cast<size_t>(p.tile)];
      OGRFeature f(layer->GetLayerDefn());
      if (style.idIsString) f.SetField(style.idField.c_str(), std::to_string(p.id).c_str());
      else f.SetField(style.idField.c_str(), static_cast<GIntBig>(p.id));
      const auto& rc = style.codes[static_cast<size_t>(p.code)];
      if (fieldPiece) f.SetField("FS_KENNUNG", static_cast<double>(100000 + (p.id + 1) / 2));
      if (style.codeIsInteger) f.SetField(style.codeField.c_str(), std::stoi(rc.code));
      else f.SetField(style.codeField.c_str(), rc.code.c_str());
      if (!style.nameField.empty()) f.SetField(style.nameField.c_str(), rc.name.c_str());
      f.SetField(areaField.c_str(), std::round(p.area / 100.0) / 100.0);  // hectares, 2 decimals as registers print
      f.SetGeometryDirectly(polygonOf(p.ring, transformFor(t.mgrs.epsg), ctx).release());
      f.SetFID(p.id);
      gdal::addFeature(layer, &f, ctx);
    }
    gdal::commitTransaction(ds.get(), ctx);
    gdal::close(ds, ctx);
    gdal::commitFile(tmp, final.string());
  }

  // zones.gpkg: regions x zones over each tile's area, edges densified so the
  // reprojected outlines follow the UTM rectangles.
  {
    const fs::path final = s.out / "zones.gpkg";
    const std::string tmp = gdal::temporaryName(final.string());
    const std::string ctx = final.string();
    auto ds = gdal::createVector("GPKG", tmp);
    OGRLayer* layer = gdal::createLayer(ds.get(), "zones", *target, wkbPolygon, {"FID=fid"}, ctx);
    gdal::addField(layer, "region", OFTInteger, ctx);
    gdal::addField(layer, "zone", OFTInteger, ctx);
    gdal::addField(layer, "tile", OFTString, ctx);
    gdal::startTransaction(ds.get(), ctx);
    const int R = s.cfg.synth.regions, Z = s.cfg.synth.zones_per_region;
    GIntBig fid = 1;
    for (const auto& t : land.tiles()) {
      const double ext = t.extent();
      for (int r = 0; r < R; ++r)
        for (int z = 0; z < Z; ++z) {
          const double x0 = t.x0 + ext * z / Z, x1 = t.x0 + ext * (z + 1) / Z;
          const double y0 = t.y0 - ext * r / R, y1 = t.y0 - ext * (r + 1) / R;
          synth::Ring ring;
          const int steps = std::max(1, static_cast<int>(std::ceil(std::max(x1 - x0, y0 - y1) / 500.0)));
          for (int i = 0; i < steps; ++i) ring.emplace_back(x0 + (x1 - x0) * i / steps, y1);
          for (int i = 0; i < steps; ++i) ring.emplace_back(x1, y1 + (y0 - y1) * i / steps);
          for (int i = 0; i < steps; ++i) ring.emplace_back(x1 - (x1 - x0) * i / steps, y0);
          for (int i = 0; i < steps; ++i) ring.emplace_back(x0, y0 - (y0 - y1) * i / steps);
          OGRFeature f(layer->GetLayerDefn());
          f.SetField("region", r);
          f.SetField("zone", z);
          f.SetField("tile", t.mgrs.id.c_str());
          f.SetGeometryDirectly(polygonOf(ring, transformFor(t.mgrs.epsg), ctx).release());
          f.SetFID(fid++);
          gdal::addFeature(layer, &f, ctx);
        }
    }
    gdal::commitTransaction(ds.get(), ctx);
    gdal::close(ds, ctx);
    gdal::commitFile(tmp, final.string());
  }

  // truth/parcels.csv: what each parcel really is.
  {
    std::ostringstream csv;
    csv << "id,tile,code,role,kind,legend_class,area_m2,shift_days,vigour,region,zone\n";
    for (const auto& p : land.parcels()) {
      const auto& rc = style.codes[static_cast<size_t>(p.code)];
      auto it = s.legendClass.find(rc.code);
      char buf[320];
      std::snprintf(buf, sizeof buf, "%lld,%s,%s,%s,%s,%d,%.1f,%.2f,%.3f,%d,%d\n", static_cast<long long>(p.id),
                    land.tiles()[static_cast<size_t>(p.tile)].mgrs.id.c_str(), rc.code.c_str(),
                    rc.role == synth::CodeRole::crop ? "crop" : rc.role == synth::CodeRole::ignored ? "ignored" : "unknown",
                    synth::cropKinds()[static_cast<size_t>(p.kind)].name.c_str(),
                    it == s.legendClass.end() ? -1 : it->second, p.area, p.shift, p.vigour, p.region, p.zone);
      csv << buf;
    }
    fs::create_directories(s.out / "truth");
    writeText(s.out / "truth" / "parcels.csv", csv.str());
  }
}

// ---------------------------------------------------------------------------

void prepareOutput(const fs::path& out) {
  if (fs::exists(out) && !fs::is_empty(out)) {
    if (!fs::exists(out / kMarker))
      throw UsageError(out.string() + " exists and was not written by cropmap synth; remove it or choose another "
                                      "synth.output / run.output");
    for (const char* sub : {"safe", "geotiff", "truth"}) fs::remove_all(out / sub);
    for (const auto& e : fs::directory_iterator(out))
      if (e.path().filename().string().rfind(".scratch-", 0) == 0 || e.path().filename().string().rfind(".tmp-", 0) == 0)
        fs::remove_all(e.path());
    fs::remove(out / "parcels.gpkg");
    fs::remove(out / "zones.gpkg");
  }
  fs::create_directories(out / "truth");
  writeText(out / kMarker, "written by cropmap synth; the directory is replaced by the next run\n");
}

int runSynth(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const int rank = ctx.rank(), size = ctx.size();
  gdal::ensureRegistered();
  const auto t0 = std::chrono::steady_clock::now();

  synth::SynthParams p;
  p.seed = static_cast<std::uint64_t>(cfg.run.seed);
  p.tiles = cfg.synth.tiles;
  p.size = cfg.synth.size;
  p.year = cfg.synth.year;
  p.cloudCover = cfg.synth.cloud_cover;
  p.regions = cfg.synth.regions;
  p.zonesPerRegion = cfg.synth.zones_per_region;
  p.registerStyle = cfg.synth.register_style;
  p.fieldSize = cfg.synth.field_size_m;
  p.regionalShiftDays = cfg.synth.regional_shift_days;
  p.reprocessedShare = cfg.synth.reprocessed_share;
  p.cloudyMonths = cfg.synth.cloudy_months;
  p.scenes = cfg.synth.scenes;
  std::unique_ptr<Landscape> land;
  try {
    land = std::make_unique<Landscape>(p);
  } catch (const std::invalid_argument& e) {
    cfg.fail("synth.tiles", e.what());
  }

  Setup s{cfg, *land, fs::path(cfg.run.output) / cfg.synth.output, {}, {}, false, "", rank, {}};
  for (int b = 0; b < kNumBands; ++b)
    if (kBandIs10m[static_cast<size_t>(b)] || cfg.synth.bands_20m) s.bands.push_back(b);
  // The legend the class truth is expressed in: labels.legend, else the one
  // the register style is written for (when run from the source tree).
  s.legendFile = !cfg.labels.legend.empty() ? cfg.labels.legend : land->style().legendFile;
  if (fs::exists(s.legendFile)) {
    const Legend legend = Legend::load(s.legendFile);
    s.haveLegend = true;
    for (const auto& c : land->style().codes) {
      const int id = legend.classOf(c.code, 0);
      if (id >= 0) s.legendClass[c.code] = id;
      const bool asDesigned = (c.role == synth::CodeRole::crop && id >= 0) ||
                              (c.role == synth::CodeRole::ignored && id == Legend::kIgnored) ||
                              (c.role == synth::CodeRole::unknown && id == Legend::kUnknown);
      if (!asDesigned && rank == 0)
        log::warn("synth: legend ", s.legendFile, " treats register code ", c.code,
                  " differently from the synthetic register's design");
    }
  } else if (rank == 0) {
    log::warn("synth: no legend at '", s.legendFile, "': truth/<tile>/class.tif is not written (set labels.legend)");
  }

  if (rank == 0) prepareOutput(s.out);
  CROPMAP_MPI(MPI_Barrier(ctx.comm()));

  // Units: one per scene, per tile-month truth, per tile truth, and the vectors.
  std::vector<Unit> units;
  units.push_back({UnitKind::vectors, 0, 0});
  std::int64_t scenes = 0;
  for (const auto& t : land->tiles()) {
    units.push_back({UnitKind::tileTruth, t.index, 0});
    for (int m = 1; m <= 12; ++m) units.push_back({UnitKind::periodTruth, t.index, m});
    for (size_t i = 0; i < t.acquisitions.size(); ++i) units.push_back({UnitKind::scene, t.index, static_cast<int>(i)});
    scenes += static_cast<std::int64_t>(t.acquisitions.size());
  }
  if (rank == 0)
    log::info("synth: ", land->tiles().size(), " tiles of ", cfg.synth.size, "x", cfg.synth.size, " px, ", scenes,
              " scenes in ", cfg.synth.year, ", ", land->parcels().size(), " parcels (", cfg.synth.register_style,
              "), ", size, " rank", size > 1 ? "s" : "", " -> ", s.out.string());
  std::vector<const Unit*> mine;
  for (size_t i = 0; i < units.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(size)) == rank) mine.push_back(&units[i]);

  Progress progress("synth", static_cast<std::int64_t>(mine.size()), "units", rank == 0);
  std::string csv;
  const auto busy0 = std::chrono::steady_clock::now();
  for (const Unit* u : mine) {
    const TileModel& t = land->tiles()[static_cast<size_t>(u->tile)];
    switch (u->kind) {
      case UnitKind::vectors: writeVectors(s); break;
      case UnitKind::tileTruth: writeTileTruth(s, t); break;
      case UnitKind::periodTruth: writePeriodTruth(s, t, u->index); break;
      case UnitKind::scene: {
        const Acquisition& a = t.acquisitions[static_cast<size_t>(u->index)];
        // Two orbits never image a tile on the same day in this orbit model;
        // should they, the per-band layout keeps the first (its names hold the date only).
        bool first = true;
        for (int i = 0; i < u->index; ++i)
          if (t.acquisitions[static_cast<size_t>(i)].day == a.day) first = false;
        csv += writeScene(s, t, a, cfg.synth.layout != "safe" && first).csvLine;
        break;
      }
    }
    progress.add();
  }
  progress.finish();
  const double busy = std::chrono::duration<double>(std::chrono::steady_clock::now() - busy0).count();
  std::error_code ec;
  fs::remove_all(s.out / (".scratch-rank" + std::to_string(rank)), ec);

  const Comm comm(ctx.comm());
  std::string all;
  for (const auto& text : comm.gatherText(csv, "synth: scene table")) all += text;
  const double maxBusy = comm.max(busy, "synth: busy time"), sumBusy = comm.sum(busy, "synth: busy time");
  if (rank == 0) {
    std::vector<std::string> lines;
    std::istringstream in(all);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    std::string text =
        "tile,date,sensing_time,satellite,relative_orbit,baseline,boa_add_offset,target_cloud_pct,cloud_pct,"
        "shadow_pct,nodata_pct,clear_pct,product\n";
    for (const auto& l : lines) text += l + "\n";
    writeText(s.out / "truth" / "scenes.csv", text);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log::info("synth: wrote ", scenes, " scenes of ", land->tiles().size(), " tiles in ", wall,
              " s; busy time per rank max ", maxBusy, " s, mean ", sumBusy / size, " s");
  }
  CROPMAP_MPI(MPI_Barrier(ctx.comm()));
  return 0;
}

}  // namespace

Command synthCommand() {
  Command c;
  c.name = "synth";
  c.summary = "write a synthetic Sentinel-2 L2A region with parcels, zones and truth (the embedded demo data)";
  c.description =
      "Writes below run.output/synth.output: safe/ (SAFE products with JP2 bands), geotiff/<tile>/ (per-band\n"
      "GeoTIFFs named {tile}_{date}_{band}.tif), parcels.gpkg, zones.gpkg and truth/. Deterministic for a given\n"
      "run.seed, whatever the number of ranks. Replaces a previous synth output in the same directory.";
  c.run = runSynth;
  return c;
}

}  // namespace cropmap
