// `cropmap composite`: Sentinel-2 scenes to the cube, in parallel.
//
// A block stage (scheduler/block_stage.hpp): every rank takes work units
// (tile x block) from the scheduler and streams them period by period: read
// the block window of each scene of the period (the SCL brought to the 10 m
// grid by nearest neighbour, 20 m and 60 m bands by composite.resampling),
// convert digital numbers to reflectance with the product's offset and
// quantification, mask by SCL class, take the per-pixel median of the kept
// observations with their count, then fill periods without observation,
// append index bands, write the block through MPI-IO and mark it in the
// ledger. Memory per rank is one block times the scenes of one period, whatever
// the number of scenes and tiles. With --resume, units already in the ledger
// are skipped; the result equals that of an uninterrupted run.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "pipeline/config.hpp"
#include "pipeline/paths.hpp"
#include "scheduler/work_units.hpp"

namespace cropmap {

struct CompositeStats {
  // Summed over ranks, seconds.
  double read = 0, maskMedian = 0, interpolate = 0, write = 0;
  double wall = 0;            // of the whole stage on rank 0, catalog excluded
  double catalog = 0;         // listing and validating the inputs
  std::int64_t units = 0;     // done in this run
  std::int64_t unitsTotal = 0;
  std::int64_t observations = 0;  // scene x band x pixel values read
  std::int64_t bytesRead = 0;     // of decoded pixels handed over by GDAL
  std::int64_t noDataPixels = 0;  // pixels without any clear observation
  std::int64_t failedReads = 0;
  std::int64_t impossibleValues = 0;  // observations above inputs.max_reflectance, left out
  LoadReport load;
  std::string cubePath;
};

// Collective. Throws on configuration or input errors (see DESIGN §8).
CompositeStats runComposite(const Config& config, MPI_Comm comm, bool resume);

}  // namespace cropmap
