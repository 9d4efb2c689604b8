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

class OGRFeature;
class OGRGeometry;
class OGRSpatialReference;

namespace cropmap {

// How a register feature gets its parcel id (> 0, unique over the layer), the
// same for `cropmap labels` and the parcel file of `cropmap predict`.
//
// labels.id_field may hold integers, digit strings or reals with integral
// values (the INVEKOS FS_KENNUNG is a Real). The layer is scanned once up
// front: when the field holds an id twice, labels.duplicate_ids decides
// (warning): fid uses the feature id + 1, key a 63-bit hash of the values of
// labels.id_key_fields (checked unique too), fail stops. Two features never
// share an id.
class ParcelIdRule {
 public:
  enum class Mode { fid, field, key };
  ParcelIdRule(const gdal::VectorLayer& layer, const LabelsSection& options);

  // The id of a feature; throws UsageError naming the feature for a value that
  // is no usable id (empty, not integral, not positive).
  std::int64_t idOf(OGRFeature& f) const;
  Mode mode() const { return mode_; }
  // One line for the log: which attribute(s) identify parcels, and why.
  const std::string& describe() const { return description_; }
  // Features sharing an id with another feature in labels.id_field (0 when unique or unset).
  std::int64_t duplicateFeatures() const { return duplicates_; }
  // Non-empty when labels.id_field is not unique: what was found and done (for one rank to log).
  const std::string& warning() const { return warning_; }

 private:
  std::int64_t fieldId(OGRFeature& f, const std::string& what) const;
  std::int64_t keyId(OGRFeature& f) const;
  std::vector<std::int64_t> scan(const gdal::VectorLayer& layer, bool key) const;
  std::string where_, idName_;
  Mode mode_ = Mode::fid;
  int idField_ = -1;
  int idType_ = 0;  // OGRFieldType of the id field
  std::vector<int> keyFields_;
  std::string description_, warning_;
  std::int64_t duplicates_ = 0;
};

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
  const ParcelIdRule& ids() const { return *ids_; }
  std::int64_t featureCount() const { return featureCount_; }
  const OGRSpatialReference& crs() const { return *srs_; }
  // Builds (and so checks) the transformations to and from the tile CRS.
  void prepare(const TileGrid& tile) { forward(tile); }

  // The layer's extent in its own CRS with the CRS named, for messages.
  std::string describeExtent();
  // A grid over the whole layer in the layer's own CRS (1 unit pixels), for
  // passes over every parcel (coverage without tiles).
  TileGrid wholeLayer();
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
  int codeField_ = -1;
  std::unique_ptr<ParcelIdRule> ids_;
  std::int64_t featureCount_ = 0;
};

}  // namespace cropmap
