// STAC metadata of a run's products (STAC 1.0.0): one Item per crop map
// (assets: the COG, its QGIS style, the clear-observation layer, the
// quick-look), one Item for the cube, and a Collection for the run that links
// them. Items carry the projection extension's proj:epsg / proj:shape /
// proj:transform / proj:wkt2 and the class list of the classification
// extension on the map asset, so catalogue tools index and style the maps
// without opening them. Written under <run.output>/stac/ with hrefs relative
// to each JSON file, so the folder can be moved or served as it is.
#pragma once

#include <string>
#include <vector>

#include "pipeline/config.hpp"

namespace cropmap::report {

struct StacFiles {
  std::string collection;
  std::vector<std::string> items;
};

// Rank 0 only: reads the maps (GDAL) and the cube's tile grids and periods
// (HDF5, serial); writes every file atomically. Products that do not exist
// yet are left out; throws when there is nothing to describe.
StacFiles writeStac(const Config& cfg);

}  // namespace cropmap::report
