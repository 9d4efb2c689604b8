#include "grid.hpp"

#include <algorithm>
#include <cstdlib>

namespace cropmap {

std::vector<WorkUnit> makeUnits(const std::vector<TileExtent>& tiles, int block) {
  std::vector<WorkUnit> units;
  for (size_t t = 0; t < tiles.size(); ++t) {
    const TileExtent& e = tiles[t];
    for (int r = 0; r < e.height; r += block)
      for (int c = 0; c < e.width; c += block) {
        WorkUnit u;
        u.index = static_cast<std::int64_t>(units.size());
        u.tile = static_cast<int>(t);
        u.row0 = r;
        u.col0 = c;
        u.rows = std::min(block, e.height - r);
        u.cols = std::min(block, e.width - c);
        u.cost = e.costPerPixel * u.rows * u.cols;
        units.push_back(u);
      }
  }
  return units;
}

std::vector<WorkUnit> makeUnits(const std::vector<TileGrid>& tiles, int block) {
  std::vector<TileExtent> extents;
  for (const auto& t : tiles) extents.push_back(TileExtent{t.width, t.height, 1.0});
  return makeUnits(extents, block);
}

int blockEdge(int blockSize, int chunk) { return std::max(1, blockSize / chunk) * chunk; }

std::string describeUnit(const WorkUnit& u, const std::string& tileName, int edge) {
  edge = std::max(edge, 1);
  return "tile " + tileName + " block (" + std::to_string(u.row0 / edge) + "," + std::to_string(u.col0 / edge) + ")";
}

double decodeAmplification(int extent, int block, int fileTile) {
  if (extent <= 0 || block <= 0 || fileTile <= 0) return 1.0;
  fileTile = std::min(fileTile, extent);
  std::int64_t pairs = 0;
  for (int b0 = 0; b0 < extent; b0 += block) {
    const int b1 = std::min(extent, b0 + block);
    pairs += (b1 - 1) / fileTile - b0 / fileTile + 1;  // tiles overlapping [b0, b1)
  }
  const int tiles = (extent + fileTile - 1) / fileTile;
  return static_cast<double>(pairs) / tiles;
}

BlockAdvice adviseBlockSize(int width, int height, int fileTileX, int fileTileY, int chunk, int minBlock,
                            int maxBlock, int current) {
  BlockAdvice best;
  if (chunk <= 0) return best;
  for (int b = ((minBlock + chunk - 1) / chunk) * chunk; b <= maxBlock; b += chunk) {
    const double amp = decodeAmplification(width, b, fileTileX) * decodeAmplification(height, b, fileTileY);
    const bool better = best.block == 0 || amp < best.amplification - 1e-9 ||
                        (amp < best.amplification + 1e-9 && std::abs(b - current) < std::abs(best.block - current));
    if (better) best = {b, amp};
  }
  return best;
}

}  // namespace cropmap
