#include "registry.hpp"

#include <stdexcept>

namespace cropmap {

const std::vector<ModelKind>& modelKinds() {
  static const std::vector<ModelKind> table = {
      {"tempcnn", "three temporal convolutions (train.kernel_size) with batch norm, a dense layer (TempCNN)", false,
       false, "ce", "torch", "model.pt", true},
      {"lstm", "stacked LSTM layers (train.hidden) over the period series, linear classifier", false, false, "ce"},
      {"earlyrnn",
       "LSTM with a classification and a stopping head per period (ELECTS): classifies as early as it is sure",
       true, false, "early_reward"},
      {"xgboost",
       "gradient-boosted trees (XGBoost) on the flattened periods x bands pixel series: the baseline the deep models "
       "must beat",
       false, false, "weighted_ce", "xgboost", "model.ubj"},
  };
  return table;
}

const ModelKind* findModel(const std::string& name) {
  for (const auto& k : modelKinds())
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<std::string> modelNames() {
  std::vector<std::string> out;
  for (const auto& k : modelKinds()) out.push_back(k.name);
  return out;
}

std::vector<std::string> modelNames(const std::string& engine) {
  std::vector<std::string> out;
  for (const auto& k : modelKinds())
    if (k.engine == engine) out.push_back(k.name);
  return out;
}

const ModelKind& modelKind(const std::string& name) {
  if (const ModelKind* k = findModel(name)) return *k;
  std::string list;
  for (const auto& n : modelNames()) list += (list.empty() ? "" : "|") + n;
  throw std::invalid_argument("unknown model '" + name + "'; expected one of " + list);
}

const std::vector<BackendKind>& backendKinds() {
  static const std::vector<BackendKind> table = {
      {"mpi", "CPU tensors, MPI_Allreduce (MPI_Iallreduce when buckets overlap backward)", false},
      {"nccl", "CUDA tensors, NCCL all-reduce; one GPU per rank", true},
      {"serial", "one process, no reduction", false},
  };
  return table;
}

std::vector<std::string> backendNames() {
  std::vector<std::string> out;
  for (const auto& k : backendKinds()) out.push_back(k.name);
  return out;
}

}  // namespace cropmap
