// The class weights a training run applies: train.class_weights and
// train.weight_cap over the sample file's training counts (kernels/sampling's
// classWeights), logged with the classes the cap cut. Shared by the LibTorch
// and the XGBoost trainers; no LibTorch here.
#pragma once

#include <cstdint>
#include <vector>

namespace cropmap {

struct SampleFileInfo;
struct TrainSection;

// One weight per class of `info` from the training rows per class of this
// run (`counts`: the file's class_counts_train, or a cross-validation fold's
// own); throws UsageError when they are not one count per class.
std::vector<double> appliedClassWeights(const TrainSection& train, const SampleFileInfo& info,
                                        const std::vector<std::int64_t>& counts);

}  // namespace cropmap
