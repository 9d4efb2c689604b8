// The synthetic landscape: tiles, their acquisitions, and the parcels on them.
//
// Fields are cells of a jittered-grid Voronoi diagram laid over each UTM zone
// (so overlapping tiles of a zone share their fields), shrunk by a gap on each
// side (field margins, lanes, roads), and some of them cut into strips,
// including slivers. A pixel's field is a pure function of its map position:
// the same test (nearest seed, distance to each offset bisector, strip cut)
// defines the polygons written to the register and the truth rasters, so they
// agree exactly and any row block can be generated without holding a tile in
// memory. A few cells are not farmland: forest, water, settlements.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "calendar.hpp"
#include "crops.hpp"
#include "mgrs.hpp"

namespace cropmap::synth {

struct SynthParams {
  std::uint64_t seed = 42;
  std::vector<std::string> tiles;
  int size = 256;  // 10 m pixels per side
  int year = 2022;
  double cloudCover = 0.35;
  int regions = 2;
  int zonesPerRegion = 5;
  std::string registerStyle = "invekos";
  double fieldSize = 280;  // metres between field seeds
  double regionalShiftDays = 12;
  double reprocessedShare = 0.25;
  int cloudyMonths = 2;
  int scenes = 0;  // acquisitions per tile, spread over the year; 0: every acquisition
};

using Ring = std::vector<std::pair<double, double>>;  // open ring, counter-clockwise, map coordinates

struct Cell {
  double sx = 0, sy = 0;  // seed (map coordinates of the tile's UTM zone)
  int background = -1;    // crop kind of a non-register cell (forest, water, settlement); -1 farmland
  int strips = 1;
  double nx = 1, ny = 0;  // normal of the strip cuts
  std::array<double, 4> cuts{};  // strips-1 cut positions along the normal, relative to the seed
  double stripGap = 2;
  std::array<int, 5> parcel{{-1, -1, -1, -1, -1}};  // index into Landscape::parcels per strip
};

struct Parcel {
  std::int64_t id = 0;  // 1..N in enumeration order: the register's parcel id
  int tile = 0;         // first tile it was found on (its map coordinates are that tile's zone)
  std::int64_t cx = 0, cy = 0;
  int strip = 0;
  Ring ring;
  double area = 0;  // m2
  int code = 0;     // index into the register style's codes
  int kind = 0;     // index into cropKinds()
  CodeRole role = CodeRole::crop;
  double shift = 0, vigour = 1, soil = 1;
  int region = 0, zone = 0;
};

struct TileModel {
  int index = 0;
  MgrsTile mgrs;
  int size = 0;
  double x0 = 0, y0 = 0;  // upper-left corner of the synthetic area (= the tile's)
  double lonCentre = 0, latCentre = 0, dLonDx = 0, dLonDy = 0;
  std::vector<OrbitPass> orbits;
  std::vector<Acquisition> acquisitions;
  std::vector<int> cloudyMonths;  // months with a persistent cloud over part of the tile
  // The Voronoi cells around the area, with a margin of three cells.
  std::int64_t cx0 = 0, cy0 = 0;
  int ncx = 0, ncy = 0;
  std::vector<Cell> cells;
  double extent() const { return size * 10.0; }
  double lonAt(double x, double y) const {
    return lonCentre + dLonDx * (x - (x0 + extent() / 2)) + dLonDy * (y - (y0 - extent() / 2));
  }
};

// What is at one map position.
struct Site {
  int parcel = -1;   // index into Landscape::parcels, -1 outside any parcel
  int kind = -1;     // crop kind of what grows there (road for gaps)
  double edge = 1e9;  // metres to the nearest field boundary (mixed pixels are near 0)
};

class Landscape {
 public:
  explicit Landscape(SynthParams params);

  const SynthParams& params() const { return params_; }
  const RegisterStyle& style() const { return *style_; }
  const std::vector<TileModel>& tiles() const { return tiles_; }
  const std::vector<Parcel>& parcels() const { return parcels_; }

  Site locate(const TileModel& tile, double x, double y) const;
  // Region (0 = north) and zone (0 = west) of a map position in a tile's area.
  std::pair<int, int> regionZone(const TileModel& tile, double x, double y) const;

 private:
  void buildTile(TileModel& t);
  const Cell& cellAt(const TileModel& t, std::int64_t cx, std::int64_t cy) const {
    return t.cells[static_cast<size_t>((cy - t.cy0) * t.ncx + (cx - t.cx0))];
  }
  double gapHalfWidth(int zone, std::int64_t ax, std::int64_t ay, std::int64_t bx, std::int64_t by) const;
  Ring cellPolygon(const TileModel& t, std::int64_t cx, std::int64_t cy) const;

  SynthParams params_;
  const RegisterStyle* style_;
  std::vector<TileModel> tiles_;
  std::vector<Parcel> parcels_;
};

// Geometry helpers (exposed for tests).
double ringArea(const Ring& r);
// Keeps the part of the ring where a*x + b*y + c >= 0 (Sutherland-Hodgman).
Ring clipHalfPlane(const Ring& r, double a, double b, double c);

}  // namespace cropmap::synth
