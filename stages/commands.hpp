// Entry points of the stage commands, listed in pipeline/cli/main.cpp.
#pragma once

#include "pipeline/cli/cli.hpp"
#include "stages/predict/predict.hpp"
#include "stages/train/train.hpp"
#include "stages/synth/synth_stage.hpp"

namespace cropmap {

Command catalogCommand();    // stages/catalog/catalog_command.cpp
Command compositeCommand();  // stages/composite/composite_command.cpp
Command benchCommand();      // stages/bench/bench.cpp
Command labelsCommand();     // stages/labels/commands.cpp
Command splitCommand();      // stages/labels/commands.cpp
Command sampleCommand();     // stages/labels/commands.cpp
Command runCommand();        // stages/run/run.cpp

}  // namespace cropmap
