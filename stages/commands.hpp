// Entry points of the stage commands, listed in pipeline/cli/main.cpp.
#pragma once

#include "pipeline/cli/cli.hpp"
#include "stages/synth/synth_stage.hpp"

namespace cropmap {}  // namespace cropmap
