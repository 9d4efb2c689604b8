// `cropmap catalog`: what the inputs hold, per tile and period, and what is wrong with them.
#include <iostream>

#include "catalog.hpp"
#include "stages/commands.hpp"

namespace cropmap {

Command catalogCommand() {
  Command c;
  c.name = "catalog";
  c.summary = "list the Sentinel-2 scenes of the inputs: tiles, periods, clear-sky fraction, problems";
  c.description =
      "Reads inputs.safe / inputs.geotiff / inputs.stac / inputs.csv, checks every scene (bands and SCL\n"
      "present, files readable, one CRS and grid per tile, coarser bands nesting in the 10 m grid, date\n"
      "inside the period axis of the composite section) and\n"
      "prints, per tile, the scenes of each period with their clear-sky fraction from the SCL, then the\n"
      "problems found. Validation is shared among the MPI ranks.";
  c.locksOutput = false;  // reads the inputs only
  c.run = [](CommandContext& ctx) {
    const Catalog cat = buildCatalog(ctx.config, ctx.comm());
    if (ctx.rank() == 0) std::cout << catalogReport(cat) << std::flush;
    return 0;
  };
  return c;
}

}  // namespace cropmap
