// `cropmap bench <target>`: measured throughput and scaling, printed as a
// table and written as JSON below run.output/bench/. Targets are rows of one
// explicit table (bench.cpp); a target measures the communicator it runs on,
// so scaling figures come from running it at several rank counts
// (cmake/bench-train.sh does 1, 2 and 4).
#pragma once

#include "pipeline/cli/cli.hpp"

namespace cropmap {

Command benchCommand();

}  // namespace cropmap
