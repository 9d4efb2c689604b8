#include "parcels.hpp"

#include <ogr_api.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

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
  if (!options.id_field.empty()) {
    idField_ = gdal::fieldIndex(layer_, options.id_field, "labels.id_field");
    const auto ft = l->GetLayerDefn()->GetFieldDefn(idField_)->GetType();
    if (ft == OFTString) idIsString_ = true;
    else if (ft != OFTInteger && ft != OFTInteger64)
      throw UsageError(where_ + ": field '" + options.id_field + "' (labels.id_field) is of type " +
                       OGRFieldDefn::GetFieldTypeName(ft) + "; parcel ids must be integers or digit strings");
  }
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
    if (idField_ < 0) {
      p.id = p.fid + 1;  // Shapefile FIDs start at 0, and 0 means "no parcel"
    } else if (!f->IsFieldSetAndNotNull(idField_)) {
      throw UsageError(what + ": field '" + options_.id_field + "' (labels.id_field) is empty");
    } else if (idIsString_) {
      const char* s = f->GetFieldAsString(idField_);
      char* end = nullptr;
      errno = 0;
      p.id = std::strtoll(s, &end, 10);
      if (!*s || *end || errno == ERANGE)
        throw UsageError(what + ": field '" + options_.id_field + "' (labels.id_field) holds '" + s +
                         "', not an integer parcel id; leave labels.id_field empty to use feature ids");
    } else {
      p.id = f->GetFieldAsInteger64(idField_);
    }
    if (p.id <= 0)
      throw UsageError(what + ": parcel id " + std::to_string(p.id) + " from '" + options_.id_field +
                       "' (labels.id_field); ids must be positive (0 marks pixels without a parcel)");
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
