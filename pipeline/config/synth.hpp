// The synthetic Sentinel-2 L2A region written by `cropmap synth`.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace cropmap {

struct SynthSection {
  bool enabled = false;
  std::string output = "synth";
  std::vector<std::string> tiles{"33UVP"};
  int size = 1098;
  int year = 2022;
  std::string layout = "both";
  std::string register_style = "invekos";
  double cloud_cover = 0.35;
  int regions = 2;
  int zones_per_region = 5;
  void declare(Declarer& d) {
    d.opt("enabled", enabled, "`cropmap run` synthesises the region first");
    d.opt("output", output, "Directory of the synthetic region, below run.output");
    d.opt("tiles", tiles, "Sentinel-2 tiles (MGRS ids) to synthesise, each in its true UTM zone");
    d.opt("size", size, "Tile side in 10 m pixels (10980 = a full tile)").range(64, 10980);
    d.opt("year", year, "Year of the acquisitions").range(2015, 2100);
    d.opt("layout", layout, "Imagery layout: SAFE products with JP2 bands, per-band GeoTIFFs, or both")
        .oneOf({"safe", "geotiff", "both"});
    d.opt("register_style", register_style,
          "Crop codes and CRS of the parcel register: rpg (France, EPSG:2154) or invekos (Austria, EPSG:31287)")
        .oneOf({"rpg", "invekos"});
    d.opt("cloud_cover", cloud_cover, "Mean cloud fraction of a scene").range(0, 1);
    d.opt("regions", regions, "Regions of the zone layout (a north-south gradient in phenology)").range(1, 64);
    d.opt("zones_per_region", zones_per_region, "Zones per region").range(1, 64);
  }
};

}  // namespace cropmap
