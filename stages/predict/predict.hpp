// `cropmap predict`: the trained model applied to every pixel of the cube,
// written as crop maps per tile, quick-looks and a parcel GeoPackage.
//
// Under MPI the tile x block units of the scheduler are shared out (static LPT
// or a dynamic counter); each rank reads its blocks' time series from the cube
// (chunk-aligned windows), classifies them in batches and writes each unit as
// a part file (map_writer.hpp). The tiles are then assembled, one tile per
// rank at a time; parcel votes are reduced by parcel owner (parcel_votes.hpp).
// Pixels where the cube holds the fill value in any period or band are no data.
//
// Resume: a part that exists is complete (written under a temporary name, then
// renamed), and parts carry a manifest naming the model, cube and map options
// that made them; `--resume` skips units whose part exists when the manifest
// matches and starts over otherwise. Parcel votes and the test-split accuracy
// of skipped units are recounted from their parts, so a resumed run's outputs
// equal an uninterrupted run's.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/cli/cli.hpp"
#include "pipeline/config.hpp"
#include "scheduler/work_units.hpp"

namespace cropmap::mapping {

class Classifier;

struct PredictPaths {
  std::string cube;      // <run.output>/cube.h5
  std::string output;    // directory of maps/ and parcels.gpkg (run.output; elsewhere for bench)
  std::string model;     // predict.model or <run.output>/<train.output>/model.pt
  std::string maps() const;
  std::string parts() const;
  std::string parcels() const;
  std::string summary() const;
  static PredictPaths fromConfig(const Config& config);
};

struct PredictOptions {
  bool resume = false;
  bool parcels = true;     // when the cube has a parcel layer
  bool quicklooks = true;  // when predict.quicklook_size > 0
  bool summary = true;     // write predict_summary.json
};

// Seconds summed over the ranks, pixel counts over the job.
struct PredictReport {
  std::int64_t units = 0, unitsSkipped = 0, pixels = 0, validPixels = 0, parcels = 0;
  double wall = 0;                                 // the whole stage, max over ranks
  double read = 0, infer = 0, write = 0, other = 0;  // summed over ranks
  double imbalance = 1;                            // max / mean busy time in the unit loop
  std::string loadText;
  std::int64_t testPixels = 0;                     // labelled test-split pixels with a prediction
  double testAccuracy = 0;                         // their overall accuracy
  std::vector<std::string> maps;
  bool skipped = false;                            // --resume found the stage complete
};

// Collective over comm. `classifier` overrides the model file (bench).
PredictReport runPredict(const Config& config, const PredictPaths& paths, const PredictOptions& options,
                         MPI_Comm comm, Classifier* classifier = nullptr);

// `cropmap bench predict`: pixels/s of every model at the rank counts of
// --ranks (default 1,2,4). Under a launcher (mpirun/srun) it measures on
// sub-communicators of the job; started alone it relaunches itself under
// --mpiexec with the largest rank count.
int benchPredictOnRanks(CommandContext& ctx);

}  // namespace cropmap::mapping

namespace cropmap {
using mapping::benchPredictOnRanks;
}  // namespace cropmap
