// Where the outputs of a run live, below run.output: one definition each, so
// that every stage, `cropmap run` and its summary agree.
#pragma once

#include <string>

#include "config.hpp"

namespace cropmap {

std::string cubePath(const Config& config);        // <run.output>/cube.h5
std::string samplesPath(const Config& config);     // train.samples, or <run.output>/<sample.output>
std::string trainOutputDir(const Config& config);  // <run.output>/<train.output>
// Where train and evaluate --fold K write: <train output>/fold-K (fold < 0: the train output itself).
std::string foldOutputDir(const Config& config, int fold);
std::string modelPath(const Config& config);       // <train output>/model.pt (model.ubj for xgboost)

// Why writing `path` failed, for messages: the system's reason for `err` (an
// errno value; 0: unknown), and "no space left on device" with the bytes free
// when the file system of `path` is full whatever the library reported.
std::string writeFailure(const std::string& path, int err = 0);

// Removes what killed jobs left below `directory`: the temporary files and
// directories cropmap's writers name .tmp-<pid>-<final name> before renaming
// them into place. Only while holding the run lock (no other job writes
// there). Returns how many entries were removed.
int removeStaleTemporaries(const std::string& directory);

}  // namespace cropmap
