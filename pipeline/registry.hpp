// The names users write for model architectures and allreduce backends, with
// what the rest of cropmap needs to know about each: one table per kind.
//
// The option registry takes its enums from here (train.model, train.backend),
// and every place that asks a question about a model (does it stop early? does
// it take patches?) asks its entry instead of comparing names. The factories
// that build a model (stages/train/models.cpp) or a backend
// (pipeline/comm/allreduce.cpp) are keyed by the same names; their tests check
// that every entry has one. Nothing here includes LibTorch.
#pragma once

#include <string>
#include <vector>

namespace cropmap {

struct ModelKind {
  std::string name;           // train.model
  std::string doc;            // one line for `config --dump` and the README
  bool earlyStopping = false; // per-pixel stopping head: trained with early_reward, maps carry a stop band
  bool patchInput = false;    // takes [N, P, B, S, S] patches rather than pixel series
  std::string defaultLoss;    // the loss train.loss: auto picks
  std::string engine = "torch";       // what trains and applies it: torch (LibTorch) | xgboost
  std::string modelFile = "model.pt"; // the final model below train.output
  bool kernelSize = false;            // train.kernel_size shapes it (temporal convolutions)
};

// In table order; the first is the default.
const std::vector<ModelKind>& modelKinds();
// The entry of `name`, or nullptr.
const ModelKind* findModel(const std::string& name);
// The entry of `name`; throws std::invalid_argument listing the names otherwise.
const ModelKind& modelKind(const std::string& name);
std::vector<std::string> modelNames();
// The names of the models of one engine ("torch": what the LibTorch factory,
// the fused kernels and `bench train` handle).
std::vector<std::string> modelNames(const std::string& engine);

struct BackendKind {
  std::string name;  // train.backend
  std::string doc;
  bool gpu = false;  // CUDA tensors (built only with CUDA and NCCL)
};

const std::vector<BackendKind>& backendKinds();
std::vector<std::string> backendNames();

}  // namespace cropmap
