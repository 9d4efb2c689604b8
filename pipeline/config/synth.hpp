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
  int scenes = 0;
  int year = 2022;
  std::string layout = "both";
  std::string geotiff_format = "cog";
  bool bands_20m = true;
  std::string register_style = "invekos";
  double cloud_cover = 0.35;
  int cloudy_months = 2;
  double reprocessed_share = 0.25;
  double field_size_m = 280.0;
  double regional_shift_days = 12.0;
  int regions = 2;
  int zones_per_region = 5;
  int block_rows = 256;
  void declare(Declarer& d) {
    d.opt("enabled", enabled, "`cropmap run` synthesises the region first");
    d.opt("output", output, "Directory of the synthetic region, below run.output");
    d.opt("tiles", tiles, "Sentinel-2 tiles (MGRS ids) to synthesise, each in its true UTM zone and grid position");
    d.opt("size", size,
          "Side of the synthetic area in 10 m pixels: the top-left size x size pixels of each tile (10980 = a full tile); even")
        .range(64, 10980);
    d.opt("scenes", scenes,
          "Acquisitions per tile, spread evenly over the year's 5-day revisits (0: every one, 73 or more); a full "
          "tile's inputs take about 1 GB per acquisition with 4 bands")
        .range(0, 1000);
    d.opt("year", year, "Year of the acquisitions (January to December)").range(2016, 2100);
    d.opt("layout", layout, "Imagery layout: SAFE products with JP2 bands, per-band GeoTIFFs, or both")
        .oneOf({"safe", "geotiff", "both"});
    d.opt("geotiff_format", geotiff_format,
          "Per-band GeoTIFFs as Cloud-Optimized GeoTIFFs (cog) or tiled, deflate-compressed GeoTIFFs (gtiff)")
        .oneOf({"cog", "gtiff"});
    d.opt("bands_20m", bands_20m, "Also write the 20 m bands B05, B06, B07, B8A, B11, B12 (10 m bands and SCL always)");
    d.opt("register_style", register_style,
          "Crop codes and CRS of the parcel register: rpg (France, EPSG:2154) or invekos (Austria, EPSG:31287)")
        .oneOf({"rpg", "invekos"});
    d.opt("cloud_cover", cloud_cover,
          "Mean cloud fraction of a scene (SCL 8, 9, 10); scenes vary from clear to overcast, winters are cloudier")
        .range(0, 1);
    d.opt("cloudy_months", cloudy_months,
          "Months per tile in which a persistent cloud deck hides part of the tile in every scene")
        .range(0, 12);
    d.opt("reprocessed_share", reprocessed_share,
          "Share of products sensed before 2022-01-25 that come reprocessed with baseline 05.00 (with BOA_ADD_OFFSET)")
        .range(0, 1);
    d.opt("field_size_m", field_size_m,
          "Spacing of the field blocks in metres (blocks of about its square, a third of them split into strips)")
        .range(100, 2000);
    d.opt("regional_shift_days", regional_shift_days,
          "Days by which the south of each tile's area is ahead of its north in phenology")
        .range(0, 60);
    d.opt("regions", regions, "Regions of the zone layout: bands from north (region 0) to south").range(1, 64);
    d.opt("zones_per_region", zones_per_region, "Zones per region, from west (zone 0) to east").range(1, 64);
    d.opt("block_rows", block_rows, "Rows generated at once per scene (bounds memory on full tiles); even")
        .range(16, 10980);
  }
};

}  // namespace cropmap
