#include "parcels.hpp"

#include <ogr_api.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "pipeline/identity.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"

namespace cropmap {

namespace {

bool polygonal(OGRwkbGeometryType t) {
  switch (wkbFlatten(t)) {
    case wkbPolygon:
    case wkbMultiPolygon:
    case wkbCurvePolygon:
    case wkbMultiSurface:
      return true;
    default:
      return false;
  }
}

// Keeps the polygons of a geometry (MakeValid may return a collection with
// lines and points where a polygon collapsed); null when none is left.
std::unique_ptr<OGRGeometry> polygonsOf(std::unique_ptr<OGRGeometry> g) {
  if (!g || g->IsEmpty()) return nullptr;
  if (polygonal(g->getGeometryType())) return g;
  if (wkbFlatten(g->getGeometryType()) != wkbGeometryCollection) return nullptr;
  auto multi = std::make_unique<OGRMultiPolygon>();
  for (auto* part : *g->toGeometryCollection()) {
    if (wkbFlatten(part->getGeometryType()) == wkbPolygon) {
      if (multi->addGeometry(part) != OGRERR_NONE) return nullptr;
    } else if (wkbFlatten(part->getGeometryType()) == wkbMultiPolygon) {
      for (auto* poly : *part->toMultiPolygon())
        if (multi->addGeometry(poly) != OGRERR_NONE) return nullptr;
    }
  }
  if (multi->IsEmpty()) return nullptr;
  return multi;
}

}  // namespace

ParcelIdRule::ParcelIdRule(const gdal::VectorLayer& layer, const LabelsSection& options)
    : where_(layer.where()), idName_(options.id_field) {
  OGRFeatureDefn* defn = layer.layer->GetLayerDefn();
  if (options.id_field.empty()) {
    description_ = "parcels identified by feature id + 1 (labels.id_field is empty)";
    return;
  }
  idField_ = gdal::fieldIndex(layer, options.id_field, "labels.id_field");
  idType_ = defn->GetFieldDefn(idField_)->GetType();
  if (idType_ != OFTString && idType_ != OFTInteger && idType_ != OFTInteger64 && idType_ != OFTReal)
    throw UsageError(where_ + ": field '" + options.id_field + "' (labels.id_field) is of type " +
                     OGRFieldDefn::GetFieldTypeName(static_cast<OGRFieldType>(idType_)) +
                     "; parcel ids must be integers, digit strings or reals with integral values");
  for (const auto& k : options.id_key_fields) keyFields_.push_back(gdal::fieldIndex(layer, k, "labels.id_key_fields"));
  if (options.duplicate_ids == "key" && keyFields_.empty())
    throw UsageError("labels.duplicate_ids is 'key' but labels.id_key_fields is empty: name the attributes that "
                     "together identify a parcel");

  mode_ = Mode::field;
  std::vector<std::int64_t> ids = scan(layer, false);
  std::sort(ids.begin(), ids.end());
  std::int64_t shared = 0, example = 0, exampleCount = 0;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i + 1;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    if (j - i > 1) {
      ++shared;
      duplicates_ += static_cast<std::int64_t>(j - i);
      if (static_cast<std::int64_t>(j - i) > exampleCount) {
        example = ids[i];
        exampleCount = static_cast<std::int64_t>(j - i);
      }
    }
    i = j;
  }
  if (duplicates_ == 0) {
    description_ = "parcels identified by '" + options.id_field + "' (unique over " + std::to_string(ids.size()) +
                   " features)";
    return;
  }
  const std::string found = where_ + ": field '" + options.id_field + "' (labels.id_field) is not unique: " +
                            std::to_string(shared) + " ids are shared by " + std::to_string(duplicates_) + " of " +
                            std::to_string(ids.size()) + " features (e.g. " + std::to_string(example) + " x" +
                            std::to_string(exampleCount) + ")";
  if (options.duplicate_ids == "fail")
    throw UsageError(found + "; set labels.duplicate_ids: fid (feature ids) or key (labels.id_key_fields), or "
                             "choose a unique id field");
  if (options.duplicate_ids == "key") {
    mode_ = Mode::key;
    std::vector<std::int64_t> keys = scan(layer, true);
    std::sort(keys.begin(), keys.end());
    const auto dup = std::adjacent_find(keys.begin(), keys.end());
    std::string names;
    for (const auto& k : options.id_key_fields) names += (names.empty() ? "" : ", ") + k;
    if (dup != keys.end())
      throw UsageError(found + "; and the composite key [" + names + "] (labels.id_key_fields) is not unique either; "
                               "add attributes to it or set labels.duplicate_ids: fid");
    description_ = "parcels identified by a hash of [" + names + "] (labels.duplicate_ids: key)";
  } else {
    mode_ = Mode::fid;
    description_ = "parcels identified by feature id + 1 (labels.duplicate_ids: fid)";
  }
  warning_ = found + "; " + description_ + ", so no two parcels are merged";
}

