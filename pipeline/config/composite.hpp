// Compositing: the period axis, SCL masking, medians, gap interpolation and the cube layout.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace cropmap {

struct CompositeSection {
  static constexpr int kMinBlockSize = 16, kMaxBlockSize = 10980;
  std::string period = "month";
  int year = 2022;
  int start_month = 1;
  std::vector<std::string> edges;
  std::vector<int> scl_keep{4, 5, 6, 7};
  std::string interpolation = "linear";
  std::string resampling = "nearest";
  std::vector<std::string> indices;
  int block_size = 1024;
  int chunk = 64;
  void declare(Declarer& d) {
    d.opt("period", period,
          "Period axis over the 12 months from start_month: month (12 periods), half_month (24: days 1-15 and "
          "16-end), dekad (36: days 1-10, 11-20, 21-end); or custom edges")
        .oneOf({"month", "half_month", "dekad", "custom"});
    d.opt("year", year, "Year of the first period (an agronomic year starting in September ends the next August)")
        .range(2015, 2100);
    d.opt("start_month", start_month, "First month of the period axis (1 = calendar year, 9 = September-August)")
        .range(1, 12);
    d.opt("edges", edges,
          "Custom period start dates (ISO YYYY-MM-DD, increasing) followed by the end date (exclusive); period: custom");
    d.opt("scl_keep", scl_keep,
          "SCL classes kept as clear observations (4 vegetation, 5 bare soil, 6 water, 7 unclassified)")
        .range(0, 11);
    d.opt("interpolation", interpolation,
          "Filling periods without clear observations: linear between neighbours, or the mean of the two neighbours")
        .oneOf({"linear", "neighbour_mean"});
    d.opt("resampling", resampling,
          "Bringing 20 m and 60 m bands onto the 10 m grid: nearest (each 10 m pixel takes the coarse pixel it lies "
          "in) or bilinear (the four nearest coarse pixel centres, no data left out); the SCL is always nearest")
        .oneOf({"nearest", "bilinear"});
    d.opt("indices", indices, "Spectral indices appended as extra bands").oneOf({"NDVI", "GNDVI"});
    d.opt("block_size", block_size,
          "Side of a work unit's block in 10 m pixels (bounds memory per rank); a multiple of the inputs' internal "
          "tiles (Sentinel-2 JP2: 1024) decodes each tile once")
        .range(kMinBlockSize, kMaxBlockSize);
    d.opt("chunk", chunk, "Side of an HDF5 chunk in pixels; must divide block_size").range(8, 2048);
  }
};

}  // namespace cropmap
