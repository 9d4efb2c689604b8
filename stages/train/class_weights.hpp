// The class weights a training run applies: train.class_weights and
// train.weight_cap over the sample file's training counts (kernels/sampling's
// classWeights), logged with the classes the cap cut. Shared by the LibTorch
// and the XGBoost trainers; no LibTorch here.
#pragma once

#include <vector>

namespace cropmap {

struct SampleFileInfo;
struct TrainSection;

// One weight per class of `info`; throws UsageError when the file has no
// training counts.
std::vector<double> appliedClassWeights(const TrainSection& train, const SampleFileInfo& info);

}  // namespace cropmap
