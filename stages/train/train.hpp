// Commands of the training stage: `cropmap train`, `cropmap evaluate`, and the
// `train` target of `cropmap bench`. Free of LibTorch so the command table and
// the bench table can include it cheaply.
#pragma once

#include <string>

#include "pipeline/cli/cli.hpp"

namespace cropmap {

Command trainCommand();
Command evaluateCommand();

// `cropmap bench train`: throughput of every model on the current communicator.
int benchTrain(CommandContext& ctx);

// Resolved paths of a run (run.output joined with the train section).
std::string trainOutputDir(const Config& config);
std::string samplesPath(const Config& config);

}  // namespace cropmap
