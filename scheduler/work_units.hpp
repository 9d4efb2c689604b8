// Work units and their assignment to ranks (DESIGN §5), as pure logic.
//
// A stage cuts every tile into blocks; a block of a tile is a work unit whose
// cost is the work it implies (for compositing: scenes x pixels). Static
// assignment is Longest-Processing-Time first: units by decreasing cost, each
// to the least-loaded rank, which keeps the max/mean load within 4/3 of the
// optimum. Units already recorded as done in a ledger are left out, so a
// resumed run only redoes what is missing. Nothing here needs MPI; the driver
// in scheduler/mpi_scheduler.hpp adds the dynamic mode and the load report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap {

struct WorkUnit {
  std::int64_t index = 0;  // position in the stage's unit list (and ledger)
  int tile = 0;
  int row0 = 0, col0 = 0, rows = 0, cols = 0;
  double cost = 0;
};

struct TileExtent {
  int width = 0, height = 0;
  double costPerPixel = 1;  // e.g. the number of scenes of the tile
};

// Blocks of `block` pixels over every tile, row-major within a tile, tiles in order.
std::vector<WorkUnit> makeUnits(const std::vector<TileExtent>& tiles, int block);

// Units still to do: those whose done flag is not set (done may be empty).
std::vector<WorkUnit> pendingUnits(const std::vector<WorkUnit>& units, const std::vector<std::uint8_t>& done);

// LPT: per rank, the units it processes (in index order, so a rank walks its
// tiles in order and reuses open files).
std::vector<std::vector<WorkUnit>> assignStatic(const std::vector<WorkUnit>& units, int ranks);

// The order in which the dynamic mode hands out units: decreasing cost, so
// the long units start first and the short ones even out the end.
std::vector<WorkUnit> dynamicOrder(const std::vector<WorkUnit>& units);

// How many times blocks of `block` pixels decode each internal tile (JPEG 2000
// tile, GeoTIFF tile) of `fileTile` pixels along an axis of `extent` pixels:
// the (block, tile) pairs that overlap over the number of tiles. 1 when the
// blocks are multiples of the tiles; (fileTile / block) when blocks cut each
// tile into pieces, each decoding it again. The 2-D factor is the product of
// the two axes' factors.
double decodeAmplification(int extent, int block, int fileTile);

// Busy seconds per rank and what derives from them.
struct LoadReport {
  std::vector<double> busy;
  std::vector<std::int64_t> units;
  double max() const;
  double mean() const;
  double imbalance() const;  // max / mean (1 = perfect); 1 when nothing was done
  std::string text() const;  // one line per rank and a summary line
};

}  // namespace cropmap
