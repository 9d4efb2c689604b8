// The cube's geometry: tile grids, windows and the blocks every block stage
// works on.
//
// A Sentinel-2 tile is cut into square blocks of `composite.block_size` pixels
// (rounded down to a multiple of the cube's chunk, so that no two blocks share
// a chunk), row-major within a tile, tiles in cube order. A block is a work
// unit: its index is its position in that list and in the stage's ledger, and
// its cost is what the scheduler balances (scenes x pixels for compositing,
// pixels otherwise). Every block stage cuts the same blocks, so one rank's unit
// of labels covers exactly one unit of the composite. Nothing here needs MPI,
// HDF5 or GDAL.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace cropmap {

struct TileGrid {
  std::string name;  // Sentinel-2 tile id, e.g. 33UVP
  std::string crsWkt;
  int epsg = 0;
  std::array<double, 6> geotransform{};  // GDAL order
  int width = 0;
  int height = 0;
  bool operator==(const TileGrid& o) const {
    return name == o.name && crsWkt == o.crsWkt && epsg == o.epsg && geotransform == o.geotransform &&
           width == o.width && height == o.height;
  }
};

// A rectangle of a tile grid, in pixels.
struct Window {
  int row0 = 0, col0 = 0, rows = 0, cols = 0;
  std::int64_t pixels() const { return static_cast<std::int64_t>(rows) * cols; }
  bool operator==(const Window& o) const {
    return row0 == o.row0 && col0 == o.col0 && rows == o.rows && cols == o.cols;
  }
};

// One block of one tile, as the scheduler hands it out and the ledger records it.
struct WorkUnit {
  std::int64_t index = 0;  // position in the stage's unit list (and ledger)
  int tile = 0;            // index into the cube's tiles
  int row0 = 0, col0 = 0, rows = 0, cols = 0;
  double cost = 0;
  Window window() const { return Window{row0, col0, rows, cols}; }
  // Same tile and window (index and cost aside): what a ledger compares.
  bool sameBlock(const WorkUnit& o) const { return tile == o.tile && window() == o.window(); }
};

struct TileExtent {
  int width = 0, height = 0;
  double costPerPixel = 1;  // e.g. the number of scenes of the tile
};

// Blocks of `block` pixels over every tile, row-major within a tile, tiles in order.
std::vector<WorkUnit> makeUnits(const std::vector<TileExtent>& tiles, int block);
// The blocks of the cube's tiles (cost: pixels).
std::vector<WorkUnit> makeUnits(const std::vector<TileGrid>& tiles, int block);

// The block edge of a cube: `blockSize` rounded down to a multiple of the
// chunk (at least one chunk), so blocks are chunk-aligned.
int blockEdge(int blockSize, int chunk);

// "tile 33UVP block (2,5)": a unit named as logs and errors name it, by its
// block position (row0 / edge, col0 / edge).
std::string describeUnit(const WorkUnit& u, const std::string& tileName, int edge);

// How many times blocks of `block` pixels decode each internal tile (JPEG 2000
// tile, GeoTIFF tile) of `fileTile` pixels along an axis of `extent` pixels:
// the (block, tile) pairs that overlap over the number of tiles. 1 when the
// blocks are multiples of the tiles; (fileTile / block) when blocks cut each
// tile into pieces, each decoding it again. The 2-D factor is the product of
// the two axes' factors.
double decodeAmplification(int extent, int block, int fileTile);

// Block-size advice: among the block sizes a configuration accepts (multiples
// of `chunk` in [minBlock, maxBlock]), the one that decodes every file tile
// (fileTileX x fileTileY pixels on a width x height extent) the fewest times,
// the closest to `current` among equals (the smaller on a tie).
struct BlockAdvice {
  int block = 0;             // 0: no accepted block size
  double amplification = 1;  // decodes per file tile with it
};
BlockAdvice adviseBlockSize(int width, int height, int fileTileX, int fileTileY, int chunk, int minBlock,
                            int maxBlock, int current);

}  // namespace cropmap
