// The parcel register as `cropmap labels` reads it: one OGR layer (GeoPackage,
// Shapefile, FlatGeobuf, GeoJSON, ...) checked once up front, then queried block
// by block with a spatial filter so that no rank ever holds more of a national
// register than the parcels around the block it is labelling.
//
// Every problem the user can fix (missing layer or field, no CRS, a CRS PROJ
// cannot transform, an empty layer, non-polygon geometries, invalid geometries
// under on_invalid: abort, unknown codes under unknown_code: abort) is a
// UsageError naming the file, the layer and the field or feature.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/config/labels.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/legend.hpp"

class OGRGeometry;
class OGRSpatialReference;

namespace cropmap {

enum class ParcelStatus : std::uint8_t { labelled = 0, ignored = 1, unknown = 2, small = 3, invalid = 4 };

struct Parcel {
  std::int64_t id = 0;           // > 0: the id field, or the feature id + 1
  std::int64_t fid = 0;          // OGR feature id, for messages
  std::string code;              // register code as read
  int cls = Legend::kUnknown;    // class (at labels.level), kIgnored or kUnknown
  ParcelStatus status = ParcelStatus::labelled;
  std::shared_ptr<OGRGeometry> geometry;  // in the tile CRS; null when status is invalid
};

class ParcelSource {
 public:
  // Opens and checks the layer (on every rank; no MPI).
  ParcelSource(const LabelsSection& options, const Legend& legend);
  ~ParcelSource();
  ParcelSource(const ParcelSource&) = delete;
  ParcelSource& operator=(const ParcelSource&) = delete;

  // Parcels whose geometry meets the rectangle (xmin, ymin, xmax, ymax) of the
  // tile's CRS, reprojected to that CRS. A parcel crossing tile borders is
  // returned for every tile it meets.
  std::vector<Parcel> query(const TileGrid& tile, const std::array<double, 4>& bounds);

  const std::string& where() const { return where_; }
  std::int64_t featureCount() const { return featureCount_; }
  const OGRSpatialReference& crs() const { return *srs_; }
  // Builds (and so checks) the transformations to and from the tile CRS.
  void prepare(const TileGrid& tile) { forward(tile); }

  // The layer's extent in its own CRS with the CRS named, for messages.
  std::string describeExtent();
  // True when the layer's extent, reprojected, meets the tile (false also when
  // the extent cannot be reprojected: coordinates outside the declared CRS).
  bool meets(const TileGrid& tile);

  // Reprojects one point of the register's CRS into the tile's CRS (tests and messages).
  std::array<double, 2> toTile(const TileGrid& tile, double x, double y);

 private:
  OGRCoordinateTransformation& forward(const TileGrid& tile);
  OGRCoordinateTransformation& backward(const TileGrid& tile);
  LabelsSection options_;
  const Legend& legend_;
  gdal::VectorLayer layer_;
  std::string where_;
  std::unique_ptr<OGRSpatialReference> srs_;
  std::map<std::string, std::unique_ptr<OGRSpatialReference>> tileSrs_;
  std::map<std::string, gdal::Transform> forward_, backward_;
  int codeField_ = -1, idField_ = -1;
  bool idIsString_ = false;
  std::int64_t featureCount_ = 0;
};

}  // namespace cropmap
