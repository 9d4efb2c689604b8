// `cropmap split`: spatially disjoint train / validation / test data.
//
// 1. Every labelled pixel falls in a zone (polygon layer, grid or patch).
//    Per parcel, pixels per zone are summed over blocks, tiles and ranks on
//    the rank owning the parcel; the parcel goes wholly to the zone holding
//    most of its pixels, ties to the lower zone index (kernels/split_rules).
// 2. Zones get a split (region_holdout or random_patches) and training zones a
//    fold, from hashes of the seed and the zone keys.
// 3. Every labelled pixel takes its parcel's split, except non-test pixels
//    within split.buffer_m of the test area (test zones and test parcels),
//    which get none, against spatial autocorrelation across the border.
// Written into the cube: /tiles/<T>/split (uint8: 0 none, 1 train, 2 val,
// 3 test), /tiles/<T>/zone (int32 zone index of the pixel's parcel, -1 none),
// /zones (region, zone, split, fold per zone index); and
// <run.output>/split_manifest.json with parcels and pixels per split and class.
#pragma once

#include "pipeline/context.hpp"

namespace cropmap {

int runSplit(CommandContext& ctx);

}  // namespace cropmap
