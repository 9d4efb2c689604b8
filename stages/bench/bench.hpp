// `cropmap bench <target>`: measured throughput and scaling, printed as a
// table and written as JSON. Targets are listed in one table (benchTargets);
// each stage that has a benchmark adds one entry.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "pipeline/context.hpp"
#include "pipeline/json.hpp"

namespace cropmap {

struct BenchTarget {
  std::string name;
  std::string summary;
  int (*run)(CommandContext&) = nullptr;
};

const std::vector<BenchTarget>& benchTargets();

// bench composite: stages/bench/bench_composite.cpp (launches its own mpiexec runs)
int benchComposite(CommandContext& ctx);
// A synthetic region for the end-to-end benchmarks (stages/bench/bench_composite.cpp).
struct BenchRegion {
  std::filesystem::path dir;
  std::string layout;
  int size = 0, scenes = 0;
  std::vector<std::string> tiles;
};
BenchRegion benchRegion(const std::filesystem::path& dir, int size, int ntiles, const std::string& layout);
// One `<mpiexec> -n n cropmap composite` job over the region in directory `run`
// (block_size `block`); the stage's --stats-json figures (wall_s, observations, ...).
json::Value compositeJob(const BenchRegion& region, const std::filesystem::path& run, int n, int block,
                         const std::string& mpiexec);
// bench scaling: stages/bench/bench_scaling.cpp
int benchScaling(CommandContext& ctx);

// bench train: stages/bench/bench_train.cpp, measured on the ranks it runs on
// (run under mpirun -n N; cmake/bench-train.sh runs 1, 2 and 4)
int benchTrainOnRanks(CommandContext& ctx);
int benchTrain(CommandContext& ctx);
// bench all: every target in its own process, then one JSON of per-rank rates for `cropmap plan`.
int benchAll(CommandContext& ctx);

// The series shape a run of this configuration trains and predicts on:
// composite periods x (inputs.bands + composite.indices), so that per-rank
// rates are measured on the models the run will have.
struct SeriesShape {
  int periods = 12, bands = 5;
};
SeriesShape seriesShapeOf(const Config& config);
// The imagery layout a run of this configuration reads: "safe" (SAFE/JP2, also
// the synthetic region's default) or "geotiff" (per-band GeoTIFF/COG, STAC, CSV).
std::string imageryLayoutOf(const Config& config);

// This executable's path, for benchmarks that launch it as a separate job.
std::string selfExe();
// s in single quotes for a shell command line.
std::string shellQuoted(const std::string& s);
// Runs a shell command, returns its output; throws with the output when it fails.
std::string runLine(const std::string& cmd);

}  // namespace cropmap