std::vector<std::int64_t> ParcelIdRule::scan(const gdal::VectorLayer& layer, bool key) const {
  OGRLayer* l = layer.layer;
  OGRFeatureDefn* defn = l->GetLayerDefn();
  // Only the id (or key) attributes are read: a national register scans in seconds.
  std::vector<std::string> ignored{"OGR_GEOMETRY", "OGR_STYLE"};
  for (int i = 0; i < defn->GetFieldCount(); ++i) {
    const bool used = key ? std::find(keyFields_.begin(), keyFields_.end(), i) != keyFields_.end() : i == idField_;
    if (!used) ignored.push_back(defn->GetFieldDefn(i)->GetNameRef());
  }
  std::vector<const char*> names;
  for (const auto& n : ignored) names.push_back(n.c_str());
  names.push_back(nullptr);
  l->SetIgnoredFields(names.data());
  l->SetSpatialFilter(nullptr);
  l->ResetReading();
  std::vector<std::int64_t> out;
  try {
    for (OGRFeatureUniquePtr f(l->GetNextFeature()); f; f.reset(l->GetNextFeature()))
      out.push_back(key ? keyId(*f) : fieldId(*f, where_ + ": feature " + std::to_string(f->GetFID())));
  } catch (...) {
    l->SetIgnoredFields(nullptr);
    throw;
  }
  l->SetIgnoredFields(nullptr);
  l->ResetReading();
  return out;
}

std::int64_t ParcelIdRule::fieldId(OGRFeature& f, const std::string& what) const {
  const std::string field = "field '" + idName_ + "' (labels.id_field)";
  if (!f.IsFieldSetAndNotNull(idField_)) throw UsageError(what + ": " + field + " is empty");
  std::int64_t id = 0;
  if (idType_ == OFTString) {
    const char* s = f.GetFieldAsString(idField_);
    char* end = nullptr;
    errno = 0;
    id = std::strtoll(s, &end, 10);
    if (!*s || *end || errno == ERANGE)
      throw UsageError(what + ": " + field + " holds '" + s +
                       "', not an integer parcel id; leave labels.id_field empty to use feature ids");
  } else if (idType_ == OFTReal) {
    const double v = f.GetFieldAsDouble(idField_);
    if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 9007199254740992.0)
      throw UsageError(what + ": " + field + " holds " + f.GetFieldAsString(idField_) +
                       ", not an integral parcel id; leave labels.id_field empty to use feature ids");
    id = static_cast<std::int64_t>(v);
  } else {
    id = f.GetFieldAsInteger64(idField_);
  }
  if (id <= 0)
    throw UsageError(what + ": parcel id " + std::to_string(id) + " from " + field +
                     "; ids must be positive (0 marks pixels without a parcel)");
  return id;
}

std::int64_t ParcelIdRule::keyId(OGRFeature& f) const {
  std::string key;
  for (int k : keyFields_) {
    key += f.IsFieldSetAndNotNull(k) ? f.GetFieldAsString(k) : "\x01null";
    key += '\x1f';
  }
  const std::int64_t id = static_cast<std::int64_t>(fnv1a(key) & 0x7fffffffffffffffULL);
  return id == 0 ? 1 : id;
}

std::int64_t ParcelIdRule::idOf(OGRFeature& f) const {
  switch (mode_) {
    case Mode::fid: return f.GetFID() + 1;  // Shapefile FIDs start at 0, and 0 means "no parcel"
    case Mode::key: return keyId(f);
    case Mode::field: break;
  }
  return fieldId(f, where_ + ": feature " + std::to_string(f.GetFID()));
}

