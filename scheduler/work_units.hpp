// Work units and their assignment to ranks (DESIGN §5), as pure logic.
//
// A stage cuts every tile into blocks (pipeline/grid.hpp); a block of a tile is
// a work unit whose cost is the work it implies (for compositing: scenes x
// pixels). Static assignment is Longest-Processing-Time first: units by
// decreasing cost, each to the least-loaded rank, which keeps the max/mean load within 4/3 of the
// optimum. Units already recorded as done in a ledger are left out, so a
// resumed run only redoes what is missing. Nothing here needs MPI;
// scheduler/mpi_scheduler.hpp adds the dynamic mode and the load report, and
// scheduler/block_stage.hpp the frame every block stage runs in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/grid.hpp"

namespace cropmap {

// Units still to do: those whose done flag is not set (done may be empty).
std::vector<WorkUnit> pendingUnits(const std::vector<WorkUnit>& units, const std::vector<std::uint8_t>& done);

// LPT: per rank, the units it processes (in index order, so a rank walks its
// tiles in order and reuses open files).
std::vector<std::vector<WorkUnit>> assignStatic(const std::vector<WorkUnit>& units, int ranks);

// The order in which the dynamic mode hands out units: decreasing cost, so
// the long units start first and the short ones even out the end.
std::vector<WorkUnit> dynamicOrder(const std::vector<WorkUnit>& units);

// Busy seconds per rank and what derives from them.
struct LoadReport {
  std::vector<double> busy;
  std::vector<std::int64_t> units;
  // Per rank, over the process's life so far (ProcessUsage): empty when not gathered.
  std::vector<std::int64_t> peakRss, readBytes, writtenBytes;
  double max() const;
  double mean() const;
  double imbalance() const;  // max / mean (1 = perfect); 1 when nothing was done
  std::string text() const;  // one line per rank and a summary line
};

}  // namespace cropmap
