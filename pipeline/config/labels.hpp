// Parcels to labels: the register file, its fields and the legend.
#pragma once

#include <string>

#include "options.hpp"

namespace cropmap {

struct LabelsSection {
  std::string parcels;
  std::string layer;
  std::string code_field = "code";
  std::string id_field;
  std::string duplicate_ids = "fid";
  std::vector<std::string> id_key_fields;
  std::string legend;
  int level = 0;
  std::vector<std::string> merge_classes;
  std::vector<std::string> drop_classes;
  int erosion_px = 0;
  double min_area_m2 = 0.0;
  std::string unknown_code = "ignore";
  std::string on_invalid = "repair";
  void declare(Declarer& d) {
    d.opt("parcels", parcels,
          "Parcel register (GeoPackage, Shapefile, FlatGeobuf or GeoJSON), in any CRS it declares");
    d.opt("layer", layer, "Layer of the parcel file (empty: the first layer)");
    d.opt("code_field", code_field, "Attribute holding the register's crop code");
    d.opt("id_field", id_field,
          "Attribute holding the parcel id: integers, digit strings or integral reals (empty: the feature id)");
    d.opt("duplicate_ids", duplicate_ids,
          "id_field holds an id twice: warn and use the feature id (fid), use the composite key id_key_fields "
          "(key), or stop (fail); two parcels are never merged")
        .oneOf({"fid", "key", "fail"});
    d.opt("id_key_fields", id_key_fields,
          "Attributes whose values together identify a parcel, for duplicate_ids: key (e.g. [FS_KENNUNG, SL_ID])");
    d.opt("legend", legend, "Legend YAML mapping register codes to classes (see configs/legends/)");
    d.opt("level", level, "Legend hierarchy level trained on: 0 = classes, 1 = their groups").range(0, 1);
    d.opt("merge_classes", merge_classes,
          "Legend classes merged into a class named after their group (the classes too rare to be scored, as "
          "`cropmap cv` lists them); the group's class is added when the legend has none");
    d.opt("drop_classes", drop_classes, "Legend classes whose codes are ignored (left unlabelled and counted)");
    d.opt("erosion_px", erosion_px,
          "Pixels eroded from every parcel border so mixed pixels are not labels (0: none; see the README for the "
          "measurement behind the default)")
        .range(0, 10);
    d.opt("min_area_m2", min_area_m2, "Parcels smaller than this are dropped and counted").range(0, 1e9);
    d.opt("unknown_code", unknown_code, "A crop code the legend does not know: count and ignore it, or abort")
        .oneOf({"ignore", "abort"});
    d.opt("on_invalid", on_invalid,
          "A parcel with an invalid geometry (self-intersection, ...): repair it (OGR MakeValid), skip it, or abort")
        .oneOf({"repair", "skip", "abort"});
  }
};

struct SplitSection {
  std::string mode = "region_holdout";
  std::string zones;
  std::string zone_layer;
  std::string region_field = "region";
  std::string zone_field = "zone";
  double grid_km = 10.0;
  int region_zones = 5;
  int holdout = 1;
  double val_fraction = 0.2;
  int patches = 4;
  std::vector<double> ratios{0.6, 0.2, 0.2};
  int folds = 0;
  double buffer_m = 100.0;
  void declare(Declarer& d) {
    d.opt("mode", mode,
          "region_holdout: per region hold out zones for test; random_patches: N x N patches per tile at random")
        .oneOf({"region_holdout", "random_patches"});
    d.opt("zones", zones, "Zone polygons with region and zone attributes (empty: a regular grid of grid_km)");
    d.opt("zone_layer", zone_layer, "Layer of the zone file (empty: the first layer)");
    d.opt("region_field", region_field, "Zone attribute naming the region");
    d.opt("zone_field", zone_field, "Zone attribute naming the zone within its region");
    d.opt("grid_km", grid_km, "Side of the regular zone grid in km when no zone file is given").range(0.1, 1000);
    d.opt("region_zones", region_zones,
          "Grid zones only: a region is a square of region_zones x region_zones grid cells").range(1, 1000);
    d.opt("holdout", holdout, "Zones per region held out for test (region_holdout)").range(0, 100);
    d.opt("val_fraction", val_fraction, "Share of the remaining zones used for validation").range(0, 0.9);
    d.opt("patches", patches, "Patches per tile side (random_patches)").range(1, 1000);
    d.opt("ratios", ratios, "Train, validation and test shares of patches (random_patches)").range(0, 1);
    d.opt("folds", folds,
          "Spatial cross-validation folds over the training and validation zones (0: none; `cropmap cv` needs at "
          "least 2); buffer_m also parts each held-out fold from the pixels its training uses")
        .range(0, 16);
    d.opt("buffer_m", buffer_m, "Metres around test zones whose pixels belong to no split").range(0, 100000);
  }
};

}  // namespace cropmap
