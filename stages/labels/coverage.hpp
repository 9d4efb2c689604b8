// How well a legend fits a register: parcels and area that the legend labels,
// ignores on purpose or does not know, over the parcels meeting the tiles, and
// the unknown codes by parcel count. Needs the register and the tile grids
// only (no imagery): `cropmap labels --coverage` takes the grids from the MGRS
// names of inputs.tiles, every labels run from its cube, and both print it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "parcels.hpp"
#include "pipeline/grid.hpp"

namespace cropmap {

struct CoverageCounts {
  std::int64_t parcels = 0;
  double area_m2 = 0;
  void add(double a) {
    ++parcels;
    area_m2 += a;
  }
};

struct Coverage {
  CoverageCounts labelled, ignored, unknown;
  std::int64_t noGeometry = 0;  // parcels without a usable geometry (counted above with area 0)
  std::map<std::string, CoverageCounts> unknownCodes, ignoredCodes;
  CoverageCounts total() const {
    return {labelled.parcels + ignored.parcels + unknown.parcels, labelled.area_m2 + ignored.area_m2 + unknown.area_m2};
  }
};

// Every parcel meeting any of the tiles, once (by feature id), with its area in
// the CRS of the first tile it meets (UTM: square metres). Serial, one rank.
Coverage measureCoverage(ParcelSource& source, const std::vector<TileGrid>& tiles);

// The tile grid of a Sentinel-2 tile id (10 m, 10980 x 10980 pixels, WGS 84 / UTM).
TileGrid tileGridOf(const std::string& mgrsId);

// JSON document and log lines (`top` unknown codes by parcels).
std::string coverageJson(const Coverage& c, const std::string& register_, const std::string& legend,
                         const std::vector<std::string>& tiles);
void logCoverage(const Coverage& c, const Legend& legend, int top = 10);

}  // namespace cropmap
