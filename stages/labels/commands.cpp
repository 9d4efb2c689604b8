// Command-table entries of labels, split and sample.
#include "labels.hpp"
#include "stages/commands.hpp"

namespace cropmap {

Command labelsCommand() {
  Command c;
  c.name = "labels";
  c.summary = "rasterize the parcel register onto the cube: label and parcel layers, per-tile summary";
  c.description =
      "Reads labels.parcels (GeoPackage, Shapefile, FlatGeobuf, GeoJSON) block by block, maps crop codes\n"
      "through labels.legend, reprojects to each tile's UTM grid, rasterizes by the pixel-centre rule,\n"
      "erodes every parcel by labels.erosion_px and writes /tiles/<T>/label and /parcel into\n"
      "<run.output>/cube.h5. Writes <run.output>/labels_summary.json.";
  c.run = runLabels;
  return c;
}

}  // namespace cropmap
