// The catalog: which Sentinel-2 L2A scenes the inputs hold, checked before any
// compositing starts.
//
// Scenes come from SAFE products (MTD_MSIL2A.xml + JP2 bands, with or without
// the L2A_ file-name prefix of older baselines), from per-band GeoTIFF/COG
// files matched by inputs.geotiff_pattern, from STAC Items whose assets are
// the band files (inputs.stac), or from an explicit CSV list
// (tile,date,band,path). Rank 0 lists and parses the inputs; every rank then
// validates a share of the scenes (each band file opened, its grid and CRS
// read, a corner window decoded, the SCL read at reduced resolution for the
// clear-sky fraction), and the results are shared so that every rank holds the
// same catalog. A scene with a missing band or SCL, an unreadable file, a CRS
// or grid that differs from its tile's, a coarse band that does not nest in
// the 10 m grid, a date outside the period axis, or an
// SCL that is no-data everywhere is a problem: listed with the file and the
// reason, then skipped (on_bad_scene: skip) or fatal (abort).
#pragma once

#include <map>
#include <mpi.h>
#include <string>
#include <vector>

#include "pipeline/config.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/period_axis.hpp"

namespace cropmap {

struct BandFile {
  std::string path;
  double addOffset = 0;          // BOA_ADD_OFFSET
  double quantification = 10000;  // BOA_QUANTIFICATION_VALUE
};

struct Scene {
  std::string id;      // product name, or tile_date for GeoTIFF/CSV inputs
  std::string tile;
  std::string date;    // YYYY-MM-DD
  std::string baseline;
  std::string source;  // the SAFE directory, CSV file or first band file, for messages
  std::map<std::string, BandFile> bands;  // configured bands and "SCL"
  int period = -1;
  double clearFraction = -1;  // clear / data pixels of the SCL (-1 unknown)
  bool offsetsKnown = false;  // from the product (SAFE metadata, STAC item), not from each file's metadata
};

struct CatalogProblem {
  std::string file;
  std::string tile;
  std::string date;
  std::string reason;
  std::string text() const;
};

struct TileCatalog {
  TileGrid grid;
  std::vector<Scene> scenes;              // valid scenes, by date
  std::vector<std::vector<int>> byPeriod;  // period -> indices into scenes
};

struct Catalog {
  PeriodAxis axis;
  std::vector<std::string> bands;  // configured spectral bands, in order
  std::vector<TileCatalog> tiles;  // by tile name
  std::vector<CatalogProblem> problems;
  std::vector<std::string> warnings;  // not scene problems (e.g. an empty period)
  int scenes() const;
};

// Collective over comm. Throws UsageError when nothing usable is found, and a
// runtime error listing the problems when on_bad_scene is abort.
Catalog buildCatalog(const Config& config, MPI_Comm comm);

// The text `cropmap catalog` prints: per tile, scenes per period with their
// clear-sky fraction, then the problems and warnings.
std::string catalogReport(const Catalog& catalog);

// Resolve the input lists: when synth.enabled and no inputs are configured,
// the synthetic region's SAFE directory.
InputsSection effectiveInputs(const Config& config);

}  // namespace cropmap
