// The Classifier of an XGBoost model file (stages/train/xgboost_model.hpp):
// class = argmax of the trees' class probabilities, its probability, no
// stopping period. Chosen by Classifier::load from the file's content.
#pragma once

#include <memory>
#include <string>

#include "inference.hpp"

namespace cropmap::mapping {

// Throws UsageError naming the file when it is missing or not a cropmap XGBoost model.
std::unique_ptr<Classifier> loadBoostedTrees(const std::string& path, const EngineOptions& options);

}  // namespace cropmap::mapping
