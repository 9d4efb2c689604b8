// Entry points of the commands each stage folder owns, listed in the
// executable's command table (stages/main.cpp) and, for the stages of a run,
// in `cropmap run`'s order (stages/run/run.cpp).
#pragma once

#include "pipeline/cli/cli.hpp"

namespace cropmap {

Command versionCommand();    // stages/version_command.cpp
Command synthCommand();      // stages/synth/synth_stage.cpp
Command catalogCommand();    // stages/catalog/catalog_command.cpp
Command compositeCommand();  // stages/composite/composite_command.cpp
Command labelsCommand();     // stages/labels/labels.cpp
Command legendCommand();     // stages/labels/legend_command.cpp
Command splitCommand();      // stages/split/split.cpp
Command sampleCommand();     // stages/sample/sample.cpp
Command trainCommand();      // stages/train/trainer.cpp
Command evaluateCommand();   // stages/train/evaluate.cpp
Command cvCommand();         // stages/cv/cv.cpp
Command predictCommand();    // stages/predict/predict.cpp
Command reportCommand();     // stages/report/report.cpp
Command runCommand();        // stages/run/run.cpp
Command benchCommand();      // stages/bench/bench.cpp
Command planCommand();       // stages/plan/plan_command.cpp

}  // namespace cropmap
