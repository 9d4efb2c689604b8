// `cropmap train` for train.model: xgboost: gradient-boosted trees on the
// flattened pixel series of samples.h5 (see xgboost_model.hpp), the baseline
// the deep models are compared with. The rows are gathered to rank 0, which
// trains with compute.threads threads; the other ranks only read their share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap {

struct CommandContext;
class SampleReader;

// The xgboost branch of trainCommand().
int trainBoostedTrees(CommandContext& ctx);

}  // namespace cropmap
