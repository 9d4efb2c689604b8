// `cropmap bench <target>`: measured throughput and scaling, printed as a
// table and written as JSON. Targets are listed in one table (benchTargets);
// each stage that has a benchmark adds one entry.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/context.hpp"

namespace cropmap {

struct BenchTarget {
  std::string name;
  std::string summary;
  int (*run)(CommandContext&) = nullptr;
};

const std::vector<BenchTarget>& benchTargets();

// bench composite: stages/bench/bench_composite.cpp (launches its own mpiexec runs)
int benchComposite(CommandContext& ctx);
// bench train: stages/bench/bench_train.cpp, measured on the ranks it runs on
// (run under mpirun -n N; cmake/bench-train.sh runs 1, 2 and 4)
int benchTrainOnRanks(CommandContext& ctx);
int benchTrain(CommandContext& ctx);
// bench all: every target in its own process, then one JSON of per-rank rates for `cropmap plan`.
int benchAll(CommandContext& ctx);

// This executable's path, for benchmarks that launch it as a separate job.
std::string selfExe();
// Runs a shell command, returns its output; throws with the output when it fails.
std::string runLine(const std::string& cmd);

}  // namespace cropmap
