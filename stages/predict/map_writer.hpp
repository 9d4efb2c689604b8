// The crop map on disk: per-unit part files, per-tile assembly into a
// Cloud-Optimized (or tiled, overviewed) GeoTIFF, and a PNG quick-look.
//
// Ranks never share a file. Each work unit's result is written as its own
// small GeoTIFF under a temporary name and renamed into place, so a part that
// exists is complete and `--resume` can skip its unit. When every unit is done,
// one rank per tile assembles the parts through a VRT in the tile's exact grid
// (geotransform and CRS taken from the cube, never recomputed from the parts)
// and writes the final map with CreateCopy, again under a temporary name: a map
// under its final name is always whole.
//
// Bands (uint8, no-data 255 in every band): 1 class id with a colour table and
// category names, 2 confidence = max posterior x 255 (capped at 254, which
// keeps 255 free for no data), 3 (earlyrnn only) the 0-based period at which
// the model stopped.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/cube.hpp"

class GDALDataset;
class GDALRasterBand;

namespace cropmap::mapping {

constexpr std::uint8_t kNoData = 255;

// Confidence band value of a max posterior p in [0, 1].
std::uint8_t confidenceByte(float p);

struct MapStyle {
  std::vector<std::string> classNames;              // index = class id
  std::vector<std::array<std::uint8_t, 3>> colours;  // same length as classNames
  std::vector<std::string> periods;                 // period start dates, for the stop band
  bool stopBand = false;
  std::string format = "cog";      // cog | gtiff
  std::string compress = "deflate";
  int bands() const { return stopBand ? 3 : 2; }
};

// One unit's result: `bands` planes of rows x cols bytes, band-major.
struct BlockMap {
  Window window;
  int bands = 2;
  std::vector<std::uint8_t> data;
  BlockMap() = default;
  BlockMap(const Window& w, int nbands)
      : window(w), bands(nbands), data(static_cast<size_t>(nbands) * static_cast<size_t>(w.pixels()), kNoData) {}
  std::uint8_t* band(int b) { return data.data() + static_cast<size_t>(b) * static_cast<size_t>(window.pixels()); }
  const std::uint8_t* band(int b) const {
    return data.data() + static_cast<size_t>(b) * static_cast<size_t>(window.pixels());
  }
};

// <partsDir>/<tile>/r<row0>_c<col0>.tif
std::string partPath(const std::string& partsDir, const std::string& tile, const Window& w);

// Write a unit's part atomically (temporary name, then rename), georeferenced
// to its window of the tile grid.
void writePart(const std::string& path, const TileGrid& grid, const BlockMap& block);
// Read a part back (used to count parcel votes of units done before a resume).
BlockMap readPart(const std::string& path, const Window& w, int bands);

// Assemble the parts of one tile, which must cover the grid exactly, into the
// final map at finalPath (written to a temporary name, then renamed).
void assembleTile(const TileGrid& grid, const std::vector<std::pair<Window, std::string>>& parts,
                  const MapStyle& style, const std::string& finalPath);

// Writes src (any raster) as the map format: "cog" = tiled GeoTIFF with the
// COG layout and overviews, "gtiff" = tiled GeoTIFF with overviews; overviews
// are made with `resampling` (a GDAL method name). Written to a temporary
// name, then renamed.
void writeMapFile(GDALDataset* src, const std::string& format, const std::string& compress,
                  const std::string& resampling, const std::string& finalPath);

// The QGIS style next to a map: <dir>/<stem>.qml, a paletted renderer of band 1
// with the legend's colours and class names.
std::string qmlPath(const std::string& mapPath);
std::string qmlText(const MapStyle& style);
void writeQml(const std::string& mapPath, const MapStyle& style);

// <mapsDir>/<tile>_clear.tif: uint16, clear observations per pixel summed over
// the cube's periods (from the cube's valid dataset), so users see where the
// map rests on little data. Same format and compression as the map.
std::string clearPath(const std::string& mapsDir, const std::string& tile);
void writeClearLayer(Cube& cube, const TileGrid& grid, const MapStyle& style, const std::string& finalPath);

// The class names of a map's class band: its category names, else the
// CLASS_NAMES metadata item the TIFF itself carries (category names of a
// GeoTIFF live in the .aux.xml sidecar, which copies may lose).
std::vector<std::string> classNamesOf(GDALRasterBand* band);

// A PNG of band 1 with the legend colours (no data transparent), at most
// maxSide pixels on its longer side, written atomically.
void writeQuicklook(const std::string& mapPath, const std::string& pngPath, int maxSide, const MapStyle& style);

}  // namespace cropmap::mapping