ParcelSource::ParcelSource(const LabelsSection& options, const Legend& legend)
    : options_(options), legend_(legend) {
  if (options.parcels.empty()) throw UsageError("labels.parcels is not set: give the parcel register file");
  layer_ = gdal::openLayer(options.parcels, options.layer);
  where_ = layer_.where();
  OGRLayer* l = layer_.layer;
  const auto gtype = l->GetGeomType();
  if (gtype == wkbNone)
    throw UsageError(where_ + ": the layer has no geometry column; parcels must be polygons");
  if (wkbFlatten(gtype) != wkbUnknown && !polygonal(gtype))
    throw UsageError(where_ + ": geometry type is " + OGRGeometryTypeToName(gtype) +
                     "; parcels must be polygons or multipolygons");
  const OGRSpatialReference* srs = l->GetSpatialRef();
  if (!srs)
    throw UsageError(where_ + ": the layer has no coordinate reference system; assign the register's CRS, e.g. "
                              "ogr2ogr -a_srs EPSG:31287 out.gpkg in.gpkg");
  srs_.reset(srs->Clone());
  srs_->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  codeField_ = gdal::fieldIndex(layer_, options.code_field, "labels.code_field");
  ids_ = std::make_unique<ParcelIdRule>(layer_, options);
  featureCount_ = l->GetFeatureCount(TRUE);
  if (featureCount_ == 0) throw UsageError(where_ + ": the layer is empty; no parcel to label");
}

ParcelSource::~ParcelSource() = default;

OGRCoordinateTransformation& ParcelSource::forward(const TileGrid& tile) {
  auto it = forward_.find(tile.name);
  if (it != forward_.end()) return *it->second;
  auto tsrs = gdal::srsFromWkt(tile.crsWkt);
  auto f = gdal::makeTransform(*srs_, *tsrs, where_ + ": parcels to tile " + tile.name);
  auto b = gdal::makeTransform(*tsrs, *srs_, where_ + ": tile " + tile.name + " to parcels");
  tileSrs_[tile.name] = std::move(tsrs);
  backward_[tile.name] = std::move(b);
  return *(forward_[tile.name] = std::move(f));
}

OGRCoordinateTransformation& ParcelSource::backward(const TileGrid& tile) {
  forward(tile);
  return *backward_.at(tile.name);
}

std::array<double, 2> ParcelSource::toTile(const TileGrid& tile, double x, double y) {
  double xs[1] = {x}, ys[1] = {y};
  int ok[1] = {0};
  if (!forward(tile).Transform(1, xs, ys, nullptr, ok) || !ok[0])
    throw std::runtime_error(where_ + ": cannot transform (" + std::to_string(x) + ", " + std::to_string(y) +
                             ") to tile " + tile.name + ": " + gdal::lastError());
  return {xs[0], ys[0]};
}

