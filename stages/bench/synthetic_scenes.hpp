// A small synthetic Sentinel-2 L2A region with a known truth, for the
// composite benchmark and the tests: SAFE products (MTD_MSIL2A.xml + lossless
// JP2 bands, the SCL at 20 m) or per-band GeoTIFFs with the BOA_ADD_OFFSET /
// BOA_QUANTIFICATION_VALUE / PROCESSING_BASELINE metadata items.
//
// The true reflectance of a pixel depends on its tile, band, position and the
// month of the acquisition only, so the median of a month's clear
// observations equals the truth exactly. Clouds are discs on the 20 m grid,
// SCL 9 with bright digital numbers; clear pixels are SCL 4. Digital numbers
// are reflectance x 10000 minus the product's BOA_ADD_OFFSET (-1000 from
// processing baseline 04.00 on, none before).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap::synthetic {

struct SceneSpec {
  std::string tile = "33UVP";
  std::string date = "2022-01-05";  // YYYY-MM-DD
  std::string baseline = "04.00";   // < 04.00: no BOA_ADD_OFFSET
  double cloudCover = 0.3;          // fraction of the tile under cloud discs
  bool sclAllNoData = false;        // no data over the tile: SCL and every band 0 everywhere
  bool l2aPrefix = false;           // L2A_T33UVP_... file names of older baselines
  bool oldFormatNames = false;      // the long product names of products before December 2016
  bool coarseRoundedDown = false;   // coarse extents of an odd 10 m extent rounded down (else up)
  bool sparseMetadata = false;      // MTD without PROCESSING_BASELINE and BOA_ADD_OFFSET list (the name tells)
  double coarseShiftM = 0;          // the coarse bands' and SCL's origin shifted east (a grid that does not nest)
  int epsgOverride = 0;             // a wrong CRS
  std::uint64_t seed = 1;
};

struct RegionSpec {
  std::string dir;             // written below it: safe/ or geotiff/
  std::string layout = "safe";  // safe | geotiff
  int size = 64;                // tile side in 10 m pixels (even)
  int rows = 0, cols = 0;       // a clipped product's 10 m extent, any parity (0: size)
  std::vector<std::string> bands{"B02", "B03", "B04", "B08"};
};

// UTM EPSG code of a tile (northern hemisphere).
int epsgOfTile(const std::string& tile);

// Bands are written at their L2A resolution: B05, B06, B07, B8A, B11, B12 and the
// SCL at 20 m, B01 and B09 at 60 m, the others at 10 m. A coarse pixel holds
// the truth of its top-left 10 m pixel; 60 m pixels are never cloudy.
int resolutionOf(const std::string& band);

// Writes one scene; returns the path of the SAFE directory or the first band file.
std::string writeScene(const RegionSpec& region, const SceneSpec& scene);

// Scenes on fixed days of every month of `year` (days 5 and 20 by default), cloud cover varying by scene.
std::vector<SceneSpec> yearOfScenes(const std::vector<std::string>& tiles, int year, double cloudCover,
                                    std::uint64_t seed, const std::vector<int>& days = {5, 20});

// The truth: reflectance x 10000 of band `band` (name) at pixel (row, col) of tile in the month of date.
std::uint16_t truth(const std::string& tile, const std::string& band, int row, int col, const std::string& date);
// The truth a nearest-neighbour reading of the band's native raster gives at 10 m pixel (row, col).
std::uint16_t truthNearest(const RegionSpec& region, const SceneSpec& scene, const std::string& band, int row, int col);
// True when the scene's SCL marks 10 m pixel (row, col) as cloud.
bool cloudy(const RegionSpec& region, const SceneSpec& scene, int row, int col);

}  // namespace cropmap::synthetic
