// Entry points of the stage commands, listed in pipeline/cli/main.cpp.
#pragma once

#include "pipeline/cli/cli.hpp"
#include "stages/train/train.hpp"

namespace cropmap {

Command catalogCommand();    // stages/catalog/catalog_command.cpp
Command compositeCommand();  // stages/composite/composite_command.cpp
Command benchCommand();      // stages/bench/bench.cpp

}  // namespace cropmap
