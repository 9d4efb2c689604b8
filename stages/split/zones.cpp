#include "zones.hpp"

#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "pipeline/mpi.hpp"

namespace cropmap {

namespace {
std::int64_t integerField(OGRFeature& f, int idx, const std::string& what, const std::string& field,
                          const std::string& key) {
  if (!f.IsFieldSetAndNotNull(idx)) throw UsageError(what + ": field '" + field + "' (" + key + ") is empty");
  const auto t = f.GetFieldDefnRef(idx)->GetType();
  if (t == OFTInteger || t == OFTInteger64) return f.GetFieldAsInteger64(idx);
  const char* s = f.GetFieldAsString(idx);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  if (!*s || *end || errno == ERANGE)
    throw UsageError(what + ": field '" + field + "' (" + key + ") holds '" + s + "'; zones need integer attributes");
  return v;
}

// Grid keys pack (EPSG, column, row) of a cell; region keys the same at a coarser step.
std::int64_t packCell(int epsg, std::int64_t ix, std::int64_t iy) {
  return (static_cast<std::int64_t>(epsg % 100000) << 42) | ((ix & 0x1fffff) << 21) | (iy & 0x1fffff);
}
std::int64_t floorDiv(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

ZoneSource::ZoneSource(const SplitSection& options, const std::vector<TileGrid>& tiles)
    : options_(options), tiles_(tiles) {
  if (options.mode == "random_patches") {
    const int n = options.patches;
    for (size_t t = 0; t < tiles.size(); ++t)
      for (int p = 0; p < n * n; ++p) declared_.push_back({static_cast<std::int64_t>(t), p});
    return;
  }
  if (options.zones.empty()) return;  // grid: discovered from the pixels
  auto v = gdal::openLayer(options.zones, options.zone_layer);
  where_ = v.where();
  OGRLayer* l = v.layer;
  const OGRSpatialReference* srs = l->GetSpatialRef();
  if (!srs) throw UsageError(where_ + ": the zone layer has no coordinate reference system; assign one with ogr2ogr -a_srs");
  const int ri = gdal::fieldIndex(v, options.region_field, "split.region_field");
  const int zi = gdal::fieldIndex(v, options.zone_field, "split.zone_field");
  std::unique_ptr<OGRSpatialReference> lsrs(srs->Clone());
  lsrs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  l->ResetReading();
  for (OGRFeatureUniquePtr f(l->GetNextFeature()); f; f.reset(l->GetNextFeature())) {
    const std::string what = where_ + ": feature " + std::to_string(f->GetFID());
    kernels::ZoneKey key{integerField(*f, ri, what, options.region_field, "split.region_field"),
                         integerField(*f, zi, what, options.zone_field, "split.zone_field")};
    std::unique_ptr<OGRGeometry> g(f->StealGeometry());
    if (!g || g->IsEmpty()) continue;
    const auto gt = wkbFlatten(g->getGeometryType());
    if (gt != wkbPolygon && gt != wkbMultiPolygon)
      throw UsageError(what + ": geometry is a " + OGRGeometryTypeToName(g->getGeometryType()) +
                       "; zones must be polygons");
    if (!g->IsValid()) {
      std::unique_ptr<OGRGeometry> fixed(g->MakeValid());
      if (!fixed) throw UsageError(what + ": invalid zone polygon that cannot be repaired");
      g = std::move(fixed);
    }
    featureKeys_.push_back(key);
    features_.emplace_back(g.release());
    declared_.push_back(key);
  }
  if (features_.empty()) throw UsageError(where_ + ": the zone layer holds no polygon");
  std::sort(declared_.begin(), declared_.end());
  declared_.erase(std::unique(declared_.begin(), declared_.end()), declared_.end());
  // Reproject once per tile; the zone layer is small (regions x zones polygons).
  for (size_t t = 0; t < tiles.size(); ++t) {
    auto tsrs = gdal::srsFromWkt(tiles[t].crsWkt);
    auto ct = gdal::makeTransform(*lsrs, *tsrs, where_ + ": zones to tile " + tiles[t].name);
    auto& list = perTile_[static_cast<int>(t)];
    for (const auto& g : features_) {
      std::shared_ptr<OGRGeometry> c(g->clone());
      c->segmentize(50.0);  // keep straight zone edges straight after reprojection
      gdal::checkOgr(c->transform(ct.get()), where_ + ": reproject zones to tile " + tiles[t].name);
      list.push_back(std::move(c));
    }
  }
}

ZoneSource::~ZoneSource() = default;

std::string ZoneSource::describe() const {
  if (options_.mode == "random_patches")
    return std::to_string(options_.patches) + " x " + std::to_string(options_.patches) + " patches per tile";
  if (!where_.empty()) return where_ + " (" + std::to_string(declared_.size()) + " zones)";
  return "a " + std::to_string(options_.grid_km) + " km grid, regions of " + std::to_string(options_.region_zones) +
         " x " + std::to_string(options_.region_zones) + " cells";
}

void ZoneSource::keysOf(int t, int row0, int col0, int rows, int cols, std::vector<kernels::ZoneKey>& keys,
                        std::vector<std::uint8_t>& has) {
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  keys.assign(n, {});
  has.assign(n, 0);
  const TileGrid& g = tiles_[static_cast<size_t>(t)];
  const auto& gt = g.geotransform;
  if (options_.mode == "random_patches") {
    const int np = options_.patches;
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        const int r = row0 + y, c = col0 + x;
        if (r < 0 || c < 0 || r >= g.height || c >= g.width) continue;  // no patch outside the tile
        const int pi = static_cast<int>(static_cast<std::int64_t>(r) * np / g.height);
        const int pj = static_cast<int>(static_cast<std::int64_t>(c) * np / g.width);
        const size_t o = static_cast<size_t>(y) * cols + x;
        keys[o] = {t, pi * np + pj};
        has[o] = 1;
      }
    return;
  }
  if (!features_.empty()) {
    std::vector<OGRGeometry*> geoms;
    for (const auto& p : perTile_.at(t)) geoms.push_back(p.get());
    gdal::GeoTransform w{gt[0] + col0 * gt[1], gt[1], 0.0, gt[3] + row0 * gt[5], 0.0, gt[5]};
    const auto idx = gdal::rasterizeIndices(geoms, w, rows, cols, where_ + ": tile " + g.name);
    for (size_t i = 0; i < n; ++i)
      if (idx[i]) {
        keys[i] = featureKeys_[static_cast<size_t>(idx[i] - 1)];
        has[i] = 1;
      }
    return;
  }
  // Grid in the tile's own UTM CRS: tiles of one UTM zone share cells.
  const double step = options_.grid_km * 1000.0;
  const std::int64_t rz = options_.region_zones;
  for (int y = 0; y < rows; ++y) {
    const double northing = gt[3] + (row0 + y + 0.5) * gt[5];
    const auto iy = static_cast<std::int64_t>(std::floor(northing / step));
    for (int x = 0; x < cols; ++x) {
      const double easting = gt[0] + (col0 + x + 0.5) * gt[1];
      const auto ix = static_cast<std::int64_t>(std::floor(easting / step));
      const size_t o = static_cast<size_t>(y) * cols + x;
      keys[o] = {packCell(g.epsg, floorDiv(ix, rz), floorDiv(iy, rz)), packCell(g.epsg, ix, iy)};
      has[o] = 1;
    }
  }
}

}  // namespace cropmap
