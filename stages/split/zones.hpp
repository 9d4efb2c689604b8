// Zones of `cropmap split`: where every pixel lies in the spatial partition
// that keeps training and test data apart. Three sources, one interface:
//  - a polygon layer with integer region and zone attributes (split.zones),
//  - a regular grid of split.grid_km in each tile's UTM CRS, grouped into
//    regions of split.region_zones x split.region_zones cells,
//  - N x N patches per tile (split.mode: random_patches), region = tile.
// Zones are named by a (region, zone) key; their index is the position of the
// key in the sorted table, the same on every rank.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "kernels/split_rules.hpp"
#include "pipeline/config.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"

class OGRGeometry;

namespace cropmap {

class ZoneSource {
 public:
  // Opens and checks split.zones when set (every rank; no MPI).
  ZoneSource(const SplitSection& options, const std::vector<TileGrid>& tiles);
  ~ZoneSource();

  // Zone key of every pixel of the window (row0, col0 may be negative and the
  // window may reach beyond the tile: the halo of the test buffer). has[i] = 0
  // where a pixel lies in no zone.
  void keysOf(int tileIndex, int row0, int col0, int rows, int cols, std::vector<kernels::ZoneKey>& keys,
              std::vector<std::uint8_t>& has);

  // Keys known without looking at pixels (polygons and patches); empty for the grid.
  const std::vector<kernels::ZoneKey>& declared() const { return declared_; }
  bool fromPixels() const { return declared_.empty(); }
  std::string describe() const;

 private:
  const SplitSection options_;
  std::vector<TileGrid> tiles_;
  std::vector<kernels::ZoneKey> declared_;
  // polygons
  std::string where_;
  std::vector<kernels::ZoneKey> featureKeys_;
  std::vector<std::shared_ptr<OGRGeometry>> features_;           // in the layer CRS
  std::map<int, std::vector<std::shared_ptr<OGRGeometry>>> perTile_;  // reprojected, per tile index
};

}  // namespace cropmap
