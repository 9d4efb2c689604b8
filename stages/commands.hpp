// Entry points of the stage commands, listed in pipeline/cli/main.cpp.
#pragma once

#include "pipeline/cli/cli.hpp"
#include "stages/bench/bench.hpp"
#include "stages/predict/predict.hpp"
#include "stages/train/train.hpp"

namespace cropmap {}  // namespace cropmap
