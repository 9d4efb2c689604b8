// Command-table entries of labels, split and sample.
#include "labels.hpp"
#include "stages/sample/sample.hpp"
#include "stages/split/split.hpp"
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

Command splitCommand() {
  Command c;
  c.name = "split";
  c.summary = "spatially disjoint train/validation/test zones, folds and a test buffer, into the cube";
  c.description =
      "Assigns zones (split.zones polygons, a split.grid_km grid, or split.patches per tile) to train,\n"
      "validation and test (split.mode), every parcel wholly to the zone holding most of its pixels,\n"
      "clears a split.buffer_m buffer around test zones, and writes /tiles/<T>/split, /tiles/<T>/zone\n"
      "and /zones into the cube, and <run.output>/split_manifest.json.";
  c.run = runSplit;
  return c;
}

Command sampleCommand() {
  Command c;
  c.name = "sample";
  c.summary = "stratified pixel- or parcel-level samples per split into samples.h5 (parallel)";
  c.description =
      "Draws sample.train_size training rows by stratified sampling with class priors (a guaranteed\n"
      "sample.min_per_class, imbalance damping sample.damping, frequent/rare at sample.percentile) and\n"
      "validation/test rows in proportion to the classes, reads them from the cube, and writes\n"
      "<run.output>/samples.h5 with class weights and the train split's band mean and std.";
  c.run = runSample;
  return c;
}

}  // namespace cropmap
