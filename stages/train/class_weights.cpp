#include "class_weights.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>

#include "kernels/sampling.hpp"
#include "pipeline/config.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/samples.hpp"

namespace cropmap {

std::vector<double> appliedClassWeights(const TrainSection& train, const SampleFileInfo& info,
                                        const std::vector<std::int64_t>& counts) {
  if (counts.size() != static_cast<size_t>(info.classes()))
    throw UsageError(info.path + ": /class_counts_train missing or not one count per class; weighted training "
                                 "needs it: run `cropmap sample` again");
  kernels::WeightRule rule;
  try {
    rule = kernels::parseWeightRule(train.class_weights);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("train.class_weights: ") + e.what());
  }
  const auto w = kernels::classWeights(counts, rule, train.weight_cap);
  std::string list, cut;
  char b[160];
  for (size_t c = 0; c < w.weight.size(); ++c) {
    std::snprintf(b, sizeof b, "%s%s %.3g", list.empty() ? "" : ", ", info.classNames[c].c_str(), w.weight[c]);
    list += b;
    if (w.capped[c]) {
      std::snprintf(b, sizeof b, "%s%s (%.4g from %lld rows)", cut.empty() ? "" : ", ", info.classNames[c].c_str(),
                    w.uncapped[c], static_cast<long long>(counts[c]));
      cut += b;
    }
  }
  std::snprintf(b, sizeof b, "%g", train.weight_cap);
  const std::string cap = b;
  log::info("train: class weights ", train.class_weights, train.weight_cap > 0 ? ", cap " + cap : ", no cap", ": ",
            list);
  if (!cut.empty()) log::info("train: class weights capped to ", cap, ": ", cut);
  return w.weight;
}

}  // namespace cropmap
