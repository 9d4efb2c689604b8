// Sentinel-2 tiles on the MGRS grid: where a tile id such as 33UVP lies.
//
// A Sentinel-2 tile is a 109.8 km square in the UTM zone of its MGRS id. Its
// upper-left corner follows from the 100 km MGRS square: the west edge is the
// square's minimum easting and the north edge its minimum northing + 100 km,
// both snapped outwards to the 60 m grid that all Sentinel-2 resolutions share
// (so 31TCJ starts at (300000, 4900020) and 31TDH at (399960, 4800000)). The
// latitude band letter resolves the 2000 km ambiguity of the row letter.
// Pure arithmetic: no PROJ, no GDAL.
#pragma once

#include <string>

namespace cropmap::synth {

struct MgrsTile {
  std::string id;     // "33UVP"
  int zone = 0;       // UTM zone 1..60
  char band = 'C';    // latitude band letter
  bool north = true;  // hemisphere
  int epsg = 0;       // 326zz (north) or 327zz (south), WGS 84 / UTM
  double squareEasting = 0, squareNorthing = 0;  // lower-left of the 100 km MGRS square
  double ulx = 0, uly = 0;                        // upper-left of the 109.8 km Sentinel-2 tile
  double centralMeridian() const { return zone * 6.0 - 183.0; }
};

// Decodes a Sentinel-2 tile id; throws std::invalid_argument naming the id on
// anything that is not a valid MGRS 100 km square (bands A, B, Y, Z are polar).
MgrsTile decodeMgrsTile(const std::string& id);

// Approximate geographic position (degrees) of a UTM point: good to a few
// hundredths of a degree, enough for orbit tracks and sun angles.
void approxLonLat(const MgrsTile& tile, double easting, double northing, double& lon, double& lat);

}  // namespace cropmap::synth