std::vector<Parcel> ParcelSource::query(const TileGrid& tile, const std::array<double, 4>& bounds) {
  OGRCoordinateTransformation& fwd = forward(tile);
  const auto b = gdal::transformBounds(backward(tile), bounds, where_ + ": tile " + tile.name);
  OGRLayer* l = layer_.layer;
  l->SetSpatialFilterRect(b[0], b[1], b[2], b[3]);
  l->ResetReading();
  std::vector<Parcel> out;
  CPLErrorReset();
  for (OGRFeatureUniquePtr f(l->GetNextFeature()); f; f.reset(l->GetNextFeature())) {
    Parcel p;
    p.fid = f->GetFID();
    const std::string what = where_ + ": feature " + std::to_string(p.fid);
    p.id = ids_->idOf(*f);
    p.code = f->IsFieldSetAndNotNull(codeField_) ? f->GetFieldAsString(codeField_) : "";
    p.cls = legend_.classOf(p.code, options_.level);
    if (p.cls == Legend::kUnknown && options_.unknown_code == "abort")
      throw UsageError(what + ": crop code '" + p.code + "' in field '" + options_.code_field + "' is not in the legend " +
                       legend_.file + "; add it to a class or to 'ignore', or set labels.unknown_code: ignore");
    p.status = p.cls >= 0 ? ParcelStatus::labelled
               : p.cls == Legend::kIgnored ? ParcelStatus::ignored
                                           : ParcelStatus::unknown;

    std::unique_ptr<OGRGeometry> g(f->StealGeometry());
    if (!g || g->IsEmpty()) {
      p.status = ParcelStatus::invalid;
      out.push_back(std::move(p));
      continue;
    }
    if (!polygonal(g->getGeometryType()))
      throw UsageError(what + ": geometry is a " + OGRGeometryTypeToName(g->getGeometryType()) +
                       "; parcels must be polygons or multipolygons");
    if (g->hasCurveGeometry()) g.reset(g->getLinearGeometry());
    if (!g->IsValid()) {
      if (options_.on_invalid == "abort")
        throw UsageError(what + " (parcel " + std::to_string(p.id) +
                         "): invalid geometry (e.g. a self-intersection); repair the register or set "
                         "labels.on_invalid: repair|skip");
      if (options_.on_invalid == "repair") {
        std::unique_ptr<OGRGeometry> fixed(g->MakeValid());
        g = polygonsOf(std::move(fixed));
        if (!g) {
          p.status = ParcelStatus::invalid;
          out.push_back(std::move(p));
          continue;
        }
      } else {
        // skip: the geometry still burns (so the parcel is counted and erodes its
        // neighbours' borders) but labels nothing.
        p.status = ParcelStatus::invalid;
      }
    }
    gdal::checkOgr(g->transform(&fwd), what + ": reproject to the CRS of tile " + tile.name);
    if (p.status == ParcelStatus::labelled && options_.min_area_m2 > 0 &&
        OGR_G_Area(OGRGeometry::ToHandle(g.get())) < options_.min_area_m2)
      p.status = ParcelStatus::small;
    p.geometry = std::shared_ptr<OGRGeometry>(g.release());
    out.push_back(std::move(p));
  }
  // Overlapping parcels: the later feature of the file wins the pixel. Spatial
  // indexes return features in index order, so restore file order here.
  std::sort(out.begin(), out.end(), [](const Parcel& a, const Parcel& b) { return a.fid < b.fid; });
  if (CPLGetLastErrorType() >= CE_Failure)
    throw std::runtime_error(where_ + ": reading features for tile " + tile.name + " failed: " + gdal::lastError());
  return out;
}

namespace {
std::array<double, 4> layerExtent(OGRLayer* l) {
  OGREnvelope e;
  if (l->GetExtent(&e, TRUE) != OGRERR_NONE) return {0, 0, 0, 0};
  return {e.MinX, e.MinY, e.MaxX, e.MaxY};
}
}  // namespace

std::string ParcelSource::describeExtent() {
  const auto e = layerExtent(layer_.layer);
  const int epsg = gdal::epsgOf(*srs_);
  char buf[256];
  std::snprintf(buf, sizeof buf, "extent (%.6g, %.6g) .. (%.6g, %.6g)", e[0], e[1], e[2], e[3]);
  return "CRS " + (epsg ? "EPSG:" + std::to_string(epsg) + " " : std::string()) + "'" + srs_->GetName() + "', " + buf;
}

TileGrid ParcelSource::wholeLayer() {
  const auto e = layerExtent(layer_.layer);
  TileGrid t;
  t.name = "register";
  char* wkt = nullptr;
  srs_->exportToWkt(&wkt);
  t.crsWkt = wkt;
  CPLFree(wkt);
  t.epsg = gdal::epsgOf(*srs_);
  const double pad = 1.0;
  t.geotransform = {e[0] - pad, 1.0, 0.0, e[3] + pad, 0.0, -1.0};
  t.width = static_cast<int>(std::min(2e9, std::ceil(e[2] - e[0] + 2 * pad)));
  t.height = static_cast<int>(std::min(2e9, std::ceil(e[3] - e[1] + 2 * pad)));
  return t;
}

bool ParcelSource::meets(const TileGrid& tile) {
  const auto e = layerExtent(layer_.layer);
  std::array<double, 4> b{};
  try {
    b = gdal::transformBounds(forward(tile), e, where_ + ": extent to tile " + tile.name);
  } catch (const std::exception&) {
    return false;
  }
  const auto& g = tile.geotransform;
  const double x0 = g[0], x1 = g[0] + tile.width * g[1];
  const double y0 = std::min(g[3], g[3] + tile.height * g[5]), y1 = std::max(g[3], g[3] + tile.height * g[5]);
  return std::isfinite(b[0]) && b[0] < x1 && b[2] > x0 && b[1] < y1 && b[3] > y0;
}

}  // namespace cropmap
