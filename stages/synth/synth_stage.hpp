// `cropmap synth`: writes the synthetic region (see stages/synth/README.md).
//
// Every rank builds the same landscape (parcels, calendars) from the seed;
// the work units (tile x acquisition scenes, tile x month truth composites,
// per-tile truth rasters, the vector files) are spread round-robin over the
// ranks. Each unit's content depends only on the seed and the unit, so the
// files are byte-identical whatever the number of ranks.
#pragma once

#include "pipeline/cli/cli.hpp"

namespace cropmap {

Command synthCommand();

}  // namespace cropmap
