// Where the Sentinel-2 L2A scenes come from and which bands a run uses.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace cropmap {

struct InputsSection {
  std::vector<std::string> tiles;
  std::vector<std::string> safe;
  std::vector<std::string> geotiff;
  std::string geotiff_pattern = "{tile}_{date}_{band}.tif";
  std::vector<std::string> stac;
  std::string csv;
  std::vector<std::string> bands{"B02", "B03", "B04", "B08"};
  std::string on_bad_scene = "skip";
  int max_reflectance = 20000;
  void declare(Declarer& d) {
    d.opt("tiles", tiles, "Sentinel-2 tiles to process (e.g. [33UVP]); empty: every tile the inputs hold");
    d.opt("safe", safe, "Directories or globs of Sentinel-2 L2A .SAFE products");
    d.opt("geotiff", geotiff, "Directories or globs of per-band GeoTIFF/COG files");
    d.opt("geotiff_pattern", geotiff_pattern,
          "File-name pattern of per-band GeoTIFFs; {tile}, {date} (YYYYMMDD) and {band} are matched");
    d.opt("stac", stac,
          "STAC ItemCollection or Item JSON files (or globs) whose assets are the band COGs (keys B02/SCL or "
          "blue/scl); hrefs are local paths (relative to the file), file:// or GDAL virtual paths (/vsi...)");
    d.opt("csv", csv, "Explicit scene list with the header tile,date,band,path (empty: none)");
    d.opt("bands", bands, "Spectral bands composited, in this order")
        .oneOf({"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"});
    d.opt("on_bad_scene", on_bad_scene,
          "A scene with a missing band, unreadable file or wrong grid: skip it with a warning, or abort the run")
        .oneOf({"skip", "abort"});
    d.opt("max_reflectance", max_reflectance,
          "Reflectance x 10000 (after BOA_ADD_OFFSET) above which a value is physically impossible for L2A (2.0: "
          "twice a perfect white diffuser) and comes from a corrupt but decodable file: such observations are left "
          "out, counted and reported per scene and band (0: no check)")
        .range(0, 65535);
  }
};

}  // namespace cropmap
