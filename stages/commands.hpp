// Entry points of the stage commands, listed in pipeline/cli/main.cpp.
#pragma once

#include "pipeline/cli/cli.hpp"

namespace cropmap {

Command labelsCommand();
Command splitCommand();
Command sampleCommand();

}  // namespace cropmap
